"""How many SMS a company can make Pregón send (docs/sms.md, "How many SMS a day"): its own C2 rate
limit, as e-mail accounts have it, and the operator's allowance of SMS through Pregón's SNS a day.
SMS beyond either wait in the outbox and go in later windows, oldest first, none lost; the
administrators are told once a day. SNS and SES are moto's server, the gateway a local HTTP server.
"""

from __future__ import annotations

import email
import json
import secrets
import threading
from collections import Counter
from datetime import timedelta
from email.policy import default
from typing import Any

import pytest
from chalice.test import Client

from tests.steps.accounts import in_time_zone
from tests.steps.answers import body
from tests.steps.aws import aws_answering, moto_received
from tests.steps.domains import notices_received, pregon_notice_sender_verified
from tests.steps.mail import text_of
from tests.steps.operators import operator_headers
from tests.steps.outbox import deliver_outboxes
from tests.steps.sms import AndroidGateway
from tests.steps.tenants import IDENTITY, Tenant, staff_user
from tests.steps.tracking import T0

GATEWAY_USER, GATEWAY_PASSWORD = "sms", "Zq8-phone-token"


def save_sms(api: Client, headers: dict[str, str], **fields: Any) -> Any:
    return api.http.put("/sms/settings", headers=headers, body=json.dumps(fields))


def sms_on_sns(api: Client, tenant: Tenant, **fields: Any) -> None:
    saved = save_sms(api, tenant.admin_headers(), enabled=True, provider="sns", **fields)
    assert saved.status_code == 200, saved.body


def on_gateway_phone(api: Client, tenant: Tenant, phone: AndroidGateway, **fields: Any) -> None:
    """The company's SMS go through its own Android phone: settings saved, gateway password set."""
    saved = save_sms(
        api,
        tenant.admin_headers(),
        enabled=True,
        provider="http_gateway",
        base_url=phone.base_url,
        username=GATEWAY_USER,
        **fields,
    )
    assert saved.status_code == 200, saved.body
    gateway_password(api, tenant, GATEWAY_PASSWORD)


def gateway_password(api: Client, tenant: Tenant, password: str) -> None:
    typed = json.dumps({"password": password})
    answer = api.http.put("/sms/settings/gateway-password", headers=tenant.admin_headers(), body=typed)
    assert answer.status_code == 204, answer.body


def allowance(api: Client, token: str, company_id: str, per_day: int | None) -> Any:
    return api.http.patch(
        f"/operator/companies/{company_id}/allowances",
        headers=operator_headers(token),
        body=json.dumps({"sms_per_day": per_day}),
    )


def numbers(count: int) -> list[str]:
    """Buenos Aires mobiles no other test texts (moto keeps every SMS of the run)."""
    return [f"+549115{secrets.randbelow(10**7):07d}" for _ in range(count)]


def queue_sms(company_id: str, to: list[str], *, kick: bool = True) -> None:
    from chalicelib.messaging.outbox import OutgoingMessage, enqueue

    enqueue(
        company_id,
        [
            OutgoingMessage(channel="sms", to_address=n, text=f"Aviso {i}", kind="manual")
            for i, n in enumerate(to)
        ],
        kick=kick,
    )


def sms_test(api: Client, tenant: Tenant, to: str, language: str = "en") -> Any:
    headers = {**tenant.admin_headers(), "Accept-Language": language}
    return api.http.post("/sms/test", headers=headers, body=json.dumps({"to": to}))


def texted(local_aws: dict[str, str], to: list[str]) -> list[str]:
    """The numbers among ``to`` that moto's SNS texted, in ``to``'s order (each once at most), read
    from moto once (it answers with every SMS the test process sent)."""

    times = Counter(sms["phone_number"] for sms in moto_received("sns", "SMS"))
    sent = [n for n in to if times[n]]
    assert all(times[n] == 1 for n in sent)
    return sent


def sent_by_wakeups(company_id: str) -> int:
    from chalicelib.messaging.delivery import wake_due_outboxes

    return sum(r.sent for r in wake_due_outboxes() if r.company_id == company_id)


def allowances_shown(shown: dict[str, Any]) -> dict[str, Any]:
    """The allowances the operator is shown, once their e-mail reputation (decision 0032) is seen
    to hold no pause: a company that sent nothing through Pregón's SES is never paused."""
    reputation = shown.pop("email_reputation")
    assert reputation["paused"] is False, reputation
    return shown


