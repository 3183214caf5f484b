"""Full and incremental sync of one mailbox into per-thread, body-free state.

Full sync reads every thread the rep has written in (label SENT) plus the newest messages of
recent Primary-inbox conversations the rep has not answered yet (for "reply owed"). It saves
its place after every page, so a crash resumes where it stopped. Incremental sync follows
history.list from the stored historyId and falls back to a full sync when Google says the
historyId has expired (404).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from server.engine.headers import part_types_of
from server.engine.model import MailboxContext
from server.engine.silence import analyze_thread
from server.gmail.client import (
    METADATA_HEADERS,
    AuthRevoked,
    GmailClient,
    GmailError,
    HistoryExpired,
)
from server.gmail.schemas import validate_message
from server.store.limits import HEADER, clean_text, clip, column_length
from server.store.models import Mailbox, SyncLock, ThreadState, utcnow

log = logging.getLogger(__name__)

SENT_LABELS = ("SENT",)
PRIMARY_LABELS = ("INBOX", "CATEGORY_PERSONAL")
KEPT_HEADERS = frozenset(h.lower() for h in METADATA_HEADERS)
ProgressFn = Callable[[str, int, int | None], None]


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
    ) -> None:
        self.session = session
        self.mailbox = mailbox
        self.client = client
        self.ctx = ctx
        self.progress = progress or _noop
        self.inbound_limit = inbound_limit
        self.page_size = page_size
        self._singles: dict[str, str] | None = None

    def run(self) -> SyncReport:
        """Incremental when possible, full otherwise (or to finish an interrupted full sync)."""
        try:
            if self.mailbox.history_id and not self.mailbox.full_sync_state:
                try:
                    return self.incremental()
                except HistoryExpired:
                    log.info("mailbox %s: historyId expired, running a full sync", self.mailbox.id)
                    report = self.full()
                    report.fell_back_to_full = True
                    return report
            return self.full()
        except AuthRevoked as exc:
            self._mark("reconnect_needed", str(exc))
            raise
        except GmailError as exc:
            self._mark("error", str(exc))
            raise

    def _mark(self, status: str, error: str | None) -> None:
        self.session.rollback()
        self.mailbox.status = status
        self.mailbox.last_error = error
        self.session.commit()

    def _store_many(self, fetched: Mapping[str, Any], report: SyncReport, stamp: datetime) -> None:
        for tid, result in fetched.items():
            report.threads_fetched += 1
            if isinstance(result, GmailError):
                if result.status == 404:
                    report.threads_removed += self._delete_threads([tid])
                    continue
                if isinstance(result, AuthRevoked):
                    raise result
                report.errors.append(str(result))
                continue
            if not isinstance(result, Mapping) or not isinstance(result.get("messages"), list):
                report.errors.append(f"thread {tid}: answer without messages; skipped")
                report.messages_skipped += 1
                continue
            problems = store_thread(self.session, self.mailbox, result, self.ctx, now=stamp)
            for problem in problems:
                log.warning("skipped malformed message: %s", problem)
            report.messages_skipped += len(problems)
            report.threads_stored += 1

    def _delete_threads(self, thread_ids: Iterable[str]) -> int:
        ids = list(thread_ids)
        if not ids:
            return 0
        result = self.session.execute(
            delete(ThreadState).where(
                ThreadState.mailbox_id == self.mailbox.id, ThreadState.gmail_thread_id.in_(ids)
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    # -- full sync -------------------------------------------------------------------------

    def full(self) -> SyncReport:
        """Snapshot the mailbox page by page, saving progress after each page."""
        report = SyncReport(mode="full")
        mb = self.mailbox
        state = dict(mb.full_sync_state or {})
        if not state:
            profile = self.client.profile()
            state = {
                "phase": "sent",
                "page_token": None,
                "history_id": str(profile.get("historyId", "")),
                "started_at": utcnow().isoformat(),
                "done": 0,
            }
            mb.status = "syncing"
            mb.full_sync_state = state
            self.session.commit()
        started = datetime.fromisoformat(state["started_at"])
        while state["phase"] == "sent":
            items, next_token = self.client.list_threads(
                SENT_LABELS, state["page_token"], self.page_size
            )
            ids = [str(t["id"]) for t in items if isinstance(t, Mapping) and t.get("id")]
            self._store_many(self._fetch_threads(ids), report, utcnow())
            state = {**state, "page_token": next_token, "done": state["done"] + len(ids)}
            if next_token is None:
                state.update(phase="inbound", page_token=None)
            self._save_state(state, report)
            self.progress("threads you wrote in", state["done"], None)
        if state["phase"] == "inbound":
            self._inbound(state, report, started)
        # Anything not refreshed by this snapshot no longer qualifies (deleted, trashed, old).
        stale = self.session.execute(
            delete(ThreadState).where(
                ThreadState.mailbox_id == mb.id, ThreadState.updated_at < started
            )
        )
        report.threads_removed += int(stale.rowcount or 0)  # type: ignore[attr-defined]
        self._finish(state["history_id"], report, full=True)
        return report

    def _fetch_threads(self, ids: list[str]) -> dict[str, Any]:
        """threads.get (40 units) each, except one-message threads: messages.get (20 units).

        Cold outreach is mostly one message long, so listing every message once (5 units per
        500) to learn the thread sizes pays for itself many times over.
        """
        singles = self._single_message_threads()
        one = {tid: singles[tid] for tid in ids if tid in singles}
        fetched: dict[str, Any] = dict(self.client.get_threads([t for t in ids if t not in one]))
        if one:
            messages = self.client.get_messages(one.values())
            for tid, mid in one.items():
                result = messages.get(mid)
                if isinstance(result, Mapping):
                    fetched[tid] = {
                        "id": tid,
                        "historyId": result.get("historyId", ""),
                        "messages": [result],
                    }
                elif result is not None:
                    fetched[tid] = result
        return fetched

    def _single_message_threads(self) -> dict[str, str]:
        """Thread id → message id for threads holding exactly one message (listed once)."""
        if self._singles is None:
            counts: dict[str, list[str]] = {}
            token: str | None = None
            while True:
                items, token = self.client.list_messages((), token, 500)
                for item in items:
                    tid, mid = str(item.get("threadId", "")), str(item.get("id", ""))
                    if tid and mid:
                        counts.setdefault(tid, []).append(mid)
                self.progress("listing your mail", sum(map(len, counts.values())), None)
                if token is None:
                    break
            self._singles = {tid: mids[0] for tid, mids in counts.items() if len(mids) == 1}
        return self._singles

    def _inbound(self, state: dict[str, Any], report: SyncReport, started: datetime) -> None:
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
        while len(picked) < self.inbound_limit:
            items, token = self.client.list_messages(PRIMARY_LABELS, token, self.page_size)
            for item in items:
                tid, mid = str(item.get("threadId", "")), str(item.get("id", ""))
                if tid and mid and tid not in known and tid not in picked:
                    picked[tid] = mid
                    if len(picked) >= self.inbound_limit:
                        break
            if token is None:
                break
        fetched = self.client.get_messages(picked.values())
        by_thread: dict[str, Any] = {}
        for tid, mid in picked.items():
            result = fetched.get(mid)
            if isinstance(result, Mapping):
                by_thread[tid] = {
                    "id": tid,
                    "historyId": result.get("historyId", ""),
                    "messages": [result],
                }
            elif result is not None:
                by_thread[tid] = result
        self._store_many(by_thread, report, utcnow())
        self.progress("recent conversations waiting on you", len(picked), len(picked))

    def _save_state(self, state: dict[str, Any], report: SyncReport) -> None:
        self.mailbox.full_sync_state = state
        self.session.commit()

    def _finish(self, history_id: str | None, report: SyncReport, *, full: bool) -> None:
        mb = self.mailbox
        now = utcnow()
        mb.history_id = history_id or mb.history_id
        mb.full_sync_state = None
        mb.last_sync_at = now
        if full:
            mb.last_full_sync_at = now
        mb.status = "ok"
        mb.last_error = "; ".join(report.errors[:3]) if report.errors else None
        mb.messages_skipped = report.messages_skipped
        mb.threads_synced = int(
            self.session.scalar(
                select(func.count()).select_from(ThreadState).where(ThreadState.mailbox_id == mb.id)
            )
            or 0
        )
        report.history_id = mb.history_id
        self.session.commit()

    # -- incremental sync ------------------------------------------------------------------

    def incremental(self) -> SyncReport:
        """Apply the changes since the stored historyId."""
        report = SyncReport(mode="incremental")
        start = str(self.mailbox.history_id)
        stored = set(
            self.session.scalars(
                select(ThreadState.gmail_thread_id).where(ThreadState.mailbox_id == self.mailbox.id)
            )
        )
        touched: set[str] = set()
        token: str | None = None
        newest = start
        while True:
            records, token, mailbox_history = self.client.list_history(start, token)
            for record in records:
                touched.update(_threads_worth_fetching(record, stored))
            if mailbox_history:
                newest = str(mailbox_history)
            if token is None:
                break
        self.progress("changed conversations", 0, len(touched))
        if touched:
            self._store_many(self.client.get_threads(sorted(touched)), report, utcnow())
        self.progress("changed conversations", len(touched), len(touched))
        self._finish(newest, report, full=False)
        return report


def _threads_worth_fetching(record: Mapping[str, Any], stored: set[str]) -> set[str]:
    """Threads a history record touches that we keep or should start keeping."""
    out: set[str] = set()
    for key in ("messagesAdded", "messagesDeleted", "labelsAdded", "labelsRemoved"):
        for entry in record.get(key) or []:
            message = entry.get("message") if isinstance(entry, Mapping) else None
            if not isinstance(message, Mapping):
                continue
            tid = str(message.get("threadId", ""))
            if not tid:
                continue
            labels = set(message.get("labelIds") or [])
            if tid in stored or "SENT" in labels or set(PRIMARY_LABELS) <= labels:
                out.add(tid)
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


def sync_with_lease(
    session: Session,
    mailbox: Mailbox,
    client: GmailClient,
    ctx: MailboxContext,
    *,
    progress: ProgressFn | None = None,
    lease: timedelta = timedelta(minutes=10),
) -> SyncReport | None:
    """Sync unless another worker is at it; rerun while pushes arrived during the run.

    Returns None when another worker holds the lease (it will see our generation bump).
    """
    holder = holder_name()
    if not acquire_lease(session, mailbox.id, holder, lease):
        return None
    released = False
    try:
        while True:
            generation = session.scalar(_generation(mailbox.id))
            report = MailboxSync(session, mailbox, client, ctx, progress=progress).run()
            session.expire_all()
            # Checking the generation and giving the lease back must be one step: a push
            # that bumps the generation between the two would find the lease taken and
            # leave, and its change would wait for the next push.
            if release_if_unchanged(session, mailbox.id, holder, generation):
                released = True
                return report
            renew_lease(session, mailbox.id, holder)
    finally:
        if not released:
            release_lease(session, mailbox.id, holder)
