"""Phone numbers as people write them become the one E.164 form we store and send SMS to."""

from __future__ import annotations

import pytest

from chalicelib.core.errors import ValidationFailed
from chalicelib.core.phones import (
    NotAMobile,
    is_mobile,
    local_number,
    normalize_phone,
    same_number,
    sms_address,
    typed_local_numbers,
)

ARGENTINA = [
    # Buenos Aires mobile, local form: trunk 0, area 11, mobile prefix 15
    ("011-15-5987-6543", "+5491159876543"),
    ("011 15 5987 6543", "+5491159876543"),
    ("(011) 15-5987-6543", "+5491159876543"),
    ("11-15-5987-6543", "+5491159876543"),
    ("011 1559876543", "+5491159876543"),
    # Córdoba (0351) and Rosario (0341) mobiles
    ("(0351) 15 555-1234", "+5493515551234"),
    ("0351-15-555-1234", "+5493515551234"),
    ("0341 15 555 1234", "+5493415551234"),
    ("(0341) 155551234", "+5493415551234"),
    # area code + 15 with a subscriber the metadata's ranges lag behind on
    ("0351 15 123-4567", "+5493511234567"),
    ("(0351) 15-1234567", "+5493511234567"),
    ("+54 9 351 123-4567", "+5493511234567"),
    # already international, with or without formatting
    ("+54 9 11 5987-6543", "+5491159876543"),
    ("+5491159876543", "+5491159876543"),
    ("5491159876543", "+5491159876543"),
    ("+54 (351) 15-555-1234", "+5493515551234"),
    # both the 9 and the 15: the 15 goes
    ("+54 9 11 15 5987-6543", "+5491159876543"),
    # landline-looking forms stay landlines
    ("11 5987 6543", "+541159876543"),
    ("011 4321-1234", "+541143211234"),
    ("0351 455-5123", "+543514555123"),
]

MEXICO = [
    ("55 1234 5678", "+525512345678"),
    ("+52 55 1234 5678", "+525512345678"),
    ("+52 1 55 1234 5678", "+525512345678"),  # the old mobile "1", retired in 2019
    ("044 55 1234 5678", "+525512345678"),  # old local mobile prefix
    ("01 55 1234 5678", "+525512345678"),  # old long-distance prefix
]

SPAIN = [
    ("612 34 56 78", "+34612345678"),
    ("612-345-678", "+34612345678"),
    ("+34 612 34 56 78", "+34612345678"),
    ("0034 612 34 56 78", "+34612345678"),
    ("91 123 45 67", "+34911234567"),
]


@pytest.mark.parametrize(("written", "e164"), ARGENTINA)
def test_argentine_numbers_as_people_write_them(written: str, e164: str) -> None:
    # Given a number as an Argentine client typed it, When it is normalized with the default region
    # Then it is the E.164 form (mobiles with the 9 after +54)
    assert normalize_phone(written) == e164


@pytest.mark.parametrize(("written", "e164"), MEXICO)
def test_mexican_numbers(written: str, e164: str) -> None:
    assert normalize_phone(written, "MX") == e164


@pytest.mark.parametrize(("written", "e164"), SPAIN)
def test_spanish_numbers(written: str, e164: str) -> None:
    assert normalize_phone(written, "ES") == e164


def test_an_international_number_ignores_the_default_region() -> None:
    # Given a Spanish number written in full, When an Argentine company normalizes it
    # Then it stays Spanish
    assert normalize_phone("+34 612 34 56 78", "AR") == "+34612345678"


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("12345", "is too short to be a phone number"),
        ("011-15", "is too short to be a phone number"),
        ("llamame", "may hold only digits"),
        ("11 5987 ABCD", "may hold only digits"),
        ("011 5987 6543 int. 12", "may hold only digits"),
        ("15 5987-6543", "is not a valid phone number"),  # a mobile without its area code
        ("+54 0 11 5987 6543 99", "is not a valid phone number"),
        ("+54 9 999 123-4567", "is not a valid phone number"),  # no area code 999
        ("0351 15 123-456", "is not a valid phone number"),  # a digit short
        ("", "is required"),
        ("   ", "is required"),
    ],
)
def test_what_is_not_a_phone_number_is_refused_naming_the_field(written: str, message: str) -> None:
    # Given a value that is no phone number, When it is normalized for the field "mobile"
    with pytest.raises(ValidationFailed) as refused:
        normalize_phone(written, field="mobile")
    # Then the answer is a 422 that names the field and says what is wrong
    assert refused.value.status == 422
    body = refused.value.body()
    assert body["field"] == "mobile"
    assert body["errors"][0]["field"] == "mobile"
    assert message in body["errors"][0]["message"]


