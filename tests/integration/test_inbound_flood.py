"""Anyone may write to a company's inbound address: a stranger's flood, a mail loop, a company's own
misconfigured system mailing it all day. Past the day's ceilings (decision 0037) the mail is held:
kept raw, counted, listed for the administrators (told once a day), not in the unassigned list,
no register, no webhook; a known client's reply still lands. The ceilings are set low here
through the settings, as an operator would set them (``PREGON_INBOUND_*``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from tests.steps.answers import body
from tests.steps.clients import put_client
from tests.steps.domains import notices_by_recipient, pregon_notice_sender_verified
from tests.steps.inbound import inbound_ceilings, receive_mail
from tests.steps.tenants import Tenant, staff_user
from tests.steps.webhooks import Receiver, deliver_webhooks, drain_webhook_queue

CLIENT = "ana@cliente.example"
STRANGER = "robot@loop.example"
OTHER = "persona@otro.example"


@pytest.fixture
def low_ceilings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """2 a day per stranger's address, 2 per client's address, 3 from strangers in all."""
    with inbound_ceilings(monkeypatch, sender=2, client=2, strangers=3):
        yield


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    drain_webhook_queue()
    with Receiver() as running:
        yield running


def writes(api: Client, tenant: Tenant, sender: str, times: int) -> list[dict[str, Any]]:
    return [
        receive_mail(api, tenant.company_id, sender, f"Mensaje {n}", f"Texto {n} de {sender}")
        for n in range(1, times + 1)
    ]


def unassigned_senders(api: Client, tenant: Tenant) -> list[str]:
    page = body(api.http.get("/inbound/unassigned?limit=100", headers=tenant.staff_headers()))
    return sorted(item["from_address"] for item in page["items"])


def in_register(api: Client, tenant: Tenant) -> list[str]:
    items = body(api.http.get("/clients/CLI-1/register", headers=tenant.staff_headers()))["items"]
    return [i["communication_id"] for i in items if i["direction"] == "in"]


def test_a_flood_is_held_past_the_ceilings_while_a_clients_mail_lands_and_staff_release_it(
    api: Client, tenant: Tenant, receiver: Receiver, low_ceilings: None, local_aws: dict[str, str]
) -> None:
    company = tenant.company_id
    pregon_notice_sender_verified()
    # Given a company whose administrator is Olga, its client Ana, and its help desk listening
    # for client mail
    staff_user(company, "olga", f"olga@{company}.example", level=1)
    put_client(api, tenant, "CLI-1", name="Ana", emails=[CLIENT])
    hook = api.http.post(
        "/webhooks",
        headers=tenant.admin_headers(),
        body=json.dumps({"url": receiver.url, "events": ["inbound.received"]}),
    )
    assert hook.status_code == 201, hook.body

    # When a stranger's robot mails the inbound address 4 times, and then 2 other strangers once
    flood = writes(api, tenant, STRANGER, 4)
    others = [writes(api, tenant, f"persona{n}@otro.example", 1)[0] for n in (1, 2)]
    # And then Ana (a known client) writes 3 times, the strangers' ceiling reached
    hers = writes(api, tenant, CLIENT, 3)

    # Then the robot's first 2 are recorded, the other 2 held; the first other stranger fits in
    # the strangers' 3 of the day, the second is held
    assert [(r["logged"], r["held"]) for r in flood] == [(1, 0), (1, 0), (0, 1), (0, 1)]
    assert [(r["logged"], r["held"]) for r in others] == [(1, 0), (0, 1)]
    assert unassigned_senders(api, tenant) == sorted([STRANGER, STRANGER, "persona1@otro.example"])
    # And Ana's 2 first land in her register whatever strangers sent; her 3rd is past her own ceiling
    assert [(r["logged"], r["held"]) for r in hers] == [(1, 0), (1, 0), (0, 1)]
    assert len(in_register(api, tenant)) == 2
    # And the help desk hears of her 2 messages only
    deliver_webhooks()
    assert [got.event["type"] for got in receiver.received] == ["inbound.received"] * 2

    # And Olga gets one notice, not one per held message, in the company's language
    [notice] = notices_by_recipient([f"olga@{company}.example"])[f"olga@{company}.example"]
    assert notice["Subject"] == f"Pregón: se retiene correo recibido en {company}@inbound.pregon.local"
    assert notice["Auto-Submitted"] == "auto-generated"
    text = notice.get_body(("plain",)).get_content()
    assert "2 mensajes por remitente desconocido, 2 por dirección de un cliente y 3" in text
    assert "/console#/inbound" in text

    # And the administrators see what was held today, and from whom
    held = body(api.http.get("/inbound/held", headers=tenant.admin_headers()))
    assert held["held"] == 4
    by_sender = {s["address"]: s for s in held["senders"]}
    assert sorted(by_sender) == sorted([STRANGER, "persona2@otro.example", CLIENT])
    assert by_sender[STRANGER]["received"] == 4 and len(by_sender[STRANGER]["releasable"]) == 2
    assert by_sender[CLIENT]["received"] == 3 and len(by_sender[CLIENT]["releasable"]) == 1
    # (a clerk does not: the list is the administrators')
    assert api.http.get("/inbound/held", headers=tenant.staff_headers()).status_code == 403

    # When Olga releases Ana's held message
    released = api.http.post(
        "/inbound/held/release",
        headers=tenant.admin_headers(),
        body=json.dumps({"date": held["date"], "address": CLIENT.upper()}),
    )

    # Then it is in Ana's register as if it had landed, and the help desk hears of it
    assert released.status_code == 200, released.body
    [record] = body(released)["released"]
    assert record in in_register(api, tenant) and len(in_register(api, tenant)) == 3
    deliver_webhooks()
    assert [got.event["data"]["message_id"] for got in receiver.received][-1] == record
    # And it is off the list: releasing it again finds nothing
    again = api.http.post(
        "/inbound/held/release",
        headers=tenant.admin_headers(),
        body=json.dumps({"date": held["date"], "address": CLIENT}),
    )
    assert again.status_code == 404, again.body
    shown = {
        s["address"]: s
        for s in body(api.http.get("/inbound/held", headers=tenant.admin_headers()))["senders"]
    }
    assert shown[CLIENT]["releasable"] == []
    # And a day that is no date (a blank one too: the API document says a date) is refused, naming the field
    for day in ("ayer", ""):
        bad = api.http.get(f"/inbound/held?date={day}", headers=tenant.admin_headers())
        assert bad.status_code == 422 and "date" in bad.body.decode(), day


def test_strangers_answering_a_clients_message_count_as_strangers_and_the_client_still_lands(
    api: Client, tenant: Tenant, low_ceilings: None
) -> None:
    from chalicelib.core.links import plus_reply_address
    from tests.steps.history import add_register_record

    company = tenant.company_id
    # Given client Ana and a message in her register, whose reply address (in every e-mail's
    # Reply-To) a robot came to know
    put_client(api, tenant, "CLI-1", name="Ana", emails=[CLIENT])
    record = add_register_record(api, tenant.staff_headers(), "CLI-1", record_type="call", subject="IVA")
    thread = plus_reply_address(company, record["communication_id"])
    # When the robot answers it from 4 addresses, twice from each (2 a day per address allowed)
    answers = [
        receive_mail(api, company, f"robot{n}@loop.example", "Re: IVA", f"Oferta {n}", to=thread)
        for n in range(4)
        for _ in range(2)
    ]
    # Then its answers count as strangers' mail: the strangers' 3 of the day are recorded, the
    # other 5 held (a thread is no ceiling of its own for whoever learned its address)
    assert [r["logged"] for r in answers].count(1) == 3
    assert [r["held"] for r in answers].count(1) == 5
    # And Ana's own answer in her thread lands, as her mail does whatever strangers send
    hers = receive_mail(api, company, CLIENT, "Re: IVA", "Adjunto el formulario", to=thread)
    assert (hers["logged"], hers["held"]) == (1, 0)
    assert len(in_register(api, tenant)) == 4


def test_a_message_delivered_again_or_retried_after_a_failure_past_its_count_counts_once(
    api: Client, tenant: Tenant, low_ceilings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pynamodb.exceptions import PutError

    from chalicelib.records import inbound_mail
    from tests.steps.inbound import inbound_mail_event

    def delivered(event: dict[str, Any]) -> dict[str, Any]:
        return dict(api.lambda_.invoke("receive_inbound_mail", event).payload)

    # Given a stranger's first message, whose record cannot be written the first time (DynamoDB
    # fails after the ceilings counted it: the invocation fails, SNS hands it again)
    first = inbound_mail_event(api, tenant.company_id, STRANGER, "Uno", "Primero")
    real = inbound_mail.written_unless_erased
    failures = iter([PutError("the table failed")])

    def failing_once(*args: Any, **kwargs: Any) -> Any:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real(*args, **kwargs)

    monkeypatch.setattr(inbound_mail, "written_unless_erased", failing_once)
    with pytest.raises(Exception, match="the table failed"):
        delivered(first)
    # When SNS hands it again, then twice more (at-least-once delivery)
    outcomes = [delivered(first) for _ in range(3)]
    # And his 2nd and 3rd messages come, the 3rd past his 2 a day, and SNS hands the 3rd twice
    second = delivered(inbound_mail_event(api, tenant.company_id, STRANGER, "Dos", "Segundo"))
    third = inbound_mail_event(api, tenant.company_id, STRANGER, "Tres", "Tercero")
    thirds = [delivered(third), delivered(third)]

    # Then the first is logged once and counted once: the second still fits in his day
    assert [(o["logged"], o["held"]) for o in outcomes] == [(1, 0), (0, 0), (0, 0)]
    assert (second["logged"], second["held"]) == (1, 0)
    assert unassigned_senders(api, tenant) == [STRANGER, STRANGER]
    # And the third is held, and counted once however often it came
    assert [(o["logged"], o["held"]) for o in thirds] == [(0, 1), (0, 1)]
    held = body(api.http.get("/inbound/held", headers=tenant.admin_headers()))
    assert held["held"] == 1
    [sender] = held["senders"]
    assert (sender["address"], sender["received"], len(sender["releasable"])) == (STRANGER, 3, 1)


def test_a_message_whose_invocation_dies_between_its_counts_and_its_verdict_counts_once(
    api: Client, tenant: Tenant, low_ceilings: None
) -> None:
    from pynamodb.exceptions import PutError

    from chalicelib.store.models import RateLimitModel
    from tests.steps.aws import dynamodb_connection_reset
    from tests.steps.inbound import inbound_mail_event

    def delivered(event: dict[str, Any]) -> dict[str, Any]:
        return dict(api.lambda_.invoke("receive_inbound_mail", event).payload)

    def dies_at_its_verdict(event: dict[str, Any]) -> None:
        # DynamoDB's connection is reset under the write of the message's verdict (the first
        # PutItem of its invocation, right after the counters' updates): the invocation dies
        with dynamodb_connection_reset("PutItem") as reset, pytest.raises(PutError):
            delivered(event)
        assert reset == [reset[0]] * len(reset) and reset[0].endswith("rate-limits"), reset

    # Given a stranger (2 a day allowed) whose 1st message's invocation dies after it was counted
    first = inbound_mail_event(api, tenant.company_id, STRANGER, "Uno", "Primero")
    dies_at_its_verdict(first)
    # When SNS hands it again, his 2nd comes, and his 3rd dies the same way and is handed again
    again = delivered(first)
    second = delivered(inbound_mail_event(api, tenant.company_id, STRANGER, "Dos", "Segundo"))
    third = inbound_mail_event(api, tenant.company_id, STRANGER, "Tres", "Tercero")
    dies_at_its_verdict(third)
    third_again = delivered(third)

    # Then the 1st and 2nd are recorded (each counted once: both fit in his day) and the 3rd held
    assert [(o["logged"], o["held"]) for o in (again, second, third_again)] == [(1, 0), (1, 0), (0, 1)]
    assert unassigned_senders(api, tenant) == [STRANGER, STRANGER]
    # And the administrators see 3 received from him, 1 held, listed once
    held = body(api.http.get("/inbound/held", headers=tenant.admin_headers()))
    assert held["held"] == 1
    [sender] = held["senders"]
    assert (sender["received"], sender["held"], len(sender["releasable"])) == (3, 1, 1)
    # And the counters keep no mark of the messages once their verdicts are kept (they stay tiny)
    table = RateLimitModel._get_connection()
    items = table.scan(filter_condition=RateLimitModel.limit_key.startswith(tenant.company_id))["Items"]
    assert len(items) > 5 and not [name for i in items for name in i if name.startswith("counted#")]


def test_a_message_delivered_twice_at_once_is_recorded_or_held_never_both(
    api: Client, tenant: Tenant, low_ceilings: None
) -> None:
    from tests.steps.aws import dynamodb_before_sending
    from tests.steps.inbound import inbound_mail_event

    def delivered(event: dict[str, Any]) -> dict[str, Any]:
        return dict(api.lambda_.invoke("receive_inbound_mail", event).payload)

    # Given a stranger (2 a day allowed) whose 1st message was recorded
    assert (writes(api, tenant, STRANGER, 1)[0]["logged"], len(unassigned_senders(api, tenant))) == (1, 1)
    # When SNS hands his 2nd message twice at once, and the first delivery has read that the
    # message has no verdict yet when the second one counts it, records it and is done (its marks
    # taken off the counters) before the first one's count reaches DynamoDB
    second = inbound_mail_event(api, tenant.company_id, STRANGER, "Dos", "Segundo")
    other: list[dict[str, Any]] = []

    def the_other_delivery_first(sent: str) -> None:
        if not other and "counted#" in sent:
            other.append({})  # the other delivery's own counts go through
            other[0] = delivered(second)
        return None

    with dynamodb_before_sending("UpdateItem", the_other_delivery_first):
        first = delivered(second)

    # Then the message is recorded once, by the delivery that finished first, and held by neither
    assert (other[0]["logged"], other[0]["held"]) == (1, 0)
    assert first["held"] == 0, first
    assert unassigned_senders(api, tenant) == [STRANGER, STRANGER]
    held = body(api.http.get("/inbound/held", headers=tenant.admin_headers()))
    assert (held["held"], held["senders"]) == (0, [])


def test_a_held_message_meeting_a_release_of_its_senders_mail_is_counted_and_listed(
    api: Client, tenant: Tenant, low_ceilings: None
) -> None:
    from tests.steps.aws import dynamodb_before_sending

    # Given a stranger (2 a day allowed) who wrote 3 times: his 3rd held
    assert [w["held"] for w in writes(api, tenant, STRANGER, 3)] == [0, 0, 1]
    # When his 4th comes while the administrators release his held mail: DynamoDB refuses the
    # first write to his held count, the release's transaction holding it (TransactionConflict)
    refused: list[str] = []

    def in_a_release(sent: str) -> str | None:
        if not refused and "held-from" in sent:
            refused.append(sent)
            return "TransactionConflictException"
        return None

    with dynamodb_before_sending("UpdateItem", in_a_release) as answered:
        fourth = receive_mail(api, tenant.company_id, STRANGER, "Cuatro", "Cuarto")
    # Then the 4th is held all the same (not failed, for SNS to hand again minutes later)
    assert answered == ["TransactionConflictException"]
    assert (fourth["logged"], fourth["held"]) == (0, 1)
    # And the administrators see him with 4 received and 2 held, both releasable
    [sender] = body(api.http.get("/inbound/held", headers=tenant.admin_headers()))["senders"]
    assert (sender["received"], sender["held"], len(sender["releasable"])) == (4, 2, 2)


def test_held_mail_is_kept_raw_for_its_release_window_and_once_gone_answers_410(
    api: Client, tenant: Tenant, low_ceilings: None
) -> None:
    from chalicelib.core.aws import client
    from tests.steps.inbound import inbound_mail_event

    def raw_of(event: dict[str, Any]) -> tuple[str, str]:
        action = json.loads(event["Records"][0]["Sns"]["Message"])["receipt"]["action"]
        return action["bucketName"], action["objectKey"]

    def tags(event: dict[str, Any]) -> dict[str, str]:
        bucket, key = raw_of(event)
        found = client("s3").get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
        return {t["Key"]: t["Value"] for t in found}

    # Given a stranger who writes 3 times (2 a day allowed) and another twice (the strangers' 3
    # of the day reached): each one's last is held
    events = [inbound_mail_event(api, tenant.company_id, STRANGER, f"M{n}", f"T{n}") for n in range(3)]
    events += [inbound_mail_event(api, tenant.company_id, OTHER, f"O{n}", f"T{n}") for n in range(2)]
    for event in events:
        api.lambda_.invoke("receive_inbound_mail", event)

    # Then the raw mail of the held ones is tagged for the inbound bucket's lifecycle rule (40
    # days), the recorded ones' is not (it is their record's)
    unrecorded = {"pregon-purpose": "unrecorded-mail"}
    assert [tags(e) for e in events] == [{}, {}, unrecorded, {}, unrecorded]
    held = body(api.http.get("/inbound/held", headers=tenant.admin_headers()))
    assert held["held"] == 2
    # And a day past the release window (30 days) is not listed, naming the field
    old = api.http.get("/inbound/held?date=2020-01-01", headers=tenant.admin_headers())
    assert old.status_code == 422 and "date" in old.body.decode()

    # When the first stranger's held raw mail is gone (the lifecycle rule ran) and Olga releases
    # both strangers' held mail
    bucket, key = raw_of(events[2])
    client("s3").delete_object(Bucket=bucket, Key=key)

    def release(sender: str) -> Any:
        release = {"date": held["date"], "address": sender}
        return api.http.post(
            "/inbound/held/release", headers=tenant.admin_headers(), body=json.dumps(release)
        )

    gone, released = release(STRANGER), release(OTHER)

    # Then the first answers 410, saying held mail is kept 40 days, and nothing of it is recorded
    assert gone.status_code == 410, gone.body
    assert "deleted 40 days after it arrived" in body(gone)["message"]
    # And the other's is recorded, its raw mail tagged as a record's: no longer to expire
    assert released.status_code == 200, released.body
    assert unassigned_senders(api, tenant) == sorted([STRANGER, STRANGER, OTHER, OTHER])
    assert tags(events[4]) == {"pregon-purpose": "recorded-mail"}


def test_administrators_page_through_a_senders_held_mail_of_an_earlier_day_and_release_it_all(
    api: Client, tenant: Tenant, low_ceilings: None, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from chalicelib.records import inbound_flood

    monkeypatch.setattr(inbound_flood, "KEPT_PER_SENDER", 2)  # pages of 2 here (20 in service)
    admin = tenant.admin_headers()

    def held_list(query: str) -> dict[str, Any]:
        answer = api.http.get(f"/inbound/held?{query}", headers=admin)
        assert answer.status_code == 200, answer.body
        return dict(body(answer))

    # Given a stranger's robot that wrote 7 times on Monday, 2 a day allowed: 5 held
    monday = held_list("")["date"]
    writes(api, tenant, STRANGER, 7)
    # When two days later the administrators look at Monday's held mail
    clock.set_now(clock.now() + timedelta(days=2))
    assert held_list("")["held"] == 0  # (today's: none)
    [sender] = held_list(f"date={monday}")["senders"]
    # Then they see the robot's 7 messages, 5 held, and the first page of them
    assert (sender["received"], sender["held"], len(sender["releasable"])) == (7, 5, 2)
    # And page through the rest with the cursor, 2 a page: the 5 held, each once
    pages = [sender]
    while pages[-1]["next_cursor"]:
        query = f"date={monday}&address={STRANGER}&cursor={pages[-1]['next_cursor']}"
        pages += held_list(query)["senders"]
    ids = [i for page in pages for i in page["releasable"]]
    assert [len(p["releasable"]) for p in pages] == [2, 2, 1] and len(set(ids)) == 5
    # And a cursor it never gave is refused, naming it
    bad = api.http.get(f"/inbound/held?date={monday}&address={STRANGER}&cursor=x", headers=admin)
    assert bad.status_code == 422 and "cursor" in bad.body.decode()

    # When they release the robot's mail, a page a call, until nothing is left
    release = json.dumps({"date": monday, "address": STRANGER})
    calls = [api.http.post("/inbound/held/release", headers=admin, body=release) for _ in range(4)]

    # Then each call records the next page, and the 4th finds nothing
    assert [c.status_code for c in calls] == [200, 200, 200, 404]
    assert [len(body(c)["released"]) for c in calls[:3]] == [2, 2, 1]
    assert unassigned_senders(api, tenant) == [STRANGER] * 7
    [after] = held_list(f"date={monday}")["senders"]
    assert (after["held"], after["releasable"], after["next_cursor"]) == (5, [], None)


def test_the_held_list_reads_one_page_per_sender_after_releases_and_mail_released_before_still_lists(
    api: Client, tenant: Tenant, low_ceilings: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.records import inbound_flood
    from chalicelib.store.models import RateLimitModel
    from tests.steps.aws import dynamodb_requests

    monkeypatch.setattr(inbound_flood, "KEPT_PER_SENDER", 2)  # pages of 2 here (20 in service)
    admin = tenant.admin_headers()

    def listed() -> tuple[dict[str, Any], list[str]]:
        with dynamodb_requests(RateLimitModel) as requests_made:
            answer = api.http.get("/inbound/held", headers=admin)
        assert answer.status_code == 200, answer.body
        [sender] = body(answer)["senders"]
        return sender, requests_made

    def released() -> list[str]:
        answer = api.http.post(
            "/inbound/held/release", headers=admin, body=json.dumps({"date": day, "address": STRANGER})
        )
        return list(body(answer)["released"]) if answer.status_code == 200 else [str(answer.status_code)]

    # Given a stranger's robot that wrote 9 times today, 2 allowed: 7 held, in pages of 2, 2, 2, 1
    writes(api, tenant, STRANGER, 9)
    first, _ = listed()
    day = body(api.http.get("/inbound/held", headers=admin))["date"]
    # When the administrators release its first 2 pages
    assert [len(released()) for _ in range(2)] == [2, 2]

    # Then the list shows its 3rd page, reading one page for it: the day's count, its list of
    # senders, and the sender's count received, count held (and released) and page
    third, requests_made = listed()
    assert (third["held"], len(third["releasable"]), third["next_cursor"]) == (7, 2, "3")
    assert not set(third["releasable"]) & set(first["releasable"])
    assert requests_made == ["GetItem"] * 5

    # Given the same robot's mail as session 39 left it: its pages released, no count of them
    # (what the listing finds for mail released before the count was kept)
    table = RateLimitModel._get_connection()
    kept = table.scan(filter_condition=RateLimitModel.released.exists())["Items"]
    counts = [i["limit_key"]["S"] for i in kept if i["limit_key"]["S"].startswith(tenant.company_id)]
    assert len(counts) == 1
    RateLimitModel(counts[0]).update(actions=[RateLimitModel.released.remove()])
    # When the administrators list it, release the rest a page a call, and list it again
    before, _ = listed()
    calls = [released() for _ in range(3)]
    after, _ = listed()
    # Then it lists the same 3rd page; the calls release the 3rd page, the 4th, then find nothing
    assert (before["releasable"], before["next_cursor"]) == (third["releasable"], "3")
    assert [len(c) for c in calls[:2]] == [2, 1] and calls[2] == ["404"]
    assert (after["held"], after["releasable"], after["next_cursor"]) == (7, [], None)
    # And all 9 are recorded, each once
    assert unassigned_senders(api, tenant) == [STRANGER] * 9
