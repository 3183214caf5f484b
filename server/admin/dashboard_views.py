"""The dashboard (silent prospects per rep, plays and answers) and the audit log."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import request
from sqlalchemy import func, select

from server import clock
from server.admin.chart import BUCKETS, bucket_index, stacked_bars
from server.admin.common import bp, db, org, page, people_of_org
from server.plays import PLAYS
from server.services.scan import scan_user
from server.store.models import AuditLog, PlayEvent
from server.store.settings import rep_settings

AUDIT_PAGE_SIZE = 100


@dataclass
class RepRow:
    """One rep's silent prospects by age bucket."""

    name: str
    email: str
    threshold: int
    counts: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    reply_owed: int = 0
    problem: str = ""

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class PlayRow:
    """How often a play was used and how often the prospect answered afterwards."""

    play: str
    title: str
    used: int
    answered: int

    @property
    def rate(self) -> str:
        return f"{100 * self.answered / self.used:.0f}%" if self.used else "–"


def rep_rows() -> list[RepRow]:
    """Scan every connected rep of the org under the settings in force now."""
    now = clock.now()
    rows = []
    for user in people_of_org():
        if user.mailbox is None:
            continue
        try:
            settings = rep_settings(user)
        except ValueError as exc:
            rows.append(RepRow(user.name or user.email, user.email, 0, problem=str(exc)))
            continue
        row = RepRow(user.name or user.email, user.email, settings.threshold.days)
        result = scan_user(db(), user, now, settings)
        for verdict in result.silent:
            row.counts[bucket_index(verdict.days_silent)] += 1
        row.reply_owed = len(result.reply_owed)
        rows.append(row)
    return rows


def play_rows() -> list[PlayRow]:
    """Plays inserted in this org, most used first."""
    query = (
        select(PlayEvent.play, func.count(PlayEvent.id), func.count(PlayEvent.answered_at))
        .where(PlayEvent.org_id == org().id)
        .group_by(PlayEvent.play)
    )
    rows = [
        PlayRow(play, PLAYS[play].title if play in PLAYS else play, int(used), int(answered))
        for play, used, answered in db().execute(query).all()
    ]
    return sorted(rows, key=lambda r: (-r.used, r.play))


@bp.get("/")
def dashboard() -> tuple[str, int]:
    """Silent prospects per rep by age, and which plays got answers."""
    reps = rep_rows()
    chart = stacked_bars(
        [(r.name, r.counts) for r in reps if not r.problem],
        "Silent prospects per rep, by how long they have been silent",
    )
    return page(
        "admin/dashboard.html",
        reps=reps,
        chart=chart,
        buckets=BUCKETS,
        plays=play_rows(),
        now=clock.now(),
    )


@bp.get("/audit")
def audit_log() -> tuple[str, int]:
    """Every settings change in the org, newest first."""
    raw = request.args.get("page", "1")
    number = int(raw) if raw.isdigit() and 0 < int(raw) < 100000 else 1
    total = int(
        db().scalar(select(func.count(AuditLog.id)).where(AuditLog.org_id == org().id)) or 0
    )
    entries = list(
        db().scalars(
            select(AuditLog)
            .where(AuditLog.org_id == org().id)
            .order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
            .offset((number - 1) * AUDIT_PAGE_SIZE)
            .limit(AUDIT_PAGE_SIZE)
        )
    )
    pages = max(1, -(-total // AUDIT_PAGE_SIZE))
    return page("admin/audit.html", entries=entries, number=number, pages=pages, total=total)
