"""Guidance for one prospect: the facts, the warnings and the plays that fit (one implementation
for the JSON API, the Gmail add-on and the admin preview)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Text, cast, or_, select
from sqlalchemy.orm import Session

from server.engine.calendar import as_utc, days_between
from server.engine.headers import parse_addresses
from server.engine.model import MailboxContext, Person, ThreadFacts, Warning
from server.engine.report import iso_z
from server.engine.silence import analyze_thread, domain_sender_index, silence_verdict
from server.engine.warnings import with_time_warnings
from server.errors import ApiError
from server.plays import (
    PLAYS,
    PlayContext,
    RenderedPlay,
    company_from,
    context_for,
    first_name_from,
    format_date_part,
    render_play,
    suggest_plays,
)
from server.plays.people import FREE_MAIL_DOMAINS
from server.plays.slots import Locale, zone
from server.services.scan import as_thread
from server.services.templates import effective_templates
from server.store.models import GetBack, ThreadState, User
from server.store.settings import RepSettings, rep_settings

STATES = ("went_silent", "no_reply_yet", "reply_owed", "live", "cold", "scheduled", "unknown")
# Default slots offered when the rep has not picked one yet.
GETBACK_BUSINESS_DAYS = 3
COLD_FILE_DAYS = 90
SLOT_HOUR = 10


@dataclass
class Guidance:
    """What stepback has to say about one prospect right now."""

    thread_id: str | None
    state: str
    prospect: Person | None
    company: str
    sentence: str
    silent: bool
    days_silent: int | None
    business_days_silent: int | None
    unanswered_count: int
    threshold_days: int
    warnings: list[Warning]
    plays: list[RenderedPlay]
    getback: GetBack | None
    nag: bool
    subject: str = ""
    calendar_days: bool = False
    proposed_at: datetime | None = None
    revisit_at: datetime | None = None
    reply_owed_since: datetime | None = None
    suggested: list[str] = field(default_factory=list)


def _bad(name: str, message: str) -> ApiError:
    return ApiError(422, "Invalid input.", fields={name: [message]})


def _zone_name(timezone: str | None, fallback: str) -> str:
    name = (timezone or "").strip() or fallback
    try:
        zone(name)
    except ValueError as exc:
        raise _bad("timezone", str(exc)) from None
    return name


def _locale_tag(locale: str | None, fallback: str) -> str:
    tag = (locale or "").strip() or fallback
    loc = Locale.parse(tag)
    return f"{loc.language}-{loc.region}" if loc.region else loc.language


def _emails(recipients: Sequence[str]) -> list[str]:
    out: list[str] = []
    for value in recipients:
        for person in parse_addresses(str(value)):
            if person.email not in out:
                out.append(person.email)
    return out


def _domain(email: str) -> str:
    return email.rpartition("@")[2]


def thread_fits(row: ThreadState, recipients: Sequence[str], ctx: MailboxContext) -> bool:
    """Whether a draft to `recipients` can be about this stored thread.

    It can when a recipient outside the org is the thread's prospect or one of its
    participants, or works at the same outside domain as one of them (a colleague of the
    prospect; free-mail domains such as gmail.com make nobody a colleague). The rep's own and
    colleagues' addresses prove nothing: they are on every thread. With no recipients at all
    there is nothing to compare, and the id stands.
    """
    given = _emails(recipients)
    if not given:
        return True
    outside = [e for e in given if not ctx.is_internal(e)]
    if not outside:
        return False
    known = {str(p).lower() for p in (row.participants or ()) if isinstance(p, str)}
    if row.prospect_email:
        known.add(row.prospect_email.lower())
    known = {e for e in known if not ctx.is_internal(e)}
    if any(e in known for e in outside):
        return True
    domains = {_domain(e) for e in known} - FREE_MAIL_DOMAINS
    return any(_domain(e) in domains for e in outside)


def _own_rows(user: User) -> Any:
    assert user.mailbox is not None
    return select(ThreadState).where(
        ThreadState.org_id == user.org_id, ThreadState.mailbox_id == user.mailbox.id
    )


def vet_thread_id(
    session: Session,
    user: User,
    thread_id: str | None,
    recipients: Sequence[str],
    ctx: MailboxContext | None = None,
) -> str | None:
    """`thread_id`, unless the rep's stored thread of that id is not one the draft is about.

    Page scripts can read the wrong id (a list row, a conversation behind a new message);
    guidance, plays and get-backs then go by the recipients instead. An id stepback has not
    stored (a thread not synced yet) cannot be checked and stands.
    """
    thread_id = (thread_id or "").strip() or None
    if thread_id is None or user.mailbox is None:
        return thread_id
    row = session.scalar(_own_rows(user).where(ThreadState.gmail_thread_id == thread_id))
    if row is None:
        return thread_id
    context = ctx if ctx is not None else rep_settings(user).context
    return thread_id if thread_fits(row, recipients, context) else None


def find_thread(
    session: Session, user: User, thread_id: str | None, emails: Sequence[str]
) -> ThreadState | None:
    """The rep's thread by id, else the newest stored thread with a recipient as prospect."""
    if user.mailbox is None:
        return None
    own = _own_rows(user)
    if thread_id:
        row = session.scalar(own.where(ThreadState.gmail_thread_id == thread_id))
        if row is not None:
            return row
    if not emails:
        return None
    newest = own.where(ThreadState.prospect_email.in_(list(emails))).order_by(
        ThreadState.last_message_at.desc().nulls_last(), ThreadState.id.desc()
    )
    return session.scalars(newest.limit(1)).first()


