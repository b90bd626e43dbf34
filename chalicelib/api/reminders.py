"""Receivable reminders (R1-R3, seed 001 "Avisos").

The ERP pushes receivables and marks them paid or cancelled (API key with ``receivables:write``);
administrators keep the concept catalog; each client's reminder settings come from the ERP or an
administrator; staff preview what the next daily run sends, and an administrator may run today's
reminders at once (what was sent is never sent again).
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.access import ADMIN, ADMIN_LEVEL, STAFF, api_key
from chalicelib.api.http import Routes, etag, if_match, json_response, parse_body, plain, versioned_response
from chalicelib.tenants.auth.principal import Principal

reminders = Blueprint(__name__)
route = Routes(reminders, schemas="reminders_schemas")
RECEIVABLES = api_key("receivables:write")


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


@route("POST /receivables", RECEIVABLES, body="ReceivablesIn", response="ReceivablesSavedOut")
def push_receivables(caller: Principal) -> Response:
    """Create or replace receivables (up to 500; all checked before any is stored), idempotent by document
    number (R3)"""
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


@route("GET /receivables/{document_number}", RECEIVABLES, response="ReceivableOut")
def get_receivable(caller: Principal, document_number: str) -> Response:
    """One receivable, with the concepts already reminded and its next reminder day"""
    from chalicelib.producers.reminders.receivables import get_receivable as fetch

    return json_response(_receivable_out(fetch(caller.company_id, _check_number(document_number))))


def _set_state(caller: Principal, document_number: str, state: str) -> Response:
    from chalicelib.producers.reminders.receivables import set_state

    return json_response(_receivable_out(set_state(caller.company_id, _check_number(document_number), state)))


@route("POST /receivables/{document_number}/paid", RECEIVABLES, response="ReceivableOut")
def mark_paid(caller: Principal, document_number: str) -> Response:
    """Mark a receivable paid: it gets no reminder from now on"""
    return _set_state(caller, document_number, "paid")


@route("POST /receivables/{document_number}/cancelled", RECEIVABLES, response="ReceivableOut")
def mark_cancelled(caller: Principal, document_number: str) -> Response:
    """Mark a receivable cancelled: it gets no reminder from now on"""
    return _set_state(caller, document_number, "cancelled")


def _concept_out(concept: Any) -> dict[str, Any]:
    return {
        "concept_id": concept.concept_id,
        "description": concept.description,
        "days": concept.days,
        "type": concept.kind,
        "updated_at": concept.updated_at,
        "etag": etag(concept.version),
    }


@route("GET /reminders/concepts", STAFF, response="ConceptsOut")
def list_concepts(caller: Principal) -> Response:
    """The reminder concept catalog (R1); every company starts with 7 days before and 7 after"""
    from chalicelib.producers.reminders.settings import list_concepts as fetch

    return json_response({"items": [_concept_out(c) for c in fetch(caller.company_id)]})


@route("POST /reminders/concepts", ADMIN, body="ConceptIn", response="ConceptOut", status=201)
def add_concept(caller: Principal) -> Response:
    """Add a reminder concept: description, days, type before_due | after_due (R1)"""
    from chalicelib.api.reminders_schemas import ConceptIn
    from chalicelib.producers.reminders.settings import add_concept as add

    body = parse_body(reminders.current_request, ConceptIn)
    return json_response(_concept_out(add(caller.company_id, body.description, body.days, body.type)), 201)


@route("PUT /reminders/concepts/{concept_id}", ADMIN, body="ConceptIn", response="ConceptOut", versioned=True)
def edit_concept(caller: Principal, concept_id: str) -> Response:
    """Change a reminder concept; its type cannot change while a client uses it (R1)"""
    from chalicelib.api.reminders_schemas import ConceptIn
    from chalicelib.producers.reminders.settings import edit_concept as edit

    request = reminders.current_request
    body = parse_body(request, ConceptIn)
    concept = edit(caller.company_id, concept_id, body.description, body.days, body.type, if_match(request))
    return versioned_response(_concept_out(concept), concept.version)


def _settings_out(caller: Principal, settings: Any) -> dict[str, Any]:
    from chalicelib.api.people import named
    from chalicelib.producers.reminders.settings import sms_defaults

    data = dict(plain(settings))
    data.pop("company_id", None)
    data.pop("version", None)  # answered as the ETag
    defaults = sms_defaults(settings.company_id)
    data["reminder_sms_default"], data["after_due_sms_default"] = defaults
    return named(caller, data, "updated_by")


@route("GET /clients/{client_id}/reminders", RECEIVABLES, response="ClientRemindersOut", versioned=True)
def get_client_reminders(caller: Principal, client_id: str) -> Response:
    """A client's reminder settings (R2)"""
    from chalicelib.producers.reminders.settings import client_reminders

    settings = client_reminders(caller.company_id, client_id)
    return versioned_response(_settings_out(caller, settings), settings.version)


@route(
    "PUT /clients/{client_id}/reminders",
    api_key("receivables:write", staff_level=ADMIN_LEVEL),
    body="ClientRemindersIn",
    response="ClientRemindersOut",
    versioned=True,
)
def save_client_reminders(caller: Principal, client_id: str) -> Response:
    """Set a client's reminder settings: subject, active, send to contacts, the before-due concept, the
    after-due switch and concept, the two bodies, and whether both also go by SMS, with their texts (R2)"""
    from chalicelib.api.reminders_schemas import ClientRemindersIn
    from chalicelib.producers.reminders.settings import save_client_reminders as save

    request = reminders.current_request
    body = parse_body(request, ClientRemindersIn)
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
        if_match=if_match(request),
        sms=body.sms,
        reminder_sms=body.reminder_sms,
        after_due_sms=body.after_due_sms,
    )
    return versioned_response(_settings_out(caller, settings), settings.version)


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


@route("GET /reminders/preview", STAFF, response="RunOut")
def preview(caller: Principal) -> Response:
    """What the next daily run would send: who, which document, which concept, from which account.
    Sends nothing (R3)"""
    from chalicelib.producers.reminders.run import preview as look

    return json_response(_run_out(look(caller.company_id)))


@route("POST /reminders/run", ADMIN, response="RunOut")
def run_now(caller: Principal) -> Response:
    """Run today's reminders now (the daily run does the same); a reminder sent before is never sent
    again (R3)"""
    from chalicelib.producers.reminders.run import run_company

    # all of today's, as before: the per-company time of the schedule's runs does not apply
    return json_response(_run_out(run_company(caller.company_id, seconds=float("inf"))))
