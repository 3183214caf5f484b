"""Several workers syncing one mailbox at once: one runs at a time, nothing is counted twice,
and no change announced by a push is left behind (lease + generation in server/gmail/sync.py)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from deploy.local_google import LocalGoogle
from server.engine.silence import analyze_thread
from server.gmail import sync as sync_module
from server.gmail.emulator import GmailEmulator
from server.gmail.jobs import sync_mailbox
from server.gmail.sync import (
    _generation,
    acquire_lease,
    release_if_unchanged,
    request_sync,
    sync_with_lease,
)
from server.store.db import get_db
from server.store.models import Mailbox, ThreadState, User
from server.store.settings import rep_settings
from tests.conftest import NOW
from tests.engine.builders import msg
from tests.production.conftest import REP, Rep, mailbox

WORKERS = 6
ROUNDS = 5


@pytest.fixture
def watched(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count how many MailboxSync runs overlap (must never exceed one per mailbox)."""
    lock = threading.Lock()
    state = {"active": 0, "max": 0, "runs": 0}
    original = sync_module.MailboxSync.run

    def run(self: Any) -> Any:
        with lock:
            state["active"] += 1
            state["runs"] += 1
            state["max"] = max(state["max"], state["active"])
        try:
            return original(self)
        finally:
            with lock:
                state["active"] -= 1

    monkeypatch.setattr(sync_module.MailboxSync, "run", run)
    return state


def change(emu: GmailEmulator, worker: int, step: int) -> None:
    """One mailbox change: a prospect answers, or the rep follows up, on a worker's thread."""
    tid = f"t{(worker * ROUNDS + step) % 12:04x}"
    at = NOW - timedelta(minutes=60 - worker * ROUNDS - step)
    if step % 2 == 0:
        message = msg(f"w{worker}s{step}", at, f"Bob <bob{worker}@globex.test>", [REP],
                      labels=["INBOX", "CATEGORY_PERSONAL"], thread_id=tid)
    else:
        message = msg(f"w{worker}s{step}", at, f"Rita <{REP}>", [f"bob{worker}@globex.test"],
                      labels=["SENT"], thread_id=tid)
    emu.add_message(message)


def expected_threads(app: Any, emu: GmailEmulator, rep: Rep) -> dict[str, Any]:
    with get_db(app).session() as s:
        ctx = rep_settings(s.get(User, rep.user_id)).context
    out = {}
    for thread in emu.export_mailbox()["threads"]:
        facts = analyze_thread(thread, ctx)
        out[thread["id"]] = (
            sorted(m["id"] for m in thread["messages"]),
            facts.kind,
            facts.unanswered_count,
        )
    return out


def stored_threads(app: Any, rep: Rep) -> dict[str, Any]:
    with get_db(app).session() as s:
        rows = s.scalars(select(ThreadState).where(ThreadState.mailbox_id == rep.mailbox_id))
        return {
            r.gmail_thread_id: (sorted(m["id"] for m in r.messages), r.kind, r.unanswered_count)
            for r in rows
        }


@pytest.mark.postgres
def test_concurrent_pushes_never_double_count_or_lose_an_update(
    pg_url: str,
    app: Any,
    google: LocalGoogle,
    mail: GmailEmulator,
    rep: Rep,
    watched: dict[str, int],
) -> None:
    assert app.config["DATABASE_URL"] == pg_url
    assert sync_mailbox(app, rep.mailbox_id).result == "synced"
    mail.latency = 0.003  # widen the windows where workers overlap
    barrier = threading.Barrier(WORKERS)
    outcomes: Counter[str] = Counter()
    errors: list[BaseException] = []
    guard = threading.Lock()

    def worker(n: int) -> None:
        try:
            barrier.wait()
            for step in range(ROUNDS):
                change(mail, n, step)
                # What POST /gmail/push does, each worker with its own sessions.
                with get_db(app).session() as s:
                    request_sync(s, rep.mailbox_id)
                result = sync_mailbox(app, rep.mailbox_id).result
                with guard:
                    outcomes[result] += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert set(outcomes) <= {"synced", "busy"} and sum(outcomes.values()) == WORKERS * ROUNDS
    assert outcomes["busy"] > 0, "the workers never overlapped; the test proved nothing"
    assert watched["max"] == 1
    # No lost update: every change is in the database although no one synced afterwards.
    mb = mailbox(app, rep.mailbox_id)
    assert mb.history_id == mail.history_id
    assert stored_threads(app, rep) == {
        tid: facts for tid, facts in expected_threads(app, mail, rep).items() if tid != "news"
    }
    # No double counting: one row per thread, and the counters agree with the rows.
    with get_db(app).session() as s:
        rows = s.scalar(
            select(func.count())
            .select_from(ThreadState)
            .where(ThreadState.mailbox_id == rep.mailbox_id)
        )
        distinct = s.scalar(
            select(func.count(func.distinct(ThreadState.gmail_thread_id))).where(
                ThreadState.mailbox_id == rep.mailbox_id
            )
        )
        assert s.scalar(_generation(rep.mailbox_id)) == WORKERS * ROUNDS
    assert rows == distinct == mb.threads_synced == 12


