"""The rep's day: get-backs due, replies owed past the reply target, silent prospects.

One implementation for the extension's toolbar popup and badge (through GET /api/v1/day) and
the demo popup page. The lists and the "where things stand" sentence come from the same
services as /api/v1/prospects and the compose panel; nothing here decides silence itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from server.engine.calendar import as_utc
from server.engine.model import Person, ThreadFacts
from server.engine.silence import analyze_thread
from server.plays import company_from, format_slot
from server.services.getbacks import due_getbacks_with_threads
from server.services.guidance import hours_phrase, judge, plural, who_phrase
from server.services.scan import as_thread, scan_user
from server.store.models import GetBack, User
from server.store.settings import RepSettings, rep_settings

# The popup shows the first few silent prospects; "all" asks for up to MAX_SILENT.
DEFAULT_SILENT = 5
MAX_SILENT = 50
# How far "a week later" moves a get-back (the add-on's button does the same).
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class DayItem:
    """One row of the popup: whom it is about, the one-line state, and what to show."""

    kind: str  # "due" | "reply_owed" | "went_silent" | "no_reply_yet"
    thread_id: str | None
    subject: str
    prospect: Person | None
    sentence: str
    since: datetime | None
    detail: str  # "Agreed for Tuesday 1 December at 10:00" / "Waiting 3 days for your answer"
    hours_waiting: float | None = None
    days_silent: int | None = None
    business_days_silent: int | None = None
    getback: GetBack | None = None
    week_later: datetime | None = None


@dataclass(frozen=True)
class RepDay:
    """What the toolbar shows; `badge` counts due get-backs and owed replies only."""

    email: str
    timezone: str
    locale: str
    now: datetime
    due: list[DayItem] = field(default_factory=list)
    reply_owed: list[DayItem] = field(default_factory=list)
    silent: list[DayItem] = field(default_factory=list)
    silent_total: int = 0

    @property
    def badge(self) -> int:
        return len(self.due) + len(self.reply_owed)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "badge": self.badge,
            "due": len(self.due),
            "reply_owed": len(self.reply_owed),
            "silent": self.silent_total,
        }


def a_week_later(due_at: datetime, now: datetime) -> datetime:
    """A week after the agreed date, or after now when that date has passed long ago."""
    return max(as_utc(due_at), as_utc(now)) + WEEK


def _sentence(facts: ThreadFacts, who_: Person | None, settings: RepSettings, now: datetime) -> str:
    company = company_from(who_.email) if who_ else ""
    judged = judge(
        facts, settings, now, who_phrase(who_, company), None, settings.locale, settings.timezone
    )
    return judged.sentence


def _due_items(session: Session, user: User, settings: RepSettings, now: datetime) -> list[DayItem]:
    items = []
    for gb, row in due_getbacks_with_threads(session, user, now):
        facts = analyze_thread(as_thread(row), settings.context) if row is not None else None
        prospect = (facts.prospect or facts.reply_owed_from) if facts else None
        if prospect is None and (gb.prospect_email or (row and row.prospect_email)):
            prospect = Person(gb.prospect_email or str(row.prospect_email if row else ""), "")
        if facts is not None:
            sentence = _sentence(facts, prospect, settings, now)
        else:
            sentence = "stepback has no stored conversation for this get-back."
        label = "Cold-file revisit set for" if gb.kind == "cold_file" else "Agreed for"
        when = format_slot(
            gb.due_at, settings.locale, settings.timezone, include_year=gb.kind == "cold_file"
        )
        items.append(
            DayItem(
                kind="due",
                thread_id=gb.gmail_thread_id,
                subject=(facts.subject if facts else "") or (row.subject if row else "") or "",
                prospect=prospect,
                sentence=sentence,
                since=gb.due_at,
                detail=f"{label} {when}",
                getback=gb,
                week_later=a_week_later(gb.due_at, now),
            )
        )
    return items


def rep_day(
    session: Session, user: User, now: datetime, *, silent_limit: int = DEFAULT_SILENT
) -> RepDay:
    """The rep's day at `now`; a thread with a due get-back is listed under get-backs only."""
    settings = rep_settings(user)
    due = _due_items(session, user, settings, now)
    taken = {item.thread_id for item in due if item.thread_id}
    result = scan_user(session, user, now, settings)
    owed = []
    for waiting in result.reply_owed:
        f = waiting.facts
        if f.thread_id in taken:
            continue
        owed.append(
            DayItem(
                kind="reply_owed",
                thread_id=f.thread_id,
                subject=f.subject,
                prospect=f.reply_owed_from,
                sentence=_sentence(f, f.reply_owed_from, settings, now),
                since=f.reply_owed_since,
                detail=f"Waiting {hours_phrase(waiting.hours_waiting)} for your answer",
                hours_waiting=round(waiting.hours_waiting, 1),
            )
        )
    taken |= {item.thread_id for item in owed if item.thread_id}
    quiet = [v for v in result.silent if v.facts.thread_id not in taken]
    unit = "day" if settings.threshold.calendar_days else "business day"
    silent = []
    for verdict in quiet[: max(0, min(silent_limit, MAX_SILENT))]:
        f = verdict.facts
        measured = (
            verdict.days_silent
            if settings.threshold.calendar_days
            else verdict.business_days_silent
        )
        silent.append(
            DayItem(
                kind=str(f.kind),
                thread_id=f.thread_id,
                subject=f.subject,
                prospect=f.prospect,
                sentence=_sentence(f, f.prospect, settings, now),
                since=f.silent_since,
                detail=f"Quiet for {plural(measured, unit)}",
                days_silent=verdict.days_silent,
                business_days_silent=verdict.business_days_silent,
            )
        )
    return RepDay(
        email=user.email,
        timezone=settings.timezone,
        locale=settings.locale,
        now=as_utc(now),
        due=due,
        reply_owed=owed,
        silent=silent,
        silent_total=len(quiet),
    )
