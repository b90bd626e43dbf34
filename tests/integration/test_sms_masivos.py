"""SMS Masivos as the company's SMS provider (seed 002 §2, C6): the company types the user and
password SMS Masivos gave it, and its SMS (test, manual, automatic) go out through SMS Masivos'
HTTP API. SMS Masivos is a real local HTTP server (``infrastructure/local/sms_masivos.py``) that
records every raw request line and answers as SMS Masivos does."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.channels.base import OutgoingChannelMessage
from chalicelib.core.errors import DeliveryFailed
from infrastructure.local.sms_masivos import MASIVOS_PASSWORD, MASIVOS_USERNAME, SmsMasivosStandIn
from tests.steps.answers import body
from tests.steps.clients import put_client
from tests.steps.outbox import deliver_outboxes
from tests.steps.tenants import Tenant

PASSWORD_ROUTE = "/sms/settings/sms-masivos-password"


@pytest.fixture
def masivos(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmsMasivosStandIn]:
    # The stand-in listens on 127.0.0.1, which only the local stack and the tests allow.
    monkeypatch.setenv("PREGON_ALLOW_LOOPBACK_DESTINATIONS", "1")
    with SmsMasivosStandIn() as stand_in:
        monkeypatch.setenv("SMS_MASIVOS_URL", stand_in.url)
        yield stand_in


class Admin:
    """The company's administrator at the API, keeping every answer it was given."""

    def __init__(self, api: Client, tenant: Tenant) -> None:
        self.api, self.tenant, self.answers = api, tenant, []  # type: ignore[var-annotated]

    def call(self, method: str, path: str, payload: Any = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else b""
        response = self.api.http.request(method, path, headers=self.tenant.admin_headers(), body=data)
        self.answers.append(response.body.decode() if response.body else "")
        return response

    def settings(self) -> dict[str, Any]:
        return dict(body(self.call("GET", "/sms/settings")))


@pytest.fixture
def admin(api: Client, tenant: Tenant) -> Admin:
    return Admin(api, tenant)


def switched_on(admin: Admin, password: str = MASIVOS_PASSWORD) -> None:
    """The administrator types SMS Masivos' user and password and switches SMS on with it."""
    saved = admin.call(
        "PUT", "/sms/settings", {"provider": "sms_masivos", "masivos_username": MASIVOS_USERNAME}
    )
    assert saved.status_code == 200, saved.body
    assert admin.call("PUT", PASSWORD_ROUTE, {"password": password}).status_code == 204
    assert admin.call("PUT", "/sms/settings", {"enabled": True}).status_code == 200


def sender(password: str = MASIVOS_PASSWORD, timeout: float = 5.0) -> Any:
    from chalicelib.channels.sms import SmsMasivosSender

    return SmsMasivosSender(MASIVOS_USERNAME, password, timeout=timeout)


def test_the_template_preview_shows_and_counts_the_sms_as_sms_masivos_sends_it(
    admin: Admin, masivos: SmsMasivosStandIn
) -> None:
    # Given a company whose SMS go through SMS Masivos (plain ASCII, 160 characters an SMS)
    switched_on(admin)
    # When the administrator previews seed 002's SMS deuda text as an SMS template (the sample
    # client is "Ferretería Los Andes": with its í the text would be UCS-2, 70 characters an SMS)
    seed = "Estimado %nombre% su saldo pendiente de pago es $ %deuda%. Gracias por comunicarse con %empresa%"
    shown = body(admin.call("POST", "/templates/custom:deuda/preview", {"sms_text": seed}))
    # Then the preview is the text the client gets, and what it costs: one GSM-7 SMS, not two UCS-2 ones
    assert shown["sms_text"].startswith("Estimado Ferreteria Los Andes su saldo pendiente")
    assert (shown["sms_encoding"], shown["sms_segments"]) == ("GSM-7", 1)


def test_a_manual_sms_goes_out_with_the_national_number_and_the_text(
    api: Client, tenant: Tenant, admin: Admin, masivos: SmsMasivosStandIn
) -> None:
    # Given a company whose SMS go through its SMS Masivos account, and a client whose mobile
    # the back office typed as seed 002 says (011-15-5987-6543)
    switched_on(admin)
    put_client(api, tenant, "S1", name="Ana Pérez", phones=["011 15 5987-6543"])
    template = {"sms_text": "Estimado %nombre%: mañana hay corte. ¿Dudas? Llamá al 0800 “SUR”"}
    assert admin.call("PUT", "/templates/custom:corte", template).status_code == 200
    # When staff send it to the client by SMS, and the outbox delivers it
    sent = api.http.post(
        "/sends",
        headers=tenant.staff_headers(),
        body=json.dumps({"channel": "sms", "template": "custom:corte", "client_ids": ["S1"]}),
    )
    assert sent.status_code == 201, sent.body
    assert deliver_outboxes()["sent"] == 1
    # Then SMS Masivos was asked once, on the wire, for the 10-digit number without 0, 15 or 9
    # and the text in plain ASCII (accents dropped deliberately, ¿ gone, quotes plain)
    [line] = masivos.request_lines
    assert line.startswith(
        "GET /enviar_sms.asp?api=1&usuario=demo&clave=local-masivos-password&tos=1159876543&"
    )
    assert "&texto=Estimado+Ana+Perez%3A+manana+hay+corte.+Dudas%3F+Llama+al+0800+%22SUR%22&" in line
    assert line.endswith("&respuestanumerica=1 HTTP/1.1")
    [taken] = masivos.sent
    assert (taken["tos"], taken["texto"]) == (
        "1159876543",
        'Estimado Ana Perez: manana hay corte. Dudas? Llama al 0800 "SUR"',
    )
    # And the history keeps the text as written, with the id Pregón gave SMS Masivos
    from chalicelib.store.communications import history_page

    [sms] = history_page(tenant.company_id, "sms").items
    assert sms.text == "Estimado Ana Pérez: mañana hay corte. ¿Dudas? Llamá al 0800 “SUR”"
    assert sms.provider_message_id == taken["idinterno"]


def test_the_password_is_write_only_and_never_in_an_answer_or_a_log_line(
    admin: Admin, masivos: SmsMasivosStandIn, caplog: pytest.LogCaptureFixture, capsys: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    # Given the administrator typed SMS Masivos' user, and then its password
    secret = "Clave-De-SMS-Masivos-77"
    masivos.password = secret
    switched_on(admin, password=secret)
    # When they read the settings and send a test SMS
    settings = admin.settings()
    tested = body(admin.call("POST", "/sms/test", {"to": "(0351) 15 555-1234", "text": "Prueba"}))
    # Then the settings say only that the password is set, and the test SMS went out
    assert (settings["provider"], settings["masivos_username"], settings["masivos_password_set"]) == (
        "sms_masivos",
        "demo",
        True,
    )
    assert tested["ok"] is True and tested["to"] == "+5493515551234", tested
    assert [s["tos"] for s in masivos.sent] == ["3515551234"]
    # And the password is in no answer and in no log line
    assert not [answer for answer in admin.answers if secret in answer]
    assert secret not in caplog.text + "".join(capsys.readouterr())


def test_a_wrong_password_is_a_clear_permanent_failure(
    api: Client, tenant: Tenant, admin: Admin, masivos: SmsMasivosStandIn
) -> None:
    # Given the administrator typed a password SMS Masivos does not take
    switched_on(admin, password="una-vieja")
    # When they send a test SMS
    tested = admin.call("POST", "/sms/test", {"to": "011 15 5987-6543"})
    # Then the test says the user or password is wrong, in our words
    assert body(tested) == {
        "ok": False,
        "error": "refused: SMS Masivos: usuario o clave incorrectos (the user or password is wrong)",
        "to": "+5491159876543",
    }
    # When staff send a client an SMS
    put_client(api, tenant, "S1", name="Ana", phones=["011 15 5987-6543"])
    assert admin.call("PUT", "/templates/custom:aviso", {"sms_text": "Aviso"}).status_code == 200
    sent = api.http.post(
        "/sends",
        headers=tenant.staff_headers(),
        body=json.dumps({"channel": "sms", "template": "custom:aviso", "client_ids": ["S1"]}),
    )
    assert sent.status_code == 201, sent.body
    # Then it fails once, for good (not retried), with the same words
    assert deliver_outboxes() == {"sent": 0, "failed": 1, "retried": 0, "suppressed": 0}
    from chalicelib.store.communications import history_page

    [sms] = history_page(tenant.company_id, "sms").items
    assert sms.state == "failed"
    assert sms.error == "refused: SMS Masivos: usuario o clave incorrectos (the user or password is wrong)"
    assert not masivos.sent


@pytest.mark.parametrize(
    ("status", "answer"),
    [(503, b"<html>Service Unavailable: IIS session abc</html>"), (500, b"Microsoft VBScript error")],
)
def test_a_5xx_is_a_transient_failure_told_by_its_status(
    masivos: SmsMasivosStandIn, status: int, answer: bytes
) -> None:
    # Given SMS Masivos is answering with a server error
    masivos.answer = (status, answer)
    # When an SMS is sent
    with pytest.raises(DeliveryFailed) as failed:
        sender().send(OutgoingChannelMessage("+5491159876543", "Hola"))
    # Then it is to be tried again later, told by its status, never by what the server answered
    assert failed.value.transient is True
    assert failed.value.message.startswith(f"SMS Masivos answered HTTP {status} ")
    assert answer.decode()[:12] not in failed.value.message


def test_no_answer_within_the_timeout_is_a_transient_failure(masivos: SmsMasivosStandIn) -> None:
    # Given SMS Masivos takes 2 s to answer
    masivos.delay = 2.0
    # When an SMS is sent with a 0.5 s bound
    with pytest.raises(DeliveryFailed) as failed:
        sender(timeout=0.5).send(OutgoingChannelMessage("+5491159876543", "Hola"))
    # Then it ends at the bound and is to be tried again
    assert failed.value.transient is True
    assert failed.value.message == "timeout: SMS Masivos did not answer within 0.5 s"


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (b"-1;Telefono fijo <b>x</b>", "SMS Masivos refused the SMS: the number is a landline (-1)"),
        (
            b"-14;Registro No Llame",
            "SMS Masivos refused the SMS: the number is in the do-not-call register (-14)",
        ),
        (b"-99;Error interno 0x80004005", "SMS Masivos refused the SMS with code -99"),
        (
            "Sin saldo disponible".encode("latin-1"),
            "refused: SMS Masivos: the account has no SMS left or its package expired",
        ),
        (b"<html><body>Bienvenido</body></html>", "SMS Masivos answered something Pregón does not know"),
    ],
)
def test_a_refusal_is_permanent_and_told_in_our_words(
    masivos: SmsMasivosStandIn, answer: bytes, error: str
) -> None:
    # Given SMS Masivos refuses the SMS
    masivos.answer = (200, answer)
    # When it is sent
    with pytest.raises(DeliveryFailed) as failed:
        sender().send(OutgoingChannelMessage("+5491159876543", "Hola"))
    # Then it fails for good, with which refusal it was and none of its words
    assert (failed.value.message, failed.value.transient) == (error, False)