def test_the_sms_over_the_companys_rate_limit_waits_and_goes_in_the_next_window_oldest_first(
    api: Client, tenant: Tenant, clock: Any, local_aws: dict[str, str]
) -> None:
    # Given SMS through SNS limited by the administrator to 3 an hour, shown back as saved
    sms_on_sns(api, tenant, rate_limit={"messages": 3, "hours": 1})
    shown = body(api.http.get("/sms/settings", headers=tenant.admin_headers()))
    assert shown["rate_limit"] == {"messages": 3, "hours": 1}
    assert shown["daily_allowance"] == 500
    # When a clerk's 4 SMS are queued at 12:00 and the workers run
    clock.set_now(T0)
    to = numbers(4)
    queue_sms(tenant.company_id, to)
    assert deliver_outboxes()["sent"] == 3
    # Then the 3 oldest went, and the 4th waits, even when the minute schedule runs within the hour
    assert texted(local_aws, to) == to[:3]
    clock.set_now(T0 + timedelta(minutes=59))
    assert sent_by_wakeups(tenant.company_id) == 0
    # And it goes once the first three have left the hour (counted two minutes late)
    clock.set_now(T0 + timedelta(hours=1, minutes=2, seconds=1))
    assert sent_by_wakeups(tenant.company_id) == 1
    assert texted(local_aws, to) == to


