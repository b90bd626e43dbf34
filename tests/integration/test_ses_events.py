"""Delivery truth from SES (Q5, H1): a message sent through SES (moto) names the configuration set;
the events SES publishes for it over SNS (built from SES's documented examples, with the real
message id) make it delivered, bounced or complained, and put hard bounces and complaints on the
company's suppression list, which the next send respects. Administrators keep the list by hand."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

import pytest
from chalice.test import Client

from chalicelib.channels.ses import COMMUNICATION_TAG, COMPANY_TAG, company_tag_value
from chalicelib.core.domain import Communication, Suppression
from chalicelib.messaging.outbox import OutgoingMessage, enqueue
from chalicelib.store import communications as comm_store
from chalicelib.store import outbox as outbox_store
from tests.steps.answers import body
from tests.steps.aws import dynamodb_requests, moto_received, recorded_calls
from tests.steps.outbox import deliver_outboxes
from tests.steps.ses_events import (
    deliver_ses_events,
    drain_ses_queue,
    dynamodb_down_for,
    feed,
    logged_lines,
    notification,
    publish_ses_events,
    redelivered_ses_events,
    send_envelopes,
    ses_company,
)
from tests.steps.tenants import IDENTITY, Tenant, named_user, purge_outbox_queue

SNS_SUBJECT = "Amazon SES Email Event Notification"


# --- the stage: companies whose e-mail leaves through SES ----------------------------------------


@pytest.fixture
def company(local_aws: dict[str, str], clock: Any) -> Tenant:
    purge_outbox_queue()
    drain_ses_queue()
    return ses_company("Cable Sur")


@pytest.fixture
def rival(local_aws: dict[str, str], clock: Any) -> Tenant:
    return ses_company("Otra Empresa")


@pytest.fixture
def send_calls(local_aws: dict[str, str]) -> Iterator[list[dict[str, Any]]]:
    """The parameters of every SES v2 SendEmail call our client makes."""
    with recorded_calls("sesv2", "SendEmail") as calls:
        yield calls


def new_address() -> str:
    return f"Cliente.{uuid.uuid4().hex[:8]}@Example.com"


def send(tenant: Tenant, to: str) -> Communication:
    """One e-mail through the outbox and the deployed SQS worker; the communication afterwards."""
    (queued,) = enqueue(
        tenant.company_id,
        [OutgoingMessage(channel="email", to_address=to, subject="Su factura", text="Hola, adjuntamos...")],
    )
    deliver_outboxes()
    comm = comm_store.get(tenant.company_id, queued.communication_id)
    assert comm is not None
    return comm


def ses_raw_messages_to(local_aws: dict[str, str], address: str) -> int:
    sent = moto_received("ses", "RawMessage")
    return sum(1 for m in sent if address.lower() in json.dumps(m).lower())


def state_of(tenant: Tenant, comm: Communication) -> str | None:
    """The message's state as the history shows it."""
    found = comm_store.get(tenant.company_id, comm.communication_id)
    return found.state if found else None


def suppression_list(api: Client, tenant: Tenant) -> dict[str, dict[str, Any]]:
    response = api.http.get("/suppressions?limit=200", headers=tenant.admin_headers())
    assert response.status_code == 200, response.body
    return {item["address"]: item for item in body(response)["items"]}


def test_an_address_that_is_not_ascii_is_not_handed_to_ses_which_has_no_smtputf8(
    company: Tenant, send_calls: list[dict[str, Any]]
) -> None:
    # Given a company that sends through SES (which takes 7-bit addresses only)
    # When a message to josé@ejemplo.com goes through the outbox
    comm = send(company, "josé@ejemplo.com")
    # Then SES is not asked to send it (its To would be an encoded-word, not an address), and the
    # message is failed saying why
    assert send_calls == []
    assert comm.state == "failed" and "SMTPUTF8" in (comm.error or "")


# --- delivery truth ----------------------------------------------------------------------------


