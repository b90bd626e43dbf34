"""SMS Masivos sells prepaid packages (seed 002 §2): the company sees the SMS it has left, the day
its package expires and the SMS sent this month, and its administrators are e-mailed, once a day at
most, before the package runs out or expires (docs/sms.md, "Credit and expiry"). SMS Masivos is a
real local HTTP server (``infrastructure/local/sms_masivos.py``) answering its account queries."""

from __future__ import annotations

import email
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from email.policy import default
from typing import Any

import pytest
from chalice.test import Client

from infrastructure.local.sms_masivos import (
    MASIVOS_PASSWORD,
    MASIVOS_USERNAME,
    WRONG_LOGIN_ANSWER,
    SmsMasivosStandIn,
)
from tests.steps.answers import body
from tests.steps.aws import moto_received
from tests.steps.domains import pregon_notice_sender_verified
from tests.steps.mail import text_of
from tests.steps.tenants import Tenant, staff_user

STATUS = "/sms/settings/provider-status"
T0 = datetime(2026, 11, 2, 12, 0, tzinfo=timezone.utc)  # the clock fixture's instant


@pytest.fixture
def masivos(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmsMasivosStandIn]:
    # The stand-in listens on 127.0.0.1, which only the local stack and the tests allow.
    monkeypatch.setenv("PREGON_ALLOW_LOOPBACK_DESTINATIONS", "1")
    with SmsMasivosStandIn() as stand_in:
        monkeypatch.setenv("SMS_MASIVOS_URL", stand_in.url)
        yield stand_in


def call(api: Client, tenant: Tenant, method: str, path: str, payload: Any = None, **headers: str) -> Any:
    data = json.dumps(payload).encode() if payload is not None else b""
    return api.http.request(method, path, headers={**tenant.admin_headers(), **headers}, body=data)


def with_sms_masivos(api: Client, tenant: Tenant, *, enabled: bool = True, **settings: Any) -> None:
    """The administrator types SMS Masivos' user and password, and switches SMS on (or not)."""
    saved = call(
        api, tenant, "PUT", "/sms/settings", {"provider": "sms_masivos", "masivos_username": MASIVOS_USERNAME}
    )
    assert saved.status_code == 200, saved.body
    password = {"password": MASIVOS_PASSWORD}
    assert call(api, tenant, "PUT", "/sms/settings/sms-masivos-password", password).status_code == 204
    switched = call(api, tenant, "PUT", "/sms/settings", {"enabled": enabled, **settings})
    assert switched.status_code == 200, switched.body


def company_settings(api: Client, tenant: Tenant, **settings: str) -> None:
    answer = api.http.patch("/company", headers=tenant.admin_headers(), body=json.dumps(settings))
    assert answer.status_code == 200, answer.body


def the_daily_check_runs(api: Client) -> dict[str, Any]:
    """EventBridge fires the deployed scheduled function."""
    from tests.steps.aws import scheduled_function_runs

    return scheduled_function_runs(api, "check_sms_credit")


def raw_notices_to(recipient: str) -> list[bytes]:
    """The raw e-mails SES (moto) was handed for ``recipient`` (on their To header), as bytes."""

    sent = moto_received("ses", "RawMessage")
    return [
        m["raw_data"].encode()
        for m in sent
        if recipient
        in [a.addr_spec for a in email.message_from_string(m["raw_data"], policy=default)["To"].addresses]
    ]


