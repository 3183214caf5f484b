"""Sync at Google's real limits: 403/429 storms, pending retries, leases, history as sent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from google.oauth2.credentials import Credentials
from sqlalchemy import select, update

from server.gmail.client import Backoff, GmailClient
from server.gmail.emulator import GmailEmulator
from server.gmail.pacing import ProjectGovernor, QuotaGate, UserPacer, VirtualClock
from server.gmail.sync import MailboxSync, acquire_lease, sync_with_lease
from server.store.db import get_db
from server.store.models import Mailbox, SyncLock, ThreadState, User
from server.store.settings import rep_settings
from tests.conftest import NOW
from tests.engine.builders import msg
from tests.gmail.test_sync import REP, mailbox_row, rep, small_mailbox, stored  # noqa: F401

SENT_THREADS = {f"t{i:04x}" for i in range(30)}
_clients: list[GmailClient] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Any:
    yield
    while _clients:
        _clients.pop().close()


def client(emu: GmailEmulator, clock: VirtualClock, *, attempts: int = 8,
           pacer: int | None = None, governor: ProjectGovernor | None = None) -> GmailClient:
    """A production client whose waits move the virtual clock instead of sleeping."""
    gate = QuotaGate(UserPacer(pacer, clock=clock) if pacer else None, governor)
    made = GmailClient(Credentials(token="t"), api_endpoint=emu.url,
                       backoff=Backoff(attempts=attempts, sleep=clock.sleep), gate=gate)
    _clients.append(made)
    return made


def sync(app: Any, user_id: int, gmail: GmailClient, **kw: Any) -> Any:
    with get_db(app).session() as s:
        user = s.get(User, user_id)
        assert user is not None and user.mailbox is not None
        return MailboxSync(s, user.mailbox, gmail, rep_settings(user).context, **kw).run()


def new_sent(i: int) -> dict[str, Any]:
    return msg(f"new{i:03d}", NOW - timedelta(days=8), f"Rita <{REP}>", [f"p{i}@globex.com"],
               labels=["SENT"], thread_id=f"new{i:03d}")


def test_a_403_storm_during_a_full_sync_loses_nothing(app: Any, rep: int) -> None:  # noqa: F811
    clock = VirtualClock()
    with GmailEmulator(small_mailbox(), rate_limit_units=300, clock=clock.time) as emu:
        report = sync(app, rep, client(emu, clock))
        assert emu.answers[403] > 0  # Google's usage-limit answer, many times
        assert SENT_THREADS <= set(stored(app))
        assert report.status == "ok" and report.pending == 0
        assert mailbox_row(app).status == "ok"
        assert clock.slept >= 60  # it waited the quota window out (Retry-After)


def test_a_429_storm_during_an_incremental_sync_loses_nothing(app: Any, rep: int) -> None:  # noqa: F811
    clock = VirtualClock()
    with GmailEmulator(small_mailbox(), clock=clock.time) as emu:
        sync(app, rep, client(emu, clock))
        for i in range(40):
            emu.add_message(new_sent(i))
        emu.enforce_rate_limit, emu.rate_limit_units, emu.quota_status = True, 400, 429
        report = sync(app, rep, client(emu, clock))
        assert emu.answers[429] > 0
        assert {f"new{i:03d}" for i in range(40)} <= set(stored(app))
        assert report.status == "ok" and mailbox_row(app).history_id == emu.history_id


def test_threads_gmail_keeps_refusing_stay_pending_and_are_fetched_later(
    app: Any, rep: int  # noqa: F811
) -> None:
    clock = VirtualClock()
    with GmailEmulator(small_mailbox(), clock=clock.time) as emu:
        sync(app, rep, client(emu, clock))
        for i in range(3):
            emu.add_message(new_sent(i))
        emu.inject(503, count=1000, path_contains="/threads/new001")
        report = sync(app, rep, client(emu, clock, attempts=3))
        row = mailbox_row(app)
        # The history moved on, but the refused thread is kept and the status says so.
        assert row.history_id == emu.history_id
        assert row.pending_threads == ["new001"] and row.status == "pending"
        assert row.next_retry_at is not None and not report.done
        assert {"new000", "new002"} <= set(stored(app)) and "new001" not in stored(app)
        emu.clear_faults()
        again = sync(app, rep, client(emu, clock))
        assert "new001" in stored(app) and again.done
        assert mailbox_row(app).pending_threads == [] and mailbox_row(app).status == "ok"


def test_a_failed_fallback_full_sync_deletes_nothing(app: Any, rep: int) -> None:  # noqa: F811
    clock = VirtualClock()
    with GmailEmulator(small_mailbox(), clock=clock.time) as emu:
        sync(app, rep, client(emu, clock))
        before = set(stored(app))
        for i in range(0, 30, 2):
            emu.add_labels(f"m{i:04x}b", ["STARRED"])  # changed: must be fetched again
        emu.expire_history()
        emu.inject(503, count=10_000, path_contains="/threads/t00")
        emu.inject(503, count=10_000, path_contains="/messages/m00")
        report = sync(app, rep, client(emu, clock, attempts=2))
        assert report.fell_back_to_full and not report.done
        assert set(stored(app)) == before  # nothing deleted although refreshes failed
        assert mailbox_row(app).pending_threads
        emu.clear_faults()
        assert sync(app, rep, client(emu, clock)).done
        assert set(stored(app)) == before and mailbox_row(app).status == "ok"


def test_a_fallback_full_sync_fetches_only_changed_threads(app: Any, rep: int) -> None:  # noqa: F811
    clock = VirtualClock()
    with GmailEmulator(small_mailbox(), clock=clock.time) as emu:
        sync(app, rep, client(emu, clock))
        emu.add_labels("m0003b", ["STARRED"])
        emu.expire_history()
        emu.reset_counters()
        report = sync(app, rep, client(emu, clock))
        assert report.fell_back_to_full and report.done
        assert report.threads_unchanged == 29
        fetched = emu.calls["gmail.users.threads.get"] + emu.calls["gmail.users.messages.get"]
        assert fetched <= 2  # the changed thread (and at most one inbound pick)


def test_label_less_history_adds_the_new_thread(app: Any, rep: int) -> None:  # noqa: F811
    clock = VirtualClock()
    with GmailEmulator(small_mailbox(), clock=clock.time) as emu:
        sync(app, rep, client(emu, clock))
        # Several messages in one record, carrying only id and threadId (Google's shape).
        emu.add_messages([new_sent(1), new_sent(2)])
        record = client(emu, clock).list_history(str(int(emu.history_id) - 1))[0][0]
        assert record["messagesAdded"][0]["message"] == {"id": "new001", "threadId": "new001"}
        assert len(record["messagesAdded"]) == 2
        assert sync(app, rep, client(emu, clock)).done
        assert {"new001", "new002"} <= set(stored(app))


def test_messages_deleted_removes_the_thread(app: Any, rep: int) -> None:  # noqa: F811
    clock = VirtualClock()
    with GmailEmulator(small_mailbox(), clock=clock.time) as emu:
        sync(app, rep, client(emu, clock))
        emu.delete_message("m0005a")
        emu.delete_message("m0005b")
        assert sync(app, rep, client(emu, clock)).done
        assert "t0005" not in stored(app)


def test_a_rejected_saved_page_token_restarts_the_listing(app: Any, rep: int) -> None:  # noqa: F811
    clock = VirtualClock()
    with GmailEmulator(small_mailbox(), clock=clock.time) as emu:
        with get_db(app).session() as s:
            s.execute(update(Mailbox).values(full_sync_state={
                "phase": "sent", "page_token": "stale-token", "history_id": emu.history_id,
                "started_at": "2026-01-01T00:00:00+00:00", "cutoff": None, "done": 0,
                "failed": 0, "restarts": 0}, status="syncing"))
            s.commit()
        report = sync(app, rep, client(emu, clock))
        assert report.done and SENT_THREADS <= set(stored(app))


def test_the_pacer_keeps_the_sync_under_the_per_user_budget(app: Any, rep: int) -> None:  # noqa: F811
    clock = VirtualClock()
    with GmailEmulator(small_mailbox(), rate_limit_units=300, clock=clock.time) as emu:
        report = sync(app, rep, client(emu, clock, pacer=300))
        assert report.done and SENT_THREADS <= set(stored(app))
        assert emu.answers[403] == 0  # paced: never refused
        floor = emu.quota_used / 300 * 60
        assert floor - 61 <= clock.now - 1_780_000_000.0 <= floor + 61


def test_the_project_governor_defers_a_sync_when_the_day_is_spent(app: Any, rep: int) -> None:  # noqa: F811
    clock = VirtualClock()
    governor = ProjectGovernor(get_db(app).engine, units_per_minute=200, units_per_day=600,
                               clock=clock)
    with GmailEmulator(small_mailbox(), clock=clock.time) as emu:
        report = sync(app, rep, client(emu, clock, governor=governor))
        assert report.deferred_until is not None and not report.done
        row = mailbox_row(app)
        assert row.status == "waiting_quota" and row.next_retry_at == report.deferred_until
        assert governor.used()[1] <= 600  # the day's budget is never overspent
        assert clock.slept >= 60  # the per-minute budget was waited out before that
        # The next day: the same sync resumes from its saved page and finishes.
        clock.sleep((report.deferred_until.timestamp() - clock.time()) + 1)
        roomy = ProjectGovernor(get_db(app).engine, units_per_minute=10_000,
                                units_per_day=100_000, clock=clock)
        assert sync(app, rep, client(emu, clock, governor=roomy)).done
        assert SENT_THREADS <= set(stored(app))


def test_a_worker_whose_lease_was_taken_stops_at_once(app: Any, rep: int) -> None:  # noqa: F811
    clock = VirtualClock()
    pages: list[int] = []

    def steal(phase: str, done: int, _total: int | None) -> None:
        if phase == "threads you wrote in":
            pages.append(done)
            with get_db(app).session() as other:
                other.execute(update(SyncLock).values(holder="thief", acquired_at=NOW))
                other.commit()

    with GmailEmulator(small_mailbox(), clock=clock.time) as emu:
        with get_db(app).session() as s:
            user = s.get(User, rep)
            assert user is not None and user.mailbox is not None
            gmail = client(emu, clock)
            ctx = rep_settings(user).context
            original = MailboxSync.__init__

            def small_pages(self: MailboxSync, *a: Any, **kw: Any) -> None:
                original(self, *a, **kw)
                self.page_size = 10

            MailboxSync.__init__ = small_pages  # type: ignore[method-assign]
            try:
                result = sync_with_lease(s, user.mailbox, gmail, ctx, progress=steal)
            finally:
                MailboxSync.__init__ = original  # type: ignore[method-assign]
        assert result is None
        assert pages == [10]  # the second page was never committed by this worker
        lock = _lock(app)
        assert lock.holder == "thief"  # and it did not release the thief's lease
        assert len(stored(app)) <= 12


def test_a_second_worker_never_loops_when_the_lease_changed_hands(app: Any, rep: int) -> None:  # noqa: F811
    clock = VirtualClock()
    runs: list[int] = []
    with GmailEmulator(small_mailbox(), clock=clock.time) as emu:
        with get_db(app).session() as s:
            user = s.get(User, rep)
            assert user is not None and user.mailbox is not None
            original = MailboxSync.run

            def run_then_lose(self: MailboxSync) -> Any:
                report = original(self)
                runs.append(1)
                # After the run, a push bumps the generation and another worker takes over.
                with get_db(app).session() as other:
                    other.execute(update(SyncLock).values(
                        holder="other", generation=SyncLock.generation + 1))
                    other.commit()
                return report

            MailboxSync.run = run_then_lose  # type: ignore[method-assign]
            try:
                report = sync_with_lease(s, user.mailbox, client(emu, clock),
                                         rep_settings(user).context)
            finally:
                MailboxSync.run = original  # type: ignore[method-assign]
        assert report is not None and runs == [1]
        assert not acquire_lease_for(app, rep)  # the other worker's lease is intact


def acquire_lease_for(app: Any, user_id: int) -> bool:
    with get_db(app).session() as s:
        user = s.get(User, user_id)
        assert user is not None and user.mailbox is not None
        return acquire_lease(s, user.mailbox.id, "third", timedelta(minutes=10))


def _lock(app: Any) -> SyncLock:
    with get_db(app).session() as s:
        lock = s.scalar(select(SyncLock))
        assert lock is not None
        return lock


def test_the_first_sync_stops_reading_past_the_horizon(app: Any, rep: int) -> None:  # noqa: F811
    mailbox = small_mailbox()
    for i in range(60):  # two years of older outreach, listed after the recent threads
        at = NOW - timedelta(days=300 + 7 * i)
        mailbox["threads"].append({"id": f"old{i:03d}", "historyId": "100", "messages": [
            msg(f"old{i:03d}", at, f"Rita <{REP}>", [f"o{i}@globex.com"], labels=["SENT"],
                thread_id=f"old{i:03d}")]})
    clock = VirtualClock()
    with GmailEmulator(mailbox, clock=clock.time) as emu:
        report = sync(app, rep, client(emu, clock), page_size=20)
        assert report.done and SENT_THREADS <= set(stored(app))
        old = {t for t in stored(app) if t.startswith("old")}
        assert len(old) <= 20  # at most the page that crossed the horizon
        with get_db(app).session() as s:
            s.execute(update(ThreadState).values(updated_at=NOW))
            s.commit()
        deeper = sync(app, rep, client(emu, clock), since=NOW - timedelta(days=3650))
        assert deeper.mode == "incremental"  # --since only shapes a full sync


def test_the_engine_drops_runs_older_than_the_horizon() -> None:
    from server.engine.model import Threshold, default_context
    from server.engine.silence import scan

    ctx = default_context(REP, internal_domains=["acme.com"])
    threads = [
        {"id": "recent", "messages": [msg("r", NOW - timedelta(days=20), f"Rita <{REP}>",
                                          ["b@globex.com"], labels=["SENT"], thread_id="recent")]},
        {"id": "ancient", "messages": [msg("a", NOW - timedelta(days=200), f"Rita <{REP}>",
                                           ["c@globex.com"], labels=["SENT"],
                                           thread_id="ancient")]},
    ]
    everything = scan(threads, ctx, NOW, Threshold(5))
    inside = scan(threads, ctx, NOW, Threshold(5), horizon_days=180)
    assert {v.facts.thread_id for v in everything.silent} == {"recent", "ancient"}
    assert {v.facts.thread_id for v in inside.silent} == {"recent"}


def test_an_idle_mailbox_is_judged_against_its_own_newest_mail(app: Any, rep: int) -> None:  # noqa: F811
    mailbox = {"emailAddress": REP, "historyId": "100", "threads": []}
    for i in range(40):  # the newest mail is 400 days old; the rest reach back 40 weeks more
        at = NOW - timedelta(days=400 + 7 * i)
        mailbox["threads"].append({"id": f"idle{i:03d}", "historyId": "100", "messages": [
            msg(f"idle{i:03d}", at, f"Rita <{REP}>", [f"o{i}@globex.com"], labels=["SENT"],
                thread_id=f"idle{i:03d}")]})
    clock = VirtualClock()
    with GmailEmulator(mailbox, clock=clock.time) as emu:
        assert sync(app, rep, client(emu, clock), page_size=10).done
    kept = set(stored(app))
    assert {f"idle{i:03d}" for i in range(26)} <= kept  # 180 days of its own history
    assert "idle039" not in kept  # 273 days before its newest mail: past the horizon