def test_a_number_outside_argentina_is_a_permanent_failure_and_nothing_is_sent(
    masivos: SmsMasivosStandIn,
) -> None:
    # Given a Spanish mobile
    # When an SMS is sent to it through SMS Masivos
    with pytest.raises(DeliveryFailed) as failed:
        sender().send(OutgoingChannelMessage("+34612345678", "Hola"))
    # Then it fails for good before SMS Masivos is asked (it texts Argentina only)
    assert (failed.value.message, failed.value.transient) == (
        "SMS Masivos texts only Argentine numbers: +34612345678 is not one",
        False,
    )
    assert masivos.request_lines == []


def test_settings_are_refused_naming_each_field(admin: Admin, masivos: SmsMasivosStandIn) -> None:
    # When the administrator switches SMS Masivos on without its user
    refused = admin.call("PUT", "/sms/settings", {"enabled": True, "provider": "sms_masivos"})
    # Then it is refused naming masivos_username
    assert refused.status_code == 422
    assert (body(refused)["field"], body(refused)["message"]) == (
        "masivos_username",
        "masivos_username: is required to switch on SMS Masivos",
    )
    # When they set its password before its user, Then it is refused naming masivos_username
    early = admin.call("PUT", PASSWORD_ROUTE, {"password": MASIVOS_PASSWORD})
    assert (early.status_code, body(early)["field"]) == (409, "masivos_username")
    # When the user has a control character, or the password is empty
    bad_user = admin.call("PUT", "/sms/settings", {"provider": "sms_masivos", "masivos_username": "de\tmo"})
    assert (bad_user.status_code, body(bad_user)["field"]) == (422, "masivos_username")
    admin.call("PUT", "/sms/settings", {"provider": "sms_masivos", "masivos_username": "demo"})
    empty = admin.call("PUT", PASSWORD_ROUTE, {"password": ""})
    assert (empty.status_code, body(empty)["field"]) == (422, "password")
    # Then a test SMS with the user but no password is refused saying the password is missing
    untested = admin.call("POST", "/sms/test", {"to": "011 15 5987-6543"})
    assert untested.status_code == 409
    assert body(untested)["message"] == "the SMS Masivos password is not set; an administrator must set it"
    assert masivos.request_lines == []


