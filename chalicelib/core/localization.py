"""How a person reads a time, a day or an amount (Z1): in the company's IANA time zone and
formatted for its locale with Babel.

Times are stored and compared as aware UTC (``core.clock``); they become local only here, at the
edge where a person reads them, and a person's "day" (a date filter, a due date, "today") becomes a
UTC interval here too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.core.errors import ValidationFailed

if TYPE_CHECKING:  # Babel loads with the first time a person reads, not with every cold start
    from babel import Locale

UTC_ZONE = "UTC"
DEFAULT_COUNTRY = "AR"
#: How a company that cannot be read writes numbers and days (the product's first users').
DEFAULT_LOCALE = "es_AR"


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The IANA zone by name; ``ValueError`` for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def is_time_zone(name: str) -> bool:
    return _known(zone, name)


@lru_cache(maxsize=128)
def _locale(name: str) -> Locale:
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(name)
    except (UnknownLocaleError, ValueError) as exc:
        raise ValueError(f"unknown locale {name!r}") from exc


def is_locale(name: str) -> bool:
    return _known(_locale, name)


def _known(parse: Callable[[str], object], name: str) -> bool:
    """Whether ``parse`` (which raises ``ValueError`` for what it does not know) knows ``name``."""
    try:
        parse(name)
    except ValueError:
        return False
    return True


def default_locale(language: str, country: str | None) -> str:
    """``es`` + ``AR`` → ``es_AR`` when CLDR knows it, else the language alone."""
    candidate = f"{language}_{(country or DEFAULT_COUNTRY).upper()}"
    return candidate if is_locale(candidate) else language


def local_time(moment: datetime, time_zone: str) -> datetime:
    """An aware moment seen in the zone."""
    return moment.astimezone(zone(time_zone))


def show_datetime(moment: datetime, time_zone: str, locale: str) -> str:
    """``23/11/2026 07:30`` for es_AR in Buenos Aires, ``11/23/2026 07:30`` for en_US."""
    seen = local_time(moment, time_zone)
    place = _locale(locale)
    from babel.dates import format_skeleton

    return f"{format_skeleton('yMd', seen, locale=place)} {format_skeleton('Hm', seen, locale=place)}"


def show_datetime_named(moment: datetime, time_zone: str, locale: str) -> str:
    """A moment as :func:`show_datetime` writes it, naming the zone (``02/11/2026 09:00
    (America/Argentina/Buenos_Aires)``): for notices read away from the console."""
    return f"{show_datetime(moment, time_zone, locale)} ({time_zone})"


def show_datetime_offset(moment: datetime, time_zone: str, locale: str) -> str:
    """A moment as :func:`show_datetime` writes it, with its UTC offset there and the zone's name
    (``25/10/2026 02:10 (UTC+02:00, Europe/Madrid)``): unambiguous in the hour a clock repeats,
    when 02:10 in Madrid comes twice (``UTC+02:00``, then ``UTC+01:00``)."""
    offset = local_time(moment, time_zone).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    utc = f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    named = "UTC" if time_zone == UTC_ZONE else f"{utc}, {time_zone}"
    return f"{show_datetime(moment, time_zone, locale)} ({named})"


def show_date(day: date | datetime, locale: str, time_zone: str | None = None) -> str:
    """A day as the locale writes it (``23/11/2026``); a moment is first seen in the zone."""
    if isinstance(day, datetime):
        day = local_time(day, time_zone or UTC_ZONE).date()
    return _show_day(day, locale)


@lru_cache(maxsize=4096)
def _show_day(day: date, locale: str) -> str:
    # Babel matches the skeleton to the locale's patterns on every call: documents print the same
    # few days many times (a statement's 25 lines, a bulk run's thousands of statements).
    from babel.dates import format_skeleton

    return format_skeleton("yMd", datetime.combine(day, time()), locale=_locale(locale))


#: What a currency that is not ISO 4217's is refused with (the receivables' words too).
NOT_A_CURRENCY = "must be an ISO 4217 code, e.g. ARS"


def checked_currency(code: str | None, field: str = "currency") -> str | None:
    """An ISO 4217 code as upper case (``ars`` → ``ARS``), or None when none is given; a code
    Babel does not know (``XYZ``) is refused naming ``field``: printed as given, it would put
    "XYZ 1.234,00" on a client's document."""
    from babel.numbers import is_currency

    if code is None:
        return None
    upper = code.strip().upper()
    if not is_currency(upper):
        raise ValidationFailed([{"field": field, "message": NOT_A_CURRENCY}])
    return upper


def show_money(amount: Decimal | float | int, currency: str | None, locale: str) -> str:
    """``$12.345,67`` for es_AR/ARS, ``$12,345.67`` for es_MX/MXN, ``MXN 12.345,67`` (a
    non-breaking space) for es_AR/MXN; without a currency, the number alone in the locale's
    digits."""
    if currency:
        from babel.numbers import format_currency, get_currency_symbol

        place = _locale(locale)
        shown = format_currency(amount, currency, locale=place)
        return _currency_spaced(shown, get_currency_symbol(currency, locale=place))
    from babel.numbers import format_decimal

    return format_decimal(amount, format="#,##0.00", locale=_locale(locale))


