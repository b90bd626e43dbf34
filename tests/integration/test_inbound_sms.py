"""Two-way SMS (I1, I2, C6, H2): an SMS a client sends to the company's number arrives as AWS End
User Messaging's payload on SNS; it is logged in the client's register, STOP / START / HELP are
honoured, and keywords get the balance or a ticket, answered through the outbox. The replies are
read back as SNS (moto) sent them."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from tests.steps.answers import body
from tests.steps.aws import moto_received
from tests.steps.inbound import inbound_ceilings
from tests.steps.operators import configure_operator_token, operator_headers
from tests.steps.outbox import deliver_outboxes
from tests.steps.sms import assign_number, free_inbound_number, sns_notification
from tests.steps.tenants import Tenant

SAMPLE = json.loads((Path(__file__).parents[1] / "fixtures" / "sms" / "aws_two_way_sample.json").read_text())
ANA_PHONE = "+5491159876543"  # 011-15-5987-6543 as the back office typed it


@dataclass
class SmsCompany:
    tenant: Tenant
    number: str
    api: Any

    @property
    def company_id(self) -> str:
        return self.tenant.company_id

    def receive(
        self,
        text: str,
        sender: str = ANA_PHONE,
        inbound_id: str | None = None,
        received_at: datetime | None = None,
    ) -> dict[str, Any]:
        """SNS delivers one two-way SMS to the deployed handler, received ``received_at`` (the
        notification's ``Timestamp``; now when not said); returns what the handler reported."""
        payload = dict(
            SAMPLE,
            originationNumber=sender,
            destinationNumber=self.number,
            messageKeyword="KEYWORD_123456789012",
            messageBody=text,
            inboundMessageId=inbound_id or str(uuid.uuid4()),
        )
        return notify(self.api, json.dumps(payload), received_at)

    def put(self, path: str, data: Any) -> Any:
        return self.api.http.put(path, headers=self.tenant.admin_headers(), body=json.dumps(data))


def notify(api: Any, message: str, received_at: datetime | None = None) -> dict[str, Any]:
    """The SNS notification of one two-way SMS, published ``received_at`` (now when not said),
    handed to the deployed handler; returns what it reported."""
    event = sns_notification(api, message, received_at)
    return dict(api.lambda_.invoke("receive_inbound_sms", event).payload)


def sms_as_sent(local_aws: dict[str, str], company_id: str, communication_id: str) -> dict[str, str]:
    """The SMS moto's SNS recorded for one outgoing communication (by its provider message id)."""
    from chalicelib.store import communications

    comm = communications.get(company_id, communication_id)
    assert comm is not None and comm.state == "sent", comm
    sent = [sms for sms in moto_received("sns", "SMS") if sms["message_id"] == comm.provider_message_id]
    assert len(sent) == 1
    return dict(sent[0])


@pytest.fixture
def sms_company(tenant: Tenant, api: Any) -> SmsCompany:
    # Given a company whose SMS go out through SNS and that receives SMS on its own number
    company = SmsCompany(tenant, free_inbound_number(assigned_to=tenant.company_id), api)
    response = company.put(
        "/sms/settings",
        {
            "enabled": True,
            "provider": "sns",
            "inbound_number": company.number,
            "help_text": "Cargas del Sur: llame al 0800-555-0101. BAJA para no recibir más SMS.",
        },
    )
    assert response.status_code == 200, response.body
    assert body(response)["inbound_number"] == company.number
    # And keyword rules for the balance and for tickets (at most 3 per client per day)
    response = company.put(
        "/sms/auto-replies",
        {
            "balance": {
                "enabled": True,
                "keywords": "deuda, saldo, cuenta",
                "template": "Estimado %nombre% su saldo pendiente es $ %deuda%",
            },
            "ticket": {
                "enabled": True,
                "keywords": "soporte, sin servicio",
                "operator": "Marta",
                "category": "Técnico",
                "max_per_day": 3,
                "template": "Estimado %nombre% le asignamos el ticket %id%. "
                "%operador% estará trabajando en su reclamo.",
            },
        },
    )
    assert response.status_code == 200, response.body
    # And the client Ana, whose mobile the back office typed the Buenos Aires way, owes 15300.50
    response = api.http.put(
        "/clients/CLI-7",
        headers=tenant.key_headers(),
        body=json.dumps({"name": "Ana Pérez", "phones": ["011-15-5987-6543"], "balance": "15300.50"}),
    )
    assert response.status_code == 200, response.body
    assert body(response)["balance"] == "15300.50"
    return company


def register_of(company_id: str, client_id: str) -> list[Any]:
    from chalicelib.store import communications

    return communications.register_page(company_id, client_id).items


def sms_history(company_id: str) -> list[Any]:
    from chalicelib.store import communications

    return communications.history_page(company_id, "sms").items


# --- I1: the balance --------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["SALDO", "sáldo", "Saldo?", "hola, ¿cuál es mi DEUDA?"])
def test_a_balance_keyword_in_any_case_or_accent_gets_the_balance_by_sms(
    sms_company: SmsCompany, local_aws: dict[str, str], text: str
) -> None:
    # When Ana writes the keyword however she likes
    outcome = sms_company.receive(text)
    totals = deliver_outboxes()

    # Then she gets her balance, as SNS sent it to her mobile
    assert outcome["outcome"] == "replied", outcome
    assert totals["sent"] == 1
    sms = sms_as_sent(local_aws, sms_company.company_id, outcome["reply_id"])
    assert sms["phone_number"] == ANA_PHONE
    assert sms["message"] == "Estimado Ana Pérez su saldo pendiente es $ 15.300,50"
    # And her register holds both: the SMS she sent and the reply to it
    register = {c.direction: c for c in register_of(sms_company.company_id, "CLI-7")}
    assert len(register) == 2
    received, reply = register["in"], register["out"]
    assert (received.direction, received.channel, received.state) == ("in", "sms", "received")
    assert received.text == text and received.from_address == ANA_PHONE
    assert (reply.direction, reply.message_type, reply.kind) == ("out", "sms_auto_reply", "automatic")
    assert reply.in_reply_to == received.communication_id and reply.state == "sent"


def test_a_client_whose_phone_was_typed_the_seeds_way_gets_the_balance_from_the_mobile(
    sms_company: SmsCompany, local_aws: dict[str, str]
) -> None:
    # Given a client whose number the back office typed as seed 002 asks: no 0, no 15 (1159876543),
    # stored in E.164 as written (+541159876543)
    response = sms_company.api.http.put(
        "/clients/CLI-7",
        headers=sms_company.tenant.key_headers(),
        body=json.dumps({"name": "Ana Pérez", "phones": ["1159876543"], "balance": "15300.50"}),
    )
    assert response.status_code == 200, response.body
    assert body(response)["phones"] == ["+541159876543"]
    # When she texts the keyword from her mobile, which sends as +54 9 11 5987-6543
    outcome = sms_company.receive("saldo", sender=ANA_PHONE)
    deliver_outboxes()
    # Then the SMS is hers, and she gets her balance
    assert outcome["client_id"] == "CLI-7" and outcome["outcome"] == "replied", outcome
    sms = sms_as_sent(local_aws, sms_company.company_id, outcome["reply_id"])
    assert (sms["phone_number"], sms["message"]) == (
        ANA_PHONE,
        "Estimado Ana Pérez su saldo pendiente es $ 15.300,50",
    )


@pytest.mark.parametrize("given_as", ["+543514123456", "3514123456"])
def test_an_sms_from_a_mobile_given_without_its_9_is_stored_and_answered_as_the_same_mobile(
    sms_company: SmsCompany, local_aws: dict[str, str], given_as: str
) -> None:
    # Given a client in Córdoba whose mobile the back office typed the seed's way (3514123456)
    response = sms_company.api.http.put(
        "/clients/CLI-7",
        headers=sms_company.tenant.key_headers(),
        body=json.dumps({"name": "Ana Pérez", "phones": ["3514123456"], "balance": "15300.50"}),
    )
    assert response.status_code == 200, response.body
    mobile = "+5493514123456"  # its E.164 form, the one a manual SMS to her is addressed to
    # When her SMS arrives with the number written without the mobile 9, as a gateway may give it
    outcome = sms_company.receive("saldo", sender=given_as)
    deliver_outboxes()
    # Then it is hers, and both her SMS and the reply are stored under her mobile's one E.164 form
    assert outcome["client_id"] == "CLI-7" and outcome["outcome"] == "replied", outcome
    register = {c.direction: c for c in register_of(sms_company.company_id, "CLI-7")}
    assert (register["in"].from_address, register["out"].to_address) == (mobile, mobile)
    assert sms_as_sent(local_aws, sms_company.company_id, outcome["reply_id"])["phone_number"] == mobile
    # And the SMS history's search by that number finds both
    found = sms_company.api.http.get(
        f"/history/sms?q={quote(mobile)}", headers=sms_company.tenant.staff_headers()
    )
    assert found.status_code == 200, found.body
    assert {(m["direction"], m["communication_id"]) for m in body(found)["items"]} == {
        ("in", register["in"].communication_id),
        ("out", outcome["reply_id"]),
    }


def test_the_balance_reads_as_the_company_writes_numbers(
    sms_company: SmsCompany, local_aws: dict[str, str], api: Any
) -> None:
    # Given the company writes numbers the Mexican way
    patched = api.http.patch(
        "/company", headers=sms_company.tenant.admin_headers(), body=json.dumps({"locale": "es_MX"})
    )
    assert patched.status_code == 200, patched.body
    # When Ana asks for her balance
    outcome = sms_company.receive("saldo")
    deliver_outboxes()
    # Then the reply writes it so (Z1), not the Argentine way
    sms = sms_as_sent(local_aws, sms_company.company_id, outcome["reply_id"])
    assert sms["message"] == "Estimado Ana Pérez su saldo pendiente es $ 15,300.50"


def test_keywords_match_whole_words_only(sms_company: SmsCompany) -> None:
    # When a message only contains a keyword inside another word ("saldos", "cuentas")
    outcome = sms_company.receive("Hola, tengo saldos y cuentas pendientes")
    # Then it is logged in the register and nothing is answered
    assert outcome["outcome"] == "logged" and outcome["reply_id"] is None
    assert [c.direction for c in register_of(sms_company.company_id, "CLI-7")] == ["in"]
    assert deliver_outboxes()["sent"] == 0


def test_a_client_with_no_balance_is_told_zero(sms_company: SmsCompany, local_aws: dict[str, str]) -> None:
    sms_company.api.http.put(
        "/clients/CLI-8",
        headers=sms_company.tenant.key_headers(),
        body=json.dumps({"name": "Bruno Díaz", "phones": ["+54 9 351 555-1234"]}),
    )
    outcome = sms_company.receive("saldo", sender="+5493515551234")
    deliver_outboxes()
    sms = sms_as_sent(local_aws, sms_company.company_id, outcome["reply_id"])
    assert sms["message"] == "Estimado Bruno Díaz su saldo pendiente es $ 0,00"


# --- I2: tickets --------------------------------------------------------------------------------


def test_the_fourth_ticket_of_a_day_is_refused_politely_and_the_next_day_is_allowed(
    sms_company: SmsCompany, local_aws: dict[str, str], clock: Any
) -> None:
    from chalicelib.store.tickets import tickets_of_client

    # When Ana asks for support three times in one day
    outcomes = [sms_company.receive(f"Soporte: sin internet ({n})") for n in range(3)]
    deliver_outboxes()

    # Then three tickets are opened with the default operator and category, each answered with its id
    tickets = {t.ticket_id: t for t in tickets_of_client(sms_company.company_id, "CLI-7")}
    assert len(tickets) == 3
    assert {(t.operator, t.category, t.source) for t in tickets.values()} == {("Marta", "Técnico", "sms")}
    for outcome in outcomes:
        ticket_id = outcome["ticket_id"]
        assert ticket_id in tickets
        sms = sms_as_sent(local_aws, sms_company.company_id, outcome["reply_id"])
        assert sms["message"] == (
            f"Estimado Ana Pérez le asignamos el ticket {ticket_id}. Marta estará trabajando en su reclamo."
        )

    # When she writes a fourth time that day (a phrase keyword, accents and capitals)
    fourth = sms_company.receive("SIN SERVICIO todavía")
    deliver_outboxes()
    # Then no ticket is opened and the reply says why, politely
    assert fourth["ticket_id"] is None
    assert len(tickets_of_client(sms_company.company_id, "CLI-7")) == 3
    refusal = sms_as_sent(local_aws, sms_company.company_id, fourth["reply_id"])["message"]
    assert refusal.startswith("Estimado Ana Pérez, hoy ya registramos 3 reclamos suyos")

    # When the next day comes, Then she can open a ticket again
    clock.set_now(datetime(2026, 11, 3, 9, 0, tzinfo=timezone.utc))
    fifth = sms_company.receive("soporte otra vez")
    assert fifth["ticket_id"] is not None
    assert len(tickets_of_client(sms_company.company_id, "CLI-7")) == 4


def test_while_the_sms_service_is_off_keywords_open_no_ticket_and_get_no_reply(
    sms_company: SmsCompany, local_aws: dict[str, str]
) -> None:
    from chalicelib.store.outbox import list_suppressions
    from chalicelib.store.tickets import tickets_of_client

    company_id = sms_company.company_id
    # Given the administrator switched the SMS service off (its rules and number are kept)
    assert sms_company.put("/sms/settings", {"enabled": False}).status_code == 200
    # When Ana asks for support, for her balance and for help
    outcomes = [sms_company.receive(text) for text in ("soporte: sin internet", "saldo", "AYUDA")]
    # Then each SMS is logged in her register, and none has an effect: no ticket, no reply queued
    for outcome in outcomes:
        assert outcome["outcome"] == "logged" and outcome["reply_id"] is None, outcome
        assert outcome["reason"] == "the company's SMS service is switched off: no reply"
    assert tickets_of_client(company_id, "CLI-7") == []
    assert deliver_outboxes() == {"sent": 0, "failed": 0, "retried": 0, "suppressed": 0}
    assert [c.direction for c in register_of(company_id, "CLI-7")] == ["in", "in", "in"]
    # And a STOP is still honoured: her number goes on the suppression list
    assert sms_company.receive("BAJA")["outcome"] == "stopped"
    assert [s.reason for s in list_suppressions(company_id, 10, None)[0]] == ["stop"]
    assert sms_company.receive("ALTA")["outcome"] == "started"
    # When the service is switched on again, Then the saved rules answer as before
    assert sms_company.put("/sms/settings", {"enabled": True}).status_code == 200
    outcome = sms_company.receive("saldo")
    deliver_outboxes()
    sms = sms_as_sent(local_aws, company_id, outcome["reply_id"])
    assert sms["message"] == "Estimado Ana Pérez su saldo pendiente es $ 15.300,50"


def test_the_companys_ticket_system_polls_the_tickets_opened_by_sms(
    sms_company: SmsCompany, other_tenant: Tenant, clock: Any
) -> None:
    from chalicelib.tenants.companies import issue_api_key
    from tests.steps.tenants import IDENTITY

    api, company = sms_company.api, sms_company.company_id
    # Given Ana opened a ticket at 9:00 and another at 11:00, and wrote about her balance between
    clock.set_now(datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc))
    first = sms_company.receive("Soporte: sin internet")["ticket_id"]
    clock.set_now(datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc))
    sms_company.receive("¿cuál es mi saldo?")
    clock.set_now(datetime(2026, 11, 2, 11, 0, tzinfo=timezone.utc))
    second = sms_company.receive("soporte: sigue sin servicio")["ticket_id"]
    # And the company's ticket system has a key that may read tickets
    key = issue_api_key(company, "ticket system", ["tickets:read"])
    system = {"Authorization": f"ApiKey {key}"}

    # When it asks for the tickets opened since 10:00 (Buenos Aires is UTC-3: 07:00 there)
    since = api.http.get("/tickets?since=2026-11-02T07:00:00-03:00", headers=system)
    # Then it gets the second one, with what Ana wrote, the operator, category and her SMS
    assert since.status_code == 200, since.body
    [ticket] = body(since)["items"]
    assert ticket["ticket_id"] == second and ticket["client_id"] == "CLI-7"
    assert (ticket["operator"], ticket["category"], ticket["source"]) == ("Marta", "Técnico", "sms")
    assert ticket["text"] == "soporte: sigue sin servicio"
    assert ticket["created_at"] == "2026-11-02T11:00:00+00:00" and ticket["communication_id"]
    # And all of them, a page at a time, come newest first
    page = body(api.http.get("/tickets?limit=1", headers=system))
    rest = body(api.http.get(f"/tickets?limit=1&cursor={page['next_cursor']}", headers=system))
    assert [t["ticket_id"] for t in page["items"] + rest["items"]] == [second, first]
    # And one is read by its id, by the system and by staff of levels 1 to 3
    for headers in (system, sms_company.tenant.admin_headers(), sms_company.tenant.staff_headers()):
        answer = api.http.get(f"/tickets/{first}", headers=headers)
        assert answer.status_code == 200 and body(answer)["text"] == "Soporte: sin internet"
    # And a client's own tickets, or another client's (none)
    assert len(body(api.http.get("/tickets?client_id=CLI-7", headers=system))["items"]) == 2
    assert body(api.http.get("/tickets?client_id=CLI-8", headers=system))["items"] == []

    # When a level-4 user, a key without the scope, or another company asks
    junior = {"Authorization": "Bearer " + IDENTITY.mint(company, user_id=f"junior@{company}", level=4)}
    parcels_key = {"Authorization": f"ApiKey {sms_company.tenant.api_key}"}
    # Then the junior user sees none (a ticket is the system's, not theirs), the key is refused,
    # and the other company finds nothing
    assert body(api.http.get("/tickets", headers=junior))["items"] == []
    assert api.http.get(f"/tickets/{first}", headers=junior).status_code == 404
    assert api.http.get("/tickets", headers=parcels_key).status_code == 403
    assert body(api.http.get("/tickets", headers=other_tenant.admin_headers()))["items"] == []
    assert api.http.get(f"/tickets/{first}", headers=other_tenant.admin_headers()).status_code == 404
    # And the other company cannot page on with this company's cursor
    borrowed = api.http.get(f"/tickets?cursor={page['next_cursor']}", headers=other_tenant.admin_headers())
    assert borrowed.status_code == 422 and body(borrowed)["field"] == "cursor"
    # And the page holding the oldest has no cursor, but a cursor of the whole listing stopped at
    # 9:00 (a page ending there with older tickets after it: the first page's, moved to the first
    # ticket) does not page on among those since 10:00
    assert rest["next_cursor"] is None
    stopped = json.loads(base64.urlsafe_b64decode(page["next_cursor"]))
    stopped |= {"ticket_id": {"S": first}, "created_at": {"S": "2026-11-02T09:00:00.000000+0000"}}
    at_nine = base64.urlsafe_b64encode(json.dumps(stopped).encode()).decode()
    assert api.http.get(f"/tickets?cursor={at_nine}", headers=system).status_code == 200
    narrowed = api.http.get(f"/tickets?since=2026-11-02T10:00:00Z&cursor={at_nine}", headers=system)
    assert narrowed.status_code == 422 and body(narrowed)["field"] == "cursor"


