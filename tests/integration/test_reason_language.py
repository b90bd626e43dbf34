"""Reasons in the caller's language (decision 0014, session 30): why a message failed, as the history
and a test send answer it, in English as stored and, when the request's ``Accept-Language`` prefers
Spanish, in Spanish; a server's own words stay as the server wrote them. Real DynamoDB Local, a real
SMTP server (aiosmtpd), through Chalice's test client."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from chalice.test import Client

from infrastructure.local.mailcatcher import MailCatcher
from tests.steps.accounts import account_test_send, put_tracking_account, queue_for_tracking, set_password
from tests.steps.answers import body
from tests.steps.tenants import Tenant

SPANISH = {"Accept-Language": "es"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cancelled_for_a_disabled_account(api: Client, tenant: Tenant, mailbox: MailCatcher) -> str:
    """An e-mail of the tracking area, failed because its account was disabled (its wait cancelled)."""
    [communication_id] = queue_for_tracking(tenant, 1)
    assert put_tracking_account(api, tenant, mailbox, enabled=False).status_code == 200
    cancelled = api.http.post("/sender-accounts/tracking/waiting/cancel", headers=tenant.admin_headers())
    assert body(cancelled)["cancelled"] == 1, cancelled.body
    return communication_id


def test_a_failed_messages_reason_is_english_as_stored_and_spanish_when_asked(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    from chalicelib.store import communications

    # Given an e-mail that failed because its area's sender account was disabled
    communication_id = _cancelled_for_a_disabled_account(api, tenant, mailbox)
    staff = tenant.staff_headers()

    # When staff open it without Accept-Language, and again with Accept-Language: es
    english = api.http.get(f"/history/email/{communication_id}", headers=staff)
    spanish = api.http.get(f"/history/email/{communication_id}", headers={**staff, **SPANISH})

    # Then the English answer gives the reason as it always did
    assert english.status_code == 200, english.body
    who = f"admin@{tenant.company_id}"
    assert body(english)["error"] == (
        f"cancelled by {who} while the sender account tracking was disabled: it never went out"
    )
    # And the Spanish one in Spanish, the names in it as they were, every other field the same
    assert body(spanish)["error"] == (
        f"cancelado por {who} mientras la cuenta de envío tracking estaba desactivada: nunca salió"
    )
    assert {**body(spanish), "error": None} == {**body(english), "error": None}
    # (its words depend on that header: a cache in between keeps one answer per language)
    assert spanish.headers["Vary"] == "Accept-Language"
    # And the stored reason stays English (the company's language may change)
    assert (
        communications.get_many(tenant.company_id, [communication_id])[communication_id].error
        == (body(english)["error"])
    )


def test_a_spanish_companys_excel_export_gives_the_reason_in_spanish(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    from openpyxl import load_workbook

    # Given a Spanish-speaking company (the default) with an e-mail failed for its disabled account
    _cancelled_for_a_disabled_account(api, tenant, mailbox)
    # When staff export the history (no Accept-Language: the file follows the company's language)
    response = api.http.get("/history/email/export", headers={**tenant.staff_headers(), "Accept": XLSX})
    # Then its Error column gives the reason in Spanish
    assert response.status_code == 200, response.body
    sheet: Any = load_workbook(io.BytesIO(response.body)).active
    header, row = list(sheet.iter_rows(values_only=True))
    assert row[header.index("Error")] == (
        f"cancelado por admin@{tenant.company_id} mientras la cuenta de envío tracking estaba "
        "desactivada: nunca salió"
    )


def test_an_smtp_servers_own_refusal_stays_as_the_server_wrote_it(
    api: Client, tenant: Tenant, mailbox: MailCatcher
) -> None:
    # Given the tracking account's password is wrong
    set_password(api, tenant, "tracking", "not-the-password")
    # When it is tested in English and in Spanish
    answers = [
        body(account_test_send(api, tenant, "tracking", "ana@example.com", {**tenant.admin_headers(), **h}))
        for h in ({}, SPANISH)
    ]
    # Then both give the server's own refusal, word for word
    assert answers[0]["ok"] is False and "535" in answers[0]["error"], answers
    assert "Authentication credentials invalid" in answers[0]["error"]
    assert answers[1] == answers[0]


def test_a_test_sends_classified_failure_is_in_spanish_when_asked(
    api: Client, tenant: Tenant, mailbox: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the tracking account's server on 127.0.0.1, and loopback refused, as on AWS
    monkeypatch.setenv("PREGON_ALLOW_LOOPBACK_DESTINATIONS", "0")
    # When it is tested in English and in Spanish
    answers = [
        body(account_test_send(api, tenant, "tracking", "ana@example.com", {**tenant.admin_headers(), **h}))
        for h in ({}, SPANISH)
    ]
    # Then the English says what Pregón found, and the Spanish says the same in Spanish
    assert answers[0] == {
        "ok": False,
        "error": "refused: 127.0.0.1 is a loopback address; Pregón connects only to public addresses",
    }
    assert answers[1] == {
        "ok": False,
        "error": "rechazado: 127.0.0.1 es una dirección de loopback; Pregón solo se conecta a direcciones "
        "públicas",
    }
    assert mailbox.files() == []


def test_a_suppression_reason_code_and_an_english_callers_answer_are_unchanged(
    api: Client, tenant: Tenant
) -> None:
    # Given an address put on the suppression list by hand
    added = api.http.post(
        "/suppressions",
        headers=tenant.admin_headers(),
        body=json.dumps({"address": "no@example.com", "reason": "manual"}),
    )
    assert added.status_code in (200, 201), added.body
    # When the list is read in Spanish, and by a caller that prefers English
    spanish = api.http.get("/suppressions", headers={**tenant.admin_headers(), **SPANISH})
    english_first = {**tenant.admin_headers(), "Accept-Language": "en, es;q=0.5"}
    english = api.http.get("/suppressions", headers=english_first)
    # Then the reason is the code it always is, in both
    assert [item["reason"] for item in body(spanish)["items"]] == ["manual"]
    assert spanish.body == english.body


@pytest.mark.parametrize(
    "carrier_reason", ["refused: damaged box", "Address cannot be resolved", "Field required"]
)
def test_a_carriers_reason_for_a_parcels_status_stays_as_the_carrier_wrote_it(
    api: Client, tenant: Tenant, carrier_reason: str
) -> None:
    from tests.steps.tracking import issue, post_event

    # Given a carrier posted a failed visit whose reason happens to read like one of Pregón's
    issue(api, tenant, "TRK-REASON")
    post_event(api, tenant, "TRK-REASON", "e1", "DELIVERY_FAILED", reason=carrier_reason)

    # When the end customer's browser (es-AR) and the company's system (es) read the parcel
    public = api.http.get(
        f"/public/{tenant.company_id}/parcels/TRK-REASON", headers={"Accept-Language": "es-AR"}
    )
    staff = api.http.get("/parcels/TRK-REASON", headers={**tenant.key_headers(), **SPANISH})

    # Then both show the carrier's words as it wrote them: only Pregón's own reasons are translated
    assert [h["reason"] for h in body(public)["history"]] == [carrier_reason]
    assert [h["reason"] for h in body(staff)["history"]] == [carrier_reason]
