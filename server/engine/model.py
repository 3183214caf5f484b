"""Plain data types the silence engine reads and returns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

# Warning codes, kept as constants so callers can compare without typos.
CHASING = "chasing"
SINGLE_CONTACT = "single_contact"
QUIET_AFTER_OURS = "quiet_after_ours"
BOUNCED = "bounced"
AWAY = "away"

WENT_SILENT = "went_silent"
NO_REPLY_YET = "no_reply_yet"


@dataclass(frozen=True)
class Person:
    """One mailbox address with its display name ("" when absent)."""

    email: str
    name: str = ""


@dataclass(frozen=True)
class Threshold:
    """How long a thread must be quiet before it counts as silent."""

    days: int
    calendar_days: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.days, bool) or not isinstance(self.days, int) or self.days < 0:
            raise ValueError(f"threshold must be a whole number of days >= 0, got {self.days!r}")


def _normalize_domain(value: str) -> str:
    return value.strip().lstrip("@").strip().lower()


def check_timezone(name: str) -> str:
    """Return `name` when it is a loadable IANA zone; raise ValueError otherwise."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"unknown time zone: {name!r}")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone: {name!r}") from exc
    return name


@lru_cache(maxsize=64)
def _holiday_calendar_ok(country: str, subdiv: str | None) -> str | None:
    """Return an error text when the holidays library has no such calendar."""
    try:
        holidays.country_holidays(country, subdiv=subdiv, years=())
    except NotImplementedError as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class MailboxContext:
    """What the engine needs to know about the rep and the org."""

    rep_addresses: frozenset[str]
    internal_domains: frozenset[str]
    timezone: str = "UTC"
    holiday_country: str | None = None
    holiday_subdiv: str | None = None

    def __post_init__(self) -> None:
        # Normalise here too so a context built by hand behaves like default_context().
        reps = frozenset(a.strip().lower() for a in self.rep_addresses if a and a.strip())
        domains = frozenset(
            _normalize_domain(d) for d in self.internal_domains if d and _normalize_domain(d)
        )
        object.__setattr__(self, "rep_addresses", reps)
        object.__setattr__(self, "internal_domains", domains)
        check_timezone(self.timezone)
        if self.holiday_subdiv is not None and self.holiday_country is None:
            raise ValueError("a holiday subdivision needs a holiday country")
        if self.holiday_country is not None:
            country = self.holiday_country.strip().upper()
            object.__setattr__(self, "holiday_country", country)
            problem = _holiday_calendar_ok(country, self.holiday_subdiv)
            if problem:
                raise ValueError(f"unknown holiday calendar: {problem}")

    def is_internal(self, email: str) -> bool:
        """Tell whether an address belongs to the rep or the rep's org."""
        address = email.lower()
        if address in self.rep_addresses:
            return True
        _, _, domain = address.rpartition("@")
        return domain in self.internal_domains


def default_context(
    rep_address: str,
    aliases: Iterable[str] = (),
    internal_domains: Iterable[str] = (),
    timezone: str = "UTC",
    holiday_country: str | None = None,
    holiday_subdiv: str | None = None,
) -> MailboxContext:
    """Build a context; internal domains default to the rep's own domain."""
    rep = (rep_address or "").strip().lower()
    local, at, domain = rep.rpartition("@")
    if not at or not local or not domain:
        raise ValueError(f"rep address is not an email address: {rep_address!r}")
    domains = [d for d in internal_domains if d and _normalize_domain(d)] or [domain]
    return MailboxContext(
        rep_addresses=frozenset([rep, *aliases]),
        internal_domains=frozenset(domains),
        timezone=timezone,
        holiday_country=holiday_country,
        holiday_subdiv=holiday_subdiv,
    )


@dataclass(frozen=True)
class Warning:  # shadows the builtin on purpose: the public API names it so
    """A coaching hint about one thread."""

    code: str
    message: str
    count: int | None = None


@dataclass(frozen=True)
class AwayNote:
    """A prospect's out-of-office seen in the thread: when, from whom, back when (if said)."""

    seen_at: datetime
    email: str
    until: date | None = None


@dataclass(frozen=True)
class ThreadFacts:
    """Time-independent analysis of one thread."""

    thread_id: str
    subject: str
    kind: str | None
    silent_since: datetime | None
    unanswered_count: int
    prospect: Person | None
    prospect_domain: str | None
    reply_owed_since: datetime | None
    reply_owed_from: Person | None
    last_message_at: datetime | None
    last_answer_at: datetime | None
    answer_count: int
    external_senders: tuple[str, ...]
    message_count: int
    warnings: tuple[Warning, ...]
    # Longest time the prospect side took to answer one of our runs in this thread;
    # quiet_after_ours compares the current silence against it.
    longest_reply_gap: timedelta | None = None
    # The prospect's newest out-of-office since the last answer (the silence clock still runs).
    away: AwayNote | None = None
    # Addresses a bounce since the last answer named as failed.
    bounced: tuple[str, ...] = ()

    @property
    def candidate(self) -> bool:
        """Tell whether the thread has an unanswered run of our messages."""
        return self.kind is not None


@dataclass(frozen=True)
class SilentVerdict:
    """A candidate thread judged at one moment."""

    facts: ThreadFacts
    days_silent: int
    business_days_silent: int
    silent: bool


@dataclass(frozen=True)
class ReplyOwedVerdict:
    """A thread where the prospect wrote last and is waiting for us."""

    facts: ThreadFacts
    hours_waiting: float


@dataclass(frozen=True)
class ScanResult:
    """Everything one mailbox scan found."""

    silent: tuple[SilentVerdict, ...]
    reply_owed: tuple[ReplyOwedVerdict, ...]
