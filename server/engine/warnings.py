"""Coaching warnings drawn from thread metadata."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta

from .calendar import as_utc
from .model import (
    AWAY,
    BOUNCED,
    CHASING,
    QUIET_AFTER_OURS,
    SINGLE_CONTACT,
    WENT_SILENT,
    AwayNote,
    Person,
    ThreadFacts,
    Warning,
)

# quiet_after_ours fires when the current silence is longer than both of these:
# QUIET_FACTOR times the slowest answer the prospect side gave us earlier in the thread,
# and QUIET_MIN_SILENCE (so a fast replier is not flagged after one quiet afternoon).
QUIET_FACTOR = 3
QUIET_MIN_SILENCE = timedelta(days=2)
# The chase warning starts at this many follow-ups (messages after the first unanswered one).
CHASE_MIN_FOLLOW_UPS = 2


def chasing_warning(unanswered_count: int) -> Warning | None:
    """Warn when we have followed up at least twice without an answer."""
    follow_ups = unanswered_count - 1
    if follow_ups < CHASE_MIN_FOLLOW_UPS:
        return None
    return Warning(
        code=CHASING,
        message=(
            f"You have followed up {follow_ups} times without an answer. "
            "Another nudge adds pressure; consider stepping back instead."
        ),
        count=follow_ups,
    )


def single_contact_warning(domain: str | None, senders: Iterable[str]) -> Warning | None:
    """Warn when exactly one person at the prospect's domain has ever written to us."""
    if not domain:
        return None
    people = {s.lower() for s in senders if s.lower().rpartition("@")[2] == domain}
    if len(people) != 1:
        return None
    return Warning(
        code=SINGLE_CONTACT,
        message=(
            f"Only one person at {domain} has ever written to you. "
            "They may not be the one who decides."
        ),
        count=1,
    )


def bounce_warning(dead: list[str], prospect: Person | None, recipients: int) -> Warning:
    """Say that an address bounced, and never suggest writing to it again."""
    if prospect is not None and prospect.email not in dead and (dead or recipients > 1):
        named = f" ({', '.join(dead)})" if dead else ""
        text = (f"One address bounced{named}. Write to {prospect.email}, who still receives "
                "your mail, not to the address that bounced.")
    elif dead:
        text = (f"Your message to {', '.join(dead)} bounced: the address does not work. "
                "Find another way to reach them before writing again.")
    else:
        text = ("A message in this thread bounced. Check which address failed before "
                "writing again.")
    return Warning(code=BOUNCED, message=text, count=max(1, len(dead)))


def _day(moment: date) -> str:
    return f"{moment:%b} {moment.day}"


def away_warning(note: AwayNote) -> Warning:
    """The prospect's out-of-office as a fact: when it came and when they are back."""
    back = f" until {_day(note.until)}" if note.until else ""
    return Warning(
        code=AWAY,
        message=(f"Auto-reply on {_day(note.seen_at.date())}: away{back}. The silence clock "
                 "keeps running; plan a get-back after their return instead of a chase."),
    )


def _describe(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    if hours < 48:
        whole = max(1, round(hours))
        return f"{whole} hour" if whole == 1 else f"{whole} hours"
    days = round(hours / 24)
    return f"{days} days"


def quiet_after_ours_warning(facts: ThreadFacts, now: datetime) -> Warning | None:
    """Warn when the prospect has been quiet far longer than they usually take to answer."""
    if facts.kind != WENT_SILENT or facts.silent_since is None:
        return None
    gap = facts.longest_reply_gap
    if gap is None:
        return None
    silence = as_utc(now) - facts.silent_since
    if silence <= QUIET_MIN_SILENCE or silence <= gap * QUIET_FACTOR:
        return None
    days = silence // timedelta(days=1)
    return Warning(
        code=QUIET_AFTER_OURS,
        message=(
            f"They went quiet after your last message: {days} days so far, "
            f"while earlier they answered within {_describe(gap)}. "
            "Something in it may have put them off."
        ),
        count=days,
    )


def with_time_warnings(facts: ThreadFacts, now: datetime) -> ThreadFacts:
    """Return facts whose time-dependent warnings are computed for `now`."""
    kept = tuple(w for w in facts.warnings if w.code != QUIET_AFTER_OURS)
    quiet = quiet_after_ours_warning(facts, now)
    warnings = (*kept, quiet) if quiet else kept
    if warnings == facts.warnings:
        return facts
    return replace(facts, warnings=warnings)