def test_a_permanent_bounce_marks_the_message_and_the_next_send_is_skipped(
    api: Client, company: Tenant, local_aws: dict[str, str], send_calls: list[dict[str, Any]], clock: Any
) -> None:
    # Given a message that went out through SES, naming the configuration set and its company
    address = new_address()
    comm = send(company, address)
    assert comm.state == "sent" and comm.provider_message_id
    call = send_calls[-1]
    assert call["ConfigurationSetName"] == "pregon-events"
    assert {"Name": COMPANY_TAG, "Value": company_tag_value(company.company_id)} in call["EmailTags"]
    assert ses_raw_messages_to(local_aws, address) == 1

    # When SES reports a permanent bounce for it
    feed(notification("event_bounce_permanent.json", comm))

    # Then the message shows bounced, with the bounce type and the receiving server's words
    bounced = comm_store.get(company.company_id, comm.communication_id)
    assert bounced is not None and bounced.state == "bounced"
    assert bounced.error == "bounce Permanent/General: smtp; 550 5.1.1 user unknown"
    # And it is in the history's "bounced" group
    page = comm_store.history_page(company.company_id, "email", status="bounced")
    assert comm.communication_id in [c.communication_id for c in page.items]
    # And the address (lower-cased) is on the company's suppression list, saying why and which message
    entry = suppression_list(api, company)[address.lower()]
    assert entry["reason"] == "bounce"
    assert entry["communication_id"] == comm.communication_id
    assert "550 5.1.1" in entry["detail"]

    # When the company writes to that address again
    clock.set_now(clock.now() + timedelta(minutes=5))
    again = send(company, address)

    # Then nothing goes to SES, and the message is recorded as suppressed
    assert again.state == "suppressed"
    assert again.error == "not sent: the address is suppressed (bounce)"
    assert ses_raw_messages_to(local_aws, address) == 1


def test_a_delivery_event_marks_the_message_delivered(api: Client, company: Tenant, clock: Any) -> None:
    comm = send(company, new_address())
    clock.set_now(clock.now() + timedelta(seconds=12))

    feed(notification("event_delivery.json", comm))

    delivered = comm_store.get(company.company_id, comm.communication_id)
    assert delivered is not None and delivered.state == "delivered"
    assert delivered.delivered_at == clock.now()
    assert delivered.provider_message_id == comm.provider_message_id
    # A delivered message counts as sent in the history
    page = comm_store.history_page(company.company_id, "email", status="sent")
    assert comm.communication_id in [c.communication_id for c in page.items]


def test_a_complaint_suppresses_the_address_and_a_late_delivery_does_not_hide_it(
    api: Client, company: Tenant, local_aws: dict[str, str]
) -> None:
    # Given a delivered message
    address = new_address()
    comm = send(company, address)
    feed(notification("event_delivery.json", comm))
    assert state_of(company, comm) == "delivered"

    # When the recipient marks it as spam
    feed(notification("event_complaint.json", comm))

    # Then it is complained, and the address is suppressed because of the complaint
    complained = comm_store.get(company.company_id, comm.communication_id)
    assert complained is not None and complained.state == "complained"
    assert complained.error == "complaint: abuse"
    assert suppression_list(api, company)[address.lower()]["reason"] == "complaint"
    # And a Delivery notification arriving late does not turn it back
    feed(notification("event_delivery.json", comm))
    assert state_of(company, comm) == "complained"
    # And the next message is not sent
    assert send(company, address).state == "suppressed"
    assert ses_raw_messages_to(local_aws, address) == 1


def test_a_transient_bounce_is_recorded_but_does_not_suppress(
    api: Client, company: Tenant, local_aws: dict[str, str], clock: Any
) -> None:
    address = new_address()
    comm = send(company, address)

    feed(notification("event_bounce_transient.json", comm))

    bounced = comm_store.get(company.company_id, comm.communication_id)
    assert bounced is not None and bounced.state == "bounced"
    assert bounced.error is not None and bounced.error.startswith("bounce Transient/MailboxFull: smtp; 452")
    assert address.lower() not in suppression_list(api, company)
    # The mailbox may have room tomorrow: the next message goes out
    clock.set_now(clock.now() + timedelta(days=1))
    assert send(company, address).state == "sent"
    assert ses_raw_messages_to(local_aws, address) == 2
    # And a permanent bounce after the transient one still suppresses
    feed(notification("event_bounce_permanent.json", comm))
    assert suppression_list(api, company)[address.lower()]["reason"] == "bounce"