def _currency_spaced(shown: str, symbol: str) -> str:
    """CLDR's ``currencySpacing`` (its root rule, which Babel does not apply): a symbol whose
    letter touches a digit is set apart by a non-breaking space, so es_AR writes another
    currency's amount "MXN 12.345,67", not "MXN12.345,67", while "$12.345,67" and "US$12.345,67"
    (a sign, ``$``, touches the digit) stay as they are."""
    import unicodedata

    def apart(char: str) -> bool:  # CLDR's currencyMatch: neither a symbol (S*) nor a space (Z*)
        return not unicodedata.category(char).startswith(("S", "Z"))

    at = shown.find(symbol)
    if at < 0 or not symbol:
        return shown
    end = at + len(symbol)
    if end < len(shown) and shown[end].isdigit() and apart(symbol[-1]):
        shown = f"{shown[:end]}\u00a0{shown[end:]}"
    if at > 0 and shown[at - 1].isdigit() and apart(symbol[0]):
        shown = f"{shown[:at]}\u00a0{shown[at:]}"
    return shown


def show_count(count: int, locale: str) -> str:
    """A whole number as the locale writes it: ``5.000`` in es_AR, ``5,000`` in en_US."""
    from babel.numbers import format_decimal

    return format_decimal(count, format="#,##0", locale=_locale(locale))


def show_balance(balance: str | None, locale: str) -> str | None:
    """A client's balance as the back office pushed it (decimal text, ``15300.5``) in the
    locale's number format without a currency (``15.300,50`` in es_AR, ``15,300.50`` in es_MX):
    the seed's templates write "$ %deuda%". None when none was pushed; text that is not a number
    as it is."""
    from decimal import InvalidOperation

    if not balance:
        return None
    try:
        return show_money(Decimal(balance), None, locale)
    except (InvalidOperation, ValueError):
        return balance


def shown_values(value: object, time_zone: str, locale: str) -> object:
    """Message variables as a person reads them: every moment (aware datetime) in the zone and the
    locale (``23/11/2026 07:30``), every day as the locale writes it (``23/11/2026``); the rest as
    it is, inside dicts and lists too."""
    if isinstance(value, datetime):
        return show_datetime(value, time_zone, locale)
    if isinstance(value, date):
        return show_date(value, locale)
    if isinstance(value, dict):
        return {k: shown_values(v, time_zone, locale) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [shown_values(v, time_zone, locale) for v in value]
    return value


def excel_datetime_format(locale: str) -> str:
    """A spreadsheet number format that writes day, month and year in the locale's order
    (``dd/mm/yyyy hh:mm`` for es_AR, ``mm/dd/yyyy hh:mm`` for en_US, ``yyyy-mm-dd hh:mm`` for sv)."""
    pattern = _locale(locale).date_formats["short"].pattern
    order = [c for c in dict.fromkeys(ch for ch in pattern if ch in "yMd")]
    separator = next((ch for ch in pattern if ch in "/.-"), "/")
    parts = {"y": "yyyy", "M": "mm", "d": "dd"}
    if sorted(order) != ["M", "d", "y"]:
        order = ["y", "M", "d"]
        separator = "-"
    return separator.join(parts[c] for c in order) + " hh:mm"


def checked_day(raw: str | None, field: str, *, blank_is_missing: bool = True) -> date | None:
    """A day given as ``YYYY-MM-DD`` (a query's ``date``, ``from``, ``to``); None when not given,
    422 naming ``field`` when it is not a day (a blank one too, unless ``blank_is_missing``: where
    the API document declares the parameter a date, ``date=`` is not one)."""
    if raw is None or (blank_is_missing and not raw.strip()):
        return None
    raw = raw.strip()
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ValidationFailed([{"field": field, "message": "must be a day: YYYY-MM-DD"}]) from exc


def today(time_zone: str, now: datetime) -> date:
    """The company's calendar day at ``now``."""
    return local_time(now, time_zone).date()


def day_start(day: date, time_zone: str) -> datetime:
    """The UTC moment the company's day begins (midnight there)."""
    return datetime.combine(day, time(), tzinfo=zone(time_zone)).astimezone(ZoneInfo("UTC"))


def days_later(moment: datetime, days: int, time_zone: str) -> datetime:
    """``days`` of the company's calendar days after ``moment``, at the same time of its clock,
    as an aware UTC moment: across a summer-time change that is an hour more or less than
    ``days`` × 24 hours (a subscription made at 00:30 on Madrid's 31 October lasts until 00:30 on
    30 November, not 23:30 on the 29th). A time the clock skips that day reads with the offset
    before the jump (02:30 on Madrid's last Sunday of March is 03:30)."""
    return (local_time(moment, time_zone) + timedelta(days=days)).astimezone(zone(UTC_ZONE))


def next_local_hour(moment: datetime, hour: int, time_zone: str) -> datetime:
    """The first ``hour``:00 on the zone's clock strictly after ``moment``, as an aware UTC moment
    (a daily run "at 8 in the morning" of the company)."""
    local = local_time(moment, time_zone)
    for offset in range(3):
        day = local.date() + timedelta(days=offset)
        candidate = datetime.combine(day, time(hour), tzinfo=zone(time_zone))
        if candidate > local:
            return candidate.astimezone(ZoneInfo("UTC"))
    raise AssertionError("unreachable")  # pragma: no cover


def days_interval(
    first: date | None, last: date | None, time_zone: str
) -> tuple[datetime | None, datetime | None]:
    """A ``from``/``to`` pair of the company's days as a UTC interval [start, end): the end is the
    start of the day after ``last``, so the whole last day is included. A bound past what a
    date-time holds (the start of 0001-01-01 east of UTC, the end of 9999-12-31) is no bound:
    every moment there is lies on that side of it."""
    start = _day_start_within(first, time_zone) if first else None
    end = _day_start_within(last, time_zone, days_after=1) if last else None
    return start, end


def _day_start_within(day: date, time_zone: str, days_after: int = 0) -> datetime | None:
    try:
        return day_start(day + timedelta(days=days_after), time_zone)
    except OverflowError:
        return None
