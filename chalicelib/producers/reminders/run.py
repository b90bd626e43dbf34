"""The daily reminder run (R3): decide -> render -> outbox, once a day per company.

* The ``reminders`` alert type of the alert monitor (T9) says whether a company's run is on and at
  which of its local hours it starts; the scheduled sweep machinery (``due_alert_schedules`` and
  ``claim_alert_run``) hands each due company to exactly one invocation and plans its next run for
  the same hour of the company's next day. A run that was missed (the service was down) is due at
  once when the service is back, and catches up: everything planned up to today is sent then.
* "Today" is the company's day in its time zone (Z1). The receivables with a reminder due by today
  come from the sparse ``reminders-due`` index, so the run costs what is due, not what is stored.
* Each receivable's reminders are claimed in one transaction that writes the "reminder sent"
  marker of each (receivable, concept) with a condition, moves the receivable's plan conditioned on
  the version read (and on it being open), and puts the messages in the outbox: two runs at once,
  or a retried run, send once; a receivable paid meanwhile gets nothing.
* Each reminder goes out from the client's collection agent's own account (C5), else the
  ``reminders`` area's account, else ``all``; the outbox delivers it and records it in the history
  and the client's register, like every other message.
* Due companies run side by side, each within its own time (``COMPANY_SECONDS``): a company whose
  run is out of time (a slow template, a very long list) leaves the rest planned and is due again
  at the schedule's next tick instead of the next day, and never holds back another company.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from itertools import islice
from typing import Any

from chalicelib.core import clock
from chalicelib.core.domain import (
    AlertSchedule,
    Client,
    ClientReminders,
    Communication,
    Company,
    Receivable,
    ReminderConcept,
    SenderAccount,
)
from chalicelib.core.errors import ValidationFailed
from chalicelib.core.localization import show_balance, show_date, show_money, today
from chalicelib.core.observability import logger
from chalicelib.core.phones import first_sms_number
from chalicelib.core.schedules import each_company
from chalicelib.messaging.accounts.email import PERSONAL_PREFIX, account_for
from chalicelib.messaging.accounts.sms import SmsSettingsView, get_sms_settings
from chalicelib.messaging.outbox import (
    Accounts,
    OutgoingMessage,
    announce,
    discard_bodies,
    failing,
    kick_outboxes,
    prepare,
)
from chalicelib.messaging.sandbox import render_untrusted
from chalicelib.messaging.sms_text import render_sms, template_variables
from chalicelib.messaging.templates import (
    EffectiveTemplate,
    effective_template,
    message_type,
    with_portal_link,
)
from chalicelib.producers.reminders import AFTER_DUE, ALERT_TYPE
from chalicelib.producers.reminders.plan import due_today, planned
from chalicelib.producers.reminders.settings import concepts, own_body_sources, sms_text
from chalicelib.store import companies as company_store
from chalicelib.store import receivables as store
from chalicelib.store.receivables import ReminderClaim
from chalicelib.tenants.branding import company_variables
from chalicelib.tenants.companies import next_daily_run

PAGE = 100  # receivables decided (and their clients and settings read) together
# One company's run may decide, render and claim for this long per run of the schedule; what is
# left stays planned, and the company is due again at the schedule's next tick.
COMPANY_SECONDS = 60.0

_ATTEMPTS = 3
AREA = "reminders"
# Why a client's reminders are not sent (nor marked sent) while it is being erased.
BEING_ERASED = "the client is being erased"
# Why a reminder's SMS is not sent when its text prints the client's balance and none was pushed.
NO_BALANCE = "the client has no balance pushed, which the reminder's SMS text prints (%deuda%, %saldo%)"


@dataclass(frozen=True)
class PlannedReminder:
    """One reminder the run sends (or, in a preview, would send)."""

    client_id: str
    document_number: str
    concept_id: str
    kind: str
    day: date
    to: tuple[str, ...]
    from_address: str | None
    sender_area: str | None
    skipped: str | None = None  # why nothing goes out (no e-mail, the client's switch is off)
    sms_to: str | None = None  # the client's mobile its SMS goes to (the client's ``sms`` is on)
    sms_skipped: str | None = None  # why the SMS the client's settings ask for does not go out


@dataclass
class RunReport:
    company_id: str
    day: date | None = None
    receivables: int = 0
    reminders: int = 0
    queued: int = 0
    failed: int = 0
    skipped: int = 0
    lost: int = 0  # claims refused once (another run, a payment or a push won), then decided again
    deferred: bool = False  # the company's time was up: the rest goes at the schedule's next tick
    planned: list[PlannedReminder] = field(default_factory=list)


# --- the schedule (T9) --------------------------------------------------------------------------


def run_due_reminders(
    now: datetime | None = None, *, company_seconds: float = COMPANY_SECONDS
) -> list[RunReport]:
    """The schedule: run every company whose reminders are due (at most once per planned run),
    side by side, each within ``company_seconds``. A company whose time ran out is due again at
    the next tick (its run catches up with what is left), not at tomorrow's hour."""
    now = now or clock.now()
    planned: dict[str, AlertSchedule] = {}  # company -> its schedule as this run left it
    for schedule in company_store.due_alert_schedules(ALERT_TYPE, now):
        company = company_store.get_company(schedule.company_id)
        if company is None or not company.in_service:  # suspended: its run waits (decision 0033)
            continue
        following = next_daily_run(schedule, now, company.time_zone)
        if not company_store.claim_alert_run(schedule, now, following):
            continue  # another invocation took this run
        planned[company.company_id] = replace(schedule, next_run_at=following)

    def one(company_id: str) -> RunReport:
        report = run_company(company_id, now, seconds=company_seconds)
        if report.deferred:
            # Due again now (found at the next tick), unless the schedule was changed meanwhile.
            company_store.claim_alert_run(planned[company_id], now, now)
        return report

    # A company that fails keeps what it did not claim planned; its next run sends it.
    return each_company(list(planned), one, what="reminder run")


