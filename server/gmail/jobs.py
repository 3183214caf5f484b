"""Background work on one mailbox: sync it, renew its Gmail watch; and a small bounded pool.

Every job opens its own database session and never raises: it reports what happened as an
Outcome, marks a mailbox whose grant is gone as "reconnect needed", and leaves transient
failures (Gmail 5xx after retries, the token endpoint down, the database restarting) to the
next push or the next scheduler poll.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError

from server.gmail.client import AuthRevoked, Backoff, GmailClient, GmailError
from server.gmail.credentials import (
    AuthUnavailable,
    ReconnectNeeded,
    fresh_credentials,
    mark_reconnect_needed,
)
from server.gmail.pacing import Clock, ProjectGovernor, QuotaGate, UserPacer, WaitFn
from server.gmail.quota import QUOTA_TABLES
from server.gmail.sync import holder_name, release_lease, sync_with_lease
from server.store.db import get_db
from server.store.models import Mailbox
from server.store.settings import horizon_days, rep_settings

log = logging.getLogger(__name__)

# Mailboxes in this state wait for the rep to reconnect; jobs leave them alone.
PARKED = ("reconnect_needed", "disconnected")


@dataclass
class Outcome:
    """What a job did to one mailbox."""

    mailbox_id: int
    result: str  # synced | busy | reconnect_needed | error | skipped | renewed
    detail: str = ""
    threads_stored: int = 0
    mode: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in ("", 0) or k == "mailbox_id"}


def quota_gate(
    app: Flask, *, clock: Clock | None = None, on_wait: WaitFn | None = None
) -> tuple[QuotaGate, Any]:
    """The pacer for one mailbox and the project-wide governor, from the configuration."""
    table = QUOTA_TABLES[str(app.config.get("GMAIL_QUOTA_TABLE") or "may2026")]
    clock = clock or Clock()
    per_user = app.config.get("GMAIL_USER_UNITS_PER_MINUTE") or table.units_per_user_minute
    engine = get_db(app).engine
    governor = ProjectGovernor(
        engine,
        # SQLite serves one instance: count in this process (see ProjectGovernor).
        memory_key=str(engine.url) if engine.dialect.name == "sqlite" else None,
        units_per_minute=int(app.config.get("GMAIL_PROJECT_UNITS_PER_MINUTE") or 1_200_000),
        units_per_day=int(app.config.get("GMAIL_PROJECT_UNITS_PER_DAY") or 80_000_000),
        clock=clock,
    )
    gate = QuotaGate(UserPacer(int(per_user), clock=clock), governor, on_wait=on_wait)
    return gate, table


def make_client(
    app: Flask,
    creds: Any,
    *,
    api_endpoint: str | None = None,
    clock: Clock | None = None,
    on_wait: WaitFn | None = None,
) -> GmailClient:
    """A GmailClient with the configured backoff, per-user pacing and project governor."""
    clock = clock or Clock()
    backoff = Backoff(
        attempts=int(app.config.get("GMAIL_RETRY_ATTEMPTS", 8)),
        base=float(app.config.get("GMAIL_BACKOFF_BASE", 1.0)),
        cap=float(app.config.get("GMAIL_BACKOFF_CAP", 64.0)),
        sleep=clock.sleep,
    )
    gate, table = quota_gate(app, clock=clock, on_wait=on_wait)
    endpoint = api_endpoint or app.config.get("GMAIL_API_ENDPOINT")
    return GmailClient(creds, api_endpoint=endpoint, backoff=backoff, gate=gate, quota=table)


def _client(app: Flask, creds: Any) -> GmailClient:
    return make_client(app, creds)


def sync_mailbox(app: Flask, mailbox_id: int) -> Outcome:
    """Incremental (or full) sync of one mailbox under its lease; never raises."""
    try:
        return _sync(app, mailbox_id)
    except SQLAlchemyError as exc:
        # The database went away mid-sync (a restart, a failover). Give the lease back as
        # soon as it is reachable again, so the next push or poll is not locked out for the
        # whole lease time; the push that started us is still owed (last_push_at).
        log.warning("mailbox %s: database error during sync: %s", mailbox_id, type(exc).__name__)
        _release_after_failure(app, mailbox_id)
        return Outcome(mailbox_id, "error", "database unavailable")


def _release_after_failure(app: Flask, mailbox_id: int, attempts: int = 8) -> None:
    holder = holder_name()
    for attempt in range(attempts):
        try:
            with get_db(app).session() as session:
                release_lease(session, mailbox_id, holder)
                # A push may have arrived while we ran; whether it was applied is unknown,
                # so flag the mailbox and let the scheduler's poll sync it again.
                session.execute(
                    update(Mailbox)
                    .where(Mailbox.id == mailbox_id, Mailbox.status.not_in(PARKED))
                    .values(status="error", last_error="the database was unavailable during a sync")
                )
            return
        except SQLAlchemyError:
            time.sleep(min(2.0, 0.25 * 2**attempt))
    log.warning("mailbox %s: lease left to expire after a database outage", mailbox_id)


def _open(
    app: Flask, session: Any, mailbox_id: int, *, note_auth_error: bool
) -> tuple[Mailbox, Any] | Outcome:
    """The mailbox and fresh credentials for it, or the Outcome that ends the job here."""
    mailbox = session.get(Mailbox, mailbox_id)
    if mailbox is None:
        return Outcome(mailbox_id, "skipped", "no such mailbox")
    if mailbox.status in PARKED:
        return Outcome(mailbox_id, "skipped", "waiting for the rep to reconnect")
    try:
        return mailbox, fresh_credentials(app, mailbox)
    except ReconnectNeeded as exc:
        mark_reconnect_needed(session, mailbox_id, str(exc))
        return Outcome(mailbox_id, "reconnect_needed", str(exc))
    except AuthUnavailable as exc:
        if note_auth_error:
            _note_error(session, mailbox_id, str(exc))
        return Outcome(mailbox_id, "error", str(exc))


def _sync(app: Flask, mailbox_id: int) -> Outcome:
    with get_db(app).session() as session:
        opened = _open(app, session, mailbox_id, note_auth_error=True)
        if isinstance(opened, Outcome):
            return opened
        mailbox, creds = opened
        ctx = rep_settings(mailbox.user).context
        with _client(app, creds) as client:
            try:
                report = sync_with_lease(
                    session, mailbox, client, ctx, horizon_days=horizon_days(mailbox.user)
                )
            except AuthRevoked as exc:
                # MailboxSync already marked the mailbox; drop the cached token too.
                mark_reconnect_needed(session, mailbox_id, str(exc))
                return Outcome(mailbox_id, "reconnect_needed", str(exc))
            except GmailError as exc:
                return Outcome(mailbox_id, "error", str(exc))
        if report is None:
            return Outcome(mailbox_id, "busy", "another worker is syncing this mailbox")
        _mark_answers(session, mailbox)
        detail = ""
        if report.pending:
            detail = f"{report.pending} threads pending"
        if report.deferred_until is not None:
            detail = f"waiting for Gmail quota until {report.deferred_until:%Y-%m-%d %H:%M} UTC"
        return Outcome(
            mailbox_id,
            "synced",
            detail=detail,
            mode=report.mode,
            threads_stored=report.threads_stored,
        )


def _mark_answers(session: Any, mailbox: Mailbox) -> None:
    """Stamp play events whose prospect answered (admin statistics); best effort."""
    try:
        from server.services.getbacks import mark_answers
    except ImportError:  # pragma: no cover - the service layer is optional for jobs
        return
    try:
        mark_answers(session, mailbox)
        session.commit()
    except Exception:  # noqa: BLE001 - statistics must never fail a sync
        session.rollback()
        log.exception("mailbox %s: could not match answers to plays", mailbox.id)


def _note_error(session: Any, mailbox_id: int, message: str) -> None:
    session.rollback()
    session.execute(update(Mailbox).where(Mailbox.id == mailbox_id).values(last_error=message))
    session.commit()


def renew_watch(app: Flask, mailbox_id: int, topic: str) -> Outcome:
    """Call users.watch for the mailbox on `topic` and store the new expiration."""
    try:
        with get_db(app).session() as session:
            opened = _open(app, session, mailbox_id, note_auth_error=False)
            if isinstance(opened, Outcome):
                return opened
            mailbox, creds = opened
            with _client(app, creds) as client:
                try:
                    answer = client.watch(topic)
                except AuthRevoked as exc:
                    mark_reconnect_needed(session, mailbox_id, str(exc))
                    return Outcome(mailbox_id, "reconnect_needed", str(exc))
                except GmailError as exc:
                    return Outcome(mailbox_id, "error", str(exc))
            mailbox.watch_expiration = _expiration(answer.get("expiration"))
            session.commit()
            return Outcome(mailbox_id, "renewed")
    except SQLAlchemyError as exc:
        log.warning("mailbox %s: database error renewing watch: %s", mailbox_id, exc)
        return Outcome(mailbox_id, "error", "database unavailable")


def disconnect_mailbox(app: Flask, mailbox_id: int) -> Outcome:
    """users.stop (end push notifications), then forget the grant; for disconnect and removal.

    Google keeps sending notifications until the watch expires unless users.stop is called
    (https://developers.google.com/gmail/api/guides/push). A stop that fails (grant already
    revoked, Gmail down) does not keep the mailbox connected: the watch then lapses within
    seven days and its notifications are ignored.
    """
    detail = ""
    try:
        with get_db(app).session() as session:
            mailbox = session.get(Mailbox, mailbox_id)
            if mailbox is None:
                return Outcome(mailbox_id, "skipped", "no such mailbox")
            try:
                with _client(app, fresh_credentials(app, mailbox)) as client:
                    client.stop()
            except (GmailError, ReconnectNeeded, AuthUnavailable) as exc:
                detail = f"users.stop failed: {exc}; the watch lapses on its own"
                log.warning("mailbox %s: %s", mailbox_id, detail)
            mailbox.watch_expiration = None
            mailbox.refresh_token_enc = None
            mailbox.status = "disconnected"
            mailbox.pending_threads = []
            mailbox.next_retry_at = None
            mailbox.full_sync_state = None
            session.commit()
    except SQLAlchemyError as exc:
        log.warning("mailbox %s: database error while disconnecting: %s", mailbox_id, exc)
        return Outcome(mailbox_id, "error", "database unavailable")
    return Outcome(mailbox_id, "disconnected" if not detail else "stop_failed", detail)


def _expiration(value: Any) -> datetime | None:
    """Gmail gives the watch expiration as epoch milliseconds (a string in JSON)."""
    try:
        return datetime.fromtimestamp(int(str(value)) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


class SyncPool:
    """A bounded in-process pool running mailbox syncs after a push has been acknowledged.

    At most `workers` syncs run at once and at most `queue_limit` wait; a mailbox already
    waiting is not queued twice (its generation bump covers the newer push). When the pool is
    full the push is still recorded (last_push_at), and the scheduler's poll catches it up.
    """

    def __init__(self, app: Flask, workers: int = 4, queue_limit: int = 200) -> None:
        self.app = app
        self.queue_limit = queue_limit
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sync")
        self._lock = threading.Lock()
        self._waiting: set[int] = set()
        self._futures: set[Future[Outcome]] = set()
        self.dropped = 0

    def submit(self, mailbox_id: int) -> bool:
        """Queue a sync; False when it was already queued or the queue is full."""
        with self._lock:
            if mailbox_id in self._waiting:
                return False
            if len(self._waiting) >= self.queue_limit:
                self.dropped += 1
                return False
            self._waiting.add(mailbox_id)
            future = self._executor.submit(self._run, mailbox_id)
            self._futures.add(future)
        future.add_done_callback(self._done)
        return True

    def _run(self, mailbox_id: int) -> Outcome:
        with self._lock:
            self._waiting.discard(mailbox_id)
        with self.app.app_context():
            return sync_mailbox(self.app, mailbox_id)

    def _done(self, future: Future[Outcome]) -> None:
        with self._lock:
            self._futures.discard(future)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until nothing is queued or running (tests, benchmarks, shutdown)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                pending = list(self._futures)
            if not pending:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            for future in pending:
                try:
                    future.result(timeout=max(0.01, remaining))
                except Exception:  # noqa: BLE001,S110 - outcomes are logged by the job itself
                    pass

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=False)


_pool_lock = threading.Lock()


def sync_pool(app: Flask) -> SyncPool:
    """The app's pool, created on first use (after gunicorn forked the worker)."""
    with _pool_lock:
        pool = app.extensions.get("stepback_sync_pool")
        if pool is None:
            pool = SyncPool(
                app,
                workers=int(app.config.get("PUSH_SYNC_WORKERS", 4)),
                queue_limit=int(app.config.get("PUSH_SYNC_QUEUE", 200)),
            )
            app.extensions["stepback_sync_pool"] = pool
    return pool
