"""Format a proposed get-back slot in the rep's language and time zone.

Babel is not a dependency, so this is a small built-in formatter for English (US and
day-month variants), German, French and Spanish; any other locale falls back to English.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
}
_MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
           "September", "Oktober", "November", "Dezember"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"),
}
# English regions that write the month first, and those that use a 24-hour clock.
_MONTH_FIRST = frozenset({"US", "CA", "PH"})
_TWENTY_FOUR_HOUR_EN = frozenset({"GB", "IE"})


@dataclass(frozen=True)
class Locale:
    """A parsed locale tag such as ``en-GB`` or ``de_AT``."""

    language: str
    region: str

    @classmethod
    def parse(cls, tag: str | None) -> Locale:
        """Parse a BCP 47 / POSIX style tag; unknown languages fall back to English."""
        parts = (tag or "en").replace("_", "-").split(".")[0].split("-")
        language = parts[0].lower()
        region = next((p.upper() for p in parts[1:] if len(p) == 2 and p.isalpha()), "")
        if language not in _WEEKDAYS:
            return cls("en", "US")
        if language == "en" and not region:
            region = "US"
        return cls(language, region)


def zone(name: str | None) -> ZoneInfo:
    """Return the IANA time zone ``name``; raise ValueError with a clear message if unknown."""
    key = (name or "UTC").strip()
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {key!r}; use an IANA name like 'Europe/Berlin'") \
            from exc


def _local(dt: datetime, timezone: str) -> datetime:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)  # naive datetimes are taken as UTC
    return dt.astimezone(zone(timezone))


def _zone_label(local: datetime) -> str:
    abbreviation = local.tzname() or ""
    if abbreviation[:1] in "+-" and abbreviation:
        return f"UTC{abbreviation}"
    return abbreviation


def format_date_part(dt: datetime, locale: str = "en", timezone: str = "UTC",
                     include_year: bool = False) -> str:
    """Return the weekday and date of ``dt`` in ``timezone``, e.g. "Tuesday, March 4"."""
    local = _local(dt, timezone)
    loc = Locale.parse(locale)
    weekday = _WEEKDAYS[loc.language][local.weekday()]
    month = _MONTHS[loc.language][local.month - 1]
    day = local.day
    year = local.year
    if loc.language == "de":
        text = f"{weekday}, {day}. {month}"
        return f"{text} {year}" if include_year else text
    if loc.language == "fr":
        text = f"{weekday} {'1er' if day == 1 else day} {month}"
        return f"{text} {year}" if include_year else text
    if loc.language == "es":
        text = f"{weekday}, {day} de {month}"
        return f"{text} de {year}" if include_year else text
    if loc.region in _MONTH_FIRST:
        text = f"{weekday}, {month} {day}"
        return f"{text}, {year}" if include_year else text
    text = f"{weekday} {day} {month}"
    return f"{text} {year}" if include_year else text


def format_time_part(dt: datetime, locale: str = "en", timezone: str = "UTC") -> str:
    """Return the clock time of ``dt`` in ``timezone`` with the zone, e.g. "3:30 PM EST"."""
    local = _local(dt, timezone)
    loc = Locale.parse(locale)
    label = _zone_label(local)
    if loc.language == "en" and loc.region not in _TWENTY_FOUR_HOUR_EN:
        hour = local.hour % 12 or 12
        suffix = "AM" if local.hour < 12 else "PM"
        return f"{hour}:{local.minute:02d} {suffix} {label}"
    clock = f"{local.hour:02d}:{local.minute:02d}"
    if loc.language == "de":
        return f"{clock} Uhr {label}"
    return f"{clock} {label}"


def format_slot(dt: datetime, locale: str = "en", timezone: str = "UTC",
                include_year: bool = False) -> str:
    """Return date and time of a proposed slot as one phrase in the rep's locale and zone."""
    date_part = format_date_part(dt, locale, timezone, include_year)
    time_part = format_time_part(dt, locale, timezone)
    language = Locale.parse(locale).language
    if language == "de":
        return f"{date_part} um {time_part}"
    if language == "fr":
        return f"{date_part} à {time_part}"
    if language == "es":
        article = "la" if _local(dt, timezone).hour == 1 else "las"
        return f"{date_part} a {article} {time_part}"
    return f"{date_part} at {time_part}"
