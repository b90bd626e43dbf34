"""Staff IMAP mailboxes for the register (H3): settings, write-only password, connection test,
syncs on demand, the monitor; and replying from a register record that came from an e-mail."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import STAFF
from chalicelib.api.http import Routes, etag, if_match, json_response, parse_body, versioned_response
from chalicelib.core.domain import Mailbox
from chalicelib.tenants.auth.principal import Principal

mailboxes = Blueprint(__name__)
route = Routes(mailboxes, schemas="mailbox_schemas")
CANNOT_REPLY = {409: "The record did not come from an e-mail, or no sender account works for the user."}


def managed_body(caller: Principal, mailbox_id: str, model: Any) -> Any:
    """The request's body as ``model``, read only once the caller may change the mailbox: who may
    not gets the 404 or 403 of any mailbox they may not manage, whatever they sent."""
    from chalicelib.records.mailboxes.accounts import managed

    managed(caller, mailbox_id)
    return parse_body(mailboxes.current_request, model)


def mailbox_out(caller: Principal, mailbox: Mailbox) -> dict[str, Any]:
    """A mailbox as answered, its owner named (``owner_name``)."""
    from chalicelib.api.people import named

    return named(caller, _mailbox_fields(mailbox), "owner")


def _mailbox_fields(mailbox: Mailbox) -> dict[str, Any]:
    return {
        "mailbox_id": mailbox.mailbox_id,
        "owner": mailbox.owner,
        "visibility": mailbox.visibility,
        "host": mailbox.host,
        "port": mailbox.port,
        "encryption": mailbox.encryption,
        "username": mailbox.username,
        "folders": list(mailbox.folders),
        "enabled": mailbox.enabled,
        "auth": mailbox.auth,
        "tenant_id": mailbox.tenant_id,
        "client_id": mailbox.client_id,
        "password_set": mailbox.password_ciphertext is not None,
        "client_secret_set": mailbox.client_secret_ciphertext is not None,
        "service_account": mailbox.service_account,
        "service_account_key_set": mailbox.service_account_key_ciphertext is not None,
        "created_at": mailbox.created_at,
        "updated_at": mailbox.updated_at,
        "last_sync_at": mailbox.last_sync_at,
        "last_error": mailbox.last_error,
        "logged_count": mailbox.logged_count,
        "next_sync_at": mailbox.next_sync_at,
        "folder_state": {
            f: {"uidvalidity": s.uidvalidity, "last_uid": s.last_uid} for f, s in mailbox.folder_state.items()
        },
        "etag": etag(mailbox.version),
    }


@route("GET /mailboxes", STAFF, response="MailboxesOut")
def list_mailboxes(caller: Principal) -> Response:
    """The monitor: the caller's mailboxes and the public ones (all for level 1), each with its last sync,
    records logged and last error"""
    from chalicelib.api.people import with_names
    from chalicelib.records.mailboxes.accounts import list_visible

    rows = [_mailbox_fields(m) for m in list_visible(caller)]
    return json_response({"items": with_names(caller, rows, "owner")})


@route("POST /mailboxes", STAFF, body="MailboxIn", response="MailboxOut", status=201)
def add_mailbox(caller: Principal) -> Response:
    """Add an IMAP mailbox whose mail to and from clients is logged in the register (H3); public needs
    level 1"""
    from chalicelib.api.mailbox_schemas import MailboxIn
    from chalicelib.records.mailboxes.accounts import add_mailbox as add

    body = parse_body(mailboxes.current_request, MailboxIn)
    return json_response(mailbox_out(caller, add(caller, body.model_dump(exclude_unset=True))), 201)


@route("POST /mailboxes/sync", STAFF, response="SyncsQueuedOut", status=202)
def sync_all(caller: Principal) -> Response:
    """Sync now every mailbox the caller may see (one job per mailbox)"""
    from chalicelib.records.mailboxes.accounts import has_secret, list_visible

    return _queue_syncs(caller, [m.mailbox_id for m in list_visible(caller) if m.enabled and has_secret(m)])


def _queue_syncs(caller: Principal, mailbox_ids: list[str]) -> Response:
    from chalicelib.records.mailboxes.sync import request_syncs

    return json_response({"queued": request_syncs(caller.company_id, mailbox_ids)}, 202)


@route("GET /mailboxes/{mailbox_id}", STAFF, response="MailboxOut", versioned=True)
def get_mailbox(caller: Principal, mailbox_id: str) -> Response:
    """One mailbox with its monitor figures (never its password)"""
    from chalicelib.records.mailboxes.accounts import get_visible

    mailbox = get_visible(caller, mailbox_id)
    return versioned_response(mailbox_out(caller, mailbox), mailbox.version)


@route("PATCH /mailboxes/{mailbox_id}", STAFF, body="MailboxChangeIn", response="MailboxOut", versioned=True)
def change_mailbox(caller: Principal, mailbox_id: str) -> Response:
    """Change a mailbox (its owner or level 1); a new host, port or user removes the password, switching auth
    the other kind's secret"""
    from chalicelib.api.mailbox_schemas import MailboxChangeIn
    from chalicelib.records.mailboxes.accounts import update_mailbox

    body = managed_body(caller, mailbox_id, MailboxChangeIn)
    changes = body.model_dump(exclude_unset=True)
    mailbox = update_mailbox(caller, mailbox_id, changes, if_match(mailboxes.current_request))
    return versioned_response(mailbox_out(caller, mailbox), mailbox.version)


