"""Business days, holidays, time zones and calendar days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from server.engine import business_days_between, days_between
from server.engine.calendar import holiday_dates

FRI = datetime(2026, 3, 6, 15, 0, tzinfo=UTC)  # a Friday
DAY = timedelta(days=1)


def test_business_days_skip_the_weekend():
    assert business_days_between(FRI, FRI + DAY, "UTC") == 0  # Saturday
    assert business_days_between(FRI, FRI + 2 * DAY, "UTC") == 0  # Sunday
    assert business_days_between(FRI, FRI + 3 * DAY, "UTC") == 1  # Monday
    assert business_days_between(FRI, FRI + 10 * DAY, "UTC") == 6  # Monday week after


def test_business_days_count_dates_not_hours():
    late_monday = datetime(2026, 3, 9, 23, 0, tzinfo=UTC)
    early_tuesday = datetime(2026, 3, 10, 1, 0, tzinfo=UTC)
    assert business_days_between(late_monday, early_tuesday, "UTC") == 1
    assert business_days_between(early_tuesday, early_tuesday + timedelta(hours=20), "UTC") == 0


def test_business_days_zero_when_end_not_after_start():
    assert business_days_between(FRI, FRI, "UTC") == 0
    assert business_days_between(FRI + 5 * DAY, FRI, "UTC") == 0


def test_thanksgiving_is_not_a_business_day_with_us_holidays():
    wednesday = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    monday = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert date(2026, 11, 26) in holiday_dates("US", None, 2026)
    # Thu 26 (Thanksgiving), Fri 27, Mon 30
    assert business_days_between(wednesday, monday, "UTC") == 3
    assert business_days_between(wednesday, monday, "UTC", holiday_country="US") == 2


def test_holidays_on_a_weekend_are_not_subtracted_twice():
    # 2026-07-04 is a Saturday; the US observes it on Friday 3 July.
    thursday = datetime(2026, 7, 2, 12, 0, tzinfo=UTC)
    monday = datetime(2026, 7, 6, 12, 0, tzinfo=UTC)
    assert business_days_between(thursday, monday, "UTC") == 2
    assert business_days_between(thursday, monday, "UTC", "US") == 1


def test_subdivision_holidays():
    # Epiphany (6 Jan 2026, a Tuesday) is a holiday in Bavaria, not in Berlin.
    monday = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    wednesday = datetime(2026, 1, 7, 12, 0, tzinfo=UTC)
    assert business_days_between(monday, wednesday, "Europe/Berlin", "DE", "BY") == 1
    assert business_days_between(monday, wednesday, "Europe/Berlin", "DE", "BE") == 2


def test_holidays_across_a_year_boundary():
    dec_30 = datetime(2026, 12, 30, 12, 0, tzinfo=UTC)
    jan_2 = datetime(2027, 1, 2, 12, 0, tzinfo=UTC)
    # Thu 31 Dec, Fri 1 Jan (New Year's Day)
    assert business_days_between(dec_30, jan_2, "UTC") == 2
    assert business_days_between(dec_30, jan_2, "UTC", "US") == 1


def test_local_date_differs_from_utc_date():
    # Friday 23:30 in New York is already Saturday in UTC (and DST starts that Sunday);
    # either way only Monday counts.
    friday_night_ny = datetime(2026, 3, 7, 4, 30, tzinfo=UTC)
    monday_morning_ny = datetime(2026, 3, 9, 13, 0, tzinfo=UTC)
    assert business_days_between(friday_night_ny, monday_morning_ny, "UTC") == 1
    assert business_days_between(friday_night_ny, monday_morning_ny, "America/New_York") == 1
    # Sunday 20:00 in Los Angeles is Monday 04:00 UTC; Tuesday 08:00 LA.
    sunday_la = datetime(2026, 3, 16, 3, 0, tzinfo=UTC)
    tuesday_la = datetime(2026, 3, 17, 15, 0, tzinfo=UTC)
    assert business_days_between(sunday_la, tuesday_la, "UTC") == 1  # Mon -> Tue
    assert business_days_between(sunday_la, tuesday_la, "America/Los_Angeles") == 2


def test_tokyo_evening_crosses_into_the_next_local_day():
    # Monday 14:00 UTC is Monday 23:00 in Tokyo; 16:00 UTC is already Tuesday there.
    start = datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
    end = datetime(2026, 3, 9, 16, 0, tzinfo=UTC)
    assert business_days_between(start, end, "UTC") == 0
    assert business_days_between(start, end, "Asia/Tokyo") == 1


def test_naive_datetimes_are_taken_as_utc():
    naive = datetime(2026, 3, 6, 15, 0)
    assert business_days_between(naive, naive + 3 * DAY, "UTC") == 1
    assert days_between(naive, FRI + 2 * DAY) == 2


def test_days_between_is_floor_and_never_negative():
    assert days_between(FRI, FRI + DAY - timedelta(microseconds=1)) == 0
    assert days_between(FRI, FRI + DAY) == 1
    assert days_between(FRI, FRI + timedelta(days=9, hours=23)) == 9
    assert days_between(FRI + DAY, FRI) == 0


def brute_force(start: datetime, end: datetime, tz: str, country: str | None) -> int:
    zone = ZoneInfo(tz)
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    count, day = 0, first + DAY
    while day <= last:
        off = country is not None and day in holiday_dates(country, None, day.year)
        if day.weekday() < 5 and not off:
            count += 1
        day += DAY
    return count if end > start else 0


moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=200, deadline=None)
@given(
    start=moments,
    span=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=120)),
    tz=st.sampled_from(["UTC", "America/New_York", "Asia/Tokyo", "Pacific/Auckland"]),
    country=st.sampled_from([None, "US", "GB", "JP"]),
)
def test_business_days_match_a_day_by_day_count(start, span, tz, country):
    end = start + span
    assert business_days_between(start, end, tz, country) == brute_force(start, end, tz, country)
    assert business_days_between(start, end, tz, country) <= days_between(start, end) + 1