def active_getback(
    session: Session, user: User, thread_id: str | None, emails: Sequence[str]
) -> GetBack | None:
    """The rep's scheduled get-back for this thread or prospect; the latest date wins."""
    match = []
    if thread_id:
        match.append(GetBack.gmail_thread_id == thread_id)
    if emails:
        match.append(GetBack.prospect_email.in_(list(emails)))
    if not match:
        return None
    query = select(GetBack).where(
        GetBack.org_id == user.org_id,
        GetBack.user_id == user.id,
        GetBack.status.in_(("scheduled", "due")),
        or_(*match),
    )
    return session.scalars(query.order_by(GetBack.due_at.desc(), GetBack.id.desc())).first()


# Pure helpers called on every request with few distinct arguments.
_context = lru_cache(maxsize=1024)(context_for)


def _slot(now: datetime, tz: str, *, business_days: int = 0, days: int = 0) -> datetime:
    """A round local morning time some (business) days ahead, as aware UTC."""
    return _slot_from(as_utc(now).astimezone(zone(tz)).date(), tz, business_days, days)


@lru_cache(maxsize=1024)
def _slot_from(today: date, tz: str, business_days: int, days: int) -> datetime:
    local = today + timedelta(days=days)
    left = business_days
    while left > 0:
        local += timedelta(days=1)
        if local.weekday() < 5:
            left -= 1
    while local.weekday() >= 5:
        local += timedelta(days=1)
    return as_utc(datetime.combine(local, time(SLOT_HOUR), tzinfo=zone(tz)))


def who_phrase(prospect: Person | None, company: str) -> str:
    if prospect is None:
        return "This prospect"
    name = first_name_from(prospect.name, prospect.email) or prospect.email
    return f"{name} at {company}" if company else name


