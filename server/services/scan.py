"""Run the engine over a rep's stored thread states (what the API, add-on and CLI show)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.engine.model import ScanResult, ThreadFacts
from server.engine.silence import analyze_thread, domain_sender_index, scan
from server.store.models import GetBack, ThreadState, User
from server.store.settings import RepSettings, rep_settings


def stored_threads(session: Session, user: User) -> list[dict[str, Any]]:
    """The rep's stored threads in the Gmail metadata shape the engine reads."""
    if user.mailbox is None:
        return []
    rows = session.scalars(
        select(ThreadState).where(
            ThreadState.mailbox_id == user.mailbox.id, ThreadState.org_id == user.org_id
        )
    )
    return [as_thread(row) for row in rows]


def as_thread(row: ThreadState) -> dict[str, Any]:
    """Rebuild a metadata-shaped thread from its stored state."""
    return {"id": row.gmail_thread_id, "historyId": row.history_id or "", "messages": row.messages}


def active_getbacks(session: Session, user: User) -> dict[str, datetime]:
    """Thread id → the latest scheduled get-back (or cold-file revisit) date of this rep."""
    rows = session.scalars(
        select(GetBack).where(
            GetBack.user_id == user.id,
            GetBack.org_id == user.org_id,
            GetBack.status == "scheduled",
            GetBack.gmail_thread_id.is_not(None),
        )
    )
    out: dict[str, datetime] = {}
    for row in rows:
        tid = str(row.gmail_thread_id)
        if tid not in out or row.due_at > out[tid]:
            out[tid] = row.due_at
    return out


def scan_user(
    session: Session, user: User, now: datetime, settings: RepSettings | None = None
) -> ScanResult:
    """Silent prospects and reply-owed threads of one rep under the settings in force."""
    settings = settings or rep_settings(user)
    threads = stored_threads(session, user)
    return scan(
        threads,
        settings.context,
        now,
        settings.threshold,
        getbacks=active_getbacks(session, user),
        reply_target_hours=settings.reply_target_hours,
        horizon_days=settings.horizon_days,
    )


def thread_facts(
    session: Session,
    user: User,
    thread_id: str,
    now: datetime,
    settings: RepSettings | None = None,
) -> ThreadFacts | None:
    """Facts of one of the rep's threads, with mailbox-wide warnings; None if unknown."""
    if user.mailbox is None:
        return None
    row = session.scalar(
        select(ThreadState).where(
            ThreadState.mailbox_id == user.mailbox.id,
            ThreadState.org_id == user.org_id,
            ThreadState.gmail_thread_id == thread_id,
        )
    )
    if row is None:
        return None
    settings = settings or rep_settings(user)
    index = domain_sender_index(stored_threads(session, user), settings.context)
    return analyze_thread(as_thread(row), settings.context, index, now=now)
