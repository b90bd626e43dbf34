"""SMS and push texts of message templates (C4, C6): %variables%, defaults, overrides, preview."""

from __future__ import annotations

import json

from chalice.test import Client

from tests.steps.answers import body
from tests.steps.templates import preview, put
from tests.steps.tenants import Tenant

OVERRIDE = {
    "subject": "Pago recibido, {{ client.name }}",
    "text": "Hola {{ client.name }}, recibimos {{ payment.amount }}.",
    "html": "<p>Hola {{ client.name }}, recibimos {{ payment.amount }}.</p>",
}


def test_the_payment_type_ships_a_spanish_sms_with_the_seed_variables(api: Client, tenant: Tenant) -> None:
    # When staff read the payment template of a Spanish company
    template = body(api.http.get("/templates/payment", headers=tenant.staff_headers()))
    # Then it carries a default SMS text and push texts with %variables%
    assert "%nombre%" in template["sms_text"] and "%monto%" in template["sms_text"]
    assert template["push_title"] and template["push_body"]
    # And it lists the %variables% they may use, ISPCube's names among them
    names = {v["name"] for v in template["sms_variables"]}
    assert {"%nombre%", "%monto%", "%deuda%", "%empresa%", "%payment_amount%", "%client_name%"} <= names
    # And the preview renders the SMS with sample data and says what it costs
    shown = body(preview(api, tenant, "payment"))
    assert shown["sms_text"].startswith("Estimado Ferretería Los Andes, recibimos su pago de $ 5.000,00.")
    assert shown["sms_encoding"] == "UCS-2"  # the sample name's "í" is not in the GSM alphabet
    assert shown["sms_segments"] == 2
    assert shown["push_title"] == "Cargas del Sur: pago recibido"


def test_an_english_company_gets_english_sms_defaults(api: Client, tenant: Tenant) -> None:
    # Given a company whose messages are in English
    api.http.patch("/company", headers=tenant.admin_headers(), body=json.dumps({"language": "en"}))
    # When staff preview the invoice
    shown = body(preview(api, tenant, "invoice"))
    # Then the SMS is the English default, one GSM-7 segment
    assert shown["sms_text"] == (
        "Cargas del Sur: we e-mailed you invoice A-0001-00001234 for $ 12.345,67, due on 17/11/2026."
    )
    assert (shown["sms_encoding"], shown["sms_segments"]) == ("GSM-7", 1)


def test_a_company_saves_its_own_sms_and_push_texts(api: Client, tenant: Tenant) -> None:
    # When the administrator saves a payment template with its own SMS and push texts
    own = OVERRIDE | {
        "sms_text": "Hola %Nombre%: pago de %monto% recibido. Saldo %deuda%. 100%% gracias",
        "push_title": "Pago %recibo%",
        "push_body": "%payment_amount% por %payment_method%",
    }
    response = put(api, tenant, "payment", own)
    # Then it is stored and read back
    assert response.status_code == 200, response.body
    saved = body(api.http.get("/templates/payment", headers=tenant.staff_headers()))
    assert saved["sms_text"] == own["sms_text"] and saved["push_body"] == own["push_body"]
    # And the preview renders them with the sample data (variable names ignore case; %% is one %)
    shown = body(preview(api, tenant, "payment", {"variables": {"client": {"name": "Ana"}}}))
    assert shown["sms_text"] == "Hola Ana: pago de $ 5.000,00 recibido. Saldo $ 15.300,00. 100% gracias"
    assert (shown["sms_encoding"], shown["sms_segments"]) == ("GSM-7", 1)
    assert shown["push_title"] == "Pago X-0001-00000567"
    assert shown["push_body"] == "$ 5.000,00 por Transferencia"


def test_an_override_without_sms_keeps_the_default_sms(api: Client, tenant: Tenant) -> None:
    # When the administrator changes only the e-mail of the payment template
    assert put(api, tenant, "payment", OVERRIDE).status_code == 200
    # Then the SMS is still the default one
    saved = body(api.http.get("/templates/payment", headers=tenant.staff_headers()))
    assert saved["customized"] is True and "%monto%" in saved["sms_text"]


