"""Pick a handful of the demo rep's prospects that show the panel's different moods."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.engine.model import Person
from server.services.guidance import compose_guidance
from server.services.scan import scan_user
from server.store.models import ThreadState, User

SILENT_EXAMPLES = 4
LIVE_TRIES = 40


def _entry(person: Person, thread_id: str, subject: str, label: str) -> dict[str, Any]:
    return {
        "email": person.email,
        "name": person.name,
        "threadId": thread_id,
        "subject": subject,
        "label": label,
    }


def demo_prospects(session: Session, rep: User, now: datetime) -> list[dict[str, Any]]:
    """Silent prospects first, then one who waits for a reply, then a live conversation."""
    result = scan_user(session, rep, now)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    quiet = 0
    for verdict in result.silent:
        f = verdict.facts
        if f.prospect is None or f.prospect.email in seen:
            continue
        # The demo mailbox has one prospect whose display name is markup; show it as text.
        if "<" in f.prospect.name:
            label = "A hostile display name"
        elif quiet < SILENT_EXAMPLES:
            quiet += 1
            label = "Went quiet" if f.kind == "went_silent" else "Never replied"
        else:
            continue
        out.append(_entry(f.prospect, f.thread_id, f.subject, label))
        seen.add(f.prospect.email)
    for owed in result.reply_owed[:1]:
        f = owed.facts
        who = f.reply_owed_from or f.prospect
        if who is not None and who.email not in seen:
            out.append(_entry(who, f.thread_id, f.subject, "Waiting for your reply"))
            seen.add(who.email)
    rows = session.scalars(
        select(ThreadState)
        .where(
            ThreadState.org_id == rep.org_id,
            ThreadState.mailbox_id == (rep.mailbox.id if rep.mailbox else -1),
            ThreadState.prospect_email.is_not(None),
        )
        .order_by(ThreadState.last_message_at.desc().nulls_last())
        .limit(LIVE_TRIES)
    )
    for row in rows:
        email = str(row.prospect_email)
        if email in seen:
            continue
        g = compose_guidance(session, rep, recipients=[email], thread_id=None, now=now)
        if g.state == "live" and g.prospect is not None:
            out.append(_entry(g.prospect, str(row.gmail_thread_id), g.subject, "Conversation open"))
            break
    return out
