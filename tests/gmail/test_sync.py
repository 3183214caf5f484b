"""Full and incremental sync through google-api-python-client against the emulator."""

from __future__ import annotations

import gc
from datetime import timedelta
from typing import Any

import pytest
from google.oauth2.credentials import Credentials
from sqlalchemy import select

from server.gmail.client import METADATA_HEADERS, AuthRevoked, GmailClient
from server.gmail.emulator import GmailEmulator
from server.gmail.sync import MailboxSync, acquire_lease, release_lease, sync_with_lease
from server.store.db import get_db
from server.store.models import Mailbox, Org, ThreadState, User
from server.store.settings import rep_settings
from tests.conftest import NOW, fast_backoff, gmail_client
from tests.engine.builders import msg

REP = "rep@acme.com"
PROSPECT = "Bob Buyer <bob@globex.com>"


def _thread(tid: str, *messages: dict[str, Any]) -> dict[str, Any]:
    for m in messages:
        m["threadId"] = tid
    return {"id": tid, "historyId": "100", "messages": list(messages)}


def small_mailbox(n_silent: int = 30) -> dict[str, Any]:
    """Silent threads the rep wrote in, one live conversation, newsletters, a reply owed."""
    threads = []
    for i in range(n_silent):
        at = NOW - timedelta(days=10 + i % 7, hours=i)
        threads.append(
            _thread(
                f"t{i:04x}",
                msg(f"m{i:04x}a", at - timedelta(days=3), PROSPECT, [REP], labels=["INBOX"]),
                msg(f"m{i:04x}b", at, f"Rita <{REP}>", [f"bob{i}@globex.com"], labels=["SENT"]),
            )
        )
    threads.append(
        _thread(
            "owed",
            msg(
                "owed1",
                NOW - timedelta(hours=30),
                "Ann <ann@initech.com>",
                [REP],
                labels=["INBOX", "CATEGORY_PERSONAL"],
            ),
        )
    )
    for i in range(40):
        threads.append(
            _thread(
                f"n{i:04x}",
                msg(
                    f"nl{i:04x}",
                    NOW - timedelta(days=i),
                    "News <news@vendor.com>",
                    [REP],
                    labels=["INBOX", "CATEGORY_PROMOTIONS"],
                    headers={"List-Unsubscribe": "<mailto:u@vendor.com>"},
                ),
            )
        )
    return {"emailAddress": REP, "historyId": "100", "threads": threads}


@pytest.fixture
def rep(app: Any) -> int:
    with get_db(app).session() as s:
        org = Org(slug="acme", name="Acme", internal_domains=["acme.com"], day_mode="calendar")
        s.add(org)
        s.flush()
        user = User(org_id=org.id, email=REP, name="Rita Rep")
        s.add(user)
        s.flush()
        s.add(Mailbox(org_id=org.id, user_id=user.id, email=REP))
        s.commit()
        return user.id


@pytest.fixture
def emu() -> Any:
    with GmailEmulator(small_mailbox()) as e:
        yield e


def run_sync(app: Any, user_id: int, client: GmailClient, **kw: Any) -> Any:
    with get_db(app).session() as s:
        user = s.get(User, user_id)
        assert user is not None and user.mailbox is not None
        return MailboxSync(s, user.mailbox, client, rep_settings(user).context, **kw).run()


def stored(app: Any) -> dict[str, ThreadState]:
    with get_db(app).session() as s:
        return {r.gmail_thread_id: r for r in s.scalars(select(ThreadState))}


def mailbox_row(app: Any) -> Mailbox:
    with get_db(app).session() as s:
        mb = s.scalar(select(Mailbox))
        assert mb is not None
        return mb


def test_full_sync_stores_threads_the_rep_wrote_in_and_primary_conversations(
    app: Any, rep: int, emu: Any
) -> None:
    report = run_sync(app, rep, gmail_client(emu))
    rows = stored(app)
    assert report.mode == "full"
    assert set(rows) == {f"t{i:04x}" for i in range(30)} | {"owed"}
    assert rows["t0000"].kind == "went_silent"
    assert rows["t0000"].prospect_email == "bob0@globex.com"
    assert rows["owed"].reply_owed_since is not None
    mb = mailbox_row(app)
    assert mb.status == "ok" and mb.history_id == emu.history_id and mb.full_sync_state is None


