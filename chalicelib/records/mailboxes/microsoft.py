"""Microsoft 365 mailboxes (H3): Exchange Online turned basic authentication off for IMAP, so
they are read with OAuth2, app-only (no user signs in): the company's Entra app, granted
``IMAP.AccessAsApp`` and the mailbox by its admin, gets a token with the client-credentials grant
and logs in with SASL XOAUTH2 (Microsoft's "Authenticate an IMAP, POP or SMTP connection using
OAuth", client credentials grant flow:
https://learn.microsoft.com/en-us/exchange/client-developer/legacy-protocols/how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth).

The tenant gives its directory (tenant) id, the application (client) id and the client secret;
where the secret and the token go is the deployment's (``core/settings.py``:
``PREGON_MICROSOFT_LOGIN_URL``, ``PREGON_MICROSOFT_IMAP_URL``), never a tenant's. A token is asked
for each sync and kept nowhere; neither it nor the secret is ever logged or returned.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request

from chalicelib.core.settings import microsoft_imap_url, microsoft_login_url
from chalicelib.records.mailboxes.imap import ImapFailed, Server

SCOPE = "https://outlook.office365.com/.default"
# What a Microsoft 365 mailbox shows as its server (the connection goes to microsoft_imap_url()).
HOST, PORT, ENCRYPTION = "outlook.office365.com", 993, "tls"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_DOMAIN = re.compile(r"^(?=.{4,253}$)(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$")
_MAX_TEXT = 300


def is_guid(value: str) -> bool:
    return bool(_GUID.match(value))


def is_tenant_id(value: str) -> bool:
    """A directory (tenant) id: its GUID, or one of its domain names (``contoso.onmicrosoft.com``)."""
    return bool(_GUID.match(value) or _DOMAIN.match(value))


def imap_server() -> Server:
    """Exchange Online's IMAP server, from the deployment's settings."""
    parsed = urllib.parse.urlsplit(microsoft_imap_url())
    if parsed.scheme not in ("imaps", "imap") or not parsed.hostname:
        raise ImapFailed("PREGON_MICROSOFT_IMAP_URL must be imaps://host:port (or imap:// for a local test)")
    secure = parsed.scheme == "imaps"
    return Server(parsed.hostname, parsed.port or (993 if secure else 143), "tls" if secure else "none")


def token_url(tenant_id: str) -> str:
    base = microsoft_login_url()
    if urllib.parse.urlsplit(base).scheme not in ("https", "http"):
        raise ImapFailed("PREGON_MICROSOFT_LOGIN_URL must be an https:// URL (or http:// for a local test)")
    return f"{base}/{urllib.parse.quote(tenant_id, safe='')}/oauth2/v2.0/token"


def access_token(tenant_id: str, client_id: str, client_secret: str, timeout: float) -> str:
    """An app-only access token for Exchange Online (client-credentials grant); ``ImapFailed``
    naming the sign-in service's answer (``invalid_client: AADSTS7000215: ...``) when refused."""
    if not is_tenant_id(tenant_id) or not is_guid(client_id):  # checked when saved; never sent otherwise
        raise ImapFailed("the mailbox's tenant_id or client_id is not valid")
    form = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "scope": SCOPE,
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - a deployment setting's https:// URL, checked above
        token_url(tenant_id),
        data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - as above
            answer = _json(response.read())
    except urllib.error.HTTPError as exc:
        raise ImapFailed(f"Microsoft sign-in refused: {_refusal(exc.code, _json(exc.read()))}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ImapFailed(f"Microsoft sign-in did not answer: {reason}"[:_MAX_TEXT]) from None
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise ImapFailed("Microsoft sign-in answered without an access_token")
    return token


def _json(raw: bytes) -> dict[str, object]:
    try:
        data = json.loads(raw.decode("utf-8", "replace"))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _refusal(status: int, answer: dict[str, object]) -> str:
    """``<error>: <error_description's first line>`` of the sign-in service's answer (its own
    words; it never repeats the secret)."""
    code = str(answer.get("error") or f"HTTP {status}")
    description = str(answer.get("error_description") or "").strip().splitlines()
    text = f"{code}: {description[0]}" if description else code
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "…"
