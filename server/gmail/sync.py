"""Full and incremental sync of one mailbox into per-thread, body-free state.

Full sync reads the threads the rep has written in (label SENT), newest first, back to the age
horizon, plus the newest messages of recent Primary-inbox conversations the rep has not
answered yet (for "reply owed"). Incremental sync follows history.list from the stored
historyId and falls back to a full sync when Google says the historyId has expired (404);
that full sync fetches only threads whose historyId changed.

Nothing is lost: every page is committed together with its position, threads Gmail would not
hand over are kept in `Mailbox.pending_threads` and retried (next page, next sync, the poll
task) until stored or answered 404, the stored historyId only moves past history that is
stored or pending, and a full sync prunes vanished threads only when it missed nothing.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from server.engine.headers import part_types_of
from server.engine.model import MailboxContext
from server.engine.silence import analyze_thread
from server.gmail.client import (
    BATCH_SIZE,
    METADATA_HEADERS,
    AuthRevoked,
    GmailClient,
    GmailError,
    HistoryExpired,
)
from server.gmail.pacing import QuotaDeferred, next_retry
from server.gmail.schemas import validate_message
from server.store.limits import HEADER, clean_text, clip, column_length
from server.store.models import Mailbox, SyncLock, ThreadState, utcnow

log = logging.getLogger(__name__)

SENT_LABELS = ("SENT",)
PRIMARY_LABELS = ("INBOX", "CATEGORY_PERSONAL")
KEPT_HEADERS = frozenset(h.lower() for h in METADATA_HEADERS)
ProgressFn = Callable[[str, int, int | None], None]
# The first sync reads a little past the horizon: the engine drops older runs at scan time,
# and a clock or a "now" a few days off must not hide a run that is just inside it.
HORIZON_SLACK_DAYS = 14
MAX_PENDING = 100_000  # a bound on the stored retry list (one id is ~16 characters)
MAX_TOKEN_RESTARTS = 3
FETCH_CHUNK = 50  # threads fetched between checks of the horizon (one batch)


class LeaseLost(Exception):  # noqa: N818 - a signal to stop, raised by the heartbeat
    """Another worker took the mailbox's lease: stop at once, without committing."""


@dataclass
class SyncReport:
    """What one sync did, for logs, the CLI and the settings pages."""

    mode: str = "full"
    threads_fetched: int = 0
    threads_stored: int = 0
    threads_removed: int = 0
    messages_skipped: int = 0
    errors: list[str] = field(default_factory=list)
    history_id: str | None = None
    fell_back_to_full: bool = False
    threads_unchanged: int = 0
    pending: int = 0
    deferred_until: datetime | None = None
    status: str = ""

    @property
    def done(self) -> bool:
        """True when the mailbox is fully in step (nothing pending, no sync half-way)."""
        return self.status == "ok"


def _noop(_phase: str, _done: int, _total: int | None) -> None:
    return None