# --- one company's run ----------------------------------------------------------------------------


def run_company(
    company_id: str,
    now: datetime | None = None,
    *,
    send: bool = True,
    seconds: float = COMPANY_SECONDS,
) -> RunReport:
    """Send (or, with ``send=False``, only list) every reminder due by the company's today. After
    ``seconds`` (and at least one page) no further page is decided: it stays planned
    (``deferred``) for the company's next run."""
    now = now or clock.now()
    company = company_store.get_company(company_id)
    if company is None or not company.in_service:
        return RunReport(company_id)
    day = today(company.time_zone, now)
    report = RunReport(company_id, day)
    decider = _Decider(company, day, now)
    outboxes: set[str] = set()
    deadline = time.monotonic() + seconds
    pages = 0
    for page in _pages(store.due_receivables(company_id, day), PAGE):
        if send and pages and time.monotonic() > deadline:
            report.deferred = True  # every run sends at least one page, so each makes progress
            break
        pages += 1
        claims = decider.claims(page, report)
        if not send:
            continue
        written = _write(decider, claims, report, now)
        if written - outboxes:  # an outbox's first messages: its worker starts on them at once
            kick_outboxes(company_id, written - outboxes)
        outboxes |= written
    if not send:
        report.reminders = sum(1 for p in report.planned if p.skipped is None)
    if outboxes:
        # Announced again after the last write (a drain may have settled the wake-up meanwhile),
        # and kicked again for what was claimed after the first drain finished.
        announce(company_id, dict.fromkeys(outboxes, now))
        kick_outboxes(company_id, outboxes)
    logger().info(
        "reminder run done" if send else "reminder preview",
        extra={
            "company_id": company_id,
            "day": day.isoformat(),
            "receivables": report.receivables,
            "queued": report.queued,
            "skipped": report.skipped,
            "lost": report.lost,
            "deferred": report.deferred,
        },
    )
    return report


def preview(company_id: str) -> RunReport:
    """What the next run would send (who, which document, which concept, from which account),
    on the company's day of its next run (today when the run is off or overdue). Nothing is
    written."""
    schedule = company_store.get_alert_schedule(company_id, ALERT_TYPE)
    now = clock.now()
    at = schedule.next_run_at if schedule and schedule.next_run_at and schedule.next_run_at > now else now
    return run_company(company_id, at, send=False)