def test_unknown_sms_variables_are_refused_naming_the_field(api: Client, tenant: Tenant) -> None:
    # When a template uses a %variable% its type does not offer, in the SMS and the push body
    response = put(
        api,
        tenant,
        "payment",
        OVERRIDE | {"sms_text": "Hola %nombre%, su factura %factura%", "push_body": "%tracking%"},
    )
    # Then it is refused naming both fields and the unknown variables
    assert response.status_code == 422
    errors = {e["field"]: e["message"] for e in body(response)["errors"]}
    assert "%factura%" in errors["sms_text"] and "%tracking%" in errors["push_body"]
    # And nothing was saved
    template = body(api.http.get("/templates/payment", headers=tenant.staff_headers()))
    assert template["customized"] is False
    # And the preview of such an edit is refused the same way
    refused = preview(api, tenant, "payment", {"sms_text": "%nada%"})
    assert refused.status_code == 422 and body(refused)["field"] == "sms_text"


def test_a_too_long_sms_text_is_refused(api: Client, tenant: Tenant) -> None:
    response = put(api, tenant, "payment", OVERRIDE | {"sms_text": "x" * 1601})
    assert response.status_code == 422 and body(response)["field"] == "sms_text"


def test_a_custom_template_may_carry_an_sms_with_client_variables(api: Client, tenant: Tenant) -> None:
    # Given a custom template for manual sends with an SMS text
    custom = OVERRIDE | {"text": "Hola {{ client.name }}", "html": "<p>Hola</p>", "subject": "Aviso"}
    custom["sms_text"] = "%nombre%, mañana hay corte de servicio."
    response = put(api, tenant, "custom:corte", custom)
    assert response.status_code == 200, response.body
    # When it is rendered for SMS with a real client's data
    from chalicelib.messaging.templates import render_channel

    rendered = render_channel(tenant.company_id, "custom:corte", "sms", {"client": {"name": "Ana"}})
    # Then the SMS text is used, not the e-mail body
    assert rendered.text == "Ana, mañana hay corte de servicio."
    # And a type with no SMS of its own (the order) sends its plain-text body by SMS
    order_vars = {"client": {"name": "Ana"}, "order": {"number": "P-1"}, "company": {"name": "X"}}
    order = render_channel(tenant.company_id, "order", "sms", order_vars)
    assert order.text.startswith("Hola Ana:\n\nLe enviamos el pedido P-1")
    # And push uses the push texts
    paid = {"client": {"name": "Ana", "balance": "$ 0"}, "payment": {"amount": "$ 10"}}
    paid["company"] = {"name": "X"}
    push = render_channel(tenant.company_id, "payment", "push", paid)
    assert push.subject == "X: pago recibido"
    assert push.text == "Recibimos su pago de $ 10. Saldo pendiente: $ 0."


SMS_ONLY = {"sms_text": "Estimado %nombre%: mañana hay corte programado. %empresa%"}


