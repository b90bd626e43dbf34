"""Pregón's operators as tests need them: the operator token the service is configured with, and
their calls to ``/operator/...``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from tests.steps.answers import body
from tests.steps.settings import settings_read_again


def configure_operator_token() -> str:
    """The service accepts a fresh operator token (only its hash is configured)."""
    from chalicelib.tenants.auth.operators import new_operator_token

    token, digest = new_operator_token()
    os.environ["PREGON_OPERATOR_TOKEN_SHA256"] = digest
    settings_read_again()
    return token


@pytest.fixture
def operator(local_aws: dict[str, str], clock: Any) -> Iterator[str]:
    """A test's operator token, the service configured with it while the test runs (a fixture of
    every test: ``tests/conftest.py`` imports it)."""
    from chalicelib.core.settings import get_settings, reset_settings

    yield configure_operator_token()
    os.environ.pop("PREGON_OPERATOR_TOKEN_SHA256", None)
    reset_settings()
    get_settings()  # from the tests' environment (configure_operator_token says why)


def operator_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Operator {token}", "Content-Type": "application/json"}


def key_headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"ApiKey {api_key}", "Content-Type": "application/json"}


def issue_key(api: Client, token: str, company_id: str, *scopes: str, name: str = "back office") -> Any:
    import json

    answer = api.http.post(
        f"/operator/companies/{company_id}/api-keys",
        headers=operator_headers(token),
        body=json.dumps({"name": name, "scopes": list(scopes)}),
    )
    assert answer.status_code == 201, answer.body
    return body(answer)


def lists_clients(api: Client, api_key: str) -> int:
    """The status a company's system gets when it lists the company's clients with ``api_key``."""
    return int(api.http.get("/clients", headers=key_headers(api_key)).status_code)