def test_the_older_notification_format_is_read_too(api: Client, company: Tenant) -> None:
    # Identity notifications (notificationType, no tags), e.g. from an identity set up by hand
    bounced_to, delivered_to, complained_to = new_address(), new_address(), new_address()
    bounced = send(company, bounced_to)
    delivered = send(company, delivered_to)
    complained = send(company, complained_to)

    feed(notification("notification_bounce_permanent.json", bounced))
    feed(notification("notification_delivery.json", delivered))
    feed(notification("notification_complaint.json", complained))

    states = comm_store.get_many(
        company.company_id,
        [bounced.communication_id, delivered.communication_id, complained.communication_id],
    )
    assert states[bounced.communication_id].state == "bounced"
    assert (
        states[bounced.communication_id].error
        == "bounce Permanent/General: smtp; 550 5.1.1 <jane@example.com>... User"
    )
    assert states[delivered.communication_id].state == "delivered"
    assert states[complained.communication_id].state == "complained"
    listed = suppression_list(api, company)
    assert listed[bounced_to.lower()]["reason"] == "bounce"
    assert listed[complained_to.lower()]["reason"] == "complaint"
    assert delivered_to.lower() not in listed


def test_a_duplicate_notification_and_garbage_change_nothing(
    api: Client, company: Tenant, clock: Any
) -> None:
    # Given a message that bounced once
    address = new_address()
    comm = send(company, address)
    bounce = notification("event_bounce_permanent.json", comm)
    feed(bounce)
    first = comm_store.get(company.company_id, comm.communication_id)
    assert first is not None and first.state == "bounced"
    first_entry = suppression_list(api, company)[address.lower()]

    # When SNS delivers the same notification again, later
    clock.set_now(clock.now() + timedelta(hours=1))
    feed(bounce)

    # Then nothing more changes: not the message, not the suppression entry
    assert comm_store.get(company.company_id, comm.communication_id) == first
    assert suppression_list(api, company)[address.lower()] == first_entry

    # And after an administrator lifts the suppression, the old notification again does not put it back
    lifted = api.http.delete(f"/suppressions/{address.lower()}", headers=company.admin_headers())
    assert lifted.status_code == 204
    feed(bounce)
    assert address.lower() not in suppression_list(api, company)

    # When garbage reaches the topic: not JSON, not an object, not SES, a bounce without its bounce
    garbage = [
        "not json {",
        "[1, 2]",
        "{}",
        json.dumps({"eventType": "Bounce", "mail": {"messageId": comm.provider_message_id}}),
        json.dumps({"notificationType": "Delivery", "mail": {"messageId": 7}}),
    ]
    # Then each is dropped without an exception (no retry loop), and nothing changes
    for payload in garbage:
        feed(payload)
    assert comm_store.get(company.company_id, comm.communication_id) == first
    # And a notification about a message we never sent is ignored
    unknown = json.loads(bounce)
    unknown["mail"]["messageId"] = f"0100{uuid.uuid4().hex}-000000"
    unknown["mail"]["tags"][COMMUNICATION_TAG] = [uuid.uuid4().hex]
    feed(json.dumps(unknown))
    # And events that say nothing about delivery are only logged
    send_event = json.loads(bounce)
    send_event["eventType"] = "Send"
    send_event["send"] = {}
    del send_event["bounce"]
    feed(json.dumps(send_event))
    assert comm_store.get(company.company_id, comm.communication_id) == first
    assert address.lower() not in suppression_list(api, company)


def test_a_message_ses_rejects_is_failed_with_its_reason(api: Client, company: Tenant) -> None:
    address = new_address()
    comm = send(company, address)
    reject = json.loads(notification("event_delivery.json", comm))
    del reject["delivery"]
    reject |= {"eventType": "Reject", "reject": {"reason": "Bad content"}}

    feed(json.dumps(reject))

    failed = comm_store.get(company.company_id, comm.communication_id)
    assert failed is not None and failed.state == "failed" and failed.error == "rejected by SES: Bad content"
    assert address.lower() not in suppression_list(api, company)


# --- tenants -----------------------------------------------------------------------------------