def test_changing_the_user_removes_the_password_and_switching_provider_keeps_both(
    admin: Admin, masivos: SmsMasivosStandIn
) -> None:
    # Given SMS Masivos configured with its user and password
    switched_on(admin)
    # When the administrator switches to SNS and back
    admin.call("PUT", "/sms/settings", {"provider": "sns"})
    admin.call("PUT", "/sms/settings", {"provider": "sms_masivos"})
    # Then the user and the password are still there
    assert (admin.settings()["masivos_username"], admin.settings()["masivos_password_set"]) == ("demo", True)
    # When they change the user
    admin.call("PUT", "/sms/settings", {"masivos_username": "otra-cuenta"})
    # Then the password, which was for the other account, is gone and must be typed again
    assert admin.settings()["masivos_password_set"] is False
    assert admin.call("POST", "/sms/test", {"to": "011 15 5987-6543"}).status_code == 409


def test_sms_masivos_url_is_the_deployments_https_or_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.channels.sms import sms_masivos_url

    # Given no setting, Then SMS go to SMS Masivos itself, over HTTPS
    monkeypatch.delenv("SMS_MASIVOS_URL", raising=False)
    assert sms_masivos_url() == "https://servicio.smsmasivos.com.ar/enviar_sms.asp"
    # Given plain HTTP to another machine, Then it is refused naming the setting (the password travels in it)
    monkeypatch.setenv("SMS_MASIVOS_URL", "http://servicio.smsmasivos.com.ar/enviar_sms.asp")
    with pytest.raises(ValueError, match="SMS_MASIVOS_URL must be an https:// URL"):
        sms_masivos_url()