def test_the_allowance_holds_exactly_across_workers_and_the_administrators_are_told_once(
    api: Client, tenant: Tenant, clock: Any, local_aws: dict[str, str], operator: str
) -> None:

    from chalicelib.messaging.delivery import drain_outbox

    pregon_notice_sender_verified()
    company = tenant.company_id
    staff_user(company, "ana", f"ana@{company}.example", level=1)
    # Given SMS through SNS, a rate limit of 10 an hour, and Pregón's operator allowing 7 a day
    sms_on_sns(api, tenant, rate_limit={"messages": 10, "hours": 1})
    set_to = allowance(api, operator, company, 7)
    assert set_to.status_code == 200, set_to.body
    assert allowances_shown(body(set_to)) == {
        "company_id": company,
        "sms_per_day": 7,
        "default": False,
        "applies": True,
        "emails_per_day": 5000,
        "emails_default": True,
    }
    # When 20 SMS wait and three workers drain the outbox at once
    clock.set_now(T0)
    to = numbers(20)
    queue_sms(company, to, kick=False)
    reports: list[Any] = []
    workers = [
        threading.Thread(target=lambda: reports.append(drain_outbox(company, "sms"))) for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    # Then exactly 7 went out, the oldest, and the rest wait for the allowance's room
    assert sum(r.sent for r in reports) == 7
    assert sorted(texted(local_aws, to)) == sorted(to[:7])
    assert any("allowance" in (r.reason or "") for r in reports)

    def notices() -> list[str]:
        raw = moto_received("ses", "RawMessage")
        return [m["raw_data"] for m in raw if f"ana@{company}.example" in m["raw_data"]]

    # And the administrator was told once, by Pregón, in Spanish
    [notice] = notices()
    told = email.message_from_string(notice, policy=default)
    assert str(told["From"]).startswith("Pregón <") and str(told["To"]) == f"ana@{company}.example"
    assert str(told["Subject"]) == "Pregón: Cargas del Sur llegó a sus 7 SMS del día"
    assert "no se pierden: esperan en la cola" in text_of(told)
    # When the minute schedule runs again the same day
    clock.set_now(T0 + timedelta(hours=3))
    assert sent_by_wakeups(company) == 0
    # Then nothing more went and nobody was told twice
    assert notices() == [notice]
    # When a day (and the two-minute margin) has passed, the next 7 go, oldest first
    clock.set_now(T0 + timedelta(days=1, minutes=2, seconds=1))
    assert sent_by_wakeups(company) == 7
    assert sorted(texted(local_aws, to)) == sorted(to[:14])


def test_a_company_on_its_own_gateway_phone_is_not_held_by_pregons_allowance(
    api: Client, tenant: Tenant, operator: str
) -> None:
    # Given a company whose SMS go through its own Android phone, and an allowance of 1 a day
    with AndroidGateway(GATEWAY_USER, GATEWAY_PASSWORD) as phone:
        headers = tenant.admin_headers()
        on_gateway_phone(api, tenant, phone)
        assert allowance(api, operator, tenant.company_id, 1).status_code == 200
        # When 3 SMS are queued
        queue_sms(tenant.company_id, numbers(3))
        # Then all 3 reach the phone: the company pays them itself
        assert deliver_outboxes()["sent"] == 3
        assert len(phone.messages) == 3
        shown = body(api.http.get("/sms/settings", headers=headers))
        assert shown["daily_allowance"] is None
        assert body(api.http.get(f"/operator/companies/{tenant.company_id}/allowances",
                                 headers=operator_headers(operator)))["applies"] is False  # fmt: skip


def test_a_test_sms_counts_in_the_companys_rate_limit_and_is_refused_at_once_when_it_is_full(
    api: Client, tenant: Tenant, clock: Any, local_aws: dict[str, str]
) -> None:
    from chalicelib.messaging.delivery import drain_outbox

    # Given a company in Buenos Aires whose SMS through SNS may be 2 an hour
    in_time_zone(api, tenant, "America/Argentina/Buenos_Aires")
    sms_on_sns(api, tenant, rate_limit={"messages": 2, "hours": 1})
    clock.set_now(T0)
    # When the administrator sends a test SMS, then 2 SMS are queued and the outbox drained
    tester, to = numbers(1)[0], numbers(2)
    assert body(sms_test(api, tenant, tester))["ok"] is True
    queue_sms(tenant.company_id, to, kick=False)
    # Then 1 goes now and 1 waits: the test used a slot of the hour
    assert drain_outbox(tenant.company_id, "sms").sent == 1
    assert texted(local_aws, [tester, *to]) == [tester, to[0]]
    # When another test is asked for within the hour
    clock.set_now(T0 + timedelta(minutes=30))
    refused = sms_test(api, tenant, tester)
    # Then it is refused at once, naming the limit and when the next SMS may go in the company's
    # time (each grant counts from two minutes after it was made: 12:02 UTC + 1 h = 10:02 there)
    assert refused.status_code == 429, refused.body
    assert refused.headers["Retry-After"] == str(32 * 60)
    assert body(refused)["message"] == (
        "the company's SMS have reached their send-rate limit (2 messages per 1 h): the next one can go "
        "at 2/11/2026 10:02 (UTC-03:00, America/Argentina/Buenos_Aires) (Retry-After: 1920 seconds)"
    )
    # And in Spanish when the console asks for it; nothing more was texted
    assert body(sms_test(api, tenant, tester, "es"))["message"] == (
        "los SMS de la empresa llegaron a su límite de envío (2 mensajes cada 1 h): el próximo puede "
        "salir el 2/11/2026 10:02 (UTC-03:00, America/Argentina/Buenos_Aires) (Retry-After: 1920 segundos)"
    )
    assert texted(local_aws, [tester, *to]) == [tester, to[0]]


def test_a_test_sms_through_pregons_sns_counts_in_its_allowance_and_on_the_companys_phone_only_in_its_limit(
    api: Client, tenant: Tenant, clock: Any, local_aws: dict[str, str], operator: str
) -> None:
    # Given SMS through SNS limited to 3 an hour, and Pregón's operator allowing 1 a day
    pregon_notice_sender_verified()
    company = tenant.company_id
    staff_user(company, "ana", f"ana@{company}.example", level=1)
    in_time_zone(api, tenant, "America/Argentina/Buenos_Aires")
    sms_on_sns(api, tenant, rate_limit={"messages": 3, "hours": 1})
    assert allowance(api, operator, tenant.company_id, 1).status_code == 200
    clock.set_now(T0)
    # When two test SMS are sent, and a third
    first, second = numbers(2)
    assert body(sms_test(api, tenant, first))["ok"] is True
    refused = sms_test(api, tenant, second)
    assert sms_test(api, tenant, second).status_code == 429
    # Then the second is refused naming Pregón's allowance, free again a day after the first
    assert refused.status_code == 429, refused.body
    assert body(refused)["message"] == (
        "the company's SMS have reached Pregón's daily SMS allowance (1 messages per 24 h): the next one "
        "can go at 3/11/2026 09:02 (UTC-03:00, America/Argentina/Buenos_Aires) (Retry-After: 86520 seconds)"
    )
    assert texted(local_aws, [first, second]) == [first]
    # And the administrator was told once, as a drain stopped by the allowance tells
    told = notices_received(f"ana@{company}.example")
    assert [str(n["Subject"]) for n in told] == ["Pregón: Cargas del Sur llegó a sus 1 SMS del día"]
    # When the company sends through its own Android phone instead, and tests it three times
    with AndroidGateway(GATEWAY_USER, GATEWAY_PASSWORD) as phone:
        on_gateway_phone(api, tenant, phone, rate_limit={"messages": 3, "hours": 1})
        answers = [sms_test(api, tenant, n) for n in numbers(3)]
        # Then Pregón's allowance does not hold them: two go, the refused SNS test took no room,
        # and the third is refused by the company's own limit, 3 an hour with the first SNS test
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert body(answers[2])["message"].startswith(
            "the company's SMS have reached their send-rate limit (3 messages per 1 h)"
        )
        assert len(phone.messages) == 2


def test_a_test_sms_sns_refused_at_once_gives_its_room_back(
    api: Client, tenant: Tenant, local_aws: dict[str, str]
) -> None:
    # Given SMS through SNS limited to 1 an hour
    sms_on_sns(api, tenant, rate_limit={"messages": 1, "hours": 1})
    to = numbers(1)[0]
    # When SNS refuses the test at once (400: it surely did not take it)
    with aws_answering("sns", "Publish", "InvalidParameter", "Invalid parameter: PhoneNumber", 400):
        refused = body(sms_test(api, tenant, to))
    assert refused["ok"] is False and "InvalidParameter" in refused["error"]
    # Then the hour's one slot is still there for the next test, which takes it
    assert body(sms_test(api, tenant, to))["ok"] is True
    assert sms_test(api, tenant, to).status_code == 429
    assert texted(local_aws, [to]) == [to]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"rate_limit": {"messages": 0, "hours": 1}}, "rate_limit.messages"),
        ({"rate_limit": {"messages": 5}}, "rate_limit.hours"),
        ({"rate_limit": {"messages": 5, "hours": "x"}}, "rate_limit.hours"),
        ({"rate_limit": 5}, "rate_limit"),
    ],
)
def test_a_bad_rate_limit_is_refused_naming_the_field_and_nothing_is_saved(
    api: Client, tenant: Tenant, payload: dict[str, Any], field: str
) -> None:
    refused = save_sms(api, tenant.admin_headers(), **payload)
    assert refused.status_code == 422, refused.body
    assert body(refused)["field"] == field
    assert body(api.http.get("/sms/settings", headers=tenant.admin_headers()))["updated_at"] is None