def plural(count: int, word: str) -> str:
    """A count with its word: "1 day", "3 days"."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def hours_phrase(hours: float) -> str:
    """A wait in hours under two days, else in days ("5 hours", "3 days")."""
    if hours < 48:
        return plural(max(1, round(hours)), "hour")
    return plural(round(hours / 24), "day")


def _followed_up(unanswered: int) -> str:
    follow_ups = max(0, unanswered - 1)
    if follow_ups == 0:
        return "you haven't followed up since your first message"
    return f"you've followed up {plural(follow_ups, 'time')}"


@dataclass(frozen=True)
class _Judged:
    state: str
    silent: bool
    days: int | None
    business_days: int | None
    sentence: str


def judge(
    facts: ThreadFacts,
    settings: RepSettings,
    now: datetime,
    who: str,
    getback: GetBack | None,
    locale: str,
    tz: str,
) -> _Judged:
    verdict = silence_verdict(facts, now, settings.threshold, settings.context)
    days = verdict.days_silent if verdict else None
    business = verdict.business_days_silent if verdict else None
    unit = "day" if settings.threshold.calendar_days else "business day"
    measured = days if settings.threshold.calendar_days else business
    if getback is not None and as_utc(getback.due_at) > as_utc(now):
        when = format_date_part(getback.due_at, locale, tz, include_year=True)
        if getback.kind == "cold_file":
            return _Judged(
                "cold",
                False,
                days,
                business,
                f"{who} is in your cold file until {when}; no chasing until then.",
            )
        return _Judged(
            "scheduled",
            False,
            days,
            business,
            f"You agreed to get back to {who} on {when}; stepback stays quiet until then.",
        )
    if facts.reply_owed_since is not None:
        hours = (as_utc(now) - facts.reply_owed_since).total_seconds() / 3600
        return _Judged(
            "reply_owed",
            False,
            None,
            None,
            f"{who} wrote {hours_phrase(hours)} ago and is waiting for your reply.",
        )
    if verdict is not None and verdict.silent and measured is not None:
        if facts.kind == "went_silent":
            text = f"{who} hasn't answered in {plural(measured, unit)}; "
        else:
            span = plural(measured, unit)
            text = f"{who} has never replied; it's been {span} since your first message; "
        return _Judged(
            str(facts.kind), True, days, business, text + _followed_up(facts.unanswered_count) + "."
        )
    if verdict is not None and measured is not None:
        limit = plural(settings.threshold.days, unit)
        waited = plural(measured, unit)
        text = (
            f"You last wrote to {who} {waited} ago; that is within the {limit} "
            "your team allows, so there is nothing to chase."
        )
        return _Judged(
            "live" if facts.answer_count else "no_reply_yet", False, days, business, text
        )
    if facts.answer_count and facts.last_answer_at is not None:
        ago = days_between(facts.last_answer_at, now)
        text = f"{who} last answered {plural(ago, 'day')} ago; the conversation is open."
        return _Judged("live", False, None, None, text)
    return _Judged(
        "unknown", False, None, None, f"There is no conversation with {who} to assess yet."
    )


def _render(
    play_ids: Sequence[str],
    ctx: PlayContext,
    templates: Mapping[str, Sequence[str]],
    proposed_at: datetime,
    revisit_at: datetime,
) -> list[RenderedPlay]:
    rendered: list[RenderedPlay] = []
    for play_id in play_ids:
        if play_id not in PLAYS:
            continue
        when = revisit_at if play_id == "cold_file" else proposed_at
        rendered.extend(render_play(play_id, replace(ctx, proposed_at=when), templates))
    return rendered


class _IndexCache:
    """Small LRU of per-domain sender indexes, valid while the threads behind them are unchanged."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._data: OrderedDict[Any, tuple[Any, dict[str, frozenset[str]]]] = OrderedDict()

    def get(self, key: Any, version: Any) -> dict[str, frozenset[str]] | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is None or hit[0] != version:
                return None
            self._data.move_to_end(key)
            return hit[1]

    def put(self, key: Any, version: Any, value: dict[str, frozenset[str]]) -> None:
        with self._lock:
            self._data[key] = (version, value)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


_index_cache = _IndexCache()


def domain_index(
    session: Session, user: User, ctx: MailboxContext, domain: str | None
) -> dict[str, frozenset[str]]:
    """Who at `domain` ever wrote to the rep (for the single-contact warning).

    Reads only the threads that involve someone at that domain (by their stored participant
    list) instead of the whole mailbox, and reuses the answer while none of those threads
    changed (same ids, Gmail history ids and update times).
    """
    if not domain or user.mailbox is None:
        return {}
    suffix = "@" + domain
    # The JSON text of the participant list narrows the rows in the database (a superset:
    # LIKE wildcards in a domain only add rows); the exact test follows in Python.
    rows = session.execute(
        select(
            ThreadState.id,
            ThreadState.history_id,
            ThreadState.updated_at,
            ThreadState.participants,
        ).where(
            ThreadState.org_id == user.org_id,
            ThreadState.mailbox_id == user.mailbox.id,
            cast(ThreadState.participants, Text).like(f"%{suffix}%"),
        )
    )
    matching = sorted(
        (rid, history, updated)
        for rid, history, updated, people in rows
        if any(str(p).endswith(suffix) for p in people or ())
    )
    if not matching:
        return {}
    key = (user.mailbox.id, domain, ctx)
    version = tuple(matching)
    cached = _index_cache.get(key, version)
    if cached is not None:
        return cached
    wanted = [rid for rid, _, _ in matching]
    threads = session.scalars(select(ThreadState).where(ThreadState.id.in_(wanted)))
    index = domain_sender_index([as_thread(row) for row in threads], ctx)
    _index_cache.put(key, version, index)
    return index


@dataclass(frozen=True)
class GuidanceBasis:
    """What guidance reads from the database for one request; nothing here depends on `now`.

    `facts` are the thread's facts without the time-based warnings, which `finish_guidance`
    adds for the moment asked about.
    """

    settings: RepSettings
    thread_id: str | None
    row_thread_id: str | None
    emails: tuple[str, ...]
    facts: ThreadFacts | None
    prospect: Person | None
    getback: GetBack | None
    company: str = ""
    who: str = "This prospect"


TemplateSource = Callable[[], Mapping[str, Sequence[str]]]
Renderer = Callable[
    [Sequence[str], PlayContext, TemplateSource, datetime, datetime], list[RenderedPlay]
]


