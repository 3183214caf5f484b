"""Formatting the proposed get-back slot in the rep's locale and time zone."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from server.plays import format_date_part, format_slot, format_time_part

# Tuesday 2025-04-01 13:05 UTC = 15:05 in Berlin (summer time).
SLOT = datetime(2025, 4, 1, 13, 5, tzinfo=UTC)


@pytest.mark.parametrize("locale, expected", [
    ("en", "Tuesday, April 1 at 3:05 PM CEST"),
    ("en-US", "Tuesday, April 1 at 3:05 PM CEST"),
    ("en_GB", "Tuesday 1 April at 15:05 CEST"),
    ("en-AU", "Tuesday 1 April at 3:05 PM CEST"),
    ("de", "Dienstag, 1. April um 15:05 Uhr CEST"),
    ("de-AT", "Dienstag, 1. April um 15:05 Uhr CEST"),
    ("fr-FR", "mardi 1er avril à 15:05 CEST"),
    ("es", "martes, 1 de abril a las 15:05 CEST"),
    ("pt-BR", "Tuesday, April 1 at 3:05 PM CEST"),
    ("", "Tuesday, April 1 at 3:05 PM CEST"),
])
def test_format_slot_per_locale(locale, expected):
    assert format_slot(SLOT, locale, "Europe/Berlin") == expected


def test_year_is_added_on_request():
    assert format_slot(SLOT, "en", "UTC", include_year=True) == \
        "Tuesday, April 1, 2025 at 1:05 PM UTC"
    assert format_date_part(SLOT, "de", "UTC", include_year=True) == "Dienstag, 1. April 2025"
    assert format_date_part(SLOT, "es", "UTC", include_year=True) == \
        "martes, 1 de abril de 2025"
    assert format_date_part(SLOT, "en-GB", "UTC", include_year=True) == "Tuesday 1 April 2025"


def test_time_zone_changes_the_day_and_handles_winter_time():
    late = datetime(2025, 1, 7, 23, 30, tzinfo=UTC)  # Tuesday evening in UTC
    assert format_date_part(late, "en", "Asia/Tokyo") == "Wednesday, January 8"
    assert format_time_part(late, "en", "Asia/Tokyo") == "8:30 AM JST"
    assert format_time_part(late, "en", "America/New_York") == "6:30 PM EST"
    assert format_time_part(late, "en", "Europe/Berlin") == "12:30 AM CET"


def test_noon_and_midnight_in_twelve_hour_clock():
    assert format_time_part(datetime(2025, 1, 1, 12, 0, tzinfo=UTC), "en", "UTC") == "12:00 PM UTC"
    assert format_time_part(datetime(2025, 1, 1, 0, 0, tzinfo=UTC), "en", "UTC") == "12:00 AM UTC"


def test_zones_without_an_abbreviation_show_the_offset():
    assert format_time_part(SLOT, "en", "Asia/Dubai") == "5:05 PM UTC+04"


def test_naive_datetimes_are_taken_as_utc():
    assert format_slot(datetime(2025, 4, 1, 13, 5), "en", "UTC") == \
        format_slot(SLOT, "en", "UTC")


def test_other_offsets_are_converted():
    eastern = datetime(2025, 4, 1, 9, 5, tzinfo=timezone(timedelta(hours=-4)))
    assert format_slot(eastern, "en", "Europe/Berlin") == format_slot(SLOT, "en", "Europe/Berlin")


def test_spanish_uses_singular_article_at_one_o_clock():
    one = datetime(2025, 4, 1, 1, 15, tzinfo=UTC)
    assert format_slot(one, "es", "UTC") == "martes, 1 de abril a la 01:15 UTC"


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../../etc/passwd", "Not A Zone"])
def test_unknown_time_zone_is_a_clear_value_error(zone):
    with pytest.raises(ValueError, match="unknown time zone"):
        format_slot(SLOT, "en", zone)
