"""Phone numbers in E.164, the one form Pregón stores and sends to.

Parsing and validation come from ``phonenumbers`` (Google's libphonenumber metadata, installed as
``phonenumberslite``: no geocoder/carrier data, 2.8 MB instead of 23), imported lazily because
Lambda cold start pays for every import. Its metadata already turns Argentine local
mobile forms into the international mobile form: ``011-15-5987-6543`` → ``+5491159876543`` (trunk
prefix 0 dropped, mobile prefix 15 replaced by the 9 after the country code). On top of it we only
repair two habits it rejects:

* Argentina, the 9 and the 15 together (``+54 9 11 15 5987-6543``): drop the 15.
* Mexico, the old mobile markers retired in 2019: ``+52 1 55…``, ``044 55…``, ``045 55…`` and the
  old long-distance prefix ``01 55…``: drop them (every Mexican number now has ten digits).

A repair is used only when the number as written is invalid and the repaired one is valid.

libphonenumber's ranges of Argentine subscriber numbers lag behind what carriers hand out
(``0351 15 123-4567`` is refused by its ranges though its area code and length are right), so an
Argentine mobile in an area code the metadata knows (its ``0<area> 15`` rewriting recognises it)
with the right length is accepted too. A number that can never be used (too short, too long, an
area code that does not exist, a mobile without its area code) is still refused.

SMS goes to mobiles only (:func:`sms_address`): an Argentine number stored without its 9 is
addressed as ``+549…`` when it can be a mobile, and a number that is certainly a landline is
refused with a clear error.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chalicelib.core.errors import ValidationFailed

# Area codes in Argentina have 2 to 4 digits; the subscriber number fills the rest of the 10.
_AR_AREA_CODE_LENGTHS = (2, 3, 4)
_MX_OLD_PREFIXES = ("044", "045", "01", "1")
# What people put between digits. Letters are refused: libphonenumber would read them as a keypad
# ("VANITY" numbers) or as an extension, and neither can receive an SMS.
_PUNCTUATION = frozenset(" \t+-.()/\u00a0\u2010\u2011\u2012\u2013\u2014")
_MIN_DIGITS = 6


def _invalid(field: str, message: str = "is not a valid phone number") -> ValidationFailed:
    return ValidationFailed([{"field": field, "message": message}])


def _repairs(country_code: int, national: str) -> list[str]:
    """National significant numbers to try when the one as written is invalid."""
    candidates: list[str] = []
    if country_code == 54 and national.startswith("9"):
        for length in _AR_AREA_CODE_LENGTHS:
            cut = 1 + length
            if national[cut : cut + 2] == "15":
                candidates.append(national[:cut] + national[cut + 2 :])
    elif country_code == 52:
        candidates.extend(
            national[len(prefix) :]
            for prefix in _MX_OLD_PREFIXES
            if national.startswith(prefix) and len(national) - len(prefix) == 10
        )
    return candidates


def _parse_valid(raw: str, default_region: str) -> Any | None:
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, default_region.upper())
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_valid_number(number):
        return number
    national = phonenumbers.national_significant_number(number)
    country_code = number.country_code or 0
    for candidate in _repairs(country_code, national):
        repaired = phonenumbers.parse(f"+{country_code}{candidate}")
        if phonenumbers.is_valid_number(repaired):
            return repaired
        if _argentine_mobile_area(candidate) and phonenumbers.is_possible_number(repaired):
            return repaired
    if country_code == 54 and _argentine_mobile_area(national) and phonenumbers.is_possible_number(number):
        return number
    return None


def _argentine_mobile_area(national: str) -> str | None:
    """The area code of an Argentine mobile's national number (``9`` + area + subscriber, 11
    digits) when the metadata knows the area: its local ``0<area> 15 <subscriber>`` form is
    rewritten to this very number by libphonenumber's own parsing rules. None otherwise."""
    import phonenumbers

    if len(national) != 11 or not national.startswith("9"):
        return None
    for length in _AR_AREA_CODE_LENGTHS:
        area, subscriber = national[1 : 1 + length], national[1 + length :]
        try:
            local = phonenumbers.parse(f"0{area}15{subscriber}", "AR")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.national_significant_number(local) == national:
            return area
    return None


def normalize_phone(raw: str, default_region: str = "AR", *, field: str = "phone") -> str:
    """The number in E.164 (``+5491159876543``), read as a local number of ``default_region`` unless
    it starts with ``+`` or an international prefix. Raises ``ValidationFailed`` naming ``field``."""
    import phonenumbers

    text = (raw or "").strip()
    if not text:
        raise _invalid(field, "is required")
    if any(not (ch.isdigit() or ch in _PUNCTUATION) for ch in text):
        raise _invalid(field, "may hold only digits, spaces, '+', '-', '.', '/' and parentheses")
    if sum(ch.isdigit() for ch in text) < _MIN_DIGITS:
        raise _invalid(field, "is too short to be a phone number")
    number = _parse_valid(text, default_region)
    if number is None:
        raise _invalid(field, "is not a valid phone number (include the area code)")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def is_mobile(e164: str) -> bool:
    """Whether the number can receive SMS as far as the numbering plan tells: a mobile number, or
    one whose range is shared by mobiles and landlines (the US, Mexico since 2019)."""
    import phonenumbers

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    if number.country_code == 54 and _argentine_mobile_area(phonenumbers.national_significant_number(number)):
        return True  # +54 9 is the mobile form, in an area code that exists
    return phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


class NotAMobile(ValueError):
    """The number cannot receive SMS; the message says why, for a person to read."""