def test_another_tenants_notification_never_touches_this_tenant(
    api: Client, company: Tenant, rival: Tenant, local_aws: dict[str, str]
) -> None:
    # Given both companies wrote to the same person
    address = new_address()
    ours = send(company, address)
    theirs = send(rival, address)
    assert ours.state == theirs.state == "sent"

    # When the other company's message bounces permanently
    feed(notification("event_bounce_permanent.json", theirs))

    # Then only the other company's message and list change
    assert comm_store.get(rival.company_id, theirs.communication_id).state == "bounced"  # type: ignore[union-attr]
    assert address.lower() in suppression_list(api, rival)
    assert comm_store.get(company.company_id, ours.communication_id).state == "sent"  # type: ignore[union-attr]
    assert address.lower() not in suppression_list(api, company)
    # And this company still reaches the person
    assert send(company, address).state == "sent"

    # When a notification names this company's message but carries the other company's tag
    forged = notification("event_complaint.json", ours, company_id=rival.company_id)
    feed(forged)
    # Or names this company's message for another recipient
    other_recipient = json.loads(notification("event_bounce_permanent.json", ours))
    other_recipient["mail"]["destination"] = ["someone-else@example.com"]
    other_recipient["bounce"]["bouncedRecipients"][0]["emailAddress"] = "someone-else@example.com"
    feed(json.dumps(other_recipient))
    # And the same for a Delivery, which is one conditional write by the tagged key, nothing read
    feed(notification("event_delivery.json", ours, company_id=rival.company_id))
    elsewhere = json.loads(notification("event_delivery.json", ours))
    elsewhere["mail"]["destination"] = elsewhere["delivery"]["recipients"] = ["someone-else@example.com"]
    feed(json.dumps(elsewhere))

    # Then this company's message and list are untouched
    assert comm_store.get(company.company_id, ours.communication_id).state == "sent"  # type: ignore[union-attr]
    assert suppression_list(api, company).keys().isdisjoint({address.lower(), "someone-else@example.com"})


# --- the suppression list API ------------------------------------------------------------------


def test_administrators_add_list_and_lift_suppressions(
    api: Client, company: Tenant, rival: Tenant, local_aws: dict[str, str]
) -> None:
    admin = company.admin_headers()
    address = new_address()
    admin_id = f"admin@{company.company_id}"
    named_user(company.company_id, admin_id, "Ada Ruiz", level=1)

    # An administrator adds an address a client asked by phone not to write to (any case)
    added = api.http.post(
        "/suppressions",
        headers=admin,
        body=json.dumps({"address": f"  {address} ", "note": "pidió por teléfono"}),
    )
    assert added.status_code == 201, added.body
    entry = body(added)
    assert entry["address"] == address.lower() and entry["reason"] == "manual" and entry["created"] is True
    assert entry["detail"] == f"added by {admin_id}: pidió por teléfono"
    assert (entry["created_by"], entry["created_by_name"]) == (admin_id, "Ada Ruiz")
    # Adding it again keeps the first entry
    again = api.http.post("/suppressions", headers=admin, body=json.dumps({"address": address.upper()}))
    assert again.status_code == 200 and body(again)["created"] is False
    assert body(again)["created_at"] == entry["created_at"]
    # A local phone number is kept in E.164 (the company's region: Argentina by default)
    phone = api.http.post("/suppressions", headers=admin, body=json.dumps({"address": "011 15-5987-6543"}))
    assert phone.status_code == 201 and body(phone)["address"] == "+5491159876543"

    # Then messages to the address are skipped
    assert send(company, address).state == "suppressed"
    assert ses_raw_messages_to(local_aws, address) == 0

    # The list pages
    first = body(api.http.get("/suppressions?limit=1", headers=admin))
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = body(api.http.get(f"/suppressions?limit=1&cursor={first['next_cursor']}", headers=admin))
    assert {first["items"][0]["address"], second["items"][0]["address"]} == {
        address.lower(),
        "+5491159876543",
    }
    assert [i["created_by_name"] for i in first["items"] + second["items"]] == ["Ada Ruiz"] * 2
    # An entry added by hand before the list kept who (only its detail names them) names them too
    written = datetime.now(timezone.utc)
    old = Suppression(company.company_id, "old@example.com", "manual", written, f"added by {admin_id}: antes")
    assert outbox_store.suppress(old)
    [found] = body(api.http.get("/suppressions?q=old@example.com", headers=admin))["items"]
    assert (found["created_by"], found["created_by_name"]) == (admin_id, "Ada Ruiz")
    assert api.http.delete("/suppressions/old%40example.com", headers=admin).status_code == 204

    # Another company sees none of it and cannot lift it
    assert suppression_list(api, rival) == {}
    foreign = api.http.delete(f"/suppressions/{address.lower()}", headers=rival.admin_headers())
    assert foreign.status_code == 404

    # Lifting (URL-encoded) lets messages go again; lifting twice is a 404
    lifted = api.http.delete(f"/suppressions/{address.replace('@', '%40')}", headers=admin)
    assert lifted.status_code == 204
    assert api.http.delete("/suppressions/%2B5491159876543", headers=admin).status_code == 204
    assert suppression_list(api, company) == {}
    gone = api.http.delete(f"/suppressions/{address.lower()}", headers=admin)
    assert gone.status_code == 404 and body(gone)["field"] == "address"
    assert send(company, address).state == "sent"