@pytest.mark.postgres
def test_two_workers_starting_together_one_syncs_the_other_steps_aside(
    pg_url: str, app: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep
) -> None:
    assert app.config["DATABASE_URL"] == pg_url
    barrier = threading.Barrier(2)
    results: list[str] = []

    def worker() -> None:
        barrier.wait()
        results.append(sync_mailbox(app, rep.mailbox_id).result)

    mail.latency = 0.01
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == ["busy", "synced"]
    assert mailbox(app, rep.mailbox_id).threads_synced == 12


def test_a_push_landing_as_the_holder_finishes_keeps_the_lease_for_another_run(
    app: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep
) -> None:
    with get_db(app).session() as holder, get_db(app).session() as pusher:
        assert acquire_lease(holder, rep.mailbox_id, "holder", timedelta(minutes=5))
        seen = holder.scalar(_generation(rep.mailbox_id))
        # The push bumps the generation and finds the lease taken...
        request_sync(pusher, rep.mailbox_id)
        assert not acquire_lease(pusher, rep.mailbox_id, "pusher", timedelta(minutes=5))
        # ...so the holder may not walk away: it must run again.
        assert not release_if_unchanged(holder, rep.mailbox_id, "holder", seen)
        now_seen = holder.scalar(_generation(rep.mailbox_id))
        assert release_if_unchanged(holder, rep.mailbox_id, "holder", now_seen)
        assert acquire_lease(pusher, rep.mailbox_id, "pusher", timedelta(minutes=5))


def test_sync_with_lease_reruns_when_a_push_arrives_during_the_run(
    app: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep, watched: dict[str, int]
) -> None:
    from server.gmail.credentials import fresh_credentials
    from server.gmail.jobs import _client

    pushed = threading.Event()

    def progress(phase: str, done: int, total: int | None) -> None:
        if not pushed.is_set():
            pushed.set()
            # A change and its push arrive while the first run is under way.
            mail.add_message(
                msg("late1", NOW, "Bob <bob1@globex.test>", [REP], labels=["INBOX"],
                    thread_id="t0001")
            )
            with get_db(app).session() as other:
                request_sync(other, rep.mailbox_id)

    with get_db(app).session() as s:
        mb = s.get(Mailbox, rep.mailbox_id)
        ctx = rep_settings(mb.user).context
        with _client(app, fresh_credentials(app, mb)) as client:
            report = sync_with_lease(s, mb, client, ctx, progress=progress)
    assert report is not None
    assert watched["runs"] == 2
    assert "late1" in stored_threads(app, rep)["t0001"][0]


def test_a_push_at_the_moment_the_holder_lets_go_is_not_lost(
    app: Any,
    google: LocalGoogle,
    mail: GmailEmulator,
    rep: Rep,
    watched: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worst timing: the holder has finished and is giving the lease back when a push
    arrives, finds the lease taken and leaves. The holder must notice and run again."""
    assert sync_mailbox(app, rep.mailbox_id).result == "synced"
    fired = threading.Event()
    pusher_saw: list[str] = []

    def concurrent_push() -> None:
        mail.add_message(
            msg("edge1", NOW, "Bob <bob3@globex.test>", [REP], labels=["INBOX"], thread_id="t0003")
        )
        with get_db(app).session() as s:
            request_sync(s, rep.mailbox_id)
        pusher_saw.append(sync_mailbox(app, rep.mailbox_id).result)

    def at_release(original: Any) -> Any:
        def hooked(*args: Any, **kwargs: Any) -> Any:
            if not fired.is_set():
                fired.set()
                other = threading.Thread(target=concurrent_push)
                other.start()
                other.join(timeout=30)
            return original(*args, **kwargs)

        return hooked

    # Whichever way the holder lets go, the push lands right before it.
    for name in ("release_lease", "release_if_unchanged"):
        monkeypatch.setattr(sync_module, name, at_release(getattr(sync_module, name)))
    answer_id = "edge0"
    mail.add_message(
        msg(answer_id, NOW, "Bob <bob2@globex.test>", [REP], labels=["INBOX"], thread_id="t0002")
    )
    with get_db(app).session() as s:
        request_sync(s, rep.mailbox_id)
    assert sync_mailbox(app, rep.mailbox_id).result == "synced"
    assert pusher_saw == ["busy"]
    stored = stored_threads(app, rep)
    assert answer_id in stored["t0002"][0]
    assert "edge1" in stored["t0003"][0], "the push that met a busy lease was lost"
    assert mailbox(app, rep.mailbox_id).history_id == mail.history_id