def test_sync_keeps_only_metadata_never_bodies_or_snippets(app: Any, rep: int, emu: Any) -> None:
    run_sync(app, rep, gmail_client(emu))
    allowed = {h.lower() for h in METADATA_HEADERS}
    for row in stored(app).values():
        for m in row.messages:
            assert set(m) == {"id", "threadId", "labelIds", "internalDate", "payload"}
            # MIME types only: multipart/report tells a report, text/calendar a meeting reply.
            assert set(m["payload"]) <= {"headers", "mimeType", "parts"}
            assert all(set(p) == {"mimeType"} for p in m["payload"].get("parts", []))
            assert {h["name"].lower() for h in m["payload"]["headers"]} <= allowed


def test_client_never_sends_q_or_full_formats_and_batches_at_most_50(
    app: Any, rep: int, emu: Any
) -> None:
    run_sync(app, rep, gmail_client(emu))
    calls = emu.requests
    assert calls, "the emulator saw no requests"
    for call in calls:
        assert "q" not in call.params
        assert call.params.get("format", ["metadata"])[0] in ("metadata", "minimal")
        for header in call.params.get("metadataHeaders", []):
            assert header in METADATA_HEADERS
    parts = [c for c in calls if c.in_batch]
    batches = [c for c in calls if not c.in_batch and "batch" in c.path]
    assert parts and batches
    assert len(parts) <= 50 * len(batches)
    assert all(c.status == 200 for c in calls)


# httplib2 drops (without closing) the socket of a request that timed out; collect it here
# so the ResourceWarning cannot surface in a later test.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_sync_retries_429_503_and_timeouts_with_backoff(app: Any, rep: int, emu: Any) -> None:
    emu.inject(429, count=2)
    emu.inject(503, count=2, path_contains="threads")
    emu.inject_timeout(1.5, count=1)
    client = GmailClient(
        Credentials(token="test-token"),
        api_endpoint=emu.url,
        timeout=0.5,
        backoff=fast_backoff(),
    )
    report = run_sync(app, rep, client)
    client.close()
    gc.collect()
    assert client.backoff.retries >= 4
    assert report.errors == []
    assert len(stored(app)) == 31