def test_the_password_goes_in_latin_1_and_one_it_cannot_hold_fails_before_any_request(
    masivos: SmsMasivosStandIn,
) -> None:
    # Given an SMS Masivos password with an ñ (its code page, ISO-8859-1, has it)
    masivos.password = "Contraseña1"
    # When an SMS is sent with it
    sender("Contraseña1").send(OutgoingChannelMessage("+5491159876543", "Hola"))
    # Then the ñ went as its Latin-1 byte, and SMS Masivos read the password it knows
    [line] = masivos.request_lines
    assert "&clave=Contrase%F1a1&" in line
    assert [s["tos"] for s in masivos.sent] == ["1159876543"]
    # Given a password with a character Latin-1 has not
    # When an SMS is sent with it, Then it fails for good, saying what to do, and nothing is asked
    with pytest.raises(DeliveryFailed) as failed:
        sender("Clave€2026").send(OutgoingChannelMessage("+5491159876543", "Hola"))
    assert failed.value.transient is False
    assert "change the password at SMS Masivos to letters and digits" in failed.value.message
    assert len(masivos.request_lines) == 1


@pytest.mark.parametrize(
    "failure",
    ["timeout", "500 echoing the request", "refusal echoing the request", "redirect"],
)
def test_a_failing_sms_masivos_leaves_the_password_in_no_answer_history_or_log_line(
    api: Client,
    tenant: Tenant,
    admin: Admin,
    masivos: SmsMasivosStandIn,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: Any,
    failure: str,
) -> None:
    from chalicelib.channels import sms as channel
    from chalicelib.messaging.accounts.sms_credit import check_company_credit
    from chalicelib.store.communications import history_page

    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(channel, "SMS_MASIVOS_TIMEOUT_SECONDS", 0.5)
    # Given a company's SMS Masivos password (which travels in the GET's query string)
    secret = "Clave-Que-Viaja-En-La-URL-91"
    masivos.password = secret
    switched_on(admin, password=secret)
    put_client(api, tenant, "S1", name="Ana", phones=["011 15 5987-6543"])
    assert admin.call("PUT", "/templates/custom:aviso", {"sms_text": "Aviso"}).status_code == 200
    # And SMS Masivos fails: slow, a 500 or a refusal that repeat the request line, a redirect to
    # a URL carrying it
    echoed = f"GET /enviar_sms.asp?usuario=demo&clave={secret} usuario incorrecto".encode()
    masivos.answer = {
        "timeout": None,
        "500 echoing the request": (500, echoed),
        "refusal echoing the request": (200, b"-99;" + echoed),
        "redirect": (302, echoed),
    }[failure]
    masivos.delay = 1.5 if failure == "timeout" else 0.0
    # When a test SMS, a send to a client, the credit status and the daily credit check all fail
    tested = body(admin.call("POST", "/sms/test", {"to": "011 15 5987-6543", "text": "Prueba"}))
    sent = admin.call("POST", "/sends", {"channel": "sms", "template": "custom:aviso", "client_ids": ["S1"]})
    assert sent.status_code == 201, sent.body
    deliver_outboxes()
    status = body(admin.call("GET", "/sms/settings/provider-status"))
    check_company_credit(tenant.company_id)
    # Then each failed, in Pregón's words
    assert tested["ok"] is False and status["ok"] is False, (tested, status)
    [sms] = history_page(tenant.company_id, "sms").items
    assert sms.error, sms
    # And the password is in none of the answers, the history's reason, or any log line
    assert not [answer for answer in admin.answers if secret in answer]
    assert secret not in f"{sms.error} {tested['error']} {status['error']}"
    assert secret not in caplog.text + "".join(capsys.readouterr())
