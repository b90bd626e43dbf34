"""Z1: times, days and amounts as a company's people read them."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from chalicelib.core.localization import (
    days_interval,
    default_locale,
    local_time,
    next_local_hour,
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


@pytest.mark.parametrize(
    ("currency", "locale", "shown"),
    [
        # another currency's code beside the digits is set apart by a non-breaking space (CLDR's
        # currencySpacing), as the locale writes it: before, "MXN12.345,67"
        ("MXN", "es_AR", "MXN\u00a012.345,67"),
        ("EUR", "es_AR", "EUR\u00a012.345,67"),
        ("USD", "es_MX", "USD\u00a012,345.67"),
        ("ARS", "en_US", "ARS\u00a012,345.67"),
        # a sign beside the digits stays beside them
        ("USD", "es_AR", "US$12.345,67"),
        ("EUR", "en_US", "€12,345.67"),
        # a locale that writes the code after the amount has its own space already, once
        ("MXN", "es_ES", "12.345,67\u00a0MXN"),
    ],
)
def test_a_currency_code_beside_the_amount_is_set_apart_as_the_locale_writes_it(
    currency: str, locale: str, shown: str
) -> None:
    assert show_money(Decimal("12345.67"), currency, locale) == shown
    assert show_money(Decimal("-12345.67"), currency, locale) == f"-{shown}"


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


@pytest.mark.parametrize(
    ("zone", "day", "hours", "starts"),
    [
        ("Europe/Madrid", date(2027, 3, 28), 23, "2027-03-28 00:00:00+01:00"),
        ("Europe/Madrid", date(2027, 10, 31), 25, "2027-10-31 00:00:00+02:00"),
        ("Atlantic/Canary", date(2027, 3, 28), 23, "2027-03-28 00:00:00+00:00"),
        ("Atlantic/Canary", date(2027, 10, 31), 25, "2027-10-31 00:00:00+01:00"),
        # Santiago changes at midnight: Saturday 2027-04-03 ends twice; Sunday 2027-09-05 has no
        # 00:00 and begins at 01:00 (-03:00), the moment the clock jumps
        ("America/Santiago", date(2027, 4, 3), 25, "2027-04-03 00:00:00-03:00"),
        ("America/Santiago", date(2027, 9, 5), 23, "2027-09-05 01:00:00-03:00"),
        ("America/Mexico_City", date(2027, 4, 4), 24, "2027-04-04 00:00:00-06:00"),  # none since 2022
        ("America/Argentina/Buenos_Aires", date(2027, 10, 3), 24, "2027-10-03 00:00:00-03:00"),
    ],
)
def test_a_day_of_the_company_is_its_23_24_or_25_hours(zone: str, day: date, hours: int, starts: str) -> None:
    # When a from/to filter names one day on which the company's clock changes
    start, end = days_interval(day, day, zone)
    # Then it covers that day's hours there, from its first moment to the next day's first
    assert start is not None and end is not None
    assert (end - start) == timedelta(hours=hours)
    assert str(local_time(start, zone)) == starts


@pytest.mark.parametrize(
    ("zone", "change"),
    [
        ("Europe/Madrid", datetime(2027, 3, 28, 1, tzinfo=timezone.utc)),
        ("Europe/Madrid", datetime(2027, 10, 31, 1, tzinfo=timezone.utc)),
        ("Atlantic/Canary", datetime(2027, 3, 28, 1, tzinfo=timezone.utc)),
        ("America/Santiago", datetime(2027, 4, 4, 3, tzinfo=timezone.utc)),
        ("America/Santiago", datetime(2027, 9, 5, 4, tzinfo=timezone.utc)),
    ],
)
def test_a_daily_hour_comes_once_a_day_across_a_clock_change(zone: str, change: datetime) -> None:
    # Given a schedule ticking every 15 minutes over the two days either side of a change, that
    # runs at each hour of the day and plans its next run at that hour, as the reminders do
    for hour in range(24):
        now = change - timedelta(days=2)
        planned = next_local_hour(now, hour, zone)
        runs: list[datetime] = []
        while now < change + timedelta(days=2):
            if now >= planned:
                runs.append(local_time(now, zone))
                planned = next_local_hour(now, hour, zone)
            now += timedelta(minutes=15)
        # Then it runs once on each of those days, at that hour there; an hour the clock skips,
        # at the moment it jumps (the hour after); an hour it goes through twice, at the first
        days = [r.date() for r in runs]
        assert days == sorted(set(days)) and len(days) == (days[-1] - days[0]).days + 1, (hour, runs)
        for run in runs:
            assert (run.hour, run.minute, run.fold) == (hour, 0, 0) or (
                run.hour == hour + 1
                and run.utcoffset() != (local_time(run - timedelta(hours=2), zone).utcoffset())
            ), (hour, run)