def test_an_administrator_finds_one_address_on_the_list(api: Client, company: Tenant, rival: Tenant) -> None:
    admin = company.admin_headers()
    address = new_address()  # mixed case, as a person types it

    def found(q: str, headers: dict[str, str] = admin) -> list[str]:
        answer = api.http.get(f"/suppressions?{urlencode({'q': q})}", headers=headers)
        assert answer.status_code == 200, (q, answer.body)
        assert body(answer)["next_cursor"] is None
        return [item["address"] for item in body(answer)["items"]]

    # Given an e-mail address and a phone number on the company's list, among others
    for added in (address, "011 15-5987-6543", "otra@example.com", "+5491155550000"):
        assert (
            api.http.post("/suppressions", headers=admin, body=json.dumps({"address": added})).status_code
            == 201
        )
    # When the administrator looks for the address in any case, with spaces around it
    # Then only its entry is answered, as listed
    assert found(f"  {address.upper()} ") == [address.lower()]
    assert found(address) == [address.lower()]
    # And a phone number finds its entry as the list shows it (E.164), however it is written
    assert found("+5491159876543") == ["+5491159876543"]
    assert found("011 15-5987-6543") == ["+5491159876543"]
    assert found("+54 9 11 5555-0000") == ["+5491155550000"]
    # And an address not on the list answers no item, as does this company's address for another company
    assert found("nadie@example.com") == []
    assert found(address, rival.admin_headers()) == []
    # And `limit` does not cut it, nor does a cursor move it
    answer = api.http.get(f"/suppressions?limit=1&{urlencode({'q': 'otra@example.com'})}", headers=admin)
    assert [item["address"] for item in body(answer)["items"]] == ["otra@example.com"]

    # When the text is no address: too long, or with control characters
    for bad in ("a" * 250 + "@example.com", "ana@example.com\r\nBcc: x@example.com", "ana\x00@example.com"):
        refused = api.http.get(f"/suppressions?{urlencode({'q': bad})}", headers=admin)
        # Then it is a 422 naming q
        assert refused.status_code == 422 and body(refused)["field"] == "q", (bad, refused.body)
    # And the search is for administrators only
    assert (
        api.http.get("/suppressions?q=ana%40example.com", headers=company.staff_headers()).status_code == 403
    )


def test_the_suppression_list_is_for_administrators_and_checks_its_input(
    api: Client, company: Tenant
) -> None:
    clerk = IDENTITY.mint(company.company_id, user_id="clerk@x", level=3, department="ops")
    for headers in (company.staff_headers(), company.key_headers(), {"Authorization": f"Bearer {clerk}"}):
        assert api.http.get("/suppressions", headers=headers).status_code == 403
        refused = api.http.post("/suppressions", headers=headers, body=json.dumps({"address": "a@b.example"}))
        assert refused.status_code == 403
        assert api.http.delete("/suppressions/a@b.example", headers=headers).status_code == 403

    admin = company.admin_headers()
    for payload, field in (
        ({"address": "no-at-sign-and-not-a-phone"}, "address"),
        ({"address": "ana@"}, "address"),
        ({"address": "123"}, "address"),
        ({}, "address"),
        ({"address": "ana@example.com", "reason": "bored"}, "reason"),
        ({"address": "ana@example.com", "extra": 1}, "extra"),
    ):
        response = api.http.post("/suppressions", headers=admin, body=json.dumps(payload))
        assert response.status_code == 422, (payload, response.body)
        assert body(response)["field"] == field
    assert api.http.get("/suppressions?limit=0", headers=admin).status_code == 422
    assert api.http.get("/suppressions?cursor=%%%", headers=admin).status_code == 422
    assert outbox_store.list_suppressions(company.company_id, 10, None)[0] == []