def resolve_view(
    settings: RepSettings,
    locale: str | None,
    timezone: str | None,
    proposed_at: datetime | None,
) -> tuple[str, str]:
    """The zone and locale tag to present in; 422 for a bad zone or a naive proposed time."""
    tz = _zone_name(timezone, settings.timezone)
    loc = _locale_tag(locale, settings.locale)
    if proposed_at is not None and proposed_at.tzinfo is None:
        raise _bad("proposedAt", "Give a date and time with a UTC offset.")
    return tz, loc


def gather_basis(
    session: Session,
    user: User,
    *,
    recipients: Sequence[str],
    thread_id: str | None,
    settings: RepSettings | None = None,
) -> GuidanceBasis:
    """Read the thread, its facts and the active get-back that guidance is built from."""
    settings = settings or rep_settings(user)
    emails = [e for e in _emails(recipients) if not settings.context.is_internal(e)]
    asked = (thread_id or "").strip() or None
    # Defence in depth: an id of a stored thread the draft is not about is dropped here, so
    # neither the facts nor the threadId of the answer (which the panel records plays and
    # get-backs against) come from it.
    thread_id = vet_thread_id(session, user, asked, recipients, settings.context)
    row = find_thread(session, user, thread_id, emails)

    facts: ThreadFacts | None = None
    prospect: Person | None = None
    if row is not None:
        thread = as_thread(row)
        first = analyze_thread(thread, settings.context)
        index = domain_index(session, user, settings.context, first.prospect_domain)
        facts = analyze_thread(thread, settings.context, index)
        prospect = facts.prospect or facts.reply_owed_from
    if prospect is None and emails:
        prospect = Person(emails[0], "")
    gb_emails = sorted({*emails, *([prospect.email] if prospect else [])})
    getback = active_getback(session, user, row.gmail_thread_id if row else thread_id, gb_emails)
    return GuidanceBasis(
        settings=settings,
        thread_id=thread_id,
        row_thread_id=row.gmail_thread_id if row is not None else None,
        emails=tuple(emails),
        facts=facts,
        prospect=prospect,
        getback=getback,
        company=company_from(prospect.email) if prospect else "",
        who=who_phrase(prospect, company_from(prospect.email) if prospect else ""),
    )


def render_plays(
    play_ids: Sequence[str],
    ctx: PlayContext,
    templates: TemplateSource,
    proposed_at: datetime,
    revisit_at: datetime,
) -> list[RenderedPlay]:
    """Render the suggested plays with the wording in force (loaded only when needed)."""
    return _render(play_ids, ctx, templates(), proposed_at, revisit_at)


def finish_guidance(
    basis: GuidanceBasis,
    *,
    now: datetime,
    tz: str,
    loc: str,
    proposed_at: datetime | None,
    templates: TemplateSource,
    render: Renderer = render_plays,
) -> Guidance:
    """Judge the basis at `now` and render what fits (no database access of its own)."""
    settings = basis.settings
    thread_id = basis.thread_id
    facts = with_time_warnings(basis.facts, now) if basis.facts is not None else None
    prospect = basis.prospect
    getback = basis.getback

    company = basis.company
    who = basis.who
    if facts is not None:
        judged = judge(facts, settings, now, who, getback, loc, tz)
    elif getback is not None and as_utc(getback.due_at) > as_utc(now):
        judged = judge(_empty_facts(thread_id), settings, now, who, getback, loc, tz)
    else:
        text = (
            f"stepback has no stored conversation with {who} yet."
            if prospect
            else "stepback has no stored conversation with these recipients yet."
        )
        judged = _Judged("unknown", False, None, None, text)

    warnings = (
        list(facts.warnings)
        if facts is not None and judged.state in ("went_silent", "no_reply_yet")
        else []
    )
    suggested: list[str] = []
    if judged.silent:
        codes = [w.code for w in warnings]
        suggested = suggest_plays(judged.state, codes, facts.unanswered_count if facts else 0)
    elif judged.state in ("live", "reply_owed"):
        # Nothing to chase: only the plays for an open conversation (none of them pushy).
        suggested = suggest_plays(judged.state)

    slot = (
        as_utc(proposed_at)
        if proposed_at is not None
        else _after_return(facts, now, tz) or _slot(now, tz, business_days=GETBACK_BUSINESS_DAYS)
    )
    revisit = _slot(now, tz, days=COLD_FILE_DAYS)
    plays: list[RenderedPlay] = []
    if suggested:
        ctx = _context(
            prospect.name if prospect else "",
            prospect.email if prospect else "",
            settings.rep_name,
            facts.subject if facts else "",
            None,
            loc,
            tz,
        )
        plays = render(suggested, ctx, templates, slot, revisit)

    return Guidance(
        thread_id=(
            basis.row_thread_id
            if basis.row_thread_id is not None
            else ((thread_id or "").strip() or None)
        ),
        state=judged.state,
        prospect=prospect,
        company=company,
        sentence=judged.sentence,
        silent=judged.silent,
        days_silent=judged.days,
        business_days_silent=judged.business_days,
        unanswered_count=facts.unanswered_count if facts is not None else 0,
        threshold_days=settings.threshold.days,
        warnings=warnings,
        plays=plays,
        getback=getback,
        nag=judged.silent,
        subject=facts.subject if facts is not None else "",
        calendar_days=settings.threshold.calendar_days,
        proposed_at=slot if "getback_date" in suggested else None,
        revisit_at=revisit if "cold_file" in suggested else None,
        reply_owed_since=facts.reply_owed_since if facts is not None else None,
        suggested=suggested,
    )