def _pages(items: Iterator[Receivable], size: int) -> Iterator[list[Receivable]]:
    while page := list(islice(items, size)):
        yield page


def _write(decider: _Decider, claims: list[ReminderClaim], report: RunReport, now: datetime) -> set[str]:
    """Claim in transactions; a claim that lost is read again and decided again (a receivable
    pushed meanwhile), or dropped (another run sent it, or it was paid)."""
    outboxes: set[str] = set()
    pending = claims
    for _ in range(_ATTEMPTS):
        if not pending:
            break
        announce(report.company_id, dict.fromkeys(_outboxes(pending), now))
        outcome = store.claim_reminders(pending)
        lost = []
        for claim, won in zip(pending, outcome, strict=True):
            if won:
                report.reminders += len(claim.concepts)
                report.queued += sum(1 for m in claim.messages if m.state == "queued" and not failing(m))
                report.failed += sum(1 for m in claim.messages if failing(m))
                outboxes |= {m.outbox for m in claim.messages if m.state == "queued" and m.outbox}
            else:
                lost.append(claim)
        report.lost += sum(1 for claim in lost if claim.concepts)
        # A claim that lost wrote none of its messages: their bodies in S3, if any, are named by
        # nothing (the claim decided again renders new ones).
        discard_bodies(report.company_id, [m for claim in lost for m in claim.messages], "their claim lost")
        if not lost:
            break
        fresh = store.get_receivables(report.company_id, [c.receivable.document_number for c in lost])
        again = [fresh[c.receivable.document_number] for c in lost if c.receivable.document_number in fresh]
        pending = decider.claims(again, RunReport(report.company_id, report.day))
    return outboxes


def _outboxes(claims: list[ReminderClaim]) -> set[str]:
    return {m.outbox for c in claims for m in c.messages if m.state == "queued" and m.outbox}


