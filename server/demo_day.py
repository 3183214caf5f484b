"""Demo data for the toolbar popup: get-back dates the demo rep agreed on that are due today.

Called once after the demo mailbox is synced (the get-backs point at real synced threads).
Kept apart from server/demo.py, which seeds orgs, teams and users.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.engine.calendar import as_utc
from server.services.scan import scan_user
from server.store.models import GetBack, User
from server.store.settings import rep_settings

# Local times the demo rep "agreed" with two prospects a week ago, earliest first.
AGREED = (time(9, 0), time(11, 30))
NOTES = (
    "Agreed on the call to talk again today, to close this either way.",
    "Said they would know after their board meeting; we set today to reconnect.",
)


def _due_times(now: datetime, tz: str) -> list[datetime]:
    """Today's agreed times in the rep's zone; one still ahead moves to a half hour before now."""
    zone = ZoneInfo(tz)
    current = as_utc(now).astimezone(zone)
    half_hour = current.replace(minute=30 if current.minute >= 30 else 0, second=0, microsecond=0)
    out = []
    moved = 0
    for at in AGREED:
        due = datetime.combine(current.date(), at, tzinfo=zone)
        if due >= current:
            # Early in the day the agreed time is still ahead: make it "a little while ago".
            moved += 1
            due = half_hour - timedelta(minutes=30 * moved)
        out.append(as_utc(due))
    return sorted(out)


def seed_due_getbacks(session: Session, rep: User, now: datetime) -> list[GetBack]:
    """Give the rep two get-backs due today on silent threads (once; none if already some)."""
    existing = session.scalar(
        select(GetBack.id).where(GetBack.user_id == rep.id, GetBack.org_id == rep.org_id)
    )
    if existing is not None:
        return []
    settings = rep_settings(rep)
    picked: list[tuple[str, str]] = []
    for verdict in scan_user(session, rep, now, settings).silent:
        f = verdict.facts
        if f.kind != "went_silent" or f.prospect is None or not f.prospect.name.isascii():
            continue
        if any(email == f.prospect.email for _, email in picked):
            continue
        picked.append((f.thread_id, f.prospect.email))
        if len(picked) == len(AGREED):
            break
    rows = [
        GetBack(
            org_id=rep.org_id,
            user_id=rep.id,
            gmail_thread_id=thread_id,
            prospect_email=email,
            kind="getback",
            due_at=due,
            note=note,
            status="scheduled",
            created_at=as_utc(now) - timedelta(days=7),
        )
        for (thread_id, email), due, note in zip(
            picked, _due_times(now, settings.timezone), NOTES, strict=False
        )
    ]
    session.add_all(rows)
    session.flush()
    return rows