def test_the_administrator_sees_the_credit_the_expiry_and_the_sms_sent_this_month(
    api: Client, tenant: Tenant, masivos: SmsMasivosStandIn
) -> None:
    # Given a company in Buenos Aires whose SMS go through its SMS Masivos account, which has 1500
    # SMS left in a package that ends on 30 June 2027, and sent 42 SMS this month
    company_settings(api, tenant, time_zone="America/Argentina/Buenos_Aires", locale="es_AR")
    with_sms_masivos(api, tenant)
    masivos.credit, masivos.expires_on, masivos.sent_before = 1500, date(2027, 6, 30), 42
    # When the administrator asks for the provider's status
    answer = call(api, tenant, "GET", STATUS)
    # Then it says what SMS Masivos said, the day in the company's locale, and when it was read
    assert answer.status_code == 200, answer.body
    assert body(answer) == {
        "provider": "sms_masivos",
        "available": True,
        "ok": True,
        "error": None,
        "credit": 1500,
        "credit_shown": "1.500",
        "expires_on": "2027-06-30",
        "expires_on_shown": "30/6/2027",
        "days_left": 240,
        "sent_this_month": 42,
        "sent_this_month_shown": "42",
        "read_at": "2026-11-02T12:00:00+00:00",
        "read_at_shown": "2/11/2026 09:00 (America/Argentina/Buenos_Aires)",
        "low_credit_threshold": 100,
        "low_credit_threshold_shown": "100",
        "low": False,
    }
    # And SMS Masivos was asked its three account queries, in the folder of enviar_sms.asp
    assert masivos.request_lines == [
        f"GET /{page}?usuario=demo&clave=local-masivos-password HTTP/1.1"
        for page in ("obtener_saldo.asp", "obtener_vencimiento_paquete.asp", "obtener_envios.asp")
    ]
    # And the screen's threshold can be changed; the status is low under it
    saved = call(api, tenant, "PUT", "/sms/settings", {"low_credit_threshold": 2000})
    assert body(saved)["low_credit_threshold"] == 2000
    assert body(call(api, tenant, "GET", STATUS))["low"] is True
    refused = call(api, tenant, "PUT", "/sms/settings", {"low_credit_threshold": -1})
    assert refused.status_code == 422, refused.body