def test_full_sync_resumes_after_a_crash_where_it_stopped(
    app: Any, rep: int, emu: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = gmail_client(emu)
    real_get = client.get_threads
    calls = {"n": 0}

    def crash_on_second_page(ids: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed")
        return real_get(ids)

    monkeypatch.setattr(client, "get_threads", crash_on_second_page)
    with pytest.raises(RuntimeError):
        run_sync(app, rep, client, page_size=10)
    saved = mailbox_row(app).full_sync_state
    assert saved is not None and saved["phase"] == "sent" and saved["page_token"]
    assert len(stored(app)) == 10

    emu.reset_counters()
    monkeypatch.setattr(client, "get_threads", real_get)
    report = run_sync(app, rep, client, page_size=10)
    assert report.mode == "full"
    assert len(stored(app)) == 31
    # The resumed run did not start over: the first page was not listed again.
    listed = [c for c in emu.requests if c.path.endswith("/threads") and not c.in_batch]
    assert all(c.params.get("pageToken") for c in listed)


def test_incremental_sync_applies_a_new_answer_and_costs_little(
    app: Any, rep: int, emu: Any
) -> None:
    run_sync(app, rep, gmail_client(emu))
    assert stored(app)["t0003"].kind == "went_silent"
    answer = msg(
        "new-answer",
        NOW - timedelta(hours=1),
        "Bob <bob3@globex.com>",
        [REP],
        labels=["INBOX", "CATEGORY_PERSONAL"],
        thread_id="t0003",
    )
    emu.add_message(answer)
    emu.reset_counters()
    report = run_sync(app, rep, gmail_client(emu))
    assert report.mode == "incremental"
    row = stored(app)["t0003"]
    assert row.kind is None and row.reply_owed_since is not None
    assert emu.quota_used <= 2 + 40 + 1  # history.list + one threads.get (+ slack)
    assert mailbox_row(app).history_id == emu.history_id


def test_incremental_sync_ignores_newsletters(app: Any, rep: int, emu: Any) -> None:
    run_sync(app, rep, gmail_client(emu))
    news = msg(
        "nl-new",
        NOW,
        "News <news@vendor.com>",
        [REP],
        labels=["INBOX", "CATEGORY_PROMOTIONS"],
        thread_id="n-new",
    )
    emu.add_message(news)
    emu.reset_counters()
    report = run_sync(app, rep, gmail_client(emu))
    # Google's record names no labels, so the thread is read once, then not kept.
    assert report.threads_fetched == 1 and report.threads_stored == 0
    assert "n-new" not in stored(app)


def test_labelled_history_skips_newsletters_without_fetching(app: Any, rep: int,
                                                             emu: Any) -> None:
    run_sync(app, rep, gmail_client(emu))
    emu.history_labels = True
    emu.add_message(msg("nl-2", NOW, "News <news@vendor.com>", [REP],
                        labels=["INBOX", "CATEGORY_PROMOTIONS"], thread_id="n-2"))
    report = run_sync(app, rep, gmail_client(emu))
    assert report.threads_fetched == 0 and "n-2" not in stored(app)


def test_expired_history_falls_back_to_a_full_sync(app: Any, rep: int, emu: Any) -> None:
    run_sync(app, rep, gmail_client(emu))
    emu.add_message(
        msg("late", NOW, "Bob <bob7@globex.com>", [REP], labels=["INBOX"], thread_id="t0007")
    )
    emu.expire_history()
    report = run_sync(app, rep, gmail_client(emu))
    assert report.fell_back_to_full and report.mode == "full"
    assert len(stored(app)) == 31


def test_a_malformed_message_is_skipped_counted_and_the_rest_synced(
    app: Any, rep: int, emu: Any
) -> None:
    emu.inject_malformed("m0005b")
    report = run_sync(app, rep, gmail_client(emu))
    assert report.messages_skipped == 1
    rows = stored(app)
    assert len(rows) == 31
    assert [m["id"] for m in rows["t0005"].messages] == ["m0005a"]
    assert mailbox_row(app).messages_skipped == 1


def test_revoked_grant_marks_the_mailbox_reconnect_needed(app: Any, rep: int) -> None:
    with GmailEmulator(small_mailbox(), token_checker=lambda t: t == "good") as emu:
        with pytest.raises(AuthRevoked):
            run_sync(app, rep, gmail_client(emu, token="revoked"))
    mb = mailbox_row(app)
    assert mb.status == "reconnect_needed"
    assert "401" in (mb.last_error or "")


def test_a_thread_deleted_in_gmail_disappears_on_incremental_sync(
    app: Any, rep: int, emu: Any
) -> None:
    run_sync(app, rep, gmail_client(emu))
    emu.delete_message("m0001a")
    emu.delete_message("m0001b")
    run_sync(app, rep, gmail_client(emu))
    assert "t0001" not in stored(app)


def test_only_one_worker_holds_the_sync_lease(app: Any, rep: int, emu: Any) -> None:
    mailbox_id = mailbox_row(app).id
    with get_db(app).session() as s:
        assert acquire_lease(s, mailbox_id, "worker-a", timedelta(minutes=5))
        assert not acquire_lease(s, mailbox_id, "worker-b", timedelta(minutes=5))
        user = s.get(User, rep)
        assert user is not None and user.mailbox is not None
        ctx = rep_settings(user).context
        assert sync_with_lease(s, user.mailbox, gmail_client(emu), ctx) is None
        release_lease(s, mailbox_id, "worker-a")
        report = sync_with_lease(s, user.mailbox, gmail_client(emu), ctx)
        assert report is not None and report.threads_stored == 31
        # A stale lease (a dead worker) can be taken over.
        assert acquire_lease(s, mailbox_id, "worker-c", timedelta(minutes=5))
        assert acquire_lease(s, mailbox_id, "worker-d", timedelta(seconds=-1))
