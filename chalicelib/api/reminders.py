"""Receivable reminders (R1-R3, seed 001 "Avisos").

The ERP pushes receivables and marks them paid or cancelled (API key with ``receivables:write``);
administrators keep the concept catalog; each client's reminder settings come from the ERP or an
administrator; staff preview what the next daily run sends, and an administrator may run today's
reminders at once (what was sent is never sent again).
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import ADMIN, STAFF, api_key
from chalicelib.api.authorizer import pregon_auth
from chalicelib.api.http import describe, json_response, parse_body, plain
from chalicelib.tenants.auth.principal import Principal

reminders = Blueprint(__name__)
SCOPE = "receivables:write"


def _receivable_out(rec: Any) -> dict[str, Any]:
    return {
        "document_number": rec.document_number,
        "client_id": rec.client_id,
        "issued_on": rec.issued_on.isoformat(),
        "due_on": rec.due_on.isoformat(),
        "amount": str(rec.amount),
        "balance": str(rec.balance),
        "currency": rec.currency,
        "state": rec.state,
        "updated_at": rec.updated_at,
        "reminded": list(rec.reminded),
        "remind_on": rec.remind_on.isoformat() if rec.remind_on else None,
    }


def _check_number(document_number: str) -> str:
    import re

    from chalicelib.core.errors import ValidationFailed

    if not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", document_number):
        raise ValidationFailed(
            [{"field": "document_number", "message": "use 1-64 letters, digits, '_', '.' or '-'"}]
        )
    return document_number


@reminders.route("/receivables", methods=["POST"], authorizer=pregon_auth)
@describe(
    reminders,
    summary="Create or replace receivables (up to 500; all checked before any is stored), "
    "idempotent by document number (R3)",
    body="chalicelib.api.reminders_schemas.ReceivablesIn",
    response="chalicelib.api.reminders_schemas.ReceivablesSavedOut",
    access=api_key(SCOPE),
)
def push_receivables(caller: Principal) -> Response:
    from chalicelib.api.reminders_schemas import ReceivablesIn
    from chalicelib.producers.reminders.receivables import ReceivableData
    from chalicelib.producers.reminders.receivables import push_receivables as push

    body = parse_body(reminders.current_request, ReceivablesIn, max_bytes=1024 * 1024)
    saved = push(
        caller.company_id,
        [
            ReceivableData(
                r.document_number,
                r.client_id,
                r.issued_on,
                r.due_on,
                r.amount,
                r.balance,
                r.currency,
                r.state,
            )
            for r in body.receivables
        ],
    )
    return json_response(
        {
            "items": [
                {
                    "document_number": s.document_number,
                    "created": s.created,
                    "state": s.state,
                    "remind_on": s.remind_on.isoformat() if s.remind_on else None,
                }
                for s in saved
            ]
        }
    )


@reminders.route("/receivables/{document_number}", methods=["GET"], authorizer=pregon_auth)
@describe(
    reminders,
    summary="One receivable, with the concepts already reminded and its next reminder day",
    response="chalicelib.api.reminders_schemas.ReceivableOut",
    access=api_key(SCOPE),
)
def get_receivable(caller: Principal, document_number: str) -> Response:
    from chalicelib.producers.reminders.receivables import get_receivable as fetch

    return json_response(_receivable_out(fetch(caller.company_id, _check_number(document_number))))


def _set_state(caller: Principal, document_number: str, state: str) -> Response:
    from chalicelib.producers.reminders.receivables import set_state

    return json_response(_receivable_out(set_state(caller.company_id, _check_number(document_number), state)))


@reminders.route("/receivables/{document_number}/paid", methods=["POST"], authorizer=pregon_auth)
@describe(
    reminders,
    summary="Mark a receivable paid: it gets no reminder from now on",
    response="chalicelib.api.reminders_schemas.ReceivableOut",
    access=api_key(SCOPE),
)
def mark_paid(caller: Principal, document_number: str) -> Response:
    return _set_state(caller, document_number, "paid")


@reminders.route("/receivables/{document_number}/cancelled", methods=["POST"], authorizer=pregon_auth)
@describe(
    reminders,
    summary="Mark a receivable cancelled: it gets no reminder from now on",
    response="chalicelib.api.reminders_schemas.ReceivableOut",
    access=api_key(SCOPE),
)
def mark_cancelled(caller: Principal, document_number: str) -> Response:
    return _set_state(caller, document_number, "cancelled")


def _concept_out(concept: Any) -> dict[str, Any]:
    return {
        "concept_id": concept.concept_id,
        "description": concept.description,
        "days": concept.days,
        "type": concept.kind,
        "updated_at": concept.updated_at,
    }


@reminders.route("/reminders/concepts", methods=["GET"], authorizer=pregon_auth)
@describe(
    reminders,
    summary="The reminder concept catalog (R1); every company starts with 7 days before and 7 after",
    response="chalicelib.api.reminders_schemas.ConceptsOut",
    access=STAFF,
)
def list_concepts(caller: Principal) -> Response:
    from chalicelib.producers.reminders.settings import list_concepts as fetch

    return json_response({"items": [_concept_out(c) for c in fetch(caller.company_id)]})


@reminders.route("/reminders/concepts", methods=["POST"], authorizer=pregon_auth)
@describe(
    reminders,
    summary="Add a reminder concept: description, days, type before_due | after_due (R1)",
    body="chalicelib.api.reminders_schemas.ConceptIn",
    response="chalicelib.api.reminders_schemas.ConceptOut",
    status=201,
    access=ADMIN,
)
def add_concept(caller: Principal) -> Response:
    from chalicelib.api.reminders_schemas import ConceptIn
    from chalicelib.producers.reminders.settings import add_concept as add

    body = parse_body(reminders.current_request, ConceptIn)
    return json_response(_concept_out(add(caller.company_id, body.description, body.days, body.type)), 201)


@reminders.route("/reminders/concepts/{concept_id}", methods=["PUT"], authorizer=pregon_auth)
@describe(
    reminders,
    summary="Change a reminder concept; its type cannot change while a client uses it (R1)",
    body="chalicelib.api.reminders_schemas.ConceptIn",
    response="chalicelib.api.reminders_schemas.ConceptOut",
    access=ADMIN,
)
def edit_concept(caller: Principal, concept_id: str) -> Response:
    from chalicelib.api.reminders_schemas import ConceptIn
    from chalicelib.producers.reminders.settings import edit_concept as edit

    body = parse_body(reminders.current_request, ConceptIn)
    return json_response(
        _concept_out(edit(caller.company_id, concept_id, body.description, body.days, body.type))
    )


def _settings_out(settings: Any) -> dict[str, Any]:
    data = dict(plain(settings))
    data.pop("company_id", None)
    return data


@reminders.route("/clients/{client_id}/reminders", methods=["GET"], authorizer=pregon_auth)
@describe(
    reminders,
    summary="A client's reminder settings (R2)",
    response="chalicelib.api.reminders_schemas.ClientRemindersOut",
    access=api_key(SCOPE),
)
def get_client_reminders(caller: Principal, client_id: str) -> Response:
    from chalicelib.producers.reminders.settings import client_reminders

    return json_response(_settings_out(client_reminders(caller.company_id, client_id)))


@reminders.route("/clients/{client_id}/reminders", methods=["PUT"], authorizer=pregon_auth)
@describe(
    reminders,
    summary="Set a client's reminder settings: subject, active, send to contacts, the before-due "
    "concept, the after-due switch and concept, the two bodies (R2)",
    body="chalicelib.api.reminders_schemas.ClientRemindersIn",
    response="chalicelib.api.reminders_schemas.ClientRemindersOut",
    access=api_key(SCOPE, staff_level=1),
)
def save_client_reminders(caller: Principal, client_id: str) -> Response:
    from chalicelib.api.reminders_schemas import ClientRemindersIn
    from chalicelib.producers.reminders.settings import save_client_reminders as save

    body = parse_body(reminders.current_request, ClientRemindersIn)
    settings = save(
        caller.company_id,
        client_id,
        active=body.active,
        subject=body.subject,
        send_to_contacts=body.send_to_contacts,
        before_due_concept=body.before_due_concept,
        after_due=body.after_due,
        after_due_concept=body.after_due_concept,
        reminder_body=body.reminder_body,
        after_due_body=body.after_due_body,
        updated_by=caller.subject,
    )
    return json_response(_settings_out(settings))


def _run_out(report: Any) -> dict[str, Any]:
    return {
        "day": report.day.isoformat() if report.day else None,
        "receivables": report.receivables,
        "reminders": report.reminders,
        "queued": report.queued,
        "failed": report.failed,
        "skipped": report.skipped,
        "items": [{**plain(p), "day": p.day.isoformat(), "to": list(p.to)} for p in report.planned],
    }


@reminders.route("/reminders/preview", methods=["GET"], authorizer=pregon_auth)
@describe(
    reminders,
    summary="What the next daily run would send: who, which document, which concept, from which "
    "account. Sends nothing (R3)",
    response="chalicelib.api.reminders_schemas.RunOut",
    access=STAFF,
)
def preview(caller: Principal) -> Response:
    from chalicelib.producers.reminders.run import preview as look

    return json_response(_run_out(look(caller.company_id)))


@reminders.route("/reminders/run", methods=["POST"], authorizer=pregon_auth)
@describe(
    reminders,
    summary="Run today's reminders now (the daily run does the same); a reminder sent before is "
    "never sent again (R3)",
    response="chalicelib.api.reminders_schemas.RunOut",
    access=ADMIN,
)
def run_now(caller: Principal) -> Response:
    from chalicelib.producers.reminders.run import run_company

    return json_response(_run_out(run_company(caller.company_id)))
