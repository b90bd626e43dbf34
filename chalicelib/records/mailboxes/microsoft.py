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

import re
import urllib.parse

from chalicelib.channels.deadlines import Deadline
from chalicelib.core.settings import microsoft_imap_url, microsoft_login_url
from chalicelib.records.mailboxes import oauth
from chalicelib.records.mailboxes.imap import ImapFailed, Server

SCOPE = "https://outlook.office365.com/.default"
# What a Microsoft 365 mailbox shows as its server (the connection goes to microsoft_imap_url()).
HOST, PORT, ENCRYPTION = "outlook.office365.com", 993, "tls"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_DOMAIN = re.compile(r"^(?=.{4,253}$)(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$")


def is_guid(value: str) -> bool:
    return bool(_GUID.match(value))


def is_tenant_id(value: str) -> bool:
    """A directory (tenant) id: its GUID, or one of its domain names (``contoso.onmicrosoft.com``)."""
    return bool(_GUID.match(value) or _DOMAIN.match(value))


def imap_server() -> Server:
    """Exchange Online's IMAP server, from the deployment's settings."""
    return oauth.imap_server(microsoft_imap_url(), "PREGON_MICROSOFT_IMAP_URL")


def token_url(tenant_id: str) -> str:
    base = oauth.checked_url(microsoft_login_url(), "PREGON_MICROSOFT_LOGIN_URL")
    return f"{base}/{urllib.parse.quote(tenant_id, safe='')}/oauth2/v2.0/token"


def access_token(tenant_id: str, client_id: str, client_secret: str, deadline: Deadline) -> str:
    """An app-only access token for Exchange Online (client-credentials grant); ``ImapFailed``
    naming the sign-in service's answer (``invalid_client: AADSTS7000215: ...``) when refused."""
    if not is_tenant_id(tenant_id) or not is_guid(client_id):  # checked when saved; never sent otherwise
        raise ImapFailed("the mailbox's tenant_id or client_id is not valid")
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": client_secret,
        "scope": SCOPE,
    }
    return oauth.request_token(token_url(tenant_id), form, "Microsoft sign-in", deadline)