def test_a_bad_since_is_refused_naming_it(sms_company: SmsCompany) -> None:
    headers = sms_company.tenant.admin_headers()
    for since in ("yesterday", "2026-11-02T10:00:00"):
        answer = sms_company.api.http.get(f"/tickets?since={since}", headers=headers)
        assert answer.status_code == 422 and body(answer)["field"] == "since", answer.body


# --- STOP / START / HELP ------------------------------------------------------------------------


def test_a_flood_of_sms_is_held_past_the_days_ceilings_and_stop_still_works(
    sms_company: SmsCompany, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store.outbox import list_suppressions

    company_id, stranger = sms_company.company_id, "+5491155550000"
    # Given the day's ceilings on received messages: 2 per number, for a stranger and for a client
    with inbound_ceilings(monkeypatch, sender=2, client=2, strangers=5):
        # When a stranger texts "saldo" 3 times, and then BAJA
        flood = [
            sms_company.receive("saldo", sender=stranger, inbound_id=f"f-{n}")["outcome"] for n in range(3)
        ]
        # (and SNS delivers the held one again: it is counted once)
        flood.append(sms_company.receive("saldo", sender=stranger, inbound_id="f-2")["outcome"])
        stop = sms_company.receive("BAJA", sender=stranger)
        # And Ana, a client, asks for her balance 3 times
        hers = [sms_company.receive("saldo") for _ in range(3)]

        # Then the stranger's third SMS is held (not logged), and BAJA is honoured all the same
        assert flood == ["logged", "logged", "held", "held"]
        assert stop["outcome"] == "stopped"
        assert [s.address for s in list_suppressions(company_id, 10, None)[0]] == [stranger]
        # And Ana's first 2 are answered, her third held: no record, no reply, no webhook
        assert [h["outcome"] for h in hers] == ["replied", "replied", "held"]
        assert hers[2]["communication_id"] is None and hers[2]["reply_id"] is None
        assert len([c for c in sms_history(company_id) if c.direction == "in"]) == 5
        assert deliver_outboxes()["sent"] == 2
        # And the administrators see how many were held, and from which numbers
        held = body(
            sms_company.api.http.get("/inbound/held?channel=sms", headers=sms_company.tenant.admin_headers())
        )
        assert held["held"] == 2 and held["channel"] == "sms"
        assert sorted((s["address"], s["received"], s["releasable"]) for s in held["senders"]) == [
            (stranger, 3, []),
            (ANA_PHONE, 3, []),
        ]


def test_stop_suppresses_every_later_sms_and_start_lifts_it(
    sms_company: SmsCompany, local_aws: dict[str, str]
) -> None:
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue
    from chalicelib.store import communications
    from chalicelib.store.outbox import list_suppressions

    company_id = sms_company.company_id
    # When Ana answers "Baja." (a STOP synonym, with a capital and a full stop)
    outcome = sms_company.receive("Baja.")
    # Then her number is on the company's suppression list, for STOP, and no confirmation is queued
    assert outcome["outcome"] == "stopped" and outcome["reply_id"] is None
    suppressions, _ = list_suppressions(company_id, 10, None)
    assert [(s.address, s.reason) for s in suppressions] == [(ANA_PHONE, "stop")]
    assert suppressions[0].communication_id == outcome["communication_id"]

    # When staff later send her an SMS, Then it is recorded suppressed and SNS sends nothing
    def manual_sms(text: str) -> str:
        (comm,) = enqueue(
            company_id,
            [
                OutgoingMessage(
                    channel="sms", to_address=ANA_PHONE, text=text, kind="manual", client_id="CLI-7"
                )
            ],
        )
        return comm.communication_id

    blocked = manual_sms("Su factura de noviembre ya está disponible")
    assert deliver_outboxes()["suppressed"] == 1
    stored = communications.get(company_id, blocked)
    assert stored is not None and stored.state == "suppressed" and stored.provider_message_id is None
    # A keyword reply to a stopped number is suppressed too
    sms_company.receive("saldo")
    assert deliver_outboxes() == {"sent": 0, "failed": 0, "retried": 0, "suppressed": 1}

    # When she writes START, Then the suppression is lifted and the next SMS reaches her
    assert sms_company.receive("start")["outcome"] == "started"
    assert list_suppressions(company_id, 10, None)[0] == []
    allowed = manual_sms("Su factura de diciembre ya está disponible")
    assert deliver_outboxes()["sent"] == 1
    assert (
        sms_as_sent(local_aws, company_id, allowed)["message"] == "Su factura de diciembre ya está disponible"
    )


def test_stop_from_a_mobile_also_stops_sms_to_it_stored_without_the_9(
    sms_company: SmsCompany, api: Any
) -> None:
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue
    from chalicelib.store import communications

    company_id = sms_company.company_id
    # Given Ana's mobile texted BAJA (it sends as +54 9 11 5987-6543)
    assert sms_company.receive("BAJA")["outcome"] == "stopped"
    # When an SMS is queued to her number as typed without the 0 and the 15 (+54 11 5987-6543, the
    # form seed 002 asks for; a tracking follower's phone is kept so), which is texted at her mobile
    (comm,) = enqueue(
        company_id, [OutgoingMessage(channel="sms", to_address="+541159876543", text="Su envío llegó")]
    )
    totals = deliver_outboxes()
    # Then it is recorded suppressed and nothing is sent
    assert totals == {"sent": 0, "failed": 0, "retried": 0, "suppressed": 1}
    stored = communications.get(company_id, comm.communication_id)
    assert stored is not None and stored.state == "suppressed"
    # And an administrator finds the entry by either form, as the list shows the mobile's
    for typed in ("+541159876543", "11 5987-6543", "011 15 5987-6543"):
        found = api.http.get(f"/suppressions?q={typed}", headers=sms_company.tenant.admin_headers())
        assert [e["address"] for e in body(found)["items"]] == [ANA_PHONE], typed


def test_a_number_put_on_the_list_without_its_9_before_still_holds_its_sms_and_can_be_lifted(
    sms_company: SmsCompany, api: Any
) -> None:
    from chalicelib.core.domain import Suppression
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue
    from chalicelib.store import outbox as outbox_store

    company_id = sms_company.company_id
    # Given Ana's number was put on the list by hand before entries were keyed as the SMS reaches
    # them: typed "11 5987-6543", it was kept without the 9
    before = Suppression(company_id, "+541159876543", "manual", datetime.now(timezone.utc), "added by admin")
    assert outbox_store.suppress(before)
    # When SMS are queued to her, under either form of her number
    enqueue(
        company_id,
        [
            OutgoingMessage(channel="sms", to_address=to, text="Su envío llegó")
            for to in ("+541159876543", ANA_PHONE)
        ],
    )
    # Then neither is sent
    assert deliver_outboxes() == {"sent": 0, "failed": 0, "retried": 0, "suppressed": 2}
    # And an administrator finds the entry by the number as typed, and lifts it
    found = api.http.get("/suppressions?q=11 5987-6543", headers=sms_company.tenant.admin_headers())
    assert [e["address"] for e in body(found)["items"]] == ["+541159876543"]
    lifted = api.http.delete("/suppressions/11 5987-6543", headers=sms_company.tenant.admin_headers())
    assert lifted.status_code in (200, 204), lifted.body
    enqueue(company_id, [OutgoingMessage(channel="sms", to_address=ANA_PHONE, text="Su envío llegó")])
    assert deliver_outboxes()["sent"] == 1


def test_help_is_answered_with_the_company_help_text(
    sms_company: SmsCompany, local_aws: dict[str, str]
) -> None:
    # When Ana writes "AYUDA" (HELP in Spanish), Then she gets the help text from the SMS settings
    outcome = sms_company.receive("AYUDA")
    deliver_outboxes()
    sms = sms_as_sent(local_aws, sms_company.company_id, outcome["reply_id"])
    assert sms["message"] == "Cargas del Sur: llame al 0800-555-0101. BAJA para no recibir más SMS."
    # And "ayuda" inside a sentence is not HELP: it is left to the keyword rules (none match here)
    assert sms_company.receive("necesito ayuda con la factura")["reply_id"] is None


def test_help_is_answered_even_after_stop_and_nothing_else_is(
    sms_company: SmsCompany, local_aws: dict[str, str]
) -> None:
    from chalicelib.store import communications

    company_id = sms_company.company_id
    # Given Ana texted STOP, so her number is suppressed
    assert sms_company.receive("STOP")["outcome"] == "stopped"

    # When she then texts HELP
    help_outcome = sms_company.receive("HELP")
    # Then the help text is sent to her, once, and SNS received it for her number
    assert deliver_outboxes() == {"sent": 1, "failed": 0, "retried": 0, "suppressed": 0}
    sms = sms_as_sent(local_aws, company_id, help_outcome["reply_id"])
    assert sms["phone_number"] == ANA_PHONE
    assert sms["message"] == "Cargas del Sur: llame al 0800-555-0101. BAJA para no recibir más SMS."
    # And the history records it as an auto-reply to her HELP, like any other
    reply = communications.get(company_id, help_outcome["reply_id"])
    assert reply is not None and reply.state == "sent" and reply.message_type == "sms_auto_reply"
    assert reply.in_reply_to == help_outcome["communication_id"] and reply.to_address == ANA_PHONE
    # And a HELP SNS delivers twice is answered once: one reply per HELP received
    first = sms_company.receive("HELP", inbound_id="help-1")
    second = sms_company.receive("HELP", inbound_id="help-1")
    assert second["outcome"] == "duplicate" and second["reply_id"] == first["reply_id"]
    assert deliver_outboxes()["sent"] == 1

    # When she then asks for her balance, Then nothing is sent: only HELP passes her STOP
    balance = sms_company.receive("SALDO")
    assert deliver_outboxes() == {"sent": 0, "failed": 0, "retried": 0, "suppressed": 1}
    stored = communications.get(company_id, balance["reply_id"])
    assert stored is not None and stored.state == "suppressed" and stored.provider_message_id is None
    # And staff resending the help text is no answer to a HELP: suppressed too
    resent = sms_company.api.http.post(
        "/history/resend",
        headers=sms_company.tenant.staff_headers(),
        body=json.dumps({"ids": [help_outcome["reply_id"]]}),
    )
    assert resent.status_code == 202, resent.body
    assert deliver_outboxes() == {"sent": 0, "failed": 0, "retried": 0, "suppressed": 1}

    # When she texts START and asks again, Then the balance is answered
    assert sms_company.receive("START")["outcome"] == "started"
    answered = sms_company.receive("SALDO")
    assert deliver_outboxes()["sent"] == 1
    sms = sms_as_sent(local_aws, company_id, answered["reply_id"])
    assert sms["message"] == "Estimado Ana Pérez su saldo pendiente es $ 15.300,50"


# --- the register, idempotency, bad input -------------------------------------------------------


def test_an_unknown_number_is_logged_unassigned_and_not_answered(sms_company: SmsCompany) -> None:
    from chalicelib.store import communications

    # When someone who is no client asks for a balance
    outcome = sms_company.receive("saldo", sender="+5491155550000")
    # Then the SMS is logged, unassigned, and nothing is sent
    assert outcome["outcome"] == "logged" and outcome["client_id"] is None and outcome["reply_id"] is None
    record = communications.get(sms_company.company_id, outcome["communication_id"])
    assert record is not None and record.unassigned and record.client_id is None
    assert record.from_address == "+5491155550000" and record.state == "received"
    assert [c.direction for c in sms_history(sms_company.company_id)] == ["in"]
    assert deliver_outboxes()["sent"] == 0


def test_an_unassigned_sms_opens_and_is_assigned_only_by_this_companys_staff_who_may_see_it(
    sms_company: SmsCompany, other_tenant: Tenant
) -> None:
    from tests.steps.notes import staff_headers

    api, tenant = sms_company.api, sms_company.tenant
    # Given an SMS from a mobile no client had, and then the client Luis whose phone is that mobile
    # typed without its 9; and another company with a client of the same code
    received = sms_company.receive("hola", sender="+5491155550000")["communication_id"]
    for owner, headers in ((tenant, tenant.key_headers()), (other_tenant, other_tenant.key_headers())):
        saved = api.http.put(
            "/clients/CLI-9", headers=headers, body=json.dumps({"name": "Luis", "phones": ["+541155550000"]})
        )
        assert saved.status_code == 200, (owner.company_id, saved.body)
    path, assign_to = f"/inbound/{received}", json.dumps({"client_id": "CLI-9"})
    level4 = staff_headers(tenant, "user4@cargas.example", 4)
    # When another company's administrator, this company's API key and its level-4 user open it
    # and assign it to CLI-9
    for headers, status in (
        (other_tenant.admin_headers(), 404),
        (tenant.key_headers(), 403),
        (level4, 404),
        ({"Content-Type": "application/json"}, 401),
    ):
        # Then the administrator of the other company and the level-4 user do not find it (not
        # theirs to see), the key is refused staff's routes, no credential is no one
        assert api.http.get(path, headers=headers).status_code == status
        assert api.http.post(f"{path}/assign", headers=headers, body=assign_to).status_code == status
    # And a client code holding '#' is refused naming client_id
    bad = api.http.post(
        f"{path}/assign", headers=tenant.staff_headers(), body=json.dumps({"client_id": "C#9"})
    )
    assert bad.status_code == 422 and body(bad)["errors"][0]["field"] == "client_id", bad.body
    # And the SMS is still unassigned: this company's clerk opens it, Luis its one candidate
    opened = api.http.get(path, headers=tenant.staff_headers())
    assert opened.status_code == 200, opened.body
    assert body(opened)["unassigned"] and body(opened)["candidate_clients"] == ["CLI-9"], opened.body
    # And the clerk's assignment puts it in this company's CLI-9's register, not the other's
    assigned = api.http.post(f"{path}/assign", headers=tenant.staff_headers(), body=assign_to)
    assert assigned.status_code == 200, assigned.body
    assert [c.communication_id for c in register_of(sms_company.company_id, "CLI-9")] == [received]
    assert register_of(other_tenant.company_id, "CLI-9") == []


def test_the_same_notification_twice_gives_one_record_and_one_reply(
    sms_company: SmsCompany, local_aws: dict[str, str]
) -> None:
    from chalicelib.store.tickets import tickets_of_client

    first = sms_company.receive("soporte", inbound_id="dup-1")
    second = sms_company.receive("soporte", inbound_id="dup-1")
    assert second["outcome"] == "duplicate"
    assert (second["communication_id"], second["reply_id"], second["ticket_id"]) == (
        first["communication_id"],
        first["reply_id"],
        first["ticket_id"],
    )
    assert deliver_outboxes()["sent"] == 1
    assert sorted(c.direction for c in register_of(sms_company.company_id, "CLI-7")) == ["in", "out"]
    assert len(tickets_of_client(sms_company.company_id, "CLI-7")) == 1


@pytest.mark.parametrize(
    "message",
    [
        "not json at all",
        "[1, 2, 3]",
        json.dumps({"originationNumber": ANA_PHONE, "messageBody": "saldo"}),
        json.dumps(dict(SAMPLE, messageBody=None)),
        json.dumps(dict(SAMPLE, originationNumber=12345)),
    ],
)
def test_a_garbage_payload_is_logged_and_dropped_without_an_exception(
    sms_company: SmsCompany, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    outcome = notify(sms_company.api, message)
    assert outcome["outcome"] == "rejected" and outcome["reason"]
    assert sms_history(sms_company.company_id) == []


def test_an_sms_with_a_lone_surrogate_is_logged_and_answered_not_retried_until_dropped(
    sms_company: SmsCompany, local_aws: dict[str, str]
) -> None:
    # When Ana's phone sends "saldo" and a lone UTF-16 unit (a UCS-2 SMS may carry one; its
    # JSON writes it "\\ud800"), and the keyword field holds another
    payload = dict(
        SAMPLE,
        originationNumber=ANA_PHONE,
        destinationNumber=sms_company.number,
        messageKeyword="\udfff",
        messageBody="saldo \ud800",
        inboundMessageId=str(uuid.uuid4()),
    )
    outcome = notify(sms_company.api, json.dumps(payload))
    deliver_outboxes()

    # Then the handler does not fail (SNS would retry it, then drop it unlogged): the SMS is in
    # her register with the unit shown as U+FFFD, and she gets her balance
    assert outcome["outcome"] == "replied", outcome
    received = next(c for c in register_of(sms_company.company_id, "CLI-7") if c.direction == "in")
    assert received.text == "saldo \ufffd"
    sms = sms_as_sent(local_aws, sms_company.company_id, outcome["reply_id"])
    assert sms["message"] == "Estimado Ana Pérez su saldo pendiente es $ 15.300,50"


def test_an_sms_to_a_number_no_company_owns_is_dropped(sms_company: SmsCompany) -> None:
    # The AWS sample itself: a US number none of our companies receives on
    outcome = notify(sms_company.api, json.dumps(SAMPLE))
    assert outcome["outcome"] == "no_company"


def test_a_sender_that_is_not_a_phone_number_is_logged_unassigned(sms_company: SmsCompany) -> None:
    outcome = sms_company.receive("saldo", sender="MOVISTAR")
    assert outcome["outcome"] == "logged" and outcome["reply_id"] is None
    assert [c.from_address for c in sms_history(sms_company.company_id)] == ["MOVISTAR"]


# --- tenants --------------------------------------------------------------------------------------


def another_company(sms_company: SmsCompany, tenant: Tenant, balance: dict[str, Any]) -> SmsCompany:
    """Another company of Pregón's receiving SMS on its own two-way number, with this balance rule."""
    other = SmsCompany(tenant, free_inbound_number(assigned_to=tenant.company_id), sms_company.api)
    assert other.put("/sms/settings", {"enabled": True, "inbound_number": other.number}).status_code == 200
    assert other.put("/sms/auto-replies", {"balance": balance}).status_code == 200
    return other


def test_tenants_never_see_each_others_sms_clients_or_numbers(
    sms_company: SmsCompany, other_tenant: Tenant, local_aws: dict[str, str]
) -> None:
    from chalicelib.core.errors import Conflict

    api = sms_company.api
    # Given another company with its own number and a client with the same mobile, owing less
    other = another_company(sms_company, other_tenant, {"enabled": True, "template": "Debe $ %deuda%"})
    api.http.put(
        "/clients/X-1",
        headers=other_tenant.key_headers(),
        body=json.dumps({"name": "Ana P.", "phones": [ANA_PHONE], "balance": "10"}),
    )
    # And it cannot take the first company's number: Pregón's operator did not give it that one
    taken = other.put("/sms/settings", {"inbound_number": sms_company.number})
    assert taken.status_code == 422 and body(taken)["field"] == "inbound_number", taken.body
    # nor can the operator give it by mistake: the number is already the first company's
    with pytest.raises(Conflict) as mistaken:
        assign_number(other.company_id, sms_company.number)
    assert mistaken.value.field == "numbers" and sms_company.number in mistaken.value.message
    taken = other.put("/sms/settings", {"inbound_number": sms_company.number})
    assert taken.status_code == 422 and body(taken)["field"] == "inbound_number", taken.body

    # When Ana writes to each company
    mine = sms_company.receive("saldo")
    theirs = other.receive("saldo")
    deliver_outboxes()

    # Then each company logs and answers only its own message, with its own client's balance
    assert (mine["company_id"], mine["client_id"]) == (sms_company.company_id, "CLI-7")
    assert (theirs["company_id"], theirs["client_id"]) == (other.company_id, "X-1")
    assert sms_as_sent(local_aws, other.company_id, theirs["reply_id"])["message"] == "Debe $ 10,00"
    assert {c.client_id for c in sms_history(sms_company.company_id)} == {"CLI-7"}
    assert {c.client_id for c in sms_history(other.company_id)} == {"X-1"}
    # And the rules are per company
    rules = body(api.http.get("/sms/auto-replies", headers=other_tenant.admin_headers()))
    assert rules["ticket"]["enabled"] is False and rules["balance"]["template"] == "Debe $ %deuda%"


def test_two_companies_automatic_replies_do_not_answer_each_other(
    sms_company: SmsCompany, other_tenant: Tenant, local_aws: dict[str, str]
) -> None:
    from chalicelib.producers.sms_replies.replies import FROM_PREGON

    api = sms_company.api
    # Given another company of Pregón's, a client of the first (its two-way number is the phone on
    # its record), which answers "saldo" with the balance too, and has the first as its client
    rule = {"enabled": True, "keywords": "saldo", "template": "Su saldo pendiente es $ %deuda%"}
    other = another_company(sms_company, other_tenant, rule)
    for tenant, client_id, number in (
        (sms_company.tenant, "CLI-OTRA", other.number),
        (other_tenant, "CLI-PRIMERA", sms_company.number),
    ):
        saved = api.http.put(
            f"/clients/{client_id}",
            headers=tenant.key_headers(),
            body=json.dumps({"name": "Empresa", "phones": [number], "balance": "10"}),
        )
        assert saved.status_code == 200, saved.body
    # When the other company's automatic reply ("Su saldo ...") reaches the first company's number,
    # and every SMS either sends to the other's number reaches it as AWS delivers a reply (the
    # network, played here for at most 12 turns)
    companies = {sms_company.number: sms_company, other.number: other}
    sender, receiver, text = other, sms_company, "Su saldo pendiente es $ 10,00"
    outcomes = []
    for _ in range(12):
        outcome = receiver.receive(text, sender=sender.number)
        outcomes.append(outcome)
        if not outcome.get("reply_id"):
            break
        deliver_outboxes()
        sent = sms_as_sent(local_aws, receiver.company_id, outcome["reply_id"])
        sender, receiver, text = receiver, companies[sent["phone_number"]], sent["message"]
    # Then it is logged in the register of the company it came from, and nothing answers it: two
    # robots never start answering each other (each would otherwise reply 5 times a day)
    assert [(o["outcome"], o["client_id"], o["reason"]) for o in outcomes] == [
        ("logged", "CLI-OTRA", FROM_PREGON)
    ]
    assert [(c.direction, c.text) for c in register_of(sms_company.company_id, "CLI-OTRA")] == [
        ("in", "Su saldo pendiente es $ 10,00")
    ]


# --- the admin API --------------------------------------------------------------------------------


def test_auto_replies_refuse_bad_rules_naming_each_field(sms_company: SmsCompany) -> None:
    before = body(sms_company.api.http.get("/sms/auto-replies", headers=sms_company.tenant.admin_headers()))
    response = sms_company.put(
        "/sms/auto-replies",
        {
            "balance": {"template": "Su deuda es %monto%", "keywords": "saldo, ¿?"},
            "ticket": {"operator": None, "max_per_day": 3, "template": "Ticket %id% de %cliente_x%"},
        },
    )
    assert response.status_code == 422
    fields = {e["field"] for e in body(response)["errors"]}
    assert fields == {"balance.template", "balance.keywords", "ticket.template"}
    assert any("%monto%" in e["message"] for e in body(response)["errors"])
    # Nothing was written
    after = body(sms_company.api.http.get("/sms/auto-replies", headers=sms_company.tenant.admin_headers()))
    assert after == before
    # A ticket rule switched on needs its operator and category
    other = sms_company.put("/sms/auto-replies", {"ticket": {"max_per_day": 0}})
    assert other.status_code == 422 and body(other)["errors"][0]["field"] == "ticket.max_per_day"


def test_only_administrators_change_auto_replies(sms_company: SmsCompany) -> None:
    api, tenant = sms_company.api, sms_company.tenant
    for headers in (tenant.staff_headers(), tenant.key_headers()):
        assert api.http.get("/sms/auto-replies", headers=headers).status_code == 403
        assert api.http.put("/sms/auto-replies", headers=headers, body="{}").status_code == 403


def test_the_client_phone_index_follows_the_client(sms_company: SmsCompany) -> None:
    from chalicelib.store.clients import clients_by_phone

    api, tenant, company_id = sms_company.api, sms_company.tenant, sms_company.company_id
    # Given Ana's contact person with a mobile of her own
    api.http.put(
        "/clients/CLI-7",
        headers=tenant.key_headers(),
        body=json.dumps(
            {
                "name": "Ana Pérez",
                "phones": ["011-15-5987-6543"],
                "contacts": [
                    {
                        "contact_id": "c1",
                        "first_name": "Luis",
                        "last_name": "Pérez",
                        "phone": "0351 15-555-1234",
                    }
                ],
            }
        ),
    )
    assert [(o.client_id, o.contact_id) for o in clients_by_phone(company_id, "+5493515551234")] == [
        ("CLI-7", "c1")
    ]
    # When the back office replaces her phones, Then the old number no longer finds her
    api.http.put(
        "/clients/CLI-7",
        headers=tenant.key_headers(),
        body=json.dumps({"name": "Ana Pérez", "phones": ["+54 9 11 4444-5555"]}),
    )
    assert clients_by_phone(company_id, ANA_PHONE) == []
    assert clients_by_phone(company_id, "+5493515551234") == []
    assert [o.client_id for o in clients_by_phone(company_id, "+5491144445555")] == ["CLI-7"]
    # And a number two clients share is nobody's for auto-replies (logged unassigned, no reply)
    api.http.put(
        "/clients/CLI-9",
        headers=tenant.key_headers(),
        body=json.dumps({"name": "Otra persona", "phones": ["+5491144445555"]}),
    )
    outcome = sms_company.receive("saldo", sender="+5491144445555")
    assert outcome["client_id"] is None and outcome["reply_id"] is None


def test_an_sms_from_a_number_whose_save_failed_or_that_was_removed_does_not_land_on_the_client(
    sms_company: SmsCompany, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.steps.clients import saved_meanwhile

    api, tenant = sms_company.api, sms_company.tenant
    ana = {"name": "Ana Pérez", "phones": [ANA_PHONE], "balance": "15300.50"}
    # Given a save of Ana that adds a second mobile and loses every try to the company's system
    saved_meanwhile(monkeypatch, tenant, "CLI-7", 3, name="Ana Pérez", phones=[ANA_PHONE])
    lost = api.http.put(
        "/clients/CLI-7",
        headers=tenant.key_headers(),
        body=json.dumps({**ana, "phones": [ANA_PHONE, "+5491144445555"]}),
    )
    assert lost.status_code == 409, lost.body
    monkeypatch.undo()
    # When that mobile asks for the balance, Then it is no one's: logged unassigned, not answered
    outcome = sms_company.receive("saldo", sender="+5491144445555")
    assert outcome["client_id"] is None and outcome["reply_id"] is None
    # And when the back office replaces Ana's mobile, an SMS from the old one no longer lands on her
    saved = api.http.put(
        "/clients/CLI-7", headers=tenant.key_headers(), body=json.dumps({**ana, "phones": ["+5491133332222"]})
    )
    assert saved.status_code == 200, saved.body
    outcome = sms_company.receive("saldo", sender=ANA_PHONE)
    assert outcome["client_id"] is None and outcome["reply_id"] is None
    # But the new one does
    assert sms_company.receive("saldo", sender="+5491133332222")["client_id"] == "CLI-7"


@pytest.fixture
def operator_token(local_aws: dict[str, str]) -> Any:
    import os

    from chalicelib.core.settings import get_settings, reset_settings

    yield configure_operator_token()
    os.environ.pop("PREGON_OPERATOR_TOKEN_SHA256", None)
    reset_settings()
    get_settings()  # from the tests' environment (configure_operator_token says why)


def test_a_company_cannot_take_a_number_pregon_gave_another_before_it_is_set_up(
    tenant: Tenant, other_tenant: Tenant, api: Any, operator_token: str
) -> None:
    # Given Pregón's operator gave the other company its two-way number, printed on its site, and
    # the other company has not set it up yet
    number = free_inbound_number()
    assigned = api.http.put(
        f"/operator/companies/{other_tenant.company_id}/sms-numbers",
        headers=operator_headers(operator_token),
        body=json.dumps({"numbers": [number]}),
    )
    assert assigned.status_code == 200, assigned.body
    assert body(assigned) == {"company_id": other_tenant.company_id, "numbers": [number]}
    squatter, owner = SmsCompany(tenant, number, api), SmsCompany(other_tenant, number, api)
    # When an administrator of a company names that number as its own first
    taken = squatter.put("/sms/settings", {"enabled": True, "inbound_number": number})
    # Then it is refused, naming the field: the SMS its clients send would reach the squatter
    assert taken.status_code == 422, taken.body
    assert body(taken)["field"] == "inbound_number" and "operator" in body(taken)["message"]
    assert squatter.receive("saldo")["outcome"] == "no_company"
    # And the company it was given to sets it up and receives on it
    assert owner.put("/sms/settings", {"enabled": True, "inbound_number": number}).status_code == 200
    assert owner.receive("saldo")["company_id"] == other_tenant.company_id
    # When the operator takes the number back, it reaches that company no more
    taken_back = api.http.put(
        f"/operator/companies/{other_tenant.company_id}/sms-numbers",
        headers=operator_headers(operator_token),
        body=json.dumps({"numbers": []}),
    )
    assert body(taken_back)["numbers"] == []
    assert body(api.http.get("/sms/settings", headers=other_tenant.admin_headers()))["inbound_number"] is None
    assert owner.receive("saldo")["outcome"] == "no_company"
    # And a company's credentials cannot assign numbers
    for headers in (tenant.admin_headers(), tenant.key_headers()):
        refused = api.http.put(
            f"/operator/companies/{tenant.company_id}/sms-numbers", headers=headers, body='{"numbers": []}'
        )
        assert refused.status_code == 403


# --- the daily allowance of automatic replies per number (SMS pumping, auto-responder loops) -----

BRUNO_PHONE = "+5493515551234"


def rate_limit_items(company_id: str, kind: str) -> list[dict[str, Any]]:
    """The raw ``rate-limits`` items counting the company's automatic SMS replies of one kind."""
    from chalicelib.store.models import RateLimitModel

    return [
        item.attribute_values
        for item in RateLimitModel.scan(RateLimitModel.limit_key.startswith(f"{company_id}#{kind}#"))
    ]


def test_a_number_gets_at_most_five_automatic_replies_a_day_and_another_number_still_gets_its_own(
    sms_company: SmsCompany, local_aws: dict[str, str], clock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from chalicelib.producers.sms_replies.allowance import AUTO_REPLIES_PER_NUMBER_PER_DAY

    company_id = sms_company.company_id
    assert AUTO_REPLIES_PER_NUMBER_PER_DAY == 5
    # Given Bruno, another client of the company, with his own mobile
    sms_company.api.http.put(
        "/clients/CLI-8",
        headers=sms_company.tenant.key_headers(),
        body=json.dumps({"name": "Bruno Díaz", "phones": ["+54 9 351 555-1234"]}),
    )
    # When Ana asks for her balance six times in one day
    outcomes = [sms_company.receive("SALDO", inbound_id=f"pump-{n}") for n in range(6)]
    # Then the first five are answered and the sixth is not, saying why
    assert [o["outcome"] for o in outcomes] == ["replied"] * 5 + ["capped"]
    sixth = outcomes[5]
    assert sixth["reply_id"] is None and sixth["reason"] == (
        "the number had its 5 automatic replies of the day: no reply"
    )
    assert deliver_outboxes()["sent"] == 5
    # And her register still holds the six SMS she sent, and the five replies
    register = register_of(company_id, "CLI-7")
    assert sorted(c.direction for c in register) == ["in"] * 6 + ["out"] * 5
    received = [c for c in register if c.communication_id == sixth["communication_id"]]
    assert [(c.state, c.text) for c in received] == [("received", "SALDO")]
    # And the operator's log says so, naming the record but not her number
    [logged] = [r for r in caplog.records if "daily automatic replies are used up" in r.getMessage()]
    assert vars(logged)["communication_id"] == sixth["communication_id"]
    assert ANA_PHONE not in caplog.text and ANA_PHONE[1:] not in caplog.text
    # And the counter holds the five answered messages, under a key that is not her number
    [counter] = rate_limit_items(company_id, "sms-auto-replies")
    assert len(counter["members"]) == 5 and ANA_PHONE[1:] not in counter["limit_key"]

    # When SNS delivers one of the answered messages again, Then it is the same reply, not a sixth
    again = sms_company.receive("SALDO", inbound_id="pump-0")
    assert again["outcome"] == "duplicate" and again["reply_id"] == outcomes[0]["reply_id"]
    # And when Bruno asks the same day, Then he is answered: the allowance is per number
    bruno = sms_company.receive("saldo", sender=BRUNO_PHONE)
    assert bruno["outcome"] == "replied"
    assert deliver_outboxes()["sent"] == 1
    assert sms_as_sent(local_aws, company_id, bruno["reply_id"])["phone_number"] == BRUNO_PHONE
    # And staff resending Ana a reply is never capped
    resent = sms_company.api.http.post(
        "/history/resend",
        headers=sms_company.tenant.staff_headers(),
        body=json.dumps({"ids": [outcomes[0]["reply_id"]]}),
    )
    assert resent.status_code == 202, resent.body
    assert deliver_outboxes()["sent"] == 1

    # When she asks at the last second of the UTC day, Then still no reply
    clock.set_now(datetime(2026, 11, 2, 23, 59, 59, tzinfo=timezone.utc))
    assert sms_company.receive("SALDO")["outcome"] == "capped"
    # When the next UTC day begins, Then she is answered again
    clock.set_now(datetime(2026, 11, 3, 0, 0, 0, tzinfo=timezone.utc))
    next_day = sms_company.receive("SALDO")
    assert next_day["outcome"] == "replied"
    assert deliver_outboxes()["sent"] == 1
    assert sms_as_sent(local_aws, company_id, next_day["reply_id"])["message"] == (
        "Estimado Ana Pérez su saldo pendiente es $ 15.300,50"
    )


def test_help_is_answered_twice_a_day_even_after_the_other_replies_are_used_up(
    sms_company: SmsCompany, local_aws: dict[str, str], clock: Any
) -> None:
    from chalicelib.store.tickets import tickets_of_client

    company_id = sms_company.company_id
    # Given Ana used up her day's automatic replies
    for n in range(5):
        assert sms_company.receive(f"saldo {n}")["outcome"] == "replied"
    # When she then opens a ticket, Then the ticket is opened but no reply is sent
    ticket = sms_company.receive("soporte: sin internet")
    assert ticket["outcome"] == "capped" and ticket["ticket_id"] is not None
    assert [t.ticket_id for t in tickets_of_client(company_id, "CLI-7")] == [ticket["ticket_id"]]
    assert deliver_outboxes()["sent"] == 5
    # When she texts HELP three times
    helps = [sms_company.receive("AYUDA") for _ in range(3)]
    # Then the first two are answered with the help text, and the third is not
    assert [h["outcome"] for h in helps] == ["replied", "replied", "capped"]
    assert helps[2]["reason"] == "the number had its 2 HELP replies of the day: no reply"
    assert deliver_outboxes()["sent"] == 2
    for answered in helps[:2]:
        sms = sms_as_sent(local_aws, company_id, answered["reply_id"])
        assert sms["message"] == "Cargas del Sur: llame al 0800-555-0101. BAJA para no recibir más SMS."
    # And the third HELP is in her register like every SMS she sent
    assert helps[2]["communication_id"] in {c.communication_id for c in register_of(company_id, "CLI-7")}
    # When the next UTC day begins, Then HELP is answered again
    clock.set_now(datetime(2026, 11, 3, 8, 0, tzinfo=timezone.utc))
    assert sms_company.receive("HELP")["outcome"] == "replied"


def test_concurrent_deliveries_from_one_number_never_get_more_than_five_replies(
    sms_company: SmsCompany,
) -> None:
    import threading

    from chalicelib.producers.sms_replies.replies import receive_inbound_sms

    company_id = sms_company.company_id
    # Given twelve SMS from Ana, delivered by SNS at the same moment to twelve handlers
    payloads = [
        json.dumps(
            dict(
                SAMPLE,
                originationNumber=ANA_PHONE,
                destinationNumber=sms_company.number,
                messageBody="SALDO",
                inboundMessageId=f"flood-{n}",
            )
        )
        for n in range(12)
    ]
    start = threading.Barrier(len(payloads))
    outcomes: list[str] = []

    def deliver(payload: str) -> None:
        start.wait()
        outcomes.append(receive_inbound_sms(payload).outcome)

    threads = [threading.Thread(target=deliver, args=(payload,)) for payload in payloads]
    # When the handlers run together
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then exactly five are answered, and five SMS are sent
    assert sorted(outcomes) == ["capped"] * 7 + ["replied"] * 5
    assert deliver_outboxes()["sent"] == 5
    # And all twelve are in her register, with the five replies
    assert sorted(c.direction for c in register_of(company_id, "CLI-7")) == ["in"] * 12 + ["out"] * 5
    [counter] = rate_limit_items(company_id, "sms-auto-replies")
    assert len(counter["members"]) == 5


BUENOS_AIRES = ZoneInfo("America/Argentina/Buenos_Aires")  # UTC−3, no summer time


def buenos_aires(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    """A moment of November 2026 on a Buenos Aires clock, as the aware UTC moment it is."""
    return datetime(2026, 11, day, hour, minute, second, tzinfo=BUENOS_AIRES).astimezone(timezone.utc)


def in_buenos_aires(sms_company: SmsCompany) -> None:
    # Given the company's days are Buenos Aires days (its administrator set its time zone)
    answer = sms_company.api.http.patch(
        "/company",
        headers=sms_company.tenant.admin_headers(),
        body=json.dumps({"time_zone": "America/Argentina/Buenos_Aires"}),
    )
    assert answer.status_code == 200, answer.body


BALANCE_SMS = "Estimado Ana Pérez su saldo pendiente es $ 15.300,50"


def test_the_allowance_is_the_companys_day_not_the_utc_day(
    sms_company: SmsCompany, local_aws: dict[str, str], clock: Any
) -> None:
    company_id = sms_company.company_id
    in_buenos_aires(sms_company)
    # When Ana asks for her balance five times between 21:00 and 23:59 of 2 November in Buenos
    # Aires (00:00 to 02:59 of 3 November in UTC)
    outcomes = []
    for hour, minute in [(21, 0), (22, 0), (23, 0), (23, 30), (23, 59)]:
        clock.set_now(buenos_aires(2, hour, minute))
        outcomes.append(sms_company.receive("SALDO"))
    # Then all five are answered, and SNS sends her five SMS
    assert [o["outcome"] for o in outcomes] == ["replied"] * 5
    assert deliver_outboxes()["sent"] == 5
    # When she asks again at the last second of that day there, Then it is the day's sixth: no reply
    clock.set_now(buenos_aires(2, 23, 59, 59))
    sixth = sms_company.receive("SALDO")
    assert sixth["outcome"] == "capped"
    assert sixth["reason"] == "the number had its 5 automatic replies of the day: no reply"
    assert deliver_outboxes()["sent"] == 0

    # When the company's next day begins, at midnight in Buenos Aires (03:00 UTC, the same UTC day)
    clock.set_now(buenos_aires(3, 0, 0))
    next_day = sms_company.receive("SALDO")
    # Then she is answered again, and the SMS with her balance reaches her number
    assert next_day["outcome"] == "replied"
    assert deliver_outboxes()["sent"] == 1
    sms = sms_as_sent(local_aws, company_id, next_day["reply_id"])
    assert (sms["phone_number"], sms["message"]) == (ANA_PHONE, BALANCE_SMS)


def test_an_sms_handled_after_midnight_counts_in_the_day_it_was_received(
    sms_company: SmsCompany, local_aws: dict[str, str], clock: Any
) -> None:
    company_id = sms_company.company_id
    in_buenos_aires(sms_company)
    # Given Ana had four answers on 2 November in Buenos Aires
    clock.set_now(buenos_aires(2, 12, 0))
    assert [sms_company.receive("SALDO")["outcome"] for _ in range(4)] == ["replied"] * 4
    assert deliver_outboxes()["sent"] == 4

    # When an SMS she sent at 23:59 reaches the handler at 00:01 of the 3rd (SNS delivered its
    # notification, published at 23:59, again after a failed first delivery)
    clock.set_now(buenos_aires(3, 0, 1))
    late = sms_company.receive("SALDO", inbound_id="late-1", received_at=buenos_aires(2, 23, 59))
    # Then it is answered as the fifth of the 2nd, and her register shows it received at 23:59
    assert late["outcome"] == "replied"
    assert deliver_outboxes()["sent"] == 1
    assert sms_as_sent(local_aws, company_id, late["reply_id"])["message"] == BALANCE_SMS
    [received] = [
        c for c in register_of(company_id, "CLI-7") if c.communication_id == late["communication_id"]
    ]
    assert received.created_at == buenos_aires(2, 23, 59)
    # And another SMS of 23:59 handled after midnight is the 2nd's sixth: no reply
    late_sixth = sms_company.receive("SALDO", inbound_id="late-2", received_at=buenos_aires(2, 23, 59, 30))
    assert late_sixth["outcome"] == "capped"
    # And SNS delivering the 23:59 notification once more is the same reply, counted once
    again = sms_company.receive("SALDO", inbound_id="late-1", received_at=buenos_aires(2, 23, 59))
    assert again["outcome"] == "duplicate" and again["reply_id"] == late["reply_id"]

    # When she asks five times on the 3rd, Then all five are answered: the late SMS used none of them
    clock.set_now(buenos_aires(3, 0, 2))
    outcomes = [sms_company.receive("SALDO") for _ in range(5)]
    assert [o["outcome"] for o in outcomes] == ["replied"] * 5
    assert deliver_outboxes()["sent"] == 5
    assert sms_as_sent(local_aws, company_id, outcomes[4]["reply_id"])["message"] == BALANCE_SMS


def test_keyword_replies_to_a_stopped_number_are_not_sent_nor_counted(
    sms_company: SmsCompany, local_aws: dict[str, str], clock: Any
) -> None:
    from chalicelib.store import communications

    company_id = sms_company.company_id
    # Given Ana texted STOP
    assert sms_company.receive("STOP")["outcome"] == "stopped"
    # When she texts the balance keyword six times
    outcomes = [sms_company.receive("SALDO") for _ in range(6)]
    # Then no SMS is sent: every reply is recorded suppressed, and none is refused for the allowance
    assert deliver_outboxes() == {"sent": 0, "failed": 0, "retried": 0, "suppressed": 6}
    assert [o["outcome"] for o in outcomes] == ["replied"] * 6
    for outcome in outcomes:
        stored = communications.get(company_id, outcome["reply_id"])
        assert stored is not None and stored.state == "suppressed" and stored.provider_message_id is None
    # And nothing was counted against her day
    assert rate_limit_items(company_id, "sms-auto-replies") == []

    # When she texts START the same day and asks again, Then she still has her five replies
    assert sms_company.receive("START")["outcome"] == "started"
    answered = [sms_company.receive("SALDO") for _ in range(6)]
    assert [o["outcome"] for o in answered] == ["replied"] * 5 + ["capped"]
    assert deliver_outboxes()["sent"] == 5
    for outcome in answered[:5]:
        sms = sms_as_sent(local_aws, company_id, outcome["reply_id"])
        assert (sms["phone_number"], sms["message"]) == (ANA_PHONE, BALANCE_SMS)


def test_a_ticket_sms_handled_after_midnight_counts_in_the_day_it_was_received(
    sms_company: SmsCompany, local_aws: dict[str, str], clock: Any
) -> None:
    from chalicelib.store.tickets import tickets_of_client

    in_buenos_aires(sms_company)
    # Given Ana opened three tickets on 2 November in Buenos Aires (the company's three a day)
    clock.set_now(buenos_aires(2, 12, 0))
    assert all(sms_company.receive(f"Soporte: sin internet ({n})")["ticket_id"] for n in range(3))
    # When a fourth, sent at 23:59, reaches the handler at 00:01 of the 3rd (SNS delivered again)
    clock.set_now(buenos_aires(3, 0, 1))
    late = sms_company.receive(
        "soporte otra vez", inbound_id="late-ticket", received_at=buenos_aires(2, 23, 59)
    )
    deliver_outboxes()
    # Then it is the 2nd's fourth: no ticket, and the polite refusal
    assert late["ticket_id"] is None
    assert len(tickets_of_client(sms_company.company_id, "CLI-7")) == 3
    refusal = sms_as_sent(local_aws, sms_company.company_id, late["reply_id"])["message"]
    assert refusal.startswith("Estimado Ana Pérez, hoy ya registramos 3 reclamos suyos")
    # And one she sends on the 3rd opens a ticket
    assert sms_company.receive("soporte, sigue sin andar")["ticket_id"] is not None


# --- a client being erased (decision 0017) ------------------------------------------------------


def test_an_sms_she_sends_while_she_is_being_erased_is_kept_as_from_an_unknown_number(
    sms_company: SmsCompany, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import communications
    from tests.steps.erasure import erased_while, erasure_ended, erasure_in_the_request

    erasure_in_the_request(monkeypatch)
    api, tenant = sms_company.api, sms_company.tenant
    # When Ana asks for her balance, and between the handler's match of her number and its write
    # of her SMS the administrator erases her (stopped just before her item goes)
    erased = erased_while(api, tenant, "CLI-7", monkeypatch)
    outcome = sms_company.receive("SALDO")
    assert [(e["state"], e["phase"]) for e in erased] == [("erasing", "client")]
    # Then her SMS is not lost: it is logged as from an unknown number, under no client, with no
    # reply, saying why
    assert (outcome["outcome"], outcome["client_id"], outcome["reply_id"]) == ("logged", None, None)
    record = communications.get(sms_company.company_id, outcome["communication_id"])
    assert record is not None and (record.client_id, record.from_name, record.unassigned) == (
        None,
        None,
        True,
    )
    assert record.from_address == ANA_PHONE and "client being erased" in (record.error or "")
    assert deliver_outboxes()["sent"] == 0
    # And once the erasure ends, it is still in the SMS history, naming no client
    erasure_ended(api, tenant, "CLI-7", clock)
    assert [(c.communication_id, c.client_id) for c in sms_history(sms_company.company_id)] == [
        (outcome["communication_id"], None)
    ]


def test_a_help_reply_that_lost_to_her_erasure_leaves_the_numbers_allowance_as_it_was(
    sms_company: SmsCompany, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.producers.sms_replies import allowance
    from tests.steps.erasure import erased_while, erasure_in_the_request

    erasure_in_the_request(monkeypatch)
    monkeypatch.setattr(allowance, "HELP_REPLIES_PER_NUMBER_PER_DAY", 1)
    # Given a number gets one HELP reply a day
    # When Ana texts HELP, and between the write of her SMS and the write of its reply the
    # administrator erases her, to the end
    erased = erased_while(sms_company.api, sms_company.tenant, "CLI-7", monkeypatch, at_write=2, ends=True)
    first = sms_company.receive("AYUDA")
    assert [e["state"] for e in erased] == ["done"]
    # Then no reply was written
    assert (first["outcome"], first["reply_id"]) == ("logged", None)
    assert first["reason"] == "the client is being erased: no reply"
    # And when the number, no one's now, texts HELP again, it gets the reply the first did not
    again = sms_company.receive("AYUDA")
    assert (again["outcome"], again["client_id"]) == ("replied", None)
    assert deliver_outboxes()["sent"] == 1


@pytest.mark.parametrize("ends", [False, True], ids=["still-erasing", "erased"])
def test_a_ticket_sms_whose_ticket_comes_after_her_erasure_began_opens_no_ticket(
    sms_company: SmsCompany, clock: Any, monkeypatch: pytest.MonkeyPatch, ends: bool
) -> None:
    from chalicelib.store import communications, tickets
    from tests.steps.erasure import erased_while, erasure_ended, erasure_in_the_request

    erasure_in_the_request(monkeypatch)
    api, tenant, company_id = sms_company.api, sms_company.tenant, sms_company.company_id
    # When Ana asks for support, and between the write of her SMS (under her) and the opening of
    # its ticket the administrator erases her (past the phase that erases tickets; to its end or not)
    erased = erased_while(api, tenant, "CLI-7", monkeypatch, ends=ends, writer=(tickets, "open_ticket"))
    outcome = sms_company.receive("Soporte: sin internet")
    assert [e["state"] for e in erased] == ["done" if ends else "erasing"]
    # Then no ticket is opened and no reply is written, saying why
    assert (outcome["outcome"], outcome["ticket_id"], outcome["reply_id"]) == ("logged", None, None)
    assert outcome["reason"] == "the client is being erased: no ticket, no reply"
    assert deliver_outboxes()["sent"] == 0
    # And once the erasure ended, nothing the company polls or keeps names her: no ticket, no SMS
    if not ends:
        erasure_ended(api, tenant, "CLI-7", clock)
    polled = api.http.get("/tickets", headers=tenant.admin_headers())
    assert polled.status_code == 200 and body(polled)["items"] == [], polled.body
    assert communications.get(company_id, outcome["communication_id"]) is None
    assert sms_history(company_id) == []


def test_a_page_of_one_clients_tickets_reads_a_bounded_part_of_the_companys(
    api: Any, tenant: Tenant, monkeypatch: Any
) -> None:
    from datetime import timedelta

    import chalicelib.store.fields
    from chalicelib.core.domain import Ticket
    from chalicelib.store.tickets import open_ticket

    # Given a page reads at most 2 tickets (a year's: 1,000 of thousands), and the company's six
    # tickets, the oldest the only one of CLI-RARO
    monkeypatch.setattr(chalicelib.store.fields, "PAGE_READ", 2, raising=False)
    monkeypatch.setattr(chalicelib.store.fields, "READ_PER_PAGE", 2, raising=False)
    start = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)
    for n in range(6):
        client_id = "CLI-RARO" if n == 0 else f"CLI-{n}"
        ticket = Ticket(tenant.company_id, f"T-{n}", client_id, None, None, f"Reclamo {n}", "sms",
                        start + timedelta(minutes=n))  # fmt: skip
        assert open_ticket(ticket, "2026-11-02", 10)[1]

    # When the company's system asks for CLI-RARO's tickets, and follows the cursor
    first = body(api.http.get("/tickets?limit=2&client_id=CLI-RARO", headers=tenant.admin_headers()))
    page, found, pages = first, [t["ticket_id"] for t in first["items"]], 1
    while page["next_cursor"]:
        response = api.http.get(
            f"/tickets?limit=2&client_id=CLI-RARO&cursor={page['next_cursor']}",
            headers=tenant.admin_headers(),
        )
        assert response.status_code == 200, response.body
        page = body(response)
        found += [t["ticket_id"] for t in page["items"]]
        pages += 1

    # Then the first page answers after reading its share, empty, with a cursor to read on
    assert first["items"] == [] and first["next_cursor"]
    # And following it finds its one ticket, once
    assert found == ["T-0"] and pages >= 3
