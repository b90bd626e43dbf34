"""A local JWT issuer standing in for Cognito: RS256 tokens with Cognito-style custom claims.

The API verifies tokens against the JWKS it gets in ``PREGON_JWKS`` (a JSON string), with issuer
``pregon-local`` and audience ``pregon``:

    identity = LocalIdentity(Path(".local/jwt-key.pem"))
    env["PREGON_JWKS"] = identity.jwks_json()
    token = identity.mint("demo", user_id="admin@demo", level=1)
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "pregon-local"
AUDIENCE = "pregon"
ALGORITHM = "RS256"


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class LocalIdentity:
    """Loads the RSA private key at ``key_file`` (creating it on first use) or keeps one in memory."""

    def __init__(self, key_file: Path | None = None) -> None:
        self.key_file = key_file
        self._private_key = self._load_or_generate(key_file)
        numbers = self._private_key.public_key().public_numbers()
        # RFC 7638 thumbprint: stable for the key, so restarts keep the same kid.
        canonical = json.dumps(
            {"e": _b64url_uint(numbers.e), "kty": "RSA", "n": _b64url_uint(numbers.n)},
            separators=(",", ":"),
            sort_keys=True,
        )
        digest = hashlib.sha256(canonical.encode()).digest()
        self.kid = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    @staticmethod
    def _load_or_generate(key_file: Path | None) -> rsa.RSAPrivateKey:
        if key_file is not None and key_file.exists():
            key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise ValueError(f"{key_file} does not hold an RSA private key")
            return key
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if key_file is not None:
            key_file.parent.mkdir(parents=True, exist_ok=True)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            partial = key_file.with_name(key_file.name + ".partial")
            partial.write_bytes(pem)
            os.chmod(partial, 0o600)
            partial.replace(key_file)
        return key

    def jwks(self) -> dict[str, Any]:
        """The public JSON Web Key Set: one RSA key with ``kid``, ``alg`` RS256, ``use`` sig."""
        jwk = RSAAlgorithm.to_jwk(self._private_key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "alg": ALGORITHM, "use": "sig"})
        return {"keys": [jwk]}

    def jwks_json(self) -> str:
        return json.dumps(self.jwks(), separators=(",", ":"))

    def mint(
        self,
        company_id: str,
        *,
        user_id: str,
        level: int,
        branch: str | None = None,
        department: str | None = None,
        name: str | None = None,
        email: str | None = None,
        email_verified: bool | None = None,
        ttl: timedelta = timedelta(hours=12),
        now: datetime | None = None,
    ) -> str:
        """A signed staff token for ``user_id`` of ``company_id`` at access ``level`` (1 = admin)."""
        issued = now or datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": user_id,
            "iat": int(issued.timestamp()),
            "exp": int((issued + ttl).timestamp()),
            "custom:company_id": company_id,
            "custom:level": int(level),
        }
        # Like Cognito, an attribute the user does not have is absent rather than null.
        optional = {"custom:branch": branch, "custom:department": department, "name": name, "email": email}
        claims.update({claim: value for claim, value in optional.items() if value is not None})
        if email_verified is not None:
            claims["email_verified"] = email_verified
        return jwt.encode(claims, self._private_key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def verify(self, token: str) -> dict[str, Any]:
        """Decode and verify a token this identity minted (signature, issuer, audience, expiry)."""
        claims: dict[str, Any] = jwt.decode(
            token,
            self._private_key.public_key(),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
        )
        return claims