def test_a_company_cannot_make_pregon_poll_sms_masivos_without_end(
    api: Client, tenant: Tenant, masivos: SmsMasivosStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a company on SMS Masivos, allowed two reads of its account an hour (30 in production)
    from chalicelib.messaging.accounts import sms_credit

    monkeypatch.setattr(sms_credit, "STATUS_READS_AN_HOUR", 2)
    with_sms_masivos(api, tenant)
    # When a script asks for the provider's status three times in the same hour
    answers = [call(api, tenant, "GET", STATUS) for _ in range(3)]
    # Then the first two are read from SMS Masivos, and the third is refused before any request,
    # saying when it may ask again (the next hour), in the caller's language
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert len(masivos.request_lines) == 6
    assert int(answers[2].headers["Retry-After"]) > 0
    spanish = api.http.get(STATUS, headers={**tenant.admin_headers(), "Accept-Language": "es"})
    assert body(spanish)["message"] == (
        "la cuenta del proveedor de SMS ya se consultó 2 veces en esta hora; pruebe en la próxima hora"
    )


def test_a_wrong_password_is_told_in_pregons_words_never_sms_masivos(
    api: Client, tenant: Tenant, masivos: SmsMasivosStandIn
) -> None:
    # Given SMS Masivos no longer takes the password the company saved
    with_sms_masivos(api, tenant)
    masivos.password = "otra-clave"
    # When the administrator asks for the provider's status, in Spanish
    answer = call(api, tenant, "GET", STATUS, **{"Accept-Language": "es-AR"})
    # Then it says the account could not be read and why, in our words, without SMS Masivos' answer
    assert answer.status_code == 200, answer.body
    status = body(answer)
    assert (status["ok"], status["credit"]) == (False, None)
    assert status["error"] == "rechazado: SMS Masivos: usuario o clave incorrectos"
    assert WRONG_LOGIN_ANSWER not in answer.body.decode()
    assert MASIVOS_PASSWORD not in answer.body.decode()
    # And in English for a caller that asks no language
    english = body(call(api, tenant, "GET", STATUS))["error"]
    assert english == "refused: SMS Masivos: usuario o clave incorrectos (the user or password is wrong)"


def test_a_slow_sms_masivos_is_bounded_by_the_deadline(
    api: Client, tenant: Tenant, masivos: SmsMasivosStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.channels import sms

    # Given SMS Masivos takes 3 s to answer, and the deadline (15 s in production) is 1 s
    monkeypatch.setattr(sms, "SMS_MASIVOS_TIMEOUT_SECONDS", 1.0)
    with_sms_masivos(api, tenant)
    masivos.delay = 3.0
    # When the administrator asks for the provider's status
    status = body(call(api, tenant, "GET", STATUS))
    # Then it gives up at the deadline, saying so
    assert (status["ok"], status["error"]) == (False, "timeout: SMS Masivos did not answer within 1 s")


def test_other_providers_say_it_is_not_available_and_another_tenant_sees_nothing(
    api: Client, tenant: Tenant, other_tenant: Tenant, masivos: SmsMasivosStandIn
) -> None:
    # Given a company on SMS Masivos and another on Amazon SNS
    with_sms_masivos(api, tenant)
    assert call(api, other_tenant, "PUT", "/sms/settings", {"enabled": True}).status_code == 200
    # When the other company's administrator asks for the provider's status
    answer = body(call(api, other_tenant, "GET", STATUS))
    # Then it is not available for its provider, and SMS Masivos was not asked
    assert answer == {
        "provider": "sns",
        "available": False,
        "ok": False,
        "error": "not available for this provider: only SMS Masivos tells Pregón its credit",
        "credit": None,
        "credit_shown": None,
        "expires_on": None,
        "expires_on_shown": None,
        "days_left": None,
        "sent_this_month": None,
        "sent_this_month_shown": None,
        "read_at": None,
        "read_at_shown": None,
        "low_credit_threshold": None,
        "low_credit_threshold_shown": None,
        "low": False,
    }
    assert masivos.request_lines == []


def test_low_credit_emails_the_administrators_once_a_day_and_asks_only_companies_on_sms_masivos(
    api: Client, tenant: Tenant, other_tenant: Tenant, clock: Any, masivos: SmsMasivosStandIn
) -> None:
    from tests.steps.tenants import make_tenant

    sender = pregon_notice_sender_verified()
    company = tenant.company_id
    # Given a company on SMS Masivos, writing Spanish in Buenos Aires, with two administrators and a
    # clerk, whose account has 40 SMS left (under the default threshold of 100)
    company_settings(api, tenant, language="es", time_zone="America/Argentina/Buenos_Aires", locale="es_AR")
    staff_user(company, "ana", f"ana@{company}.example", level=1)
    staff_user(company, "beto", f"beto@{company}.example", level=1)
    staff_user(company, "dario", f"dario@{company}.example", level=4)
    with_sms_masivos(api, tenant)
    masivos.credit, masivos.sent_before = 40, 960
    # And another company on Amazon SNS, and a third that saved SMS Masivos but keeps SMS off,
    # each with an administrator
    other = other_tenant.company_id
    staff_user(other, "olga", f"olga@{other}.example", level=1)
    assert call(api, other_tenant, "PUT", "/sms/settings", {"enabled": True}).status_code == 200
    off = make_tenant(None, name="Apagada")
    staff_user(off.company_id, "pia", f"pia@{off.company_id}.example", level=1)
    with_sms_masivos(api, off, enabled=False)

    # When the daily check runs
    report = the_daily_check_runs(api)

    # Then only the company on SMS Masivos was read: its three queries, once
    assert report == {"checked": 1, "failed": 0, "notices": 1, "left": 0}
    assert masivos.account_queries == [
        "obtener_saldo.asp",
        "obtener_vencimiento_paquete.asp",
        "obtener_envios.asp",
    ]
    # And both administrators got one e-mail from Pregón's own address, in Spanish
    [raw] = raw_notices_to(f"ana@{company}.example")
    assert raw_notices_to(f"beto@{company}.example") == [raw]
    assert f"From: =?utf-8?q?Preg=C3=B3n?= <{sender}>\r\n".encode() in raw
    assert f"To: ana@{company}.example, beto@{company}.example\r\n".encode() in raw
    assert (
        b"Subject: =?utf-8?q?Preg=C3=B3n=3A?= a Cargas del Sur le quedan 40 SMS en SMS\r\n Masivos\r\n" in raw
    )
    assert b"Auto-Submitted: auto-generated\r\n" in raw
    assert b"Content-Transfer-Encoding: quoted-printable\r\n" in raw
    text = text_of(email.message_from_bytes(raw, policy=default))
    assert "A la cuenta de SMS Masivos de Cargas del Sur le quedan 40 SMS, menos que el aviso" in text
    assert "configurado (100)." in text and "fallan todos los SMS automáticos" in text
    assert "Este mes se enviaron 960 SMS." in text
    assert "https://pregon.test/console#/sms" in text
    # And the clerk, the company on SNS and the company with SMS off got nothing
    for nobody in (f"dario@{company}.example", f"olga@{other}.example", f"pia@{off.company_id}.example"):
        assert raw_notices_to(nobody) == []

    # When the check runs again the same day (in Buenos Aires), an hour later
    clock.set_now(T0 + timedelta(hours=1))
    again = the_daily_check_runs(api)
    # Then the credit is read again but nobody is told twice
    assert again == {"checked": 1, "failed": 0, "notices": 0, "left": 0}
    assert raw_notices_to(f"ana@{company}.example") == [raw]

    # When it runs the next day, the credit still low
    clock.set_now(T0 + timedelta(days=1))
    assert the_daily_check_runs(api)["notices"] == 1
    # Then the administrators are told again, that day
    assert len(raw_notices_to(f"ana@{company}.example")) == 2


def test_a_package_expiring_within_a_week_is_warned_of_in_english(
    api: Client, tenant: Tenant, clock: Any, masivos: SmsMasivosStandIn
) -> None:
    pregon_notice_sender_verified()
    company = tenant.company_id
    # Given a company writing English, on SMS Masivos with plenty of SMS left in a package that
    # ends in 5 days
    company_settings(api, tenant, language="en", time_zone="America/Argentina/Buenos_Aires", locale="en_US")
    staff_user(company, "ana", f"ana@{company}.example", level=1)
    with_sms_masivos(api, tenant)
    masivos.credit, masivos.expires_on = 5000, date(2026, 11, 7)
    # When the daily check runs
    assert the_daily_check_runs(api)["notices"] == 1
    # Then the administrator is told when it expires, in English and the company's locale
    [raw] = raw_notices_to(f"ana@{company}.example")
    subject = b"Subject: =?utf-8?q?Preg=C3=B3n=3A?= Cargas del Sur's SMS Masivos package\r\n"
    assert subject + b" expires on 11/7/2026\r\n" in raw
    text = text_of(email.message_from_bytes(raw, policy=default))
    assert "Cargas del Sur's SMS Masivos package expires on 11/7/2026." in text
    assert "SMS left" not in text


def test_the_notice_writes_the_numbers_as_the_companys_locale_does(
    api: Client, tenant: Tenant, other_tenant: Tenant, clock: Any, masivos: SmsMasivosStandIn
) -> None:
    pregon_notice_sender_verified()
    # Given a company in Argentina (es_AR) and one writing English in the United States (en_US),
    # each on SMS Masivos warning under 10000 SMS, with 5000 left and 12345 sent this month
    company_settings(api, tenant, language="es", time_zone="America/Argentina/Buenos_Aires", locale="es_AR")
    company_settings(api, other_tenant, language="en", time_zone="America/New_York", locale="en_US")
    for company in (tenant, other_tenant):
        staff_user(company.company_id, "ana", f"ana@{company.company_id}.example", level=1)
        with_sms_masivos(api, company, low_credit_threshold=10000)
    masivos.credit, masivos.sent_before = 5000, 12345
    # When the daily check runs
    assert the_daily_check_runs(api)["notices"] == 2
    # Then the Argentine administrator reads 5.000, 10.000 and 12.345, in the subject and the text
    # (quoted-printable leaves them as they are)
    [raw] = raw_notices_to(f"ana@{tenant.company_id}.example")
    assert b" a Cargas del Sur le quedan 5.000 SMS en\r\n SMS Masivos\r\n" in raw
    assert b"le quedan 5.000 SMS, menos que e=\r\nl aviso configurado (10.000).\r\n" in raw
    assert b"Este mes se enviaron 12.345 SMS." in raw
    # And the American one 5,000, 10,000 and 12,345
    [raw] = raw_notices_to(f"ana@{other_tenant.company_id}.example")
    assert (
        b"Subject: =?utf-8?q?Preg=C3=B3n=3A?= Otra Empresa has 5,000 SMS left at SMS\r\n Masivos\r\n" in raw
    )
    assert b"has 5,000 SMS left, fewer than the warning=\r\n set (10,000).\r\n" in raw
    assert b"12,345 SMS were sent this month." in raw


def test_a_notice_ses_refused_is_not_marked_sent_and_goes_with_the_next_run(
    api: Client, tenant: Tenant, clock: Any, masivos: SmsMasivosStandIn
) -> None:
    import boto3

    from chalicelib.core.settings import notice_from

    sender = pregon_notice_sender_verified()
    company = tenant.company_id
    # Given a company on SMS Masivos with 10 SMS left and an administrator
    staff_user(company, "ana", f"ana@{company}.example", level=1)
    with_sms_masivos(api, tenant)
    masivos.credit = 10
    # And SES no longer verifies Pregón's notice address (the operator removed it by mistake)
    for identity in {sender, notice_from()}:
        boto3.client("ses").delete_identity(Identity=identity)
    try:
        # When the daily check runs
        with pytest.raises(Exception, match="1 SMS credit check"):
            the_daily_check_runs(api)
    finally:
        pregon_notice_sender_verified()
    # Then nobody was told, and the function failed so that its alarm rings
    assert raw_notices_to(f"ana@{company}.example") == []
    # When the operator fixes it and the check runs again the same day
    clock.set_now(T0 + timedelta(hours=2))
    # Then the notice goes, once
    assert the_daily_check_runs(api)["notices"] == 1
    assert len(raw_notices_to(f"ana@{company}.example")) == 1


def test_a_hanging_sms_masivos_stops_the_check_in_time_and_the_next_run_reads_the_rest_first(
    api: Client, tenant: Tenant, other_tenant: Tenant, clock: Any,
    masivos: SmsMasivosStandIn, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    import time

    from chalicelib.channels import sms
    from chalicelib.core import schedules
    from chalicelib.messaging.accounts import sms_credit
    from tests.steps.tenants import make_tenant

    pregon_notice_sender_verified()
    # Given three companies on SMS Masivos, each with an administrator, whose accounts have 40 SMS
    # left, read one at a time
    third = make_tenant(None, name="Tercera")
    companies = sorted(t.company_id for t in (tenant, other_tenant, third))
    by_id = {t.company_id: t for t in (tenant, other_tenant, third)}
    for company in companies:
        staff_user(company, "ana", f"ana@{company}.example", level=1)
        with_sms_masivos(api, by_id[company])
    masivos.credit = 40
    monkeypatch.setattr(schedules, "COMPANIES_AT_ONCE", 1)
    # And SMS Masivos hangs: it answers after 2 s, past the 1 s deadline (15 s in production), and
    # the check may start reads for 1.5 s (240 s in production, for the function's 300 s)
    monkeypatch.setattr(sms, "SMS_MASIVOS_TIMEOUT_SECONDS", 1.0)
    monkeypatch.setattr(sms_credit, "CHECK_SECONDS", 1.5)
    masivos.delay = 2.0

    # When the daily check runs
    began = time.monotonic()
    report = the_daily_check_runs(api)
    took = time.monotonic() - began
    # Then it reads two companies (each giving up at the deadline), starts no third read past its
    # time, and ends cleanly, without failing, saying one company was left
    assert report == {"checked": 2, "failed": 0, "notices": 0, "left": 1}
    assert took < 1.5 + 1.0 + 1.0
    assert all(raw_notices_to(f"ana@{c}.example") == [] for c in companies)

    # When the next run comes, SMS Masivos answering again but slowly (0.9 s a company), with time
    # to start one read only
    monkeypatch.setattr(sms, "SMS_MASIVOS_TIMEOUT_SECONDS", 15.0)
    monkeypatch.setattr(sms_credit, "CHECK_SECONDS", 0.5)
    masivos.delay = 0.3
    clock.set_now(T0 + timedelta(hours=1))
    again = the_daily_check_runs(api)
    # Then the one it reads is the company the first run did not reach: its administrator is told
    assert again == {"checked": 1, "failed": 0, "notices": 1, "left": 2}
    left_out, *read_before = companies[-1], *companies[:-1]
    assert len(raw_notices_to(f"ana@{left_out}.example")) == 1
    assert all(raw_notices_to(f"ana@{c}.example") == [] for c in read_before)

    # When a run has all the time it needs
    monkeypatch.setattr(sms_credit, "CHECK_SECONDS", 240.0)
    masivos.delay = 0.0
    clock.set_now(T0 + timedelta(hours=2))
    # Then it reads all three, and the two not told yet are told
    assert the_daily_check_runs(api) == {"checked": 3, "failed": 0, "notices": 2, "left": 0}
    assert all(len(raw_notices_to(f"ana@{c}.example")) == 1 for c in companies)
