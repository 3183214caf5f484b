"""The scheduler endpoints. Each is a POST with a Cloud Scheduler OIDC token and answers JSON.

- `POST /tasks/renew-watches`: users.watch for every connected mailbox whose watch ends within
  WATCH_RENEW_WITHIN_HOURS (Gmail watches last 7 days; Google asks for a daily renewal).
- `POST /tasks/poll-quiet-mailboxes`: sync mailboxes that owe a sync (a push newer than the
  last sync, e.g. one a full pool or a restart dropped) or whose pushes went quiet.
- `POST /tasks/due-getbacks`: get-back dates that have come are marked due (the rep's panel
  and add-on list them); answers who has what due.

Each run is bounded: at most `limit` mailboxes (query string or JSON body, default 500) and
TASK_BUDGET_SECONDS of work; `more: true` says the next run has more to do.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import or_, select, update
from sqlalchemy.orm import selectinload

from server import clock
from server.auth.oidc_verify import require_service_token
from server.errors import ApiError
from server.gmail.credentials import has_grant
from server.gmail.jobs import PARKED, Outcome, renew_watch, sync_mailbox
from server.store.db import get_session
from server.store.models import GetBack, Mailbox, Org, User, utcnow

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

DEFAULT_LIMIT = 500
MAX_LIMIT = 5000
MAX_LISTED_FAILURES = 50


@bp.before_request
def _only_the_scheduler() -> None:
    require_service_token(
        request, audience_key="SCHEDULER_AUDIENCE", account_key="SCHEDULER_SERVICE_ACCOUNT"
    )


def _limit() -> int:
    raw: Any = request.args.get("limit")
    if raw is None and request.content_length:
        body = request.get_json(silent=True)
        if body is None:
            raise ApiError(400, "The body must be JSON (or empty).")
        if not isinstance(body, dict):
            raise ApiError(400, "The body must be a JSON object.")
        raw = body.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    try:
        value = int(str(raw)) if not isinstance(raw, bool) else -1
    except ValueError:
        value = -1
    if not 1 <= value <= MAX_LIMIT:
        raise ApiError(
            422, "Invalid input.", fields={"limit": [f"Give a whole number from 1 to {MAX_LIMIT}."]}
        )
    return value


def run_bounded(ids: list[int], job: Callable[[int], Outcome]) -> tuple[list[Outcome], int]:
    """Run `job` over ids with a few threads and a time budget; return (outcomes, not run)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    workers = max(1, int(app.config.get("TASK_WORKERS", 4)))
    deadline = time.monotonic() + float(app.config.get("TASK_BUDGET_SECONDS", 240))

    def in_context(mailbox_id: int) -> Outcome:
        with app.app_context():
            return job(mailbox_id)

    outcomes: list[Outcome] = []
    queue = list(ids)
    running: set[Future[Outcome]] = set()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="task") as pool:
        while queue or running:
            while queue and len(running) < workers and time.monotonic() < deadline:
                running.add(pool.submit(in_context, queue.pop(0)))
            if not running:
                break
            done, running = wait(running, return_when=FIRST_COMPLETED)
            outcomes.extend(f.result() for f in done)
    return outcomes, len(queue)


def _summary(outcomes: list[Outcome], left: int, checked: int) -> dict[str, Any]:
    counts = Counter(o.result for o in outcomes)
    failures = [o.to_dict() for o in outcomes if o.result in ("error", "reconnect_needed")]
    return {
        "checked": checked,
        "results": dict(sorted(counts.items())),
        "failures": failures[:MAX_LISTED_FAILURES],
        "more": left > 0,
    }


