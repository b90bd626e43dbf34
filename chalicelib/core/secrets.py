"""Envelope for secrets such as SMTP passwords: KMS encrypts, nothing ever decrypts to a response.

The encryption context binds a ciphertext to its company and purpose, so a ciphertext copied
into another tenant's record does not decrypt; and, for a password, to the destination it is for
(``smtp://user@host:port``, the SMS gateway's URL and user): an account pointed at another server
cannot decrypt the password it had, so a write-only secret is never sent anywhere else.
"""

from __future__ import annotations

import hmac

from chalicelib.core.aws import client
from chalicelib.core.settings import get_settings


def same_secret(presented: str | bytes | None, expected: str | bytes | None) -> bool:
    """Whether a presented secret (a key's hash, a token's, a password's, a link's nonce) is the
    expected one, in a time that does not tell where they differ (``hmac.compare_digest``): every
    comparison of a secret goes through here, none through ``==`` (tests/unit/test_security_checks.py,
    docs/decisions/0036-security-checks.md). Text is compared as UTF-8, so a caller's non-ASCII
    character makes it unequal, not an error (``compare_digest`` refuses such ``str``); a missing
    secret (None) equals nothing, not even another None."""
    if presented is None or expected is None:
        return False
    given = presented.encode("utf-8") if isinstance(presented, str) else presented
    wanted = expected.encode("utf-8") if isinstance(expected, str) else expected
    return hmac.compare_digest(given, wanted)


def _context(company_id: str, purpose: str, destination: str | None) -> dict[str, str]:
    context = {"company_id": company_id, "purpose": purpose}
    if destination is not None:
        context["destination"] = destination
    return context


def encrypt_secret(plaintext: str, *, company_id: str, purpose: str, destination: str | None = None) -> bytes:
    response = client("kms").encrypt(
        KeyId=get_settings().kms_key_id,
        Plaintext=plaintext.encode("utf-8"),
        EncryptionContext=_context(company_id, purpose, destination),
    )
    return bytes(response["CiphertextBlob"])


def decrypt_secret(
    ciphertext: bytes, *, company_id: str, purpose: str, destination: str | None = None
) -> str:
    """The plaintext; botocore's ``ClientError`` (``InvalidCiphertextException``) when the
    context differs from the one it was encrypted under (see :func:`is_wrong_context`)."""
    response = client("kms").decrypt(
        CiphertextBlob=ciphertext,
        EncryptionContext=_context(company_id, purpose, destination),
    )
    return bytes(response["Plaintext"]).decode("utf-8")


def is_wrong_context(exc: Exception) -> bool:
    """Whether KMS refused to decrypt because the ciphertext belongs to another context."""
    from botocore.exceptions import ClientError

    return isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in (
        "InvalidCiphertextException",
        "IncorrectKeyException",
    )


def decrypt_password(
    ciphertext: bytes, *, company_id: str, purpose: str, destination: str, moved: Exception
) -> str:
    """A write-only password, to send to ``destination`` (never log or return it); raises ``moved``
    when the password was set for another destination (the record pointed elsewhere since), so
    it is never sent where it was not meant to go."""
    try:
        return decrypt_secret(ciphertext, company_id=company_id, purpose=purpose, destination=destination)
    except Exception as exc:
        if not is_wrong_context(exc):
            raise
        raise moved from exc
