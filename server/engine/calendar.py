"""Count calendar and business days between two moments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

_DAY = timedelta(days=1)


def as_utc(moment: datetime) -> datetime:
    """Return an aware UTC datetime; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def days_between(start: datetime, end: datetime) -> int:
    """Return whole calendar days from start to end, rounded down, never negative."""
    span = as_utc(end) - as_utc(start)
    if span <= timedelta(0):
        return 0
    return span // _DAY


def _weekdays_through(day: date) -> int:
    # Ordinal 1 (0001-01-01) is a Monday, so each block of 7 ordinals starts on Monday.
    weeks, rest = divmod(day.toordinal(), 7)
    return weeks * 5 + min(rest, 5)


@lru_cache(maxsize=256)
def holiday_dates(country: str, subdiv: str | None, year: int) -> frozenset[date]:
    """Return the public holidays of one country (and subdivision) in one year."""
    try:
        calendar = holidays.country_holidays(country, subdiv=subdiv, years=year)
    except (NotImplementedError, ValueError, KeyError):
        # An unknown calendar is rejected when the context is built; stay quiet here.
        return frozenset()
    return frozenset(calendar.keys())


def local_date(moment: datetime, tz: str) -> date:
    """Return the calendar date of a moment in the given IANA zone."""
    return as_utc(moment).astimezone(ZoneInfo(tz)).date()


def business_days_between(
    start: datetime,
    end: datetime,
    tz: str,
    holiday_country: str | None = None,
    holiday_subdiv: str | None = None,
) -> int:
    """Count Mon-Fri non-holiday dates d with local(start) < d <= local(end) in zone `tz`."""
    if as_utc(end) <= as_utc(start):
        return 0
    first = local_date(start, tz)
    last = local_date(end, tz)
    if last <= first:
        return 0
    count = _weekdays_through(last) - _weekdays_through(first)
    if holiday_country:
        country = holiday_country.upper()
        for year in range(first.year, last.year + 1):
            for day in holiday_dates(country, holiday_subdiv, year):
                if first < day <= last and day.weekday() < 5:
                    count -= 1
    return count