def _connected(session: Any, query: Any, limit: int) -> tuple[list[int], bool]:
    """Mailbox ids of `query` that hold a usable grant, at most `limit` (and whether more)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    ids: list[int] = []
    # has_grant reads the mailbox's user and org: load them with the mailboxes.
    query = query.options(selectinload(Mailbox.user).selectinload(User.org))
    for mailbox in session.scalars(query):
        if has_grant(app, mailbox):
            if len(ids) == limit:
                return ids, True
            ids.append(mailbox.id)
    return ids, False


def enroll_delegated(session: Any) -> int:
    """Give every user of an org using domain-wide delegation a mailbox row; return how many."""
    users = session.scalars(
        select(User)
        .join(Org, Org.id == User.org_id)
        .where(Org.dwd_enabled.is_(True))
        .outerjoin(Mailbox, Mailbox.user_id == User.id)
        .where(Mailbox.id.is_(None))
    ).all()
    for user in users:
        session.add(Mailbox(org_id=user.org_id, user_id=user.id, email=user.email, auth_kind="dwd"))
    session.commit()
    return len(users)


@bp.post("/renew-watches")
def renew_watches() -> ResponseReturnValue:
    """Renew the Gmail watch of connected mailboxes whose watch ends soon."""
    limit = _limit()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    topic = str(app.config.get("PUBSUB_TOPIC") or "")
    if not topic:
        raise ApiError(503, "Push is not configured: set PUBSUB_TOPIC.", reason="not_configured")
    session = get_session()
    enrolled = enroll_delegated(session)
    hours = float(app.config.get("WATCH_RENEW_WITHIN_HOURS", 144))
    horizon = utcnow() + timedelta(hours=hours)
    query = (
        select(Mailbox)
        .where(
            Mailbox.status.not_in(PARKED),
            or_(Mailbox.watch_expiration.is_(None), Mailbox.watch_expiration < horizon),
        )
        .order_by(Mailbox.watch_expiration.asc().nulls_first(), Mailbox.id)
    )
    ids, more = _connected(session, query, limit)
    session.close()
    outcomes, left = run_bounded(ids, lambda mid: renew_watch(app, mid, topic))
    body = _summary(outcomes, left + int(more), len(ids))
    body["enrolled"] = enrolled
    return jsonify(body)


@bp.post("/poll-quiet-mailboxes")
def poll_quiet_mailboxes() -> ResponseReturnValue:
    """Sync mailboxes that owe a sync or have not been heard from for a while."""
    limit = _limit()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    quiet = utcnow() - timedelta(hours=float(app.config.get("POLL_QUIET_HOURS", 6)))
    query = (
        select(Mailbox)
        .where(
            Mailbox.status.not_in(PARKED),
            or_(
                Mailbox.last_sync_at.is_(None),
                Mailbox.status.in_(("new", "syncing", "error")),
                # Threads Gmail refused earlier, or quota that has come back: retry when due.
                Mailbox.status.in_(("pending", "waiting_quota"))
                & or_(Mailbox.next_retry_at.is_(None), Mailbox.next_retry_at <= utcnow()),
                Mailbox.last_push_at > Mailbox.last_sync_at,
                (Mailbox.last_sync_at < quiet)
                & or_(Mailbox.last_push_at.is_(None), Mailbox.last_push_at < quiet),
            ),
        )
        .order_by(Mailbox.last_sync_at.asc().nulls_first(), Mailbox.id)
    )
    session = get_session()
    ids, more = _connected(session, query, limit)
    session.close()
    outcomes, left = run_bounded(ids, lambda mid: sync_mailbox(app, mid))
    return jsonify(_summary(outcomes, left + int(more), len(ids)))


@bp.post("/due-getbacks")
def due_getbacks() -> ResponseReturnValue:
    """Mark get-back dates that have come as due; list them per rep."""
    limit = _limit()
    now = clock.now()
    session = get_session()
    ids = list(
        session.scalars(
            select(GetBack.id)
            .where(GetBack.status == "scheduled", GetBack.due_at <= now)
            .order_by(GetBack.due_at, GetBack.id)
            .limit(limit + 1)
        )
    )
    more = len(ids) > limit
    ids = ids[:limit]
    # The status test in the UPDATE makes concurrent runs (or a rep rescheduling at the same
    # moment) safe: a get-back is marked due once, and a new future date wins.
    rows = session.execute(
        update(GetBack)
        .where(GetBack.id.in_(ids), GetBack.status == "scheduled", GetBack.due_at <= now)
        .values(status="due", reminded_at=now)
        .returning(GetBack.id, GetBack.user_id)
        .execution_options(synchronize_session=False)
    ).all()
    session.commit()
    by_user: dict[int, list[int]] = {}
    for getback_id, user_id in rows:
        by_user.setdefault(int(user_id), []).append(int(getback_id))
    reps = []
    if by_user:
        people = session.execute(
            select(User.id, User.email, Org.slug)
            .join(Org, Org.id == User.org_id)
            .where(User.id.in_(list(by_user)))
            .order_by(User.email)
        ).all()
        reps = [
            {"email": email, "org": slug, "getbackIds": sorted(by_user[uid])}
            for uid, email, slug in people
        ]
    return jsonify({"due": len(rows), "reps": reps, "asOf": now.isoformat(), "more": more})

