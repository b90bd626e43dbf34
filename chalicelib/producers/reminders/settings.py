"""The reminder concept catalog (R1) and each client's reminder settings (R2).

Every company has the seed's two concepts ("7 days before the due date", "7 days after"), created
the first time its catalog is read: companies created before reminders existed get them too. A
client's settings name one before-due concept and, with the after-due switch on, one after-due
concept; a concept of the other type is refused naming the field. Turning the settings on turns
the before-due reminder on (the seed: "Por default, se activa recordatorio al marcar la casilla"):
with no before-due concept named, the catalog's first one is used.

The subject and the two bodies are the client's own templates, rendered in the same sandbox as
every tenant template, with the variables of the ``reminder`` message type; each is checked with
that type's sample data before it is stored (a 422 names ``subject``, ``reminder_body`` or
``after_due_body``). Changing a client's settings, or a concept's days, re-plans the open
receivables concerned, so the daily run's index stays true.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from typing import Any

from chalicelib.core import clock
from chalicelib.core.domain import ClientReminders, ReminderConcept
from chalicelib.core.errors import NotFound, ValidationFailed, edited_meanwhile
from chalicelib.producers.reminders import AFTER_DUE, BEFORE_DUE, KINDS
from chalicelib.store import receivables as store

DEFAULT_CONCEPTS = {
    "es": (
        ("before-7", "Recordatorio 7 días antes del vencimiento", 7, BEFORE_DUE),
        ("after-7", "Aviso 7 días después del vencimiento", 7, AFTER_DUE),
    ),
    "en": (
        ("before-7", "Reminder 7 days before the due date", 7, BEFORE_DUE),
        ("after-7", "Notice 7 days after the due date", 7, AFTER_DUE),
    ),
}
# The SMS of a reminder (R2, when the client's ``sms`` is on) and of an after-due notice, when the
# client's settings have none of their own: %variables% of the ``reminder`` type (``%monto%`` is
# what is still owed on the document; ``%deuda%`` the client's whole balance, when pushed).
DEFAULT_SMS = {
    "es": {
        BEFORE_DUE: "Estimado %nombre%: el comprobante %comprobante% por %monto% vence el %vencimiento%. "
        "%empresa%.",
        AFTER_DUE: "Estimado %nombre%: el comprobante %comprobante% por %monto% venció el %vencimiento%. "
        "Si ya lo pagó, ignore este mensaje. %empresa%.",
    },
    "en": {
        BEFORE_DUE: "Dear %nombre%: document %comprobante% for %monto% is due on %vencimiento%. %empresa%.",
        AFTER_DUE: "Dear %nombre%: document %comprobante% for %monto% was due on %vencimiento%. "
        "If you have paid it, please ignore this message. %empresa%.",
    },
}
MAX_SMS_CHARS = 1_600  # what SNS accepts in one publish, as for a template's SMS text
MAX_DAYS = 365
MAX_BODY_CHARS = 20_000
CONCEPT_ID = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


# --- concepts (R1) ----------------------------------------------------------------------------


def concepts(company_id: str) -> dict[str, ReminderConcept]:
    """The company's catalog by id; the two defaults are created the first time it is empty."""
    found = store.list_concepts(company_id)
    if found:
        return {c.concept_id: c for c in found}
    from chalicelib.tenants.companies import get_company

    language = get_company(company_id).language
    now = clock.now()
    for concept_id, description, days, kind in DEFAULT_CONCEPTS.get(language, DEFAULT_CONCEPTS["es"]):
        store.save_concept(
            ReminderConcept(company_id, concept_id, description, days, kind, now), only_new=True
        )
    return {c.concept_id: c for c in store.list_concepts(company_id)}


def list_concepts(company_id: str) -> list[ReminderConcept]:
    return sorted(concepts(company_id).values(), key=lambda c: (c.kind != BEFORE_DUE, c.days, c.concept_id))


def _check_concept(description: str, days: int, kind: str) -> None:
    problems = []
    if not description.strip() or len(description) > 200:
        problems.append({"field": "description", "message": "must have 1 to 200 characters"})
    if not 0 <= days <= MAX_DAYS:
        problems.append({"field": "days", "message": f"must be between 0 and {MAX_DAYS}"})
    if kind not in KINDS:
        problems.append({"field": "type", "message": f"must be one of {', '.join(KINDS)}"})
    if problems:
        raise ValidationFailed(problems)


def add_concept(company_id: str, description: str, days: int, kind: str) -> ReminderConcept:
    _check_concept(description, days, kind)
    concepts(company_id)  # the defaults first, so a new catalog is never only the added concept
    concept = ReminderConcept(company_id, uuid.uuid4().hex[:12], description.strip(), days, kind, clock.now())
    store.save_concept(concept, only_new=True)
    return concept