def test_the_sending_domain_shows_its_complaint_rate_from_the_feedback(api: Client, company: Tenant) -> None:
    # Given three e-mails sent from the company's SES domain, one of them reported as spam
    sent = [send(company, new_address()) for _ in range(3)]
    feed(notification("event_complaint.json", sent[0]))
    assert state_of(company, sent[0]) == "complained"
    # When the administrator looks at the domain
    domain = f"{company.company_id}.ses.example"
    shown = body(api.http.get(f"/sender-domains/{domain}", headers=company.admin_headers()))
    # Then the bulk-sender checks count the complaint against what was sent: 33 %, far over Gmail's 0.3 %
    [rate] = [c for c in shown["bulk_sender_checks"] if c["requirement"] == "complaint_rate"]
    assert rate["state"] == "fail" and rate["detail"].startswith(
        "1 complaints in 3 e-mails in 30 days (33.33%)"
    )


# --- batches over SQS (issue 14) ---------------------------------------------------------------


def states_of(tenant: Tenant, *comms: Communication) -> dict[str, Communication]:
    return comm_store.get_many(tenant.company_id, [c.communication_id for c in comms])


def test_ses_sends_carry_the_communication_tag(
    company: Tenant, local_aws: dict[str, str], send_calls: list[dict[str, Any]]
) -> None:
    # When a message goes out through an SES account
    comm = send(company, new_address())
    # Then SES is asked to tag it with its company and with the communication itself
    assert {"Name": COMMUNICATION_TAG, "Value": comm.communication_id} in send_calls[-1]["EmailTags"]
    assert {"Name": COMPANY_TAG, "Value": company_tag_value(company.company_id)} in send_calls[-1][
        "EmailTags"
    ]
    # And moto's SES (what SES's events would echo) recorded the tags with the raw message
    sent = moto_received("ses", "RawMessage")
    assert comm.communication_id in json.dumps([m for m in sent if (comm.to_address or "") in json.dumps(m)])


def test_a_batch_applies_each_event_and_drops_only_the_malformed_one(
    api: Client, company: Tenant, rival: Tenant
) -> None:
    # Given five messages this company sent through SES, and one another company sent
    delivered, bounced, complained, untouched = (send(company, new_address()) for _ in range(4))
    theirs = send(rival, new_address())
    # When SES publishes a batch of events: a delivery, a permanent bounce, a complaint, garbage,
    # and a record about our message that carries the other company's tag
    publish_ses_events(
        notification("event_delivery.json", delivered),
        notification("event_bounce_permanent.json", bounced),
        notification("event_complaint.json", complained),
        "not an SES event {",
        notification("event_delivery.json", untouched, company_id=rival.company_id),
    )
    answers = deliver_ses_events()

    # Then one invocation handled all five, and asked SQS to retry none of them
    assert answers == [{"batchItemFailures": []}]
    # And each message shows what SES said about it; the foreign record changed nothing
    shown = states_of(company, delivered, bounced, complained, untouched)
    assert [shown[c.communication_id].state for c in (delivered, bounced, complained, untouched)] == [
        "delivered",
        "bounced",
        "complained",
        "sent",
    ]
    assert states_of(rival, theirs)[theirs.communication_id].state == "sent"
    # And the bounced and complained addresses, only those, are suppressed
    listed = suppression_list(api, company)
    assert {a: e["reason"] for a, e in listed.items()} == {
        (bounced.to_address or "").lower(): "bounce",
        (complained.to_address or "").lower(): "complaint",
    }
    assert suppression_list(api, rival) == {}
    # And nothing is left in the queue (the malformed record was dropped, not retried)
    assert deliver_ses_events() == []

    # When SQS delivers the same batch again (at-least-once)
    publish_ses_events(
        notification("event_delivery.json", delivered),
        notification("event_bounce_permanent.json", bounced),
        notification("event_complaint.json", complained),
        notification("event_delivery.json", untouched, company_id=rival.company_id),
    )
    again = deliver_ses_events()

    # Then nothing changes and nothing is retried: the same records, the same list
    assert again == [{"batchItemFailures": []}]
    assert states_of(company, delivered, bounced, complained, untouched) == shown
    assert suppression_list(api, company) == listed