def sms_address(e164: str) -> str:
    """The number to send an SMS to. Argentina writes the same subscriber as ``+54 11 5987-6543``
    (as dialled from a landline) and ``+54 9 11 5987-6543`` (the mobile form SMS needs): a number
    stored without the 9 is addressed in its ``+549…`` form when that form is a mobile. A number
    that is certainly a landline (no mobile form, or a fixed line elsewhere) raises
    :class:`NotAMobile`; one whose kind the numbering plan cannot tell is sent as is."""
    import phonenumbers

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164  # not E.164 (a bug upstream): the provider refuses it in its own words
    national = phonenumbers.national_significant_number(number)
    if number.country_code == 54 and not national.startswith("9") and is_mobile(f"+549{national}"):
        return f"+549{national}"
    if is_mobile(e164):
        return e164
    never = _NEVER_SMS.get(int(phonenumbers.number_type(number)))
    if never:
        raise NotAMobile(f"{e164} is {never}: SMS can only go to a mobile")
    return e164


def texted_number(e164: str) -> str:
    """The number an SMS to ``e164`` reaches (:func:`sms_address`), or ``e164`` itself when none
    can: the one key a phone has on the suppression list, however it was stored (``+54 11…`` and
    ``+54 9 11…`` are one mobile, and a STOP comes from the latter)."""
    try:
        return sms_address(e164)
    except NotAMobile:
        return e164


def stored_forms(e164: str) -> list[str]:
    """The E.164 forms a client's record may hold one phone under: the number itself and, for an
    Argentine mobile (``+549…``), the form written without the 9 (``+54…``, as seed 002 asks
    numbers to be typed: ``1159876543``), which :func:`sms_address` texts at this very number."""
    if e164.startswith("+549"):
        return [e164, f"+54{e164[4:]}"]
    return [e164]


# Kinds of numbers that can never receive an SMS (libphonenumber's PhoneNumberType values).
_NEVER_SMS = {
    0: "a landline",  # FIXED_LINE
    3: "a toll-free number",  # TOLL_FREE
    4: "a premium-rate number",  # PREMIUM_RATE
    5: "a shared-cost number",  # SHARED_COST
    9: "a company's universal access number",  # UAN
    10: "a voicemail access number",  # VOICEMAIL
}


def region_of(e164: str) -> str | None:
    """The country (ISO 3166 code) a number in E.164 is of; None when it cannot be told."""
    import phonenumbers

    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None
    return region if region and region != "001" else None  # 001: a non-geographic number


def first_sms_number(phones: Iterable[str], region: str) -> str | None:
    """The number an SMS to someone with these phones goes to: the first that can take an SMS
    (normalized in ``region``, addressed by :func:`sms_address`); None when none can."""
    for raw in phones:
        try:
            return sms_address(normalize_phone(raw, region))
        except (ValidationFailed, NotAMobile):
            continue
    return None


# --- finding a client by a phone as a clerk says it (GET /clients?q=; decision 0020) ----------

# A local number (no area code) has this many digits at least and at most: Argentina's subscriber
# numbers have 6 to 8 (10 digits less an area code of 2 to 4), Mexico's 7 or 8, the US's 7.
_LOCAL_DIGITS = (6, 8)
# Argentina's mobile prefix, said before a mobile's subscriber number ("15 5555-1234"); its
# parsing rule (``0<area>15<subscriber>``) recognises it only after an area code.
_AR_MOBILE_PREFIX = "15"


def same_number(e164: str) -> list[str]:
    """The E.164 forms one number may be stored under, ``e164`` first: an Argentine number with and
    without the mobile 9 (``+54 11 5555-1234`` and ``+54 9 11 5555-1234`` are one mobile, as
    :func:`texted_number` and :func:`stored_forms` say); any other number has one form."""
    return list(dict.fromkeys([e164, *stored_forms(texted_number(e164))]))


def local_number(e164: str) -> str | None:
    """``<country code>:<subscriber number>``: the number without its area code (and without
    Argentina's mobile 9), as people say it to someone in their own area
    (``+5491155551234`` -> ``54:55551234``); libphonenumber's geographical area code says where
    the area code ends. None for a number without one (a Spanish mobile, a toll-free number)."""
    import phonenumbers

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    national = phonenumbers.national_significant_number(number)
    length = phonenumbers.length_of_geographical_area_code(number)
    if not length and number.country_code == 54:
        # a mobile in a range the metadata lags behind (accepted by normalize_phone all the same)
        area = _argentine_mobile_area(national)
        length = 1 + len(area) if area else 0
    if not length:
        return None
    return f"{number.country_code}:{national[length:]}"


def typed_local_numbers(text: str, region: str) -> list[str]:
    """What a clerk typed as a number without its area code, in :func:`local_number`'s form:
    6 to 8 digits (``5555-1234``), in Argentina also after the mobile prefix 15
    (``15 5555-1234``; ``15 555-123`` may be either, and both are given). Empty for anything
    else (letters, a ``+``, too few or too many digits)."""
    import phonenumbers

    text = text.strip()
    if not text or text.startswith("+") or any(not (ch.isdigit() or ch in _PUNCTUATION) for ch in text):
        return []
    digits = "".join(ch for ch in text if ch.isdigit())
    country_code = phonenumbers.country_code_for_region(region.upper())
    if not country_code:
        return []
    readings = [digits]
    if country_code == 54 and digits.startswith(_AR_MOBILE_PREFIX):
        readings.append(digits[len(_AR_MOBILE_PREFIX) :])
    shortest, longest = _LOCAL_DIGITS
    return [f"{country_code}:{d}" for d in readings if shortest <= len(d) <= longest]
