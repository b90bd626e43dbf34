"""Issue 14, point 3: a message has a ``by-status`` entry only while it is not sent, bounced or
received; once sent (or delivered) its entry is removed, and the history's ``sent`` filter reads the
channel's outgoing messages instead. Every move between groups (the worker's outcome, a retry, SES's
delivery, bounce, complaint and reject, an SMS sent, mail received) keeps the raw item and what
staff see under each status filter in step."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.store import communications as comm_store
from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.history import by_status_filter, listed, send_email, status_key_of
from tests.steps.inbound import receive_mail
from tests.steps.outbox import deliver_outboxes
from tests.steps.ses_events import drain_ses_queue, feed, notification, ses_company
from tests.steps.tenants import Tenant, purge_outbox_queue

START = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)
NOTHING: list[str] = []


def groups(
    sent: list[str] = NOTHING,
    not_sent: list[str] = NOTHING,
    bounced: list[str] = NOTHING,
    received: list[str] = NOTHING,
) -> dict[str, list[str]]:
    """What each status filter of the history lists (the ones not named: nothing)."""
    return {"sent": sent, "not_sent": not_sent, "bounced": bounced, "received": received}


@pytest.fixture
def ses_tenant(local_aws: dict[str, str], clock: Any) -> Tenant:
    """A company whose e-mail leaves through SES (moto), whose events come back over SNS and SQS."""
    purge_outbox_queue()
    drain_ses_queue()
    return ses_company("Cable Sur")


def sent_through_ses(tenant: Tenant, subject: str) -> Any:
    from chalicelib.store import communications

    cid = send_email(tenant, f"{subject.lower()}@example.com", subject)
    assert deliver_outboxes()["sent"] == 1
    comm = communications.get(tenant.company_id, cid)
    assert comm is not None and comm.state == "sent"
    return comm


def test_the_worker_s_outcomes_move_a_message_out_of_by_status_when_sent_and_keep_it_there_otherwise(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.delivery import wake_due_outboxes
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue

    not_sent = f"{tenant.company_id}#email#not_sent"
    # Given an e-mail queued in the outbox for a drain (not handed to a worker by id)
    clock.set_now(START)
    message = OutgoingMessage(channel="email", to_address="ana@example.com", subject="Factura", text="F")
    [queued] = enqueue(tenant.company_id, [replace(message, area="tracking")], kick=False, handoff=False)
    factura = queued.communication_id
    # Then it is in the not_sent group, as staff see it
    assert status_key_of(tenant, factura) == not_sent
    assert by_status_filter(api, tenant) == groups(not_sent=["Factura"])

    # When a drain sends it
    assert sum(r.sent for r in wake_due_outboxes() if r.company_id == tenant.company_id) == 1
    # Then its by-status entry is gone and the sent filter lists it
    assert status_key_of(tenant, factura) is None
    assert by_status_filter(api, tenant)["sent"] == ["Factura"]
    assert by_status_filter(api, tenant)["not_sent"] == NOTHING

    # Given an e-mail handed to a worker by id (issue 14): while the worker has it, it has no
    # entry (it goes straight to sent, nearly always), and once sent it is listed as sent
    handed = send_email(tenant, "eva@example.com", "Recibo")
    assert status_key_of(tenant, handed) is None
    assert by_status_filter(api, tenant)["not_sent"] == NOTHING
    assert deliver_outboxes()["sent"] == 1
    assert status_key_of(tenant, handed) is None
    assert by_status_filter(api, tenant)["sent"] == ["Recibo", "Factura"]

    # Given a second e-mail the server answers "try again later", then refuses for good
    clock.set_now(START + timedelta(minutes=1))
    mailbox.refuse_next(2)  # (the worker's kept connection tries a transient failure once more)
    aviso = send_email(tenant, "bruno@example.com", "Aviso")
    assert deliver_outboxes()["retried"] == 1
    # Then, queued again for a later attempt, it stays in the not_sent group
    assert status_key_of(tenant, aviso) == not_sent
    assert by_status_filter(api, tenant)["not_sent"] == ["Aviso"]
    # And failing on the next attempt, still there, and never listed as sent
    mailbox.refuse_next(1, "554 5.7.1 Message rejected")
    clock.set_now(START + timedelta(minutes=10))
    assert [r.failed for r in wake_due_outboxes() if r.company_id == tenant.company_id] == [1]
    assert status_key_of(tenant, aviso) == not_sent
    assert by_status_filter(api, tenant) == groups(sent=["Recibo", "Factura"], not_sent=["Aviso"])


def test_ses_feedback_moves_a_sent_e_mail_between_groups_by_key_and_by_reading_it(
    api: Client, ses_tenant: Tenant, clock: Any
) -> None:
    tenant = ses_tenant
    clock.set_now(START)
    # Given four e-mails sent through SES
    delivered, bounced, complained, rejected = (
        sent_through_ses(tenant, subject) for subject in ("Entregado", "Rebotado", "Queja", "Rechazado")
    )
    # Then none has a by-status entry, and all four are listed as sent
    assert [
        status_key_of(tenant, c.communication_id) for c in (delivered, bounced, complained, rejected)
    ] == [None] * 4
    assert by_status_filter(api, tenant)["sent"] == ["Rechazado", "Queja", "Rebotado", "Entregado"]

    # When SES reports each one's fate
    feed(notification("event_delivery.json", delivered))  # one write by key
    feed(notification("event_bounce_permanent.json", bounced))  # read, then written
    feed(notification("event_complaint.json", complained))
    reject = json.loads(notification("event_delivery.json", rejected))
    del reject["delivery"]
    reject |= {"eventType": "Reject", "reject": {"reason": "Bad content"}}
    feed(json.dumps(reject))  # one write by key, back into not_sent
    fates = comm_store.get_many(
        tenant.company_id, [c.communication_id for c in (delivered, bounced, complained, rejected)]
    )
    assert [fates[c.communication_id].state for c in (delivered, bounced, complained, rejected)] == [
        "delivered",
        "bounced",
        "complained",
        "failed",
    ]

    # Then the delivered one still has no entry; the others have their group's
    keys = {
        c.subject: status_key_of(tenant, c.communication_id)
        for c in (delivered, bounced, complained, rejected)
    }
    assert keys == {
        "Entregado": None,
        "Rebotado": f"{tenant.company_id}#email#bounced",
        "Queja": f"{tenant.company_id}#email#bounced",
        "Rechazado": f"{tenant.company_id}#email#not_sent",
    }
    # And each filter shows exactly its messages
    assert by_status_filter(api, tenant) == groups(
        sent=["Entregado"], not_sent=["Rechazado"], bounced=["Queja", "Rebotado"]
    )


def test_an_entry_written_in_the_sent_group_before_is_listed_once_and_removed_by_the_next_move(
    api: Client, ses_tenant: Tenant, clock: Any
) -> None:
    from chalicelib.store.models import CommunicationModel

    tenant = ses_tenant
    clock.set_now(START)
    # Given an e-mail sent before this change: its item still has a key in the sent group
    old = sent_through_ses(tenant, "Viejo")
    legacy = f"{tenant.company_id}#email#sent"
    CommunicationModel(tenant.company_id, old.communication_id).update(
        actions=[CommunicationModel.status_key.set(legacy)]
    )
    clock.set_now(START + timedelta(minutes=1))
    sent_through_ses(tenant, "Nuevo")

    # Then the sent filter lists it once, beside the new one, and no other filter lists it
    assert by_status_filter(api, tenant) == groups(sent=["Nuevo", "Viejo"])
    # When SES says it was delivered
    feed(notification("event_delivery.json", old))
    # Then it shows delivered and its old entry is removed
    assert comm_store.get(tenant.company_id, old.communication_id).state == "delivered"  # type: ignore[union-attr]
    assert status_key_of(tenant, old.communication_id) is None
    assert by_status_filter(api, tenant)["sent"] == ["Nuevo", "Viejo"]


def test_the_sent_filter_pages_through_the_channel_with_every_other_criterion(
    api: Client, tenant: Tenant, mailbox: MailCatcher, clock: Any
) -> None:
    from chalicelib.messaging.accounts.sms import save_sms_settings
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue

    # Given, a minute apart, e-mails that went out (some manual) between e-mails that never left
    # (no account for their area), mail received from a client, and an SMS sent
    expected_sent: list[str] = []
    for n in range(9):
        clock.set_now(START + timedelta(minutes=n))
        if n % 3 == 1:
            send_email(tenant, f"c{n}@example.com", f"Sin cuenta {n}", area="facturacion")
        else:
            kind = "manual" if n % 2 else "automatic"
            send_email(tenant, f"c{n}@example.com", f"Factura {n}", kind=kind)
            expected_sent.insert(0, f"Factura {n}")
    assert deliver_outboxes()["sent"] == 6
    received = receive_mail(api, tenant.company_id, "cliente@example.com", "Factura recibida", "Hola")
    assert received, received
    save_sms_settings(tenant.company_id, {"enabled": True, "provider": "sns"})
    enqueue(tenant.company_id, [OutgoingMessage(channel="sms", to_address="+5491159876543", text="Hola")])
    assert deliver_outboxes()["sent"] == 1
    staff = tenant.staff_headers()

    # When staff page through the sent e-mails two at a time
    # Then they see exactly the six that went out, newest first, none skipped or repeated
    assert listed(api, staff, "status=sent&limit=2") == expected_sent
    assert listed(api, staff, "status=sent&limit=1") == expected_sent
    # And the other criteria apply with it: kind, text, dates (the company's days)
    assert listed(api, staff, "status=sent&kind=manual&limit=1") == ["Factura 5", "Factura 3"]
    assert listed(api, staff, "status=sent&q=FACTURA+8") == ["Factura 8"]
    day = START.astimezone(timezone(timedelta(hours=-3))).date().isoformat()
    assert listed(api, staff, f"status=sent&from={day}&to={day}&limit=4") == expected_sent
    assert listed(api, staff, "status=sent&from=2026-11-03") == NOTHING
    # And the received mail and the ones that never left are in their own groups
    shown = by_status_filter(api, tenant)
    assert shown["received"] == ["Factura recibida"]
    assert shown["not_sent"] == ["Sin cuenta 7", "Sin cuenta 4", "Sin cuenta 1"]
    # And the SMS is in the SMS history's sent group only, with no by-status entry
    assert by_status_filter(api, tenant, "sms") == groups(sent=["+5491159876543"])
    [sms_id] = [
        i["communication_id"] for i in json.loads(api.http.get("/history/sms", headers=staff).body)["items"]
    ]
    assert status_key_of(tenant, sms_id) is None
