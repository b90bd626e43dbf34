"""SMS templates with %variables%, and how many SMS a text costs."""

from __future__ import annotations

import pytest

from chalicelib.core.errors import ValidationFailed
from chalicelib.messaging.sms_text import render_sms, sms_encoding, sms_segments, template_variables

BALANCE_REPLY = (
    "Estimado %nombre% su saldo pendiente de pago es $ %deuda%. Gracias por comunicarse con %empresa%"
)


def test_a_template_is_filled_with_the_clients_values() -> None:
    # Given the balance auto-reply template of the seed
    # When it is rendered for a client
    text = render_sms(BALANCE_REPLY, {"nombre": "Ana Pérez", "deuda": "12.500,00", "empresa": "Cable Sur"})
    # Then the client reads their own name, debt and the company
    assert text == (
        "Estimado Ana Pérez su saldo pendiente de pago es $ 12.500,00. Gracias por comunicarse con Cable Sur"
    )


def test_variable_names_match_whatever_their_case() -> None:
    text = render_sms("Hola %Nombre%, ticket %ID%", {"nombre": "Ana", "id": 4711})
    assert text == "Hola Ana, ticket 4711"


def test_values_are_written_as_text_and_none_as_nothing() -> None:
    text = render_sms("%monto%|%nota%|%cuotas%", {"monto": 1500.5, "nota": None, "cuotas": 3})
    assert text == "1500.5||3"


def test_accented_names_and_values_are_kept() -> None:
    text = render_sms(
        "Señor/a %señor%: ¿recibió su envío a %dirección%?", {"Señor": "Muñoz", "dirección": "Córdoba"}
    )
    assert text == "Señor/a Muñoz: ¿recibió su envío a Córdoba?"


def test_a_double_percent_is_one_percent_and_a_lone_percent_stays() -> None:
    text = render_sms("%nombre%: 20%% de descuento, o 50% off", {"nombre": "Ana"})
    assert text == "Ana: 20% de descuento, o 50% off"


@pytest.mark.parametrize(
    ("template", "value", "shown"),
    [
        ("importe de $ %monto%.", "$ 5.000,00", "importe de $ 5.000,00."),  # seed 002's way
        ("importe de $%monto%.", "$ 5.000,00", "importe de $5.000,00."),  # spaced as the text writes it
        ("importe de %monto%.", "$ 5.000,00", "importe de $ 5.000,00."),  # the value's own sign
        ("importe de $ %monto%.", "5.000,00", "importe de $ 5.000,00."),  # a bare number
        ("importe de € %monto%.", "€10", "importe de € 10."),
        ("importe de $ %monto%.", "US$ 3", "importe de $ US$ 3."),  # another sign: as it is
        ("importe de US$ %monto%.", "$ 3", "importe de US$ $ 3."),  # nor does US$ take pesos' $
        ("importe de R$%monto%.", "$3", "importe de R$$3."),
        ("importe de US$ %monto%.", "US$ 3", "importe de US$ 3."),  # the same sign, letters too
        ("total: US$ %monto%.", "US$ 3", "total: US$ 3."),
        ("importe de U$S %monto%.", "U$S 1.500,00", "importe de U$S 1.500,00."),  # dollars in Argentina
        ("importe de u$s %monto%.", "U$S 1.500", "importe de u$s 1.500."),  # in any case
        ("importe de U$S %monto%.", "$ 3", "importe de U$S $ 3."),
        ("importe de $ %monto%.", "U$S 3", "importe de $ U$S 3."),
        ("cliente $ %monto%", "$ Ana", "cliente $ $ Ana"),  # not an amount
    ],
)
def test_an_amount_gets_one_currency_sign(template: str, value: str, shown: str) -> None:
    assert render_sms(template, {"monto": value}) == shown


def test_a_value_is_never_read_as_a_template() -> None:
    # Given a client whose name looks like a placeholder, When the template is rendered
    # Then the name is shown as written, not expanded
    assert render_sms("Hola %nombre%", {"nombre": "%deuda%", "deuda": "999"}) == "Hola %deuda%"


def test_an_unknown_variable_is_refused_naming_the_template_and_the_variable() -> None:
    # Given a template with a typo in a variable
    with pytest.raises(ValidationFailed) as refused:
        # When it is rendered
        render_sms("Estimado %nombre% su saldo es $ %deudda%", {"nombre": "Ana", "deuda": "1"})
    # Then the 422 names the template field and the unknown variable, and lists the known ones
    assert refused.value.status == 422
    error = refused.value.body()["errors"][0]
    assert error["field"] == "template"
    assert "%deudda%" in error["message"]
    assert "%deuda%" in error["message"]


def test_the_field_of_a_refusal_can_be_named_by_the_caller() -> None:
    with pytest.raises(ValidationFailed) as refused:
        render_sms("%x%", {}, field="debt_reply_template")
    assert refused.value.body()["field"] == "debt_reply_template"


def test_template_variables_are_listed_once_in_order() -> None:
    assert template_variables("%id% %Nombre% %%literal%% %nombre% %operador% 50% off") == [
        "id",
        "nombre",
        "operador",
    ]


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Su saldo es $ 1500", "GSM-7"),
        ("Muñoz, ¿recibe? ¡Hola! Ñandù é è ü Ç", "GSM-7"),  # all in the GSM 03.38 alphabet
        ("Precio: 10€ [oferta] {hoy} ~ | ^ \\", "GSM-7"),  # the extension table
        ("Pagá hoy", "UCS-2"),  # á is not in GSM-7
        ("Avenida Colón", "UCS-2"),  # ó is not either
        ("façade", "UCS-2"),  # only the capital Ç is
        ("Gracias 🙂", "UCS-2"),
    ],
)
def test_the_encoding_follows_the_gsm_alphabet(text: str, encoding: str) -> None:
    assert sms_encoding(text) == encoding


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 0),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),  # 2 x 153
        ("a" * 307, 3),
        ("ñ" * 160, 1),  # ñ is GSM-7: still 160 per SMS
        ("€" * 80, 1),  # extension characters take two septets
        ("€" * 81, 2),
        ("a" * 152 + "€" + "a" * 7, 2),  # the escape pair is not split: 152 + (2 + 7)
        ("a" * 152 + "€" + "a" * 152, 3),  # 152 | 2 + 151 | 1
        ("á" * 70, 1),
        ("á" * 71, 2),
        ("á" * 134, 2),  # 2 x 67
        ("á" * 135, 3),
        ("🙂" * 35, 1),  # an emoji is two UTF-16 units
        ("🙂" * 36, 2),
        ("a" * 66 + "🙂" + "a" * 66, 3),  # 134 units, but the emoji is not split: 66 | 2 + 65 | 1
    ],
)
def test_segments(text: str, segments: int) -> None:
    assert sms_segments(text) == segments


def test_one_accent_makes_a_long_message_cost_more() -> None:
    # Given a reminder of about 100 characters, When it is signed by "Administración"
    plain = "Recuerde que su factura vence mañana. Puede pagarla en nuestras oficinas o por transferencia."
    plain += " Saludos"
    accented = plain.replace("Saludos", "Administración")
    # Then it no longer fits one SMS: UCS-2 holds 70 characters, not 160
    assert sms_segments(plain) == 1
    assert sms_segments(accented) == 2
