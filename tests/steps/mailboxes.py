"""Staff mailboxes (H3) as the office uses them: mail as a mail program files it, a mailbox set
up through the API, syncs run by the deployed SQS handler, the register and monitor read back."""

from __future__ import annotations

import json
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import pytest
from chalice.test import Client
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from infrastructure.local.imapserver import Dovecot
from tests.steps.answers import body
from tests.steps.clients import put_client
from tests.steps.imap import MAIL_USERS
from tests.steps.tenants import Tenant

# A Google Workspace company's service account (domain-wide delegation) and its key pair: the
# private half in the key file the admin downloads, the public half registered with the test's
# Google token endpoint.
SERVICE_ACCOUNT = "pregon-imap@estudio-mail.iam.gserviceaccount.com"
CLIENT_ID = "108735297418360294514"  # the service account's OAuth2 client id (the admin delegates to it)
_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE_KEY = _KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
PUBLIC_KEY = (
    _KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


def google_key_file(**changes: Any) -> dict[str, Any]:
    """The JSON key file Google gives for the service account (Cloud console: Keys > Add key)."""
    return {
        "type": "service_account",
        "project_id": "estudio-mail",
        "private_key_id": "3c5e1f0a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e",
        "private_key": PRIVATE_KEY,
        "client_email": SERVICE_ACCOUNT,
        "client_id": CLIENT_ID,
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/pregon-imap",
        "universe_domain": "googleapis.com",
    } | changes


def filed_mail(
    sender: str,
    to: str | list[str],
    subject: str,
    *,
    cc: list[str] | None = None,
    text: str = "Hola",
    date: datetime | None = None,
    message_id: str | None = None,
    attachments: list[tuple[str, str, bytes]] | None = None,
) -> bytes:
    """One message as a mail program writes it (non-ASCII names and subjects RFC 2047-encoded)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to if isinstance(to, str) else ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = subject
    if date is not None:
        message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id or make_msgid(domain="estudio.example")
    message.set_content(text)
    for name, content_type, data in attachments or []:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def add_mailbox(
    api: Client,
    headers: dict[str, str],
    server: Dovecot,
    user: str,
    *,
    password: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A staff user adds their mailbox (plain IMAP on the test's loopback server) and its password."""
    data = {"host": "127.0.0.1", "port": server.port, "encryption": "none", "username": user} | fields
    response = api.http.post("/mailboxes", headers=headers, body=json.dumps(data))
    assert response.status_code == 201, response.body
    mailbox = dict(body(response))
    response = api.http.put(
        f"/mailboxes/{mailbox['mailbox_id']}/password",
        headers=headers,
        body=json.dumps({"password": password or MAIL_USERS[user]}),
    )
    assert response.status_code == 204, response.body
    return mailbox


def run_syncs() -> list[Any]:
    """What the SQS workers do on AWS: every queued message (mailbox syncs, outboxes) handled by
    its deployed handler, in this thread, until the queues are empty."""
    from app import app
    from infrastructure.local.queues import run_queues_until_empty

    return list(run_queues_until_empty(app))


def monitor(api: Client, headers: dict[str, str], mailbox_id: str) -> dict[str, Any]:
    response = api.http.get(f"/mailboxes/{mailbox_id}", headers=headers)
    assert response.status_code == 200, response.body
    return dict(body(response))


def register_seen(api: Client, headers: dict[str, str], client_id: str) -> list[dict[str, Any]]:
    response = api.http.get(f"/clients/{client_id}/register?limit=200", headers=headers)
    assert response.status_code == 200, response.body
    return list(body(response)["items"])


def record_of(api: Client, headers: dict[str, str], client_id: str, record_id: str) -> Any:
    return api.http.get(f"/clients/{client_id}/register/{record_id}", headers=headers)


def logged(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> str:
    """Everything logged so far: each log record's message, arguments and every extra field it
    carries (what Powertools writes as a JSON line), and whatever reached stdout and stderr."""
    out, err = capsys.readouterr()
    records = [repr(vars(record)) + record.getMessage() for record in caplog.records]
    return out + err + "\n".join(records)


def office_clients(api: Client, tenant: Tenant) -> None:
    """Three clients of the office: addresses of their own and of contact persons."""
    put_client(api, tenant, "CLI-1", name="Muñoz Asesores SL", emails=["contabilidad@munoz.example"])
    put_client(
        api,
        tenant,
        "CLI-2",
        name="Panadería Ñandú",
        emails=["info@nandu.example"],
        contacts=[
            {"contact_id": "c1", "first_name": "José", "last_name": "Pérez", "email": "jose@nandu.example"}
        ],
    )
    put_client(api, tenant, "CLI-3", name="Talleres Ríos", emails=["rios@talleres.example"])