def test_a_tagged_delivery_is_one_write_and_nothing_read(company: Tenant) -> None:
    # Given a message sent through SES, whose Delivery carries its communication tag
    comm = send(company, new_address())
    publish_ses_events(notification("event_delivery.json", comm))
    # When the batch is handled
    with dynamodb_requests() as requests_made:
        assert deliver_ses_events() == [{"batchItemFailures": []}]
    # Then DynamoDB saw one conditional UpdateItem: no index query, no read
    assert requests_made == ["UpdateItem"]
    assert comm_store.get(company.company_id, comm.communication_id).state == "delivered"  # type: ignore[union-attr]


def test_a_batch_is_one_info_line_and_only_what_is_wrong_is_logged_alone(company: Tenant) -> None:
    # Given a batch of three deliveries and a malformed record
    comms = [send(company, new_address()) for _ in range(3)]
    publish_ses_events(*(notification("event_delivery.json", c) for c in comms), '{"eventType": "Bounce"}')
    # When it is handled at production's log level
    with logged_lines("INFO") as lines:
        deliver_ses_events()
    # Then the operator sees one line for the batch, with its counts, and a warning for the bad record
    assert [(line["level"], line["message"]) for line in lines] == [
        ("WARNING", "ses event dropped: not an SES notification"),
        ("INFO", "ses events applied"),
    ]
    assert lines[1]["records"] == 4 and lines[1]["results"] == {"delivered": 3, "malformed": 1}
    # And no line carries a message's text
    assert "Hola, adjuntamos" not in json.dumps(lines)


def test_an_event_without_the_communication_tag_is_found_through_the_index(
    company: Tenant, clock: Any
) -> None:
    # Given a message sent before SES sends were tagged with their communication
    comm = send(company, new_address())
    clock.set_now(clock.now() + timedelta(seconds=30))
    # When its Delivery arrives, carrying the company tag only
    event = json.loads(notification("event_delivery.json", comm, tagged=False))
    assert COMMUNICATION_TAG not in event["mail"]["tags"]
    feed(json.dumps(event))
    # Then it is delivered as before
    delivered = comm_store.get(company.company_id, comm.communication_id)
    assert delivered is not None and delivered.state == "delivered" and delivered.delivered_at == clock.now()


def test_an_sns_envelope_in_the_queue_is_read_too(company: Tenant) -> None:
    # Given the subscription's raw message delivery was turned off: the body is SNS's envelope
    comm = send(company, new_address())
    send_envelopes(notification("event_delivery.json", comm))
    # When the queue is read
    assert deliver_ses_events() == [{"batchItemFailures": []}]
    # Then the message is delivered
    assert comm_store.get(company.company_id, comm.communication_id).state == "delivered"  # type: ignore[union-attr]


def test_a_store_failure_retries_only_its_record(company: Tenant) -> None:
    # Given three delivered messages' events in one batch
    comms = [send(company, new_address()) for _ in range(3)]
    publish_ses_events(*(notification("event_delivery.json", c) for c in comms))
    # When DynamoDB fails the write for the second one
    with dynamodb_down_for(comms[1].communication_id):
        [answer] = deliver_ses_events(visibility_timeout=1)

    # Then only that record is reported failed, for SQS to deliver again (the answer is SQS's
    # partial batch response and nothing else)
    [failure] = answer["batchItemFailures"]
    assert answer == {"batchItemFailures": [failure]}
    shown = states_of(company, *comms)
    assert [shown[c.communication_id].state for c in comms] == ["delivered", "sent", "delivered"]

    # When SQS delivers it again (its visibility timeout over) and DynamoDB answers
    retried = redelivered_ses_events(visibility_timeout=1)

    # Then it alone is handled, and applied
    assert retried == [{"batchItemFailures": []}]
    assert comm_store.get(company.company_id, comms[1].communication_id).state == "delivered"  # type: ignore[union-attr]
    assert failure["itemIdentifier"]


def test_a_communication_tag_ses_would_not_allow_is_no_key(company: Tenant) -> None:
    # Given an event whose communication tag is no value SES allows (too long, other characters)
    comm = send(company, new_address())
    event = json.loads(notification("event_delivery.json", comm))
    event["mail"]["tags"][COMMUNICATION_TAG] = ["x" * 2000 + "#" + comm.communication_id]
    # When it is handled
    publish_ses_events(json.dumps(event))
    answers = deliver_ses_events()
    # Then it is not a store failure retried forever: the message is found through the index
    assert answers == [{"batchItemFailures": []}]
    assert comm_store.get(company.company_id, comm.communication_id).state == "delivered"  # type: ignore[union-attr]
