"""Google Workspace mailboxes (H3): read with OAuth2, no user present, as Google documents for a
server: the company's service account, given domain-wide delegation of the
``https://mail.google.com/`` scope by the Workspace admin, signs a JWT (RS256) asserting that it
acts for the mailbox's user (``sub``), trades it at Google's token endpoint for an access token
(the JWT-bearer grant, RFC 7523; Google's "Using OAuth 2.0 for Server to Server Applications":
https://developers.google.com/identity/protocols/oauth2/service-account), and logs in to Gmail's
IMAP with SASL XOAUTH2 (https://developers.google.com/workspace/gmail/imap/xoauth2-protocol).

The tenant gives the JSON key file Google gave it; only the service account's address
(``client_email``) and its private key are kept (the key KMS-encrypted, ``accounts.py``). Where
the assertion and the token go is the deployment's (``core/settings.py``:
``PREGON_GOOGLE_TOKEN_URL``, ``PREGON_GOOGLE_IMAP_URL``), never the key file's ``token_uri`` nor
a tenant's. A token is asked for each sync and kept nowhere; neither it, the assertion nor the
key is ever logged or returned.
"""

from __future__ import annotations

import time

from chalicelib.channels.deadlines import Deadline
from chalicelib.core.errors import ValidationFailed
from chalicelib.core.settings import google_imap_url, google_token_url
from chalicelib.records.mailboxes import oauth
from chalicelib.records.mailboxes.imap import ImapFailed, Server

SCOPE = "https://mail.google.com/"  # Gmail's IMAP needs this one (no read-only scope takes IMAP)
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_SECONDS = 3600  # Google's longest: an assertion's exp is at most an hour after its iat
# What a Google Workspace mailbox shows as its server (the connection goes to google_imap_url()).
HOST, PORT, ENCRYPTION = "imap.gmail.com", 993, "tls"
_MAX_KEY_CHARS = 4000  # KMS encrypts up to 4 KB: an RSA key up to 4096 bits, in PEM, fits
# What Google's refusals mean for the admin (its own words come first).
_HINTS = {
    "unauthorized_client": "the Workspace admin has not given this service account's client ID "
    f"domain-wide delegation of {SCOPE} (Admin console: Security > Access and data control > API controls)",
    "invalid_grant": "a key deleted or disabled in Google Cloud, or a user not in the Workspace domain",
}


def is_address(value: str) -> bool:
    """An e-mail address as a service account's ``client_email`` or a Workspace user's is
    (checked as every address of the project is: ``core.emails``)."""
    from chalicelib.core.emails import is_email

    return is_email(value)


def private_key_pem(private_key: str) -> str:
    """The key file's ``private_key``, checked to be an RSA private key in PEM (what RS256 signs
    with); a ``422`` naming ``private_key`` otherwise (never echoing it)."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    problem = None
    if len(private_key) > _MAX_KEY_CHARS:
        problem = "is longer than an RSA key of up to 4096 bits"
    else:
        try:
            key = load_pem_private_key(private_key.encode(), password=None)
        except (ValueError, TypeError):
            key = None
        if not isinstance(key, rsa.RSAPrivateKey):
            problem = "must be the key file's RSA private key in PEM, as Google gave it"
        elif key.key_size < 2048:
            problem = "must be an RSA key of at least 2048 bits"
    if problem:
        raise ValidationFailed([{"field": "private_key", "message": problem}])
    return private_key


def imap_server() -> Server:
    """Gmail's IMAP server, from the deployment's settings."""
    return oauth.imap_server(google_imap_url(), "PREGON_GOOGLE_IMAP_URL")


def assertion(client_email: str, private_key: str, username: str, audience: str, now: float) -> str:
    """The signed JWT (RS256) Google's token endpoint takes: the service account (``iss``) asks
    for ``scope`` as the mailbox's user (``sub``), for ``aud`` (the token URL), for an hour."""
    import jwt

    claims = {
        "iss": client_email,
        "scope": SCOPE,
        "aud": audience,
        "sub": username,
        "iat": int(now),
        "exp": int(now) + ASSERTION_SECONDS,
    }
    return jwt.encode(claims, private_key, algorithm="RS256")


def access_token(client_email: str, private_key: str, username: str, deadline: Deadline) -> str:
    """An access token to read ``username``'s mailbox (the JWT-bearer grant); ``ImapFailed``
    with Google's answer and what it means (``unauthorized_client: ...; the Workspace admin has
    not given ... domain-wide delegation``) when refused."""
    if not is_address(client_email) or not is_address(username):  # checked when saved
        raise ImapFailed("the mailbox's service account or username is not an e-mail address")
    url = oauth.checked_url(google_token_url(), "PREGON_GOOGLE_TOKEN_URL")
    # the real time, not the app's clock (a test freezes that): Google checks iat and exp
    form = {
        "grant_type": GRANT_TYPE,
        "assertion": assertion(client_email, private_key, username, url, time.time()),
    }
    try:
        return oauth.request_token(url, form, "Google sign-in", deadline)
    except ImapFailed as exc:
        refusal = str(exc)
        for code, hint in _HINTS.items():
            if refusal.startswith(f"Google sign-in refused: {code}"):
                raise ImapFailed(f"{refusal} ({hint})") from None
        raise
