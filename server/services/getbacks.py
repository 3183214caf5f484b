"""Get-back dates, cold-file entries and play events of one rep (tenant-scoped)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from server import clock
from server.engine.calendar import as_utc
from server.engine.silence import ANSWER, considered_messages
from server.errors import ApiError
from server.plays import PLAYS
from server.services.guidance import vet_thread_id
from server.services.scan import as_thread
from server.services.templates import effective_templates
from server.store.models import GetBack, Mailbox, PlayEvent, ThreadState, User
from server.store.settings import rep_settings

KINDS = ("getback", "cold_file")
SURFACES = ("extension", "addon")
ACTIVE = ("scheduled", "due")
# Beyond this a date is almost certainly a typo (and a cold file revisit rarely needs more).
MAX_AHEAD = timedelta(days=2 * 366)
NOT_FOUND = "No such get-back."


def _validate_due(due_at: datetime, now: datetime, field: str = "dueAt") -> datetime:
    if not isinstance(due_at, datetime) or due_at.tzinfo is None:
        raise ApiError(
            422, "Invalid input.", fields={field: ["Give a date and time with a UTC offset."]}
        )
    due = as_utc(due_at)
    if due <= now:
        raise ApiError(422, "Invalid input.", fields={field: ["The date must be in the future."]})
    if due - now > MAX_AHEAD:
        raise ApiError(
            422, "Invalid input.", fields={field: ["The date must be within two years."]}
        )
    return due


def _own_thread(session: Session, user: User, thread_id: str) -> ThreadState | None:
    if user.mailbox is None:
        return None
    return session.scalar(
        select(ThreadState).where(
            ThreadState.org_id == user.org_id,
            ThreadState.mailbox_id == user.mailbox.id,
            ThreadState.gmail_thread_id == thread_id,
        )
    )


def _own(session: Session, user: User, getback_id: int) -> GetBack:
    row = session.scalar(
        select(GetBack).where(
            GetBack.id == getback_id, GetBack.org_id == user.org_id, GetBack.user_id == user.id
        )
    )
    if row is None:
        # Same answer for "does not exist" and "belongs to someone else": never leak existence.
        raise ApiError(404, NOT_FOUND)
    return row


def schedule_getback(
    session: Session,
    user: User,
    *,
    thread_id: str | None,
    prospect_email: str | None,
    due_at: datetime,
    note: str = "",
    kind: str = "getback",
    recipients: Sequence[str] | None = None,
) -> GetBack:
    """Record a get-back (or cold-file revisit) date; it replaces earlier ones for the thread.

    With the draft's `recipients`, a stored thread none of them is on is not scheduled on
    (the prospect's address alone is then used, or the request is refused).
    """
    if kind not in KINDS:
        raise ApiError(422, "Invalid input.", fields={"kind": [f"Use one of: {', '.join(KINDS)}."]})
    asked = (thread_id or "").strip() or None
    thread_id = vet_thread_id(session, user, asked, recipients or ())
    prospect = (prospect_email or "").strip().lower() or None
    if asked is not None and thread_id is None and prospect is None:
        message = "This thread is not one the draft's recipients are on."
        raise ApiError(422, "Invalid input.", fields={"threadId": [message]})
    if thread_id is None and prospect is None:
        message = "Give a threadId or a prospectEmail."
        raise ApiError(422, "Invalid input.", fields={"threadId": [message]})
    due = _validate_due(due_at, clock.now())
    if thread_id is not None and prospect is None:
        row = _own_thread(session, user, thread_id)
        if row is not None and row.prospect_email:
            prospect = row.prospect_email
    earlier = select(GetBack).where(
        GetBack.org_id == user.org_id, GetBack.user_id == user.id, GetBack.status.in_(ACTIVE)
    )
    if thread_id is not None:
        earlier = earlier.where(GetBack.gmail_thread_id == thread_id)
    else:
        earlier = earlier.where(
            GetBack.gmail_thread_id.is_(None), GetBack.prospect_email == prospect
        )
    for old in session.scalars(earlier):
        # Rescheduling replaces the previous date rather than stacking reminders.
        old.status = "cancelled"
    getback = GetBack(
        org_id=user.org_id,
        user_id=user.id,
        gmail_thread_id=thread_id,
        prospect_email=prospect,
        kind=kind,
        due_at=due,
        note=note or "",
        status="scheduled",
    )
    session.add(getback)
    session.flush()
    return getback


def update_getback(
    session: Session,
    user: User,
    getback_id: int,
    *,
    due_at: datetime | None = None,
    note: str | None = None,
) -> GetBack:
    """Move a get-back's date or change its note; 404 unless it is the rep's own."""
    row = _own(session, user, getback_id)
    if row.status not in ACTIVE:
        raise ApiError(409, f"This get-back is {row.status} and can no longer be changed.")
    if due_at is not None:
        row.due_at = _validate_due(due_at, clock.now())
        # A new future date puts a reminded get-back back to sleep.
        row.status = "scheduled"
        row.reminded_at = None
    if note is not None:
        row.note = note
    session.flush()
    return row


def cancel_getback(session: Session, user: User, getback_id: int) -> GetBack:
    """Cancel a get-back (idempotent for one already cancelled); 404 unless the rep's own."""
    row = _own(session, user, getback_id)
    if row.status == "done":
        raise ApiError(409, "This get-back is already done.")
    row.status = "cancelled"
    session.flush()
    return row


def list_getbacks(
    session: Session, user: User, *, now: datetime, due_only: bool = False
) -> list[GetBack]:
    """The rep's active get-backs, soonest first; `due_only` keeps those whose date has come."""
    query = select(GetBack).where(
        GetBack.org_id == user.org_id, GetBack.user_id == user.id, GetBack.status.in_(ACTIVE)
    )
    if due_only:
        query = query.where(GetBack.due_at <= as_utc(now))
    return list(session.scalars(query.order_by(GetBack.due_at, GetBack.id)))


def due_getbacks_with_threads(
    session: Session, user: User, now: datetime
) -> list[tuple[GetBack, ThreadState | None]]:
    """The rep's get-backs due by `now`, each with its stored thread (None when not synced)."""
    due = list_getbacks(session, user, now=now, due_only=True)
    ids = [gb.gmail_thread_id for gb in due if gb.gmail_thread_id]
    rows: dict[str, ThreadState] = {}
    if ids and user.mailbox is not None:
        found = session.scalars(
            select(ThreadState).where(
                ThreadState.org_id == user.org_id,
                ThreadState.mailbox_id == user.mailbox.id,
                ThreadState.gmail_thread_id.in_(ids),
            )
        )
        rows = {row.gmail_thread_id: row for row in found}
    return [(gb, rows.get(gb.gmail_thread_id or "")) for gb in due]


def record_play(
    session: Session,
    user: User,
    *,
    thread_id: str | None,
    play: str,
    variant: int,
    surface: str,
    recipients: Sequence[str] | None = None,
) -> PlayEvent:
    """Remember that the rep inserted a play (admin stats; answers are matched after syncs).

    With the draft's `recipients`, a stored thread none of them is on is not counted: the
    play is recorded without a thread rather than against the wrong one.
    """
    if play not in PLAYS:
        raise ApiError(422, "Invalid input.", fields={"play": [f"Unknown play {play!r}."]})
    if surface not in SURFACES:
        fields = {"surface": [f"Use one of: {', '.join(SURFACES)}."]}
        raise ApiError(422, "Invalid input.", fields=fields)
    count = len(effective_templates(session, user).get(play, ()))
    if isinstance(variant, bool) or not isinstance(variant, int) or not 0 <= variant < count:
        fields = {"variant": [f"Play {play!r} has variants 0 to {count - 1}."]}
        raise ApiError(422, "Invalid input.", fields=fields)
    event = PlayEvent(
        org_id=user.org_id,
        user_id=user.id,
        gmail_thread_id=vet_thread_id(session, user, thread_id, recipients or ()),
        play=play,
        variant=variant,
        surface=surface,
        created_at=clock.now(),
    )
    session.add(event)
    session.flush()
    return event


def mark_answers(session: Session, mailbox: Mailbox) -> int:
    """After a sync, stamp play events whose prospect answered afterwards; return how many."""
    user = mailbox.user
    events = list(
        session.scalars(
            select(PlayEvent).where(
                PlayEvent.org_id == mailbox.org_id,
                PlayEvent.user_id == mailbox.user_id,
                PlayEvent.answered_at.is_(None),
                PlayEvent.gmail_thread_id.is_not(None),
            )
        )
    )
    if not events:
        return 0
    ctx = rep_settings(user).context
    answers: dict[str, list[datetime]] = {}
    marked = 0
    for event in events:
        tid = str(event.gmail_thread_id)
        if tid not in answers:
            row = session.scalar(
                select(ThreadState).where(
                    ThreadState.org_id == mailbox.org_id,
                    ThreadState.mailbox_id == mailbox.id,
                    ThreadState.gmail_thread_id == tid,
                )
            )
            msgs = considered_messages(as_thread(row), ctx) if row is not None else []
            answers[tid] = [m.at for m in msgs if m.role == ANSWER]
        after = [at for at in answers[tid] if at > as_utc(event.created_at)]
        if after:
            event.answered_at = min(after)
            marked += 1
    session.flush()
    return marked