def edit_concept(
    company_id: str,
    concept_id: str,
    description: str,
    days: int,
    kind: str,
    if_match: tuple[int, ...] | None = None,
) -> ReminderConcept:
    """Change a concept. Its type cannot change while a client uses it in the other slot (422 on
    ``type``); a change of days re-plans the receivables still waiting for a reminder. With
    ``if_match`` (the versions an ``If-Match`` names), a 412 when someone else saved it since."""
    _check_concept(description, days, kind)
    current = concepts(company_id).get(concept_id)
    if current is None:
        raise NotFound(f"there is no reminder concept {concept_id!r}")
    if kind != current.kind:
        slot = "before_due_concept" if current.kind == BEFORE_DUE else "after_due_concept"
        clients = store.list_client_reminders(company_id)
        users = [s.client_id for s in clients if getattr(s, slot) == concept_id]
        if users:
            raise ValidationFailed(
                [
                    {
                        "field": "type",
                        "message": f"the concept is the {current.kind} concept of clients "
                        f"{', '.join(sorted(users)[:5])}; choose another concept for them first",
                    }
                ]
            )
    concept = replace(current, description=description.strip(), days=days, kind=kind, updated_at=clock.now())
    version = store.replace_concept(concept, if_match)
    if version is None:
        raise edited_meanwhile("this reminder concept")
    concept = replace(concept, version=version)
    if concept.days != current.days or concept.kind != current.kind:
        from chalicelib.producers.reminders.receivables import replan_pending

        replan_pending(company_id)
    return concept


# --- client settings (R2) ---------------------------------------------------------------------


def client_reminders(company_id: str, client_id: str) -> ClientReminders:
    """A client's settings; a client never configured has them off."""
    _require_client(company_id, client_id)
    stored = store.get_client_reminders(company_id, client_id)
    return stored or ClientReminders(company_id, client_id, active=False)


def _require_client(company_id: str, client_id: str) -> None:
    from chalicelib.tenants.clients import get_client

    get_client(company_id, client_id)  # 404 when there is no such client


def save_client_reminders(
    company_id: str,
    client_id: str,
    *,
    active: bool,
    subject: str | None,
    send_to_contacts: bool,
    before_due_concept: str | None,
    after_due: bool,
    after_due_concept: str | None,
    reminder_body: str | None,
    after_due_body: str | None,
    updated_by: str,
    if_match: tuple[int, ...] | None = None,
    sms: bool = False,
    reminder_sms: str | None = None,
    after_due_sms: str | None = None,
) -> ClientReminders:
    """Replace a client's reminder settings (after checking every field), then re-plan its open
    receivables. With ``if_match`` (the versions an ``If-Match`` names), a 412 when someone else
    saved them since."""
    _require_client(company_id, client_id)
    catalog = concepts(company_id)
    problems: list[dict[str, str]] = []
    for field, chosen, kind in (
        ("before_due_concept", before_due_concept, BEFORE_DUE),
        ("after_due_concept", after_due_concept, AFTER_DUE),
    ):
        if chosen is None:
            continue
        concept = catalog.get(chosen)
        if concept is None:
            problems.append({"field": field, "message": f"there is no reminder concept {chosen!r}"})
        elif concept.kind != kind:
            problems.append(
                {"field": field, "message": f"must be a {kind} concept; {chosen!r} is {concept.kind}"}
            )
    if active and before_due_concept is None:
        before_due_concept = _first(catalog, BEFORE_DUE)
    if after_due and after_due_concept is None:
        after_due_concept = _first(catalog, AFTER_DUE)
        if after_due_concept is None:
            problems.append({"field": "after_due_concept", "message": "the catalog has no after_due concept"})
    problems += _template_problems(
        company_id, {"subject": subject, "reminder_body": reminder_body, "after_due_body": after_due_body}
    )
    problems += _sms_problems({"reminder_sms": reminder_sms, "after_due_sms": after_due_sms})
    if problems:
        raise ValidationFailed(problems)
    settings = ClientReminders(
        company_id=company_id,
        client_id=client_id,
        active=active,
        subject=subject,
        send_to_contacts=send_to_contacts,
        before_due_concept=before_due_concept,
        after_due=after_due,
        after_due_concept=after_due_concept,
        reminder_body=reminder_body,
        after_due_body=after_due_body,
        updated_at=clock.now(),
        updated_by=updated_by,
        sms=sms,
        reminder_sms=reminder_sms,
        after_due_sms=after_due_sms,
    )
    version = store.save_client_reminders(settings, if_match)
    if version is None:
        raise edited_meanwhile("this client's reminder settings")
    settings = replace(settings, version=version)
    from chalicelib.producers.reminders.receivables import replan_client

    replan_client(company_id, client_id, settings, catalog)
    return settings