def compact_thread(thread: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Keep only what the engine reads; drop (and report) malformed messages."""
    tid = str(thread.get("id", ""))
    kept: list[dict[str, Any]] = []
    problems: list[str] = []
    for raw in thread.get("messages") or []:
        message, error = validate_message(raw)
        if message is None:
            mid = raw.get("id", "?") if isinstance(raw, Mapping) else "?"
            problems.append(f"thread {tid}: message {mid}: {error}")
            continue
        # Stored bounded and clean (no NUL/control characters), the same on SQLite and
        # PostgreSQL: a stranger's header can never make the write fail.
        headers = [
            {"name": h["name"], "value": clean_text(h["value"], HEADER)}
            for h in (message.get("payload") or {}).get("headers") or []
            if str(h.get("name", "")).lower() in KEPT_HEADERS
        ]
        stored: dict[str, Any] = {
            "id": clean_text(message["id"], 256),
            "threadId": clean_text(message.get("threadId", tid), 256),
            "labelIds": [clean_text(label, 256) for label in message.get("labelIds") or []],
            "internalDate": str(message["internalDate"])[:20],
            "payload": {"headers": headers},
        }
        mime = (message.get("payload") or {}).get("mimeType")
        if isinstance(mime, str) and mime:
            stored["payload"]["mimeType"] = clean_text(mime, 256)  # multipart/report etc.
        parts = part_types_of(message, limit=20)
        if parts:  # only their MIME types: a text/calendar part marks a meeting response
            stored["payload"]["parts"] = [{"mimeType": clean_text(p, 256)} for p in parts]
        kept.append(stored)
    return {"id": tid, "historyId": str(thread.get("historyId", "")), "messages": kept}, problems


def store_thread(
    session: Session,
    mailbox: Mailbox,
    thread: Mapping[str, Any],
    ctx: MailboxContext,
    *,
    now: datetime | None = None,
) -> list[str]:
    """Analyse one fetched thread and upsert its state; return problems with its messages."""
    compact, problems = compact_thread(thread)
    if len(compact["id"]) > column_length(ThreadState.gmail_thread_id) or not compact["id"]:
        return [*problems, f"thread {compact['id'][:80]!r}: unusable thread id; skipped"]
    facts = analyze_thread(compact, ctx)
    row = session.scalar(
        select(ThreadState).where(
            ThreadState.mailbox_id == mailbox.id, ThreadState.gmail_thread_id == compact["id"]
        )
    )
    if row is None:
        row = ThreadState(
            org_id=mailbox.org_id, mailbox_id=mailbox.id, gmail_thread_id=compact["id"]
        )
        session.add(row)
    history = compact["historyId"]
    fits = history.isdigit() and len(history) <= column_length(ThreadState.history_id)
    row.history_id = history if fits else None
    row.subject = clip(ThreadState.subject, facts.subject) or ""
    row.messages = compact["messages"]
    row.participants = sorted(_participants(compact))
    row.kind = facts.kind
    row.silent_since = facts.silent_since
    row.unanswered_count = facts.unanswered_count
    row.prospect_email = clip(
        ThreadState.prospect_email,
        facts.prospect.email
        if facts.prospect
        else (facts.reply_owed_from.email if facts.reply_owed_from else None),
    )
    row.prospect_name = clip(
        ThreadState.prospect_name,
        facts.prospect.name
        if facts.prospect
        else (facts.reply_owed_from.name if facts.reply_owed_from else None),
    )
    row.reply_owed_since = facts.reply_owed_since
    row.last_message_at = facts.last_message_at
    row.last_answer_at = facts.last_answer_at
    row.warnings = [
        {"code": w.code, "message": w.message, "count": w.count} for w in facts.warnings
    ]
    row.updated_at = now or utcnow()
    return problems


def _participants(thread: Mapping[str, Any]) -> set[str]:
    from server.engine.headers import parse_addresses

    found: set[str] = set()
    for message in thread["messages"]:
        for h in message["payload"]["headers"]:
            if h["name"].lower() in ("from", "to", "cc"):
                found.update(p.email for p in parse_addresses(h["value"]))
    return found


class MailboxSync:
    """Sync one mailbox through a GmailClient into the database."""

    def __init__(
        self,
        session: Session,
        mailbox: Mailbox,
        client: GmailClient,
        ctx: MailboxContext,
        *,
        progress: ProgressFn | None = None,
        inbound_limit: int = 100,
        page_size: int = 500,
        heartbeat: Callable[[], None] | None = None,
        horizon_days: int | None = 180,
        since: datetime | None = None,
    ) -> None:
        self.session = session
        self.mailbox = mailbox
        self.client = client
        self.ctx = ctx
        self.progress = progress or _noop
        self.inbound_limit = inbound_limit
        self.page_size = page_size
        self.heartbeat = heartbeat
        self.horizon_days = horizon_days
        self.since = since
        self._singles: dict[str, str] | None = None
        self._stored_ids: set[str] | None = None

    def run(self) -> SyncReport:
        """Retry pending threads, then incremental when possible, full otherwise."""
        report = SyncReport(mode="incremental")
        try:
            self._retry_pending(report)
            self._prune_after_retry(report)
            state = self.mailbox.full_sync_state
            if self.mailbox.history_id and (not state or state.get("phase") == "retry"):
                try:
                    report = self.incremental(report)
                except HistoryExpired:
                    log.info("mailbox %s: historyId expired, running a full sync", self.mailbox.id)
                    self.session.rollback()
                    self.mailbox.full_sync_state = None
                    report = self.full(SyncReport(mode="full", errors=report.errors))
                    report.fell_back_to_full = True
            else:
                report = self.full(SyncReport(mode="full", errors=report.errors))
            return report
        except QuotaDeferred as exc:
            # Everything up to the last page is committed; resume when quota is back.
            self.session.rollback()
            self.mailbox.status = "waiting_quota"
            self.mailbox.next_retry_at = exc.until
            resume = f"{exc.until:%Y-%m-%d %H:%M} UTC"
            self.mailbox.last_error = f"{exc.why}; the sync resumes at {resume}"
            self._commit()
            report.deferred_until = exc.until
            report.status = self.mailbox.status
            report.pending = len(self.mailbox.pending_threads or [])
            return report
        except LeaseLost:
            self.session.rollback()
            raise
        except AuthRevoked as exc:
            self._mark("reconnect_needed", str(exc))
            raise
        except GmailError as exc:
            self._mark("error", str(exc))
            raise

    # -- bookkeeping -----------------------------------------------------------------------

    def _commit(self) -> None:
        """Commit the page, but only while we still hold the lease (checked in the same step)."""
        if self.heartbeat is not None:
            self.heartbeat()
        self.session.commit()

    def _mark(self, status: str, error: str | None) -> None:
        self.session.rollback()
        self.mailbox.status = status
        self.mailbox.last_error = error
        if status == "error":
            self.mailbox.next_retry_at = next_retry(utcnow(), self.mailbox.pending_attempts + 1)
        self._commit()

    def _add_pending(self, thread_ids: Iterable[str]) -> None:
        ids = list(dict.fromkeys([*(self.mailbox.pending_threads or []), *thread_ids]))
        if len(ids) > MAX_PENDING:
            log.warning("mailbox %s: %d pending threads, keeping the newest %d",
                        self.mailbox.id, len(ids), MAX_PENDING)
            ids = ids[:MAX_PENDING]
        self.mailbox.pending_threads = ids

    def _drop_pending(self, thread_ids: Iterable[str]) -> None:
        gone = set(thread_ids)
        if gone and self.mailbox.pending_threads:
            self.mailbox.pending_threads = [
                t for t in self.mailbox.pending_threads if t not in gone
            ]

    def _stored(self) -> set[str]:
        if self._stored_ids is None:
            self._stored_ids = set(
                self.session.scalars(
                    select(ThreadState.gmail_thread_id).where(
                        ThreadState.mailbox_id == self.mailbox.id
                    )
                )
            )
        return self._stored_ids

    def _store_many(
        self,
        fetched: Mapping[str, Any],
        report: SyncReport,
        stamp: datetime,
        relevant_only: bool = False,
    ) -> tuple[list[str], dict[str, int]]:
        """Store answers; return (ids still to fetch, newest message time of each stored id).

        `relevant_only` skips new threads that are neither the rep's nor Primary inbox
        (history fetched them only because Google's record named no labels).
        """
        failed: list[str] = []
        newest: dict[str, int] = {}
        done: list[str] = []
        for tid, result in fetched.items():
            report.threads_fetched += 1
            if isinstance(result, GmailError):
                if result.status == 404:
                    report.threads_removed += self._delete_threads([tid])
                    done.append(tid)
                    continue
                if isinstance(result, AuthRevoked):
                    raise result
                report.errors.append(str(result))
                failed.append(tid)
                continue
            done.append(tid)
            if not isinstance(result, Mapping) or not isinstance(result.get("messages"), list):
                report.errors.append(f"thread {tid}: answer without messages; skipped")
                report.messages_skipped += 1
                continue
            if relevant_only and tid not in self._stored() and not _relevant(result):
                continue
            problems = store_thread(self.session, self.mailbox, result, self.ctx, now=stamp)
            for problem in problems:
                log.warning("skipped malformed message: %s", problem)
            report.messages_skipped += len(problems)
            report.threads_stored += 1
            self._stored().add(tid)
            newest[tid] = _newest_ms(result)
        self._drop_pending(done)
        if failed:
            self._add_pending(failed)
        return failed, newest

    def _delete_threads(self, thread_ids: Iterable[str]) -> int:
        ids = list(thread_ids)
        if not ids:
            return 0
        result = self.session.execute(
            delete(ThreadState).where(
                ThreadState.mailbox_id == self.mailbox.id, ThreadState.gmail_thread_id.in_(ids)
            )
        )
        if self._stored_ids is not None:
            self._stored_ids.difference_update(ids)
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    # -- pending threads -------------------------------------------------------------------

    def _retry_pending(self, report: SyncReport, limit: int | None = None) -> None:
        """Fetch threads earlier syncs could not get; keep the ones Gmail still refuses."""
        mb = self.mailbox
        ids = list(mb.pending_threads or [])[: limit or None]
        if not ids:
            return
        self.progress("retrying conversations Gmail refused earlier", 0, len(ids))
        failed, _ = self._store_many(self.client.get_threads(ids), report, utcnow())
        if failed:
            mb.pending_attempts = (mb.pending_attempts or 0) + 1
            mb.next_retry_at = next_retry(utcnow(), mb.pending_attempts)
        elif not mb.pending_threads:
            mb.pending_attempts = 0
            mb.next_retry_at = None
        self._commit()
        self.progress("retrying conversations Gmail refused earlier", len(ids) - len(failed),
                      len(ids))

    def _prune_after_retry(self, report: SyncReport) -> None:
        """A full sync that missed threads prunes only once they are all fetched."""
        state = self.mailbox.full_sync_state
        if not state or state.get("phase") != "retry" or self.mailbox.pending_threads:
            return
        report.threads_removed += self._prune(datetime.fromisoformat(state["started_at"]))
        self.mailbox.full_sync_state = None
        self._set_status(report)
        self._commit()

    def _prune(self, started: datetime) -> int:
        """Drop what the last complete snapshot did not see (deleted, trashed, past horizon)."""
        stale = self.session.execute(
            delete(ThreadState).where(
                ThreadState.mailbox_id == self.mailbox.id, ThreadState.updated_at < started
            )
        )
        self._stored_ids = None
        return int(stale.rowcount or 0)  # type: ignore[attr-defined]

    # -- full sync -------------------------------------------------------------------------

    def cutoff(self) -> datetime | None:
        """The oldest time the full sync reads back to (None: everything)."""
        since = self.since or self.mailbox.sync_since
        if since is not None:
            return since
        if self.horizon_days is None:
            return None
        return utcnow() - timedelta(days=self.horizon_days + HORIZON_SLACK_DAYS)

    def full(self, report: SyncReport | None = None) -> SyncReport:
        """Snapshot the mailbox page by page, newest first, saving progress after each page."""
        report = report or SyncReport(mode="full")
        report.mode = "full"
        mb = self.mailbox
        state = dict(mb.full_sync_state or {})
        if state.get("phase") not in ("sent", "inbound"):
            profile = self.client.profile()
            cutoff = self.cutoff()
            state = {
                "phase": "sent",
                "page_token": None,
                "history_id": str(profile.get("historyId", "")),
                "started_at": utcnow().isoformat(),
                "cutoff": cutoff.isoformat() if cutoff else None,
                "done": 0,
                "failed": 0,
                "restarts": 0,
            }
            mb.status = "syncing"
            mb.full_sync_state = state
            self._commit()
        started = datetime.fromisoformat(state["started_at"])
        cutoff_ms = _ms(state.get("cutoff"))
        known = self._known_threads()
        while state["phase"] == "sent":
            try:
                items, next_token = self.client.list_threads(
                    SENT_LABELS, state["page_token"], self.page_size
                )
            except GmailError as exc:
                if not _rejected_token(exc, state["page_token"], state):
                    raise
                # Gmail no longer takes the saved token: list again from the newest thread.
                state = {**state, "page_token": None, "restarts": state["restarts"] + 1}
                self._save_state(state)
                continue
            listed = {
                str(t["id"]): str(t.get("historyId") or "")
                for t in items
                if isinstance(t, Mapping) and t.get("id")
            }
            # Unchanged since we stored it: no need to pay for it again (after a 404 this
            # makes the fallback full sync cost little more than the listing).
            unchanged = [
                tid for tid, hid in listed.items() if hid and known.get(tid, ("", 0))[0] == hid
            ]
            stamp = utcnow()
            report.threads_unchanged += len(unchanged)
            skip = set(unchanged)
            newest = {tid: known[tid][1] for tid in unchanged}
            failed: list[str] = []
            past_horizon = False
            order = list(listed)
            for start in range(0, len(order), FETCH_CHUNK):
                # Newest first: once a thread is older than the horizon, so is the rest.
                part = order[start : start + FETCH_CHUNK]
                chunk_failed, chunk_newest = self._store_many(
                    self._fetch_threads([t for t in part if t not in skip]), report, stamp
                )
                failed += chunk_failed
                newest.update(chunk_newest)
                seen = [newest[t] for t in part if t in newest]
                if seen and cutoff_ms is not None and not state.get("anchored"):
                    cutoff_ms = self._anchor(state, max(seen), cutoff_ms)
                if cutoff_ms is not None and seen and min(seen) < cutoff_ms:
                    past_horizon = True
                    break
                if start + FETCH_CHUNK < len(order):
                    self._commit()  # stored threads show up as verdicts while the page goes on
                    self.progress("threads you wrote in", state["done"] + start + len(part), None)
            # Written just before the page is committed: no write waits on a Gmail call.
            self._touch(unchanged, stamp)
            state = {
                **state,
                "page_token": next_token,
                "done": state["done"] + len(listed),
                "failed": state["failed"] + len(failed),
            }
            if next_token is None or past_horizon:
                state.update(phase="inbound", page_token=None)
            self._save_state(state)
            self.progress("threads you wrote in", state["done"], None)
            if self.mailbox.pending_threads and not failed:
                self._retry_pending(report, limit=BATCH_SIZE)
        if state["phase"] == "inbound":
            failed_inbound = self._inbound(report, started)
            state = {**state, "phase": "done", "failed": state["failed"] + failed_inbound}
        mb.history_id = state["history_id"] or mb.history_id
        if state["failed"] == 0 and not mb.pending_threads:
            report.threads_removed += self._prune(started)
            mb.full_sync_state = None
            mb.sync_since = None
            mb.last_full_sync_at = utcnow()
        else:
            # Missed threads are pending; pruning now could delete a thread we failed to
            # refresh, so it waits until they are all stored (`_prune_after_retry`).
            mb.full_sync_state = {"phase": "retry", "started_at": state["started_at"],
                                  "history_id": state["history_id"]}
        self._finish(report)
        return report

    def _anchor(self, state: dict[str, Any], newest_ms: int, cutoff_ms: int) -> int:
        """Measure the horizon from the newest mail when that is older than today.

        A mailbox whose newest mail is weeks old (an export, an idle account) keeps its whole
        horizon's worth of threads: silence is judged against its own "now", never lost.
        """
        state["anchored"] = True
        if self.since or self.mailbox.sync_since or self.horizon_days is None:
            return cutoff_ms
        now_ms = int(utcnow().timestamp() * 1000)
        if newest_ms >= now_ms:
            return cutoff_ms
        lag = now_ms - newest_ms
        moved = cutoff_ms - lag
        state["cutoff"] = datetime.fromtimestamp(moved / 1000, UTC).isoformat()
        return moved

    def _known_threads(self) -> dict[str, tuple[str, int]]:
        """Stored thread id → (historyId, newest message time in ms)."""
        rows = self.session.execute(
            select(
                ThreadState.gmail_thread_id, ThreadState.history_id, ThreadState.last_message_at
            ).where(ThreadState.mailbox_id == self.mailbox.id)
        )
        return {
            tid: (hid or "", int(last.timestamp() * 1000) if last else 0)
            for tid, hid, last in rows
        }

    def _touch(self, thread_ids: list[str], stamp: datetime) -> None:
        for start in range(0, len(thread_ids), 500):
            self.session.execute(
                update(ThreadState)
                .where(
                    ThreadState.mailbox_id == self.mailbox.id,
                    ThreadState.gmail_thread_id.in_(thread_ids[start : start + 500]),
                )
                .values(updated_at=stamp)
            )

    def _fetch_threads(self, ids: list[str]) -> dict[str, Any]:
        """threads.get (40 units) each, except one-message threads: messages.get (20 units).

        Cold outreach is mostly one message long, so listing every message once (5 units per
        500) to learn the thread sizes pays for itself many times over.
        """
        if not ids:
            return {}
        singles = self._single_message_threads()
        one = {tid: singles[tid] for tid in ids if tid in singles}
        fetched: dict[str, Any] = dict(self.client.get_threads([t for t in ids if t not in one]))
        if one:
            messages = self.client.get_messages(one.values())
            for tid, mid in one.items():
                result = messages.get(mid)
                if isinstance(result, Mapping):
                    fetched[tid] = _one_message_thread(tid, result)
                elif isinstance(result, GmailError) and result.status == 404:
                    # The message is gone; the thread may still hold others.
                    fetched.update(self.client.get_threads([tid]))
                elif result is not None:
                    fetched[tid] = result
        return fetched

    def _single_message_threads(self) -> dict[str, str]:
        """Thread id → message id for threads holding exactly one message (listed once)."""
        if self._singles is None:
            counts: dict[str, list[str]] = {}
            token: str | None = None
            restarts = 0
            while True:
                try:
                    items, token = self.client.list_messages((), token, 500)
                except GmailError as exc:
                    if exc.status != 400 or token is None or restarts >= MAX_TOKEN_RESTARTS:
                        raise
                    restarts, token, counts = restarts + 1, None, {}
                    continue
                for item in items:
                    tid, mid = str(item.get("threadId", "")), str(item.get("id", ""))
                    if tid and mid:
                        counts.setdefault(tid, []).append(mid)
                self.progress("listing your mail", sum(map(len, counts.values())), None)
                if token is None:
                    break
            self._singles = {tid: mids[0] for tid, mids in counts.items() if len(mids) == 1}
        return self._singles

    def _inbound(self, report: SyncReport, started: datetime) -> int:
        """Newest Primary-inbox messages of conversations the rep has not written in."""
        known = set(
            self.session.scalars(
                select(ThreadState.gmail_thread_id).where(
                    ThreadState.mailbox_id == self.mailbox.id, ThreadState.updated_at >= started
                )
            )
        )
        picked: dict[str, str] = {}
        token: str | None = None
        restarts = 0
        while len(picked) < self.inbound_limit:
            try:
                items, token = self.client.list_messages(PRIMARY_LABELS, token, self.page_size)
            except GmailError as exc:
                if exc.status != 400 or token is None or restarts >= MAX_TOKEN_RESTARTS:
                    raise
                restarts, token = restarts + 1, None
                continue
            for item in items:
                tid, mid = str(item.get("threadId", "")), str(item.get("id", ""))
                if tid and mid and tid not in known and tid not in picked:
                    picked[tid] = mid
                    if len(picked) >= self.inbound_limit:
                        break
            if token is None:
                break
        cutoff_ms = _ms(self._cutoff_text())
        order = list(picked.items())
        failed_total = 0
        for start in range(0, len(order), FETCH_CHUNK):
            part = order[start : start + FETCH_CHUNK]
            fetched = self.client.get_messages([mid for _, mid in part])
            by_thread: dict[str, Any] = {}
            for tid, mid in part:
                result = fetched.get(mid)
                if isinstance(result, Mapping):
                    by_thread[tid] = _one_message_thread(tid, result)
                elif result is not None:
                    by_thread[tid] = result
            failed, newest = self._store_many(by_thread, report, utcnow())
            failed_total += len(failed)
            self._commit()
            if cutoff_ms is not None and newest and min(newest.values()) < cutoff_ms:
                break  # older conversations are past the horizon
        self.progress("recent conversations waiting on you", len(picked), len(picked))
        return failed_total

    def _cutoff_text(self) -> str | None:
        state = self.mailbox.full_sync_state or {}
        value = state.get("cutoff")
        return str(value) if value else None

    def _save_state(self, state: dict[str, Any]) -> None:
        self.mailbox.full_sync_state = state
        self._commit()

    def _set_status(self, report: SyncReport) -> None:
        mb = self.mailbox
        pending = len(mb.pending_threads or [])
        if pending or mb.full_sync_state:
            mb.status = "pending"
            if mb.next_retry_at is None:
                mb.next_retry_at = next_retry(utcnow(), max(1, mb.pending_attempts or 0))
        else:
            mb.status = "ok"
            mb.next_retry_at = None
            mb.pending_attempts = 0
        report.pending = pending
        report.status = mb.status

    def _finish(self, report: SyncReport) -> None:
        mb = self.mailbox
        mb.last_sync_at = utcnow()
        self._set_status(report)
        if report.errors:
            mb.last_error = "; ".join(report.errors[:3])
        elif mb.status == "ok":
            mb.last_error = None
        mb.messages_skipped = report.messages_skipped
        mb.threads_synced = int(
            self.session.scalar(
                select(func.count()).select_from(ThreadState).where(ThreadState.mailbox_id == mb.id)
            )
            or 0
        )
        report.history_id = mb.history_id
        self._commit()

    # -- incremental sync ------------------------------------------------------------------

    def incremental(self, report: SyncReport | None = None) -> SyncReport:
        """Apply the changes since the stored historyId, page by page."""
        report = report or SyncReport(mode="incremental")
        report.mode = "incremental"
        mb = self.mailbox
        token: str | None = None
        restarts = 0
        changed = 0
        while True:
            start = str(mb.history_id)
            try:
                records, next_token, mailbox_history = self.client.list_history(start, token)
            except GmailError as exc:
                if isinstance(exc, HistoryExpired) or exc.status != 400 or token is None:
                    raise
                if restarts >= MAX_TOKEN_RESTARTS:
                    raise
                # A rejected page token: list again from the position stored so far.
                restarts, token = restarts + 1, None
                continue
            touched: set[str] = set()
            top = 0
            for record in records:
                if not isinstance(record, Mapping):
                    continue
                touched.update(_threads_worth_fetching(record, self._stored()))
                top = max(top, _as_int(record.get("id")))
            changed += len(touched)
            self.progress("changed conversations", changed, None)
            if touched:
                self._store_many(
                    self.client.get_threads(sorted(touched)), report, utcnow(), relevant_only=True
                )
            # The page's changes are stored or pending: the position may move past them.
            if next_token is None:
                newest = _as_int(mailbox_history) or top
            else:
                newest = top
            if newest > _as_int(mb.history_id):
                mb.history_id = str(newest)
            self._commit()
            token = next_token
            if token is None:
                break
        self._finish(report)
        return report


def _one_message_thread(tid: str, message: Mapping[str, Any]) -> dict[str, Any]:
    """The thread shape for a thread known to hold only the message fetched for it."""
    return {"id": tid, "historyId": message.get("historyId", ""), "messages": [message]}


def _as_int(value: Any) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return 0


def _ms(iso: str | None) -> int | None:
    if not iso:
        return None
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def _newest_ms(thread: Mapping[str, Any]) -> int:
    """The newest internalDate in a thread answer (0 when none can be read)."""
    newest = 0
    for message in thread.get("messages") or []:
        if isinstance(message, Mapping):
            newest = max(newest, _as_int(message.get("internalDate")))
    return newest


def _relevant(thread: Mapping[str, Any]) -> bool:
    """A thread the full sync would keep: the rep wrote in it, or it waits in Primary."""
    for message in thread.get("messages") or []:
        labels = message.get("labelIds") if isinstance(message, Mapping) else None
        if isinstance(labels, list) and ("SENT" in labels or set(PRIMARY_LABELS) <= set(labels)):
            return True
    return False


def _rejected_token(exc: GmailError, token: str | None, state: Mapping[str, Any]) -> bool:
    """Gmail refused a saved page token (400) and we may still list again from the top."""
    return exc.status == 400 and token is not None and state["restarts"] < MAX_TOKEN_RESTARTS


HISTORY_KEYS = ("messagesAdded", "messagesDeleted", "labelsAdded", "labelsRemoved")
WATCHED_LABELS = frozenset({"SENT", "INBOX", "CATEGORY_PERSONAL", "TRASH", "SPAM"})


def _threads_worth_fetching(record: Mapping[str, Any], stored: set[str]) -> set[str]:
    """Threads a history record touches that we keep or should start keeping.

    Google's history messages "typically" carry only `id` and `threadId` (discovery document,
    users.history), so a new message without labels is fetched: it may be the rep's.
    """
    out: set[str] = set()
    typed = False
    for key in HISTORY_KEYS:
        for entry in record.get(key) or []:
            message = entry.get("message") if isinstance(entry, Mapping) else None
            if not isinstance(message, Mapping):
                continue
            typed = True
            tid = str(message.get("threadId", ""))
            if not tid:
                continue
            if tid in stored:
                out.add(tid)
                continue
            labels = message.get("labelIds")
            changed = set(entry.get("labelIds") or []) if isinstance(entry, Mapping) else set()
            if key == "messagesAdded":
                if not isinstance(labels, list) or "SENT" in labels \
                        or set(PRIMARY_LABELS) <= set(labels):
                    out.add(tid)
            elif key in ("labelsAdded", "labelsRemoved") and changed & WATCHED_LABELS:
                out.add(tid)
    if not typed:
        # A record with only the generic `messages` list: refresh what we keep.
        for message in record.get("messages") or []:
            if isinstance(message, Mapping) and str(message.get("threadId", "")) in stored:
                out.add(str(message["threadId"]))
    return out


# -- concurrency: one worker per mailbox ------------------------------------------------------


def acquire_lease(session: Session, mailbox_id: int, holder: str, lease: timedelta) -> bool:
    """Take the mailbox's sync lease atomically; False when another live worker holds it."""
    now = utcnow()
    if session.get(SyncLock, mailbox_id) is None:
        session.add(SyncLock(mailbox_id=mailbox_id, holder="", generation=0))
        try:
            session.commit()
        except Exception:  # noqa: BLE001 - another worker created the row first
            session.rollback()
    result = session.execute(
        update(SyncLock)
        .where(
            SyncLock.mailbox_id == mailbox_id,
            (SyncLock.holder == "") | (SyncLock.acquired_at < now - lease),
        )
        .values(holder=holder, acquired_at=now)
    )
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release_lease(session: Session, mailbox_id: int, holder: str) -> None:
    """Give the lease back (only if we still hold it)."""
    session.execute(
        update(SyncLock)
        .where(SyncLock.mailbox_id == mailbox_id, SyncLock.holder == holder)
        .values(holder="", acquired_at=None)
    )
    session.commit()


def release_if_unchanged(session: Session, mailbox_id: int, holder: str, generation: Any) -> bool:
    """Give the lease back only if no push arrived since `generation` was read."""
    result = session.execute(
        update(SyncLock)
        .where(
            SyncLock.mailbox_id == mailbox_id,
            SyncLock.holder == holder,
            SyncLock.generation == generation,
        )
        .values(holder="", acquired_at=None)
    )
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def renew_lease(session: Session, mailbox_id: int, holder: str) -> None:
    """Restart the lease clock of a holder that is about to run again."""
    session.execute(
        update(SyncLock)
        .where(SyncLock.mailbox_id == mailbox_id, SyncLock.holder == holder)
        .values(acquired_at=utcnow())
    )
    session.commit()


def request_sync(session: Session, mailbox_id: int) -> int:
    """Note that new changes arrived (a push); returns the new generation number."""
    if session.get(SyncLock, mailbox_id) is None:
        session.add(SyncLock(mailbox_id=mailbox_id, holder="", generation=0))
        session.flush()
    session.execute(
        update(SyncLock)
        .where(SyncLock.mailbox_id == mailbox_id)
        .values(generation=SyncLock.generation + 1)
    )
    session.commit()
    return int(session.scalar(_generation(mailbox_id)) or 0)


def _generation(mailbox_id: int) -> Any:
    return select(SyncLock.generation).where(SyncLock.mailbox_id == mailbox_id)


def holder_name() -> str:
    """A worker name unique enough across processes and hosts."""
    import os
    import threading

    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def hold_lease(session: Session, mailbox_id: int, holder: str) -> None:
    """Renew our lease inside the current transaction; LeaseLost when another worker has it.

    Called before each page is committed, so a page is only ever stored by the lease holder.
    """
    result = session.execute(
        update(SyncLock)
        .where(SyncLock.mailbox_id == mailbox_id, SyncLock.holder == holder)
        .values(acquired_at=utcnow())
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise LeaseLost(f"mailbox {mailbox_id}: another worker took the sync lease")


def holds_lease(session: Session, mailbox_id: int, holder: str) -> bool:
    """Whether `holder` still has the lease (read fresh from the database)."""
    current = session.scalar(select(SyncLock.holder).where(SyncLock.mailbox_id == mailbox_id))
    return current == holder


MAX_ROUNDS = 5  # reruns for pushes that arrived during a sync; the poll catches up after


def sync_with_lease(
    session: Session,
    mailbox: Mailbox,
    client: GmailClient,
    ctx: MailboxContext,
    *,
    progress: ProgressFn | None = None,
    lease: timedelta = timedelta(minutes=10),
    horizon_days: int | None = 180,
) -> SyncReport | None:
    """Sync unless another worker is at it; rerun while pushes arrived during the run.

    Returns None when another worker holds the lease, or took it from us mid-run (it then
    carries on from our last committed page and sees our generation bump).
    """
    holder = holder_name()
    if not acquire_lease(session, mailbox.id, holder, lease):
        return None
    released = False
    report: SyncReport | None = None
    try:
        for _round in range(MAX_ROUNDS):
            generation = session.scalar(_generation(mailbox.id))
            report = MailboxSync(
                session,
                mailbox,
                client,
                ctx,
                progress=progress,
                heartbeat=lambda: hold_lease(session, mailbox.id, holder),
                horizon_days=horizon_days,
            ).run()
            session.expire_all()
            # Checking the generation and giving the lease back must be one step: a push
            # that bumps the generation between the two would find the lease taken and
            # leave, and its change would wait for the next push.
            if release_if_unchanged(session, mailbox.id, holder, generation):
                released = True
                return report
            if not holds_lease(session, mailbox.id, holder):
                released = True  # someone else has it now: nothing of ours to give back
                return report
            renew_lease(session, mailbox.id, holder)
        return report
    except LeaseLost:
        released = True
        log.warning("mailbox %s: lease taken by another worker; this worker stops", mailbox.id)
        return None
    finally:
        if not released:
            release_lease(session, mailbox.id, holder)
