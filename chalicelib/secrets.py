"""Envelope for secrets such as SMTP passwords: KMS encrypts, nothing ever decrypts to a response.

The encryption context binds a ciphertext to its company and purpose, so a ciphertext copied
into another tenant's record does not decrypt.
"""

from __future__ import annotations

from chalicelib.aws import client
from chalicelib.settings import get_settings


def encrypt_secret(plaintext: str, *, company_id: str, purpose: str) -> bytes:
    response = client("kms").encrypt(
        KeyId=get_settings().kms_key_id,
        Plaintext=plaintext.encode("utf-8"),
        EncryptionContext={"company_id": company_id, "purpose": purpose},
    )
    return bytes(response["CiphertextBlob"])


def decrypt_secret(ciphertext: bytes, *, company_id: str, purpose: str) -> str:
    response = client("kms").decrypt(
        CiphertextBlob=ciphertext,
        EncryptionContext={"company_id": company_id, "purpose": purpose},
    )
    return bytes(response["Plaintext"]).decode("utf-8")