class _Decider:
    """Decides and renders one page of receivables at a time; reads each page's clients and
    settings with one BatchGetItem each, and each sender account once per run."""

    def __init__(self, company: Company, day: date, now: datetime) -> None:
        self.company = company
        self.day = day
        self.now = now
        self.catalog: dict[str, ReminderConcept] = concepts(company.company_id)
        self.accounts: Accounts = {}
        self._templates: EffectiveTemplate | None = None
        self._sms: SmsSettingsView | None = None

    def sms_settings(self) -> SmsSettingsView:
        if self._sms is None:
            self._sms = get_sms_settings(self.company.company_id)
        return self._sms

    def sms_number(self, client: Client) -> tuple[str | None, str | None]:
        """(the client's mobile, or why its SMS does not go): the company's SMS service must be
        on, and the client must have a phone that takes SMS (the first that does, E.164)."""
        settings = self.sms_settings()
        if not settings.enabled:
            return None, "the company's SMS service is switched off"
        number = first_sms_number(client.phones, settings.default_region)
        if number is None:
            reason = (
                "the client has no phone" if not client.phones else "none of the client's phones takes SMS"
            )
            return None, reason
        return number, None

    def template(self) -> EffectiveTemplate:
        if self._templates is None:
            self._templates = effective_template(self.company.company_id, "reminder")
        return self._templates

    def account(self, agent: str | None) -> SenderAccount | None:
        wanted = (AREA, agent)
        if wanted not in self.accounts:
            self.accounts[wanted] = account_for(self.company.company_id, AREA, personal_user=agent)
        return self.accounts[wanted]

    def claims(self, page: list[Receivable], report: RunReport) -> list[ReminderClaim]:
        from chalicelib.store.erasures import is_being_erased
        from chalicelib.tenants.clients import get_clients
        from chalicelib.tenants.companies import company_and_erasing

        company_id = self.company.company_id
        client_ids = sorted({r.client_id for r in page})
        clients = get_clients(company_id, client_ids)
        settings = store.get_many_client_reminders(company_id, client_ids)
        # Read for each page (one strongly consistent read): a client being erased gets nothing,
        # and its receivables no claim (the erasure deletes them; a claim written before their
        # deletion is found by its late pass, one after it loses to their absence)
        erasing = company_and_erasing(company_id)[1]
        claims = []
        for rec in page:
            report.receivables += 1
            plan = planned(rec, settings.get(rec.client_id), self.catalog, self.day)
            send, following = due_today(plan, self.day)
            erased = is_being_erased(company_id, rec.client_id, erasing)
            messages: list[OutgoingMessage] = []
            for concept, _ in send:
                client = clients.get(rec.client_id)
                outgoing, entry = self.messages(rec, concept, client, settings[rec.client_id])
                if erased:
                    outgoing, entry = [], replace(entry, skipped=BEING_ERASED, to=(), sms_to=None)
                messages += outgoing
                report.planned.append(entry)
                report.skipped += entry.skipped is not None
            if erased:
                continue
            # one that fails (the template failed, no working account) is recorded failed, and
            # told, by the drain of the failing outbox (decision 0018)
            comms: list[Communication] = prepare(
                company_id, messages, now=self.now, accounts=self.accounts, failing_through_outbox=True
            )
            claims.append(
                ReminderClaim(
                    receivable=rec,
                    concepts=tuple(c.concept_id for c, _ in send),
                    remind_on=following,
                    day=self.day,
                    messages=tuple(comms),
                    now=self.now,
                )
            )
        return claims

    def messages(
        self, rec: Receivable, concept: ReminderConcept, client: Client | None, settings: ClientReminders
    ) -> tuple[list[OutgoingMessage], PlannedReminder]:
        agent = client.collection_agent if client else None
        account = self.account(agent)
        entry = PlannedReminder(
            client_id=rec.client_id,
            document_number=rec.document_number,
            concept_id=concept.concept_id,
            kind=concept.kind,
            day=self.day,
            to=(),
            from_address=account.from_address if account else None,
            sender_area=account.area if account else None,
        )
        if client is None:
            return [], replace(entry, skipped="the client does not exist")
        if not client.message_switches.get("reminder", True):
            return [], replace(entry, skipped="the client's reminder switch is off")
        recipients = _recipients(client, settings)
        number, sms_skipped = self.sms_number(client) if settings.sms else (None, None)
        entry = replace(entry, sms_skipped=sms_skipped)
        if not recipients and number is None:
            return [], replace(entry, skipped="the client has no e-mail address")
        variables = self.variables(rec, concept, client, account, agent)
        cause = f"reminder:{rec.document_number}/{concept.concept_id}"
        messages: list[OutgoingMessage] = []
        if recipients:
            messages += self.emails(rec, concept, settings, variables, recipients, cause, agent)
            entry = replace(entry, to=tuple(address for address, _, _ in recipients))
        if number is not None:
            sms, sms_skipped = self.sms(rec, concept, client, settings, variables, number, cause)
            messages += sms
            entry = replace(entry, sms_to=number if sms else None, sms_skipped=sms_skipped)
        if not messages:  # no e-mail, and the SMS's text prints a balance the client has none of
            return [], replace(entry, skipped="the client has no e-mail address")
        return messages, entry

    def emails(
        self,
        rec: Receivable,
        concept: ReminderConcept,
        settings: ClientReminders,
        variables: dict[str, Any],
        recipients: list[tuple[str, str | None, str | None]],
        cause: str,
        agent: str | None,
    ) -> list[OutgoingMessage]:
        sources = self.sources(concept, settings)
        base = OutgoingMessage(
            channel="email",
            to_address="",
            text="",
            subject="",
            message_type="reminder",
            client_id=rec.client_id,
            area=AREA,
            personal_user=agent,
            cause=cause,
            alert_type=ALERT_TYPE,
            headers={"Auto-Submitted": "auto-generated"},
        )
        try:
            given = with_portal_link(rec.company_id, sources, variables)
            rendered = render_untrusted(sources, given)
            base = replace(base, subject=rendered.subject.strip(), text=rendered.text, html=rendered.html)
        except ValidationFailed as exc:
            base = replace(base, error=f"the reminder template failed: {exc}")
        return [
            replace(base, to_address=address, to_name=name, contact_id=contact_id)
            for address, name, contact_id in recipients
        ]

    def sms(
        self,
        rec: Receivable,
        concept: ReminderConcept,
        client: Client,
        settings: ClientReminders,
        variables: dict[str, Any],
        number: str,
        cause: str,
    ) -> tuple[list[OutgoingMessage], str | None]:
        """The reminder's SMS to the client's mobile, with its own idempotency key beside the
        claim's marker; none (and why) when its text prints a balance the client does not have:
        nothing goes half-filled ("por $ ."), the e-mail still goes."""
        kind = message_type("reminder")
        source = sms_text(settings, concept.kind, self.company.language)
        offered = kind.sms_variables()
        printed = {offered[name].name for name in template_variables(source) if name in offered}
        if "client.balance" in printed and variables["client"]["balance"] is None:
            return [], NO_BALANCE
        text, error = "", None
        try:
            text = render_sms(source, kind.sms_values(variables), field="sms").strip()
        except ValidationFailed as exc:
            error = f"the reminder template failed: {exc}"
        message = OutgoingMessage(
            channel="sms",
            to_address=number,
            to_name=client.name,
            text=text,
            error=error,
            message_type="reminder",
            client_id=rec.client_id,
            cause=cause,
            alert_type=ALERT_TYPE,
            idempotency_key=f"{cause}:sms:{number}",
        )
        return [message], None

    def sources(self, concept: ReminderConcept, settings: ClientReminders) -> tuple[str, str, str]:
        """The client's own subject and body for this kind of reminder (the body in the default's
        layout, with its footer), else the company's ``reminder`` template (its override, or the
        default in its language)."""
        subject, text, html = self.template().sources
        body = settings.after_due_body if concept.kind == AFTER_DUE else settings.reminder_body
        if body:
            text, html = own_body_sources(body, self.company.language)
        return (settings.subject or subject, text, html)

    def variables(
        self,
        rec: Receivable,
        concept: ReminderConcept,
        client: Client,
        account: SenderAccount | None,
        agent: str | None,
    ) -> dict[str, Any]:
        locale, zone_name = self.company.locale, self.company.time_zone
        personal = account is not None and account.area.startswith(PERSONAL_PREFIX)
        return {
            "company": company_variables(self.company),
            "client": {
                "code": client.client_id,
                "name": client.name,
                "email": client.emails[0] if client.emails else None,
                "phone": client.phones[0] if client.phones else None,
                "balance": show_balance(client.balance, locale),
            },
            "receivable": {
                "number": rec.document_number,
                "issued_on": show_date(rec.issued_on, locale, zone_name),
                "due_on": show_date(rec.due_on, locale, zone_name),
                "amount": show_money(rec.amount, rec.currency, locale),
                "balance": show_money(rec.balance, rec.currency, locale),
            },
            "reminder": {
                "kind": concept.kind,
                "days": concept.days,
                "concept": concept.description,
                "days_to_due": max(0, (rec.due_on - self.day).days),
                "days_past_due": max(0, (self.day - rec.due_on).days),
            },
            "collection_agent": {
                "name": account.display_name if personal and account is not None else agent,
            },
        }


def _recipients(client: Client, settings: ClientReminders) -> list[tuple[str, str | None, str | None]]:
    """(address, name, contact id): the client's e-mails, and its contacts marked to receive
    reminders when the settings send to contacts; each address once."""
    found: dict[str, tuple[str, str | None, str | None]] = {}
    for address in client.emails:
        found.setdefault(address.casefold(), (address, client.name, None))
    if settings.send_to_contacts:
        for contact in client.contacts:
            if contact.email and contact.receives_reminders:
                name = f"{contact.first_name} {contact.last_name}".strip()
                found.setdefault(contact.email.casefold(), (contact.email, name, contact.contact_id))
    return list(found.values())
