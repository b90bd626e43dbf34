"""The operator token of the local stack: made once, kept in ``.local/operator-token`` (mode 600),
its SHA-256 given to the service as ``PREGON_OPERATOR_TOKEN_SHA256``. On AWS the hash is a stage
setting (docs/operations.md); the token itself is never configured anywhere."""

from __future__ import annotations

import os
from pathlib import Path

from chalicelib.tenants.auth.operators import new_operator_token, token_hash


def local_operator_token(path: Path) -> str:
    """The local stack's operator token, created on first use (atomically, readable by you only)."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    token, _ = new_operator_token()
    partial = path.with_name(path.name + ".partial")
    partial.write_text(token + "\n")
    os.chmod(partial, 0o600)
    partial.replace(path)
    return token


def local_operator_token_hash(path: Path) -> str:
    return token_hash(local_operator_token(path))