def _first(catalog: dict[str, ReminderConcept], kind: str) -> str | None:
    """The concept a client gets when none is named: the seed's default of that kind (``before-7``,
    ``after-7``) while the catalog has it, else the first of that kind as the catalog lists it
    (fewest days). Before, the first by id: an added concept's random id usually came first."""
    defaults = {
        concept_id for concept_id, _, _, default_kind in DEFAULT_CONCEPTS["es"] if default_kind == kind
    }
    candidates = sorted(
        (c for c in catalog.values() if c.kind == kind),
        key=lambda c: (c.concept_id not in defaults, c.days, c.concept_id),
    )
    return candidates[0].concept_id if candidates else None


def _template_problems(company_id: str, parts: dict[str, str | None]) -> list[dict[str, str]]:
    """Each part must render in the sandbox with the reminder type's sample data."""
    from chalicelib.messaging.sandbox import render_untrusted
    from chalicelib.messaging.templates import message_type

    sample: dict[str, Any] = message_type("reminder").sample_data()
    problems: list[dict[str, str]] = []
    for field, source in parts.items():
        if source is None:
            continue
        if len(source) > MAX_BODY_CHARS:
            problems.append({"field": field, "message": f"is longer than {MAX_BODY_CHARS:,} characters"})
            continue
        if "\x00" in source:
            problems.append({"field": field, "message": "must not contain NUL characters"})
            continue
        sources = (source, "", "") if field == "subject" else ("", source, body_html(source))
        try:
            render_untrusted(sources, sample)
        except ValidationFailed as exc:
            problems += [{"field": field, "message": e["message"]} for e in exc.errors]
    return problems


def default_sms(language: str, kind: str) -> str:
    """The SMS a reminder of ``kind`` carries when the client's settings have no text of their own."""
    return DEFAULT_SMS.get(language, DEFAULT_SMS["es"])[kind]


def sms_defaults(company_id: str) -> tuple[str, str]:
    """The default SMS of a reminder and of an after-due notice, in the company's language."""
    from chalicelib.tenants.companies import get_company

    language = get_company(company_id).language
    return default_sms(language, BEFORE_DUE), default_sms(language, AFTER_DUE)


def sms_text(settings: ClientReminders, kind: str, language: str) -> str:
    """The %variable% text of a reminder's SMS: the client's own, else the default."""
    own = settings.after_due_sms if kind == AFTER_DUE else settings.reminder_sms
    return own or default_sms(language, kind)


def _sms_problems(parts: dict[str, str | None]) -> list[dict[str, str]]:
    """Each SMS text may use only the ``reminder`` type's %variables% (422 naming the field)."""
    from chalicelib.messaging.sms_text import render_sms
    from chalicelib.messaging.templates import message_type

    kind = message_type("reminder")
    values = kind.sms_values(kind.sample_data())
    problems: list[dict[str, str]] = []
    for field, source in parts.items():
        if source is None:
            continue
        if not source.strip():
            problems.append({"field": field, "message": "is empty"})
        elif len(source) > MAX_SMS_CHARS:
            problems.append({"field": field, "message": f"is longer than {MAX_SMS_CHARS:,} characters"})
        else:
            try:
                render_sms(source, values, field=field)
            except ValidationFailed as exc:
                problems += exc.errors
    return problems


def body_html(body: str) -> str:
    """The HTML part of a client's plain-text body: the same template, autoescaped, its lines kept."""
    return f'<div style="white-space: pre-line; font-family: Arial, Helvetica, sans-serif">{body}</div>'


# What the shipped ``reminder`` templates mark with Jinja comments (which render to nothing): their
# hidden preview line, and the message a client's own body stands in for.
_PREVIEW = re.compile(r"\{# preview #\}.*?\{# /preview #\}", re.DOTALL)
_MESSAGE = re.compile(r"\{# message #\}.*?\{# /message #\}", re.DOTALL)


def own_body_sources(body: str, language: str) -> tuple[str, str]:
    """The (text, html) sources of a reminder whose body the company wrote: its text whole, in
    the place of the default's message, within the default's layout (header, and the footer
    saying why the client gets it, that it is no advertising, and the company's postal address:
    CAN-SPAM, LSSI; docs/deliverability.md). The default's preview line, which repeats its own
    message, is left out. The body stands in a ``{% with %}`` scope: what it sets (``{% set
    company = ... %}``, a macro) stays in it and cannot rewrite the footer, and it cannot close
    that scope, since it was checked to render on its own (:func:`_template_problems`)."""
    from chalicelib.messaging.sandbox import default_template

    scoped = f"{{% with %}}{body}{{% endwith %}}"
    _, text, html = default_template("reminder", language)
    text = _MESSAGE.sub(lambda _: scoped, text)
    html = _MESSAGE.sub(lambda _: body_html(scoped), _PREVIEW.sub("", html))
    return text, html