def test_the_field_is_phone_unless_told() -> None:
    with pytest.raises(ValidationFailed) as refused:
        normalize_phone("123")
    assert refused.value.body()["field"] == "phone"


@pytest.mark.parametrize(
    ("e164", "mobile"),
    [
        ("+5491159876543", True),
        ("+541159876543", False),  # Argentine landline form: no SMS there
        ("+34612345678", True),
        ("+34911234567", False),
        ("+525512345678", True),  # Mexico: one plan for mobiles and landlines
        ("+5412345", False),
        ("not a number", False),
    ],
)
def test_is_mobile(e164: str, mobile: bool) -> None:
    assert is_mobile(e164) is mobile


@pytest.mark.parametrize(
    ("stored", "texted"),
    [
        ("+541159876543", "+5491159876543"),  # Argentina without the 9: its mobile form
        ("+543511234567", "+5493511234567"),
        ("+5491159876543", "+5491159876543"),
        ("+34612345678", "+34612345678"),
        ("+525512345678", "+525512345678"),  # one plan for mobiles and landlines: sent as is
    ],
)
def test_the_number_an_sms_goes_to(stored: str, texted: str) -> None:
    assert sms_address(stored) == texted


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        ("+34911234567", "+34911234567 is a landline: SMS can only go to a mobile"),
        ("+548001234567", "+548001234567 is a toll-free number: SMS can only go to a mobile"),
        ("+34803123456", "+34803123456 is a premium-rate number: SMS can only go to a mobile"),
    ],
)
def test_an_sms_to_a_number_that_is_never_a_mobile_is_refused_saying_so(stored: str, message: str) -> None:
    with pytest.raises(NotAMobile) as refused:
        sms_address(stored)
    assert str(refused.value) == message


def test_an_argentine_mobile_in_a_known_area_is_a_mobile() -> None:
    assert is_mobile("+5493511234567") is True


@pytest.mark.parametrize(
    ("stored", "local"),
    [
        ("+5491155551234", "54:55551234"),  # the mobile 9 is part of the area code's length
        ("+541155551234", "54:55551234"),
        ("+5493511234567", "54:1234567"),  # Córdoba: a 3-digit area, a 7-digit subscriber
        ("+525512345678", "52:12345678"),
        ("+34612345678", None),  # a Spanish mobile has no area code
    ],
)
def test_the_local_number_a_phone_is_said_as_without_its_area_code(stored: str, local: str | None) -> None:
    assert local_number(stored) == local


@pytest.mark.parametrize(
    ("typed", "region", "locals_"),
    [
        ("15 5555-1234", "AR", ["54:55551234"]),  # the mobile prefix 15 is dropped
        ("5555-1234", "AR", ["54:55551234"]),
        ("15 555-123", "AR", ["54:15555123", "54:555123"]),  # either reading
        ("1234 5678", "MX", ["52:12345678"]),
        ("11 5555-1234", "AR", []),  # a whole number is not a local one
        ("+54 5555 1234", "AR", []),
        ("ferre", "AR", []),
    ],
)
def test_what_a_clerk_typed_as_a_number_without_its_area_code(
    typed: str, region: str, locals_: list[str]
) -> None:
    assert typed_local_numbers(typed, region) == locals_


def test_an_argentine_number_is_one_number_with_or_without_its_9() -> None:
    assert same_number("+541155551234") == ["+541155551234", "+5491155551234"]
    assert same_number("+5491155551234") == ["+5491155551234", "+541155551234"]
    assert same_number("+525512345678") == ["+525512345678"]


@pytest.mark.parametrize(
    ("raw", "region", "stored"),
    [
        # an Argentine mobile however the provider writes it: the +549 form manual SMS go to
        ("+543514123456", "AR", "+5493514123456"),
        ("3514123456", "AR", "+5493514123456"),
        ("+5493514123456", "AR", "+5493514123456"),
        # any other country's number keeps its one form: no 9 is added outside Argentina
        ("+34612345678", "AR", "+34612345678"),
        ("612345678", "ES", "+34612345678"),
        ("+59894123456", "AR", "+59894123456"),
        ("+14155550123", "AR", "+14155550123"),
        ("+525512345678", "AR", "+525512345678"),
        # not a phone number (an alphanumeric sender, one holding '#'): none
        ("MOVISTAR", "AR", None),
        ("+5491155550000#CLI-7", "AR", None),
    ],
)
def test_an_inbound_sms_sender_is_stored_in_the_form_its_country_texts_it(
    raw: str, region: str, stored: str | None
) -> None:
    from chalicelib.producers.sms_replies.replies import _sender_number

    assert _sender_number(raw, region) == stored