def test_a_custom_template_with_only_a_name_and_an_sms_text_is_saved_listed_and_previewed(
    api: Client, tenant: Tenant
) -> None:
    # Given an administrator writing an SMS template as seed 002's "Agregar sms": a name and the message
    # When it is saved with no subject, text or html
    response = put(api, tenant, "custom:corte-sms", SMS_ONLY)
    # Then it is stored without an e-mail, and says it is sent only by SMS
    assert response.status_code == 200, response.body
    saved = body(api.http.get("/templates/custom:corte-sms", headers=tenant.staff_headers()))
    assert (saved["subject"], saved["text"], saved["html"]) == (None, None, None)
    assert saved["sms_text"] == SMS_ONLY["sms_text"] and saved["channels"] == ["sms"]
    # And the list shows it as an SMS-only template, next to the types that go by every channel
    items = {t["key"]: t for t in body(api.http.get("/templates", headers=tenant.staff_headers()))["items"]}
    assert items["custom:corte-sms"]["channels"] == ["sms"]
    assert items["payment"]["channels"] == ["email", "sms", "push"]
    # And the preview renders the SMS with sample data (and no e-mail)
    shown = body(preview(api, tenant, "custom:corte-sms"))
    assert shown["sms_text"] == "Estimado Ferretería Los Andes: mañana hay corte programado. Cargas del Sur"
    assert (shown["subject"], shown["text"], shown["html"]) == ("", "", "")
    # And a test send (by e-mail) is refused naming the channel, in Spanish for the console
    test = api.http.post(
        "/templates/custom:corte-sms/test",
        headers={**tenant.admin_headers(), "Accept-Language": "es"},
        body=json.dumps({"to": "ana@example.com"}),
    )
    assert test.status_code == 422 and body(test)["field"] == "channel", test.body
    assert "solo por sms" in body(test)["message"]
    # And editing it keeps it SMS-only, and deleting it removes it for good (b2, b3)
    edited = put(api, tenant, "custom:corte-sms", {"sms_text": "Corte el lunes, %nombre%."})
    assert edited.status_code == 200 and body(edited)["channels"] == ["sms"]
    assert api.http.delete("/templates/custom:corte-sms", headers=tenant.admin_headers()).status_code == 204
    assert api.http.get("/templates/custom:corte-sms", headers=tenant.staff_headers()).status_code == 404


def test_a_template_needs_an_email_or_an_sms_text_and_only_custom_ones_may_leave_the_email_out(
    api: Client, tenant: Tenant
) -> None:
    # When a custom template is saved with neither e-mail parts nor an SMS or push text
    empty = put(api, tenant, "custom:vacia", {})
    # Then it is refused naming the SMS text it needs
    assert empty.status_code == 422 and body(empty)["field"] == "sms_text", empty.body
    # And one with a push title but no push body (nor SMS) is refused too
    assert body(put(api, tenant, "custom:vacia", {"push_title": "Aviso"}))["field"] == "sms_text"
    # When only part of the e-mail is given
    partial = put(api, tenant, "custom:vacia", SMS_ONLY | {"subject": "Aviso"})
    # Then the missing parts are named
    assert partial.status_code == 422
    assert {e["field"] for e in body(partial)["errors"]} == {"text", "html"}
    # And a message type's own template still needs its e-mail
    typed = put(api, tenant, "payment", SMS_ONLY)
    assert typed.status_code == 422 and body(typed)["field"] == "subject", typed.body
    # And nothing was stored
    assert api.http.get("/templates/custom:vacia", headers=tenant.staff_headers()).status_code == 404


def test_an_sms_template_is_tested_by_sms_with_its_sample_data(
    api: Client, tenant: Tenant, local_aws: dict[str, str]
) -> None:
    from tests.steps.sms import sms_sent_through_moto

    # Given an SMS-only template (the seed's "Agregar sms") and the company's SMS settings through
    # SNS, filled in but not switched on yet
    assert put(api, tenant, "custom:corte-sms", SMS_ONLY).status_code == 200
    saved = api.http.put(
        "/sms/settings", headers=tenant.admin_headers(), body=json.dumps({"provider": "sns"})
    )
    assert saved.status_code == 200, saved.body

    # When the administrator tests the template by SMS to a phone written as people write it
    test = api.http.post(
        "/templates/custom:corte-sms/test",
        headers=tenant.admin_headers(),
        body=json.dumps({"channel": "sms", "to": "011 15 5987-6543"}),
    )

    # Then the phone gets the template's SMS rendered with the sample data, as the preview shows it
    assert test.status_code == 200 and body(test)["ok"] is True, test.body
    sms = sms_sent_through_moto(local_aws, body(test)["message_id"])
    assert sms["phone_number"] == "+5491159876543"
    assert sms["message"] == body(preview(api, tenant, "custom:corte-sms"))["sms_text"]
    # And an e-mail test of an address that is not one is refused naming `to`
    bad = api.http.post(
        "/templates/payment/test", headers=tenant.admin_headers(), body=json.dumps({"to": "not-an-address"})
    )
    assert bad.status_code == 422 and body(bad)["field"] == "to", bad.body