def _after_return(facts: ThreadFacts | None, now: datetime, tz: str) -> datetime | None:
    """A get-back slot after the prospect's return: the business day after the date their
    out-of-office names, else a week after it arrived (never in the past)."""
    if facts is None or facts.away is None:
        return None
    away = facts.away
    back = away.until + timedelta(days=1) if away.until else away.seen_at.date() + timedelta(7)
    today = as_utc(now).astimezone(zone(tz)).date()
    if back <= today:
        return _slot(now, tz, business_days=1)
    return _slot_from(back, tz, 0, 0)


def compose_guidance(
    session: Session,
    user: User,
    *,
    recipients: Sequence[str],
    thread_id: str | None,
    now: datetime,
    locale: str | None = None,
    timezone: str | None = None,
    proposed_at: datetime | None = None,
) -> Guidance:
    """Guidance for the prospect of `thread_id`, or else of the newest thread with a recipient."""
    settings = rep_settings(user)
    tz, loc = resolve_view(settings, locale, timezone, proposed_at)
    basis = gather_basis(
        session, user, recipients=recipients, thread_id=thread_id, settings=settings
    )
    return finish_guidance(
        basis,
        now=now,
        tz=tz,
        loc=loc,
        proposed_at=proposed_at,
        templates=lambda: effective_templates(session, user),
    )


def _empty_facts(thread_id: str | None) -> ThreadFacts:
    return ThreadFacts(
        thread_id=thread_id or "",
        subject="",
        kind=None,
        silent_since=None,
        unanswered_count=0,
        prospect=None,
        prospect_domain=None,
        reply_owed_since=None,
        reply_owed_from=None,
        last_message_at=None,
        last_answer_at=None,
        answer_count=0,
        external_senders=(),
        message_count=0,
        warnings=(),
    )


def _iso(moment: datetime | None) -> str | None:
    return iso_z(moment) if moment is not None else None


def getback_to_dict(getback: GetBack) -> dict[str, Any]:
    """JSON-ready view of a get-back."""
    return {
        "id": getback.id,
        "kind": getback.kind,
        "threadId": getback.gmail_thread_id,
        "prospectEmail": getback.prospect_email,
        "dueAt": _iso(getback.due_at),
        "note": getback.note or "",
        "status": getback.status,
        "createdAt": _iso(getback.created_at),
    }


def guidance_to_dict(g: Guidance) -> dict[str, Any]:
    """JSON-ready guidance (camelCase keys; all text is plain data for the consumer to escape)."""
    return {
        "threadId": g.thread_id,
        "state": g.state,
        "prospect": {"email": g.prospect.email, "name": g.prospect.name} if g.prospect else None,
        "company": g.company,
        "subject": g.subject,
        "sentence": g.sentence,
        "silent": g.silent,
        "nag": g.nag,
        "daysSilent": g.days_silent,
        "businessDaysSilent": g.business_days_silent,
        "unansweredCount": g.unanswered_count,
        "thresholdDays": g.threshold_days,
        "dayMode": "calendar" if g.calendar_days else "business",
        "replyOwedSince": _iso(g.reply_owed_since),
        "warnings": [{"code": w.code, "message": w.message, "count": w.count} for w in g.warnings],
        "plays": [
            {
                "play": p.play,
                "variant": p.variant,
                "title": p.title,
                "text": p.text,
                "insertable": p.insertable,
                "channel": PLAYS[p.play].channel,
            }
            for p in g.plays
        ],
        "proposedAt": _iso(g.proposed_at),
        "revisitAt": _iso(g.revisit_at),
        "getback": getback_to_dict(g.getback) if g.getback is not None else None,
    }