@route("DELETE /mailboxes/{mailbox_id}", STAFF, status=204)
def delete_mailbox(caller: Principal, mailbox_id: str) -> Response:
    """Remove a mailbox (its records stay in the register; the mailbox itself is never touched)"""
    from chalicelib.records.mailboxes.accounts import delete_mailbox as delete

    delete(caller, mailbox_id)
    return Response(body="", status_code=204)


@route(
    "PUT /mailboxes/{mailbox_id}/password",
    STAFF,
    body="schemas.PasswordIn",
    status=204,
    errors={409: "The mailbox is a Microsoft 365 or Google one: it logs in with OAuth2."},
)
def set_mailbox_password(caller: Principal, mailbox_id: str) -> Response:
    """Set the mailbox's password: write-only, KMS-encrypted, bound to its server and user; starts a sync"""
    from chalicelib.api.schemas import PasswordIn
    from chalicelib.records.mailboxes.accounts import set_password

    body = managed_body(caller, mailbox_id, PasswordIn)
    set_password(caller, mailbox_id, body.password)
    return Response(body="", status_code=204)


@route(
    "PUT /mailboxes/{mailbox_id}/client-secret",
    STAFF,
    body="ClientSecretIn",
    status=204,
    errors={409: "The mailbox does not log in with a Microsoft 365 app."},
)
def set_mailbox_client_secret(caller: Principal, mailbox_id: str) -> Response:
    """Set a Microsoft 365 mailbox's Entra app client secret: write-only, KMS-encrypted, bound to its tenant
    and app; starts a sync"""
    from chalicelib.api.mailbox_schemas import ClientSecretIn
    from chalicelib.records.mailboxes.accounts import set_client_secret

    body = managed_body(caller, mailbox_id, ClientSecretIn)
    set_client_secret(caller, mailbox_id, body.client_secret)
    return Response(body="", status_code=204)


@route(
    "PUT /mailboxes/{mailbox_id}/service-account-key",
    STAFF,
    body="ServiceAccountKeyIn",
    status=204,
    errors={409: "The mailbox does not log in with a Google service account."},
)
def set_mailbox_service_account_key(caller: Principal, mailbox_id: str) -> Response:
    """Set a Google mailbox's service account key: the JSON key file as Google gives it; its private key is
    write-only, KMS-encrypted, bound to the account; starts a sync"""
    from chalicelib.api.mailbox_schemas import ServiceAccountKeyIn
    from chalicelib.records.mailboxes.accounts import set_service_account_key

    body = managed_body(caller, mailbox_id, ServiceAccountKeyIn)
    set_service_account_key(caller, mailbox_id, body.client_email, body.private_key)
    return Response(body="", status_code=204)


@route("POST /mailboxes/{mailbox_id}/test", STAFF, response="MailboxTestOut")
def test_mailbox(caller: Principal, mailbox_id: str) -> Response:
    """Log in and open the folders read-only; the answer is the server's own words"""
    from dataclasses import asdict

    from chalicelib.records.mailboxes.accounts import test_connection

    return json_response(asdict(test_connection(caller, mailbox_id)))


@route("POST /mailboxes/{mailbox_id}/sync", STAFF, response="SyncsQueuedOut", status=202)
def sync_one(caller: Principal, mailbox_id: str) -> Response:
    """Sync this mailbox now (a job; the monitor shows its outcome)"""
    from chalicelib.records.mailboxes.accounts import get_visible

    return _queue_syncs(caller, [get_visible(caller, mailbox_id).mailbox_id])


@route(
    "POST /clients/{client_id}/register/{record_id}/reply",
    STAFF,
    body="ReplyIn",
    response="history_schemas.RegisterRecordDetailOut",
    status=201,
    errors=CANNOT_REPLY,
)
def reply_to_record(caller: Principal, client_id: str, record_id: str) -> Response:
    """Answer a record that came from an e-mail: sent through the outbox from the user's own account (else the
    area's, else all), threaded; a new record"""
    from chalicelib.api.history import attachment_out
    from chalicelib.api.mailbox_schemas import ReplyIn
    from chalicelib.api.register import record_out
    from chalicelib.records.mailboxes.replies import reply_to_record as reply

    body = parse_body(mailboxes.current_request, ReplyIn)
    # the register's motive and area the request names (null: none); the others, the answered record's
    tags: dict[str, str | None] = {
        name: getattr(body, name) for name in ("motive", "area") if name in body.model_fields_set
    }
    sent = reply(
        caller, client_id, record_id, text=body.text, html=body.html, subject=body.subject, tags=tags
    )
    return json_response(
        {
            **record_out(sent),
            "text": sent.text,
            "html": sent.html,
            "to_address": sent.to_address,
            "to_name": sent.to_name,
            "from_address": sent.from_address,
            "from_name": sent.from_name,
            "attachments": [attachment_out(a) for a in sent.attachments],
        },
        201,
    )