def test_only_an_administrator_sets_the_rate_limit_and_only_the_operator_the_allowance(
    api: Client, tenant: Tenant, operator: str
) -> None:
    # Given a level-2 user and an integration key
    level_2 = {
        "Authorization": f"Bearer {IDENTITY.mint(tenant.company_id, user_id='bea', level=2)}",
        "Content-Type": "application/json",
    }
    # When they try to lift the rate limit, or the allowance through the operator's route
    limit = {"rate_limit": None}
    for headers in (level_2, tenant.staff_headers(), tenant.key_headers()):
        assert save_sms(api, headers, **limit).status_code == 403
        answer = api.http.patch(
            f"/operator/companies/{tenant.company_id}/allowances", headers=headers, body='{"sms_per_day": 1}'
        )
        assert answer.status_code in (401, 403), answer.body
    # Then the operator can, and a bad allowance is a 422 naming sms_per_day
    assert body(allowance(api, operator, tenant.company_id, 2000))["sms_per_day"] == 2000
    refused = allowance(api, operator, tenant.company_id, -1)
    assert refused.status_code == 422 and body(refused)["field"] == "sms_per_day"
    assert allowance(api, operator, "no-such-company", 5).status_code == 404
    # And null puts the default back
    assert allowances_shown(body(allowance(api, operator, tenant.company_id, None))) == {
        "company_id": tenant.company_id,
        "sms_per_day": 500,
        "default": True,
        "applies": True,
        "emails_per_day": 5000,
        "emails_default": True,
    }


def test_the_ops_command_shows_and_sets_the_allowance(
    tenant: Tenant, capsys: pytest.CaptureFixture[str]
) -> None:
    from infrastructure import ops

    run = ["--target", "env", "--json", "company", "allowance", tenant.company_id]
    capsys.readouterr()
    assert ops.main([*run, "--sms-per-day", "1200"]) == 0
    assert json.loads(capsys.readouterr().out)["sms_per_day"] == 1200
    assert ops.main([*run, "--default"]) == 0
    assert allowances_shown(json.loads(capsys.readouterr().out)) == {
        "company_id": tenant.company_id,
        "sms_per_day": 500,
        "default": True,
        "applies": True,
        "emails_per_day": 5000,
        "emails_default": True,
    }


def test_a_test_sms_the_android_gateway_refuses_with_a_4xx_gives_its_room_back(
    api: Client, tenant: Tenant
) -> None:
    # Given SMS through the company's own Android phone, limited to 1 an hour, whose password was
    # typed wrong
    with AndroidGateway(GATEWAY_USER, GATEWAY_PASSWORD) as phone:
        on_gateway_phone(api, tenant, phone, rate_limit={"messages": 1, "hours": 1})
        gateway_password(api, tenant, "not-the-phones")
        to = numbers(1)[0]
        # When the administrator tests it, and the phone answers 401 (it took nothing)
        refused = body(sms_test(api, tenant, to))
        assert refused["ok"] is False and refused["error"] == "401 Unauthorized"
        # Then the hour's one slot is still there: with the right password the next test goes
        gateway_password(api, tenant, GATEWAY_PASSWORD)
        assert body(sms_test(api, tenant, to))["ok"] is True
        assert sms_test(api, tenant, to).status_code == 429
        assert len(phone.messages) == 1
