"""Z1: times, days and amounts as a company's people read them."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from chalicelib.core.localization import (
    days_interval,
    default_locale,
    show_date,
    show_datetime,
    show_money,
    today,
)

MOMENT = datetime(2026, 11, 23, 10, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("zone", "locale", "shown"),
    [
        ("America/Argentina/Buenos_Aires", "es_AR", "23/11/2026 07:30"),
        ("America/Mexico_City", "es_MX", "23/11/2026 04:30"),
        ("Europe/Madrid", "es_ES", "23/11/2026 11:30"),
        ("UTC", "en_US", "11/23/2026 10:30"),
    ],
)
def test_a_moment_reads_in_the_company_zone_and_locale(zone: str, locale: str, shown: str) -> None:
    assert show_datetime(MOMENT, zone, locale) == shown


def test_amounts_are_written_the_locale_way() -> None:
    assert show_money(Decimal("12345.67"), "ARS", "es_AR") == "$12.345,67"
    assert show_money(Decimal("12345.67"), "MXN", "es_MX") == "$12,345.67"
    assert show_money(Decimal("12345.67"), None, "es_AR") == "12.345,67"


def test_a_day_is_the_company_day_not_the_utc_one() -> None:
    # Given 01:30 UTC on the 24th, which is still the 23rd in Buenos Aires
    late = datetime(2026, 11, 24, 1, 30, tzinfo=timezone.utc)
    assert today("America/Argentina/Buenos_Aires", late) == date(2026, 11, 23)
    assert show_date(late, "es_AR", "America/Argentina/Buenos_Aires") == "23/11/2026"
    # And a from/to filter of that one day covers its 24 hours there
    start, end = days_interval(date(2026, 11, 23), date(2026, 11, 23), "America/Argentina/Buenos_Aires")
    assert start == datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)
    assert end == datetime(2026, 11, 24, 3, 0, tzinfo=timezone.utc)


def test_the_default_locale_joins_language_and_country() -> None:
    assert default_locale("es", "MX") == "es_MX"
    assert default_locale("xx", None) == "xx"
