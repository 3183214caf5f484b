"""POST /gmail/push: token checks, envelope decoding, idempotent incremental sync."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import func, select

from deploy.local_google import LocalGoogle, SigningKey
from server.gmail.emulator import GmailEmulator
from server.gmail.jobs import Outcome, sync_mailbox, sync_pool
from server.store.db import get_db
from server.store.models import SyncLock, ThreadState
from tests.production.conftest import (
    PUSH_ACCOUNT,
    PUSH_AUDIENCE,
    REP,
    SCHEDULER_ACCOUNT,
    Rep,
    answer,
    envelope,
    mailbox,
    push,
)


def synced(app: Any, rep: Rep) -> Outcome:
    outcome = sync_mailbox(app, rep.mailbox_id)
    assert outcome.result == "synced", outcome
    return outcome


def thread_row(app: Any, rep: Rep, tid: str) -> ThreadState:
    with get_db(app).session() as s:
        row = s.scalar(
            select(ThreadState).where(
                ThreadState.mailbox_id == rep.mailbox_id, ThreadState.gmail_thread_id == tid
            )
        )
        assert row is not None
        s.expunge(row)
        return row


def gmail_calls(emu: GmailEmulator) -> int:
    return len(emu.requests)


# -- the OIDC token, one check at a time ------------------------------------------------------


def test_a_valid_pubsub_token_is_accepted(client: Any, google: LocalGoogle, rep: Rep) -> None:
    assert push(client, google, envelope("nobody@else.test", 5)).status_code == 204


@pytest.mark.parametrize(
    "make_token, why",
    [
        (lambda g: g.id_token(PUSH_ACCOUNT, PUSH_AUDIENCE, lifetime=-120), "expired"),
        (lambda g: g.id_token(PUSH_ACCOUNT, "https://evil.test/gmail/push"), "audience"),
        (lambda g: g.id_token("intruder@evil.iam.gserviceaccount.com", PUSH_AUDIENCE), "account"),
        (lambda g: g.id_token(SCHEDULER_ACCOUNT, PUSH_AUDIENCE), "another of our accounts"),
        (lambda g: g.id_token(PUSH_ACCOUNT, PUSH_AUDIENCE, verified=False), "unverified"),
        (lambda g: g.id_token(PUSH_ACCOUNT, PUSH_AUDIENCE, issuer="https://evil.test"), "issuer"),
        (lambda g: g.id_token(PUSH_ACCOUNT, PUSH_AUDIENCE, key=SigningKey()), "forged"),
        (lambda g: "not-a-jwt", "garbage"),
        (lambda g: "a" * 9000, "oversized"),
    ],
)
def test_a_bad_token_gets_401_and_nothing_happens(
    client: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep, make_token: Any, why: str
) -> None:
    answer(mail, 1)
    resp = push(client, google, envelope(REP, mail.history_id), token=make_token(google))
    assert resp.status_code == 401, why
    assert resp.get_json()["error"]["code"] == 401
    assert gmail_calls(mail) == 0
    assert mailbox(client.application, rep.mailbox_id).last_push_at is None


def test_missing_or_non_bearer_authorization_gets_401(client: Any, rep: Rep) -> None:
    body = envelope(REP, 10)
    assert client.post("/gmail/push", json=body).status_code == 401
    resp = client.post("/gmail/push", json=body, headers={"Authorization": "Basic dTpw"})
    assert resp.status_code == 401


def test_without_a_configured_push_account_every_token_is_refused(
    app: Any, client: Any, google: LocalGoogle, rep: Rep
) -> None:
    app.config["PUBSUB_SERVICE_ACCOUNT"] = ""
    resp = push(client, google, envelope(REP, 10))
    assert resp.status_code == 401
    assert "service account" in resp.get_json()["error"]["message"]


def test_empty_audience_setting_means_the_endpoint_url(
    app: Any, client: Any, google: LocalGoogle, rep: Rep
) -> None:
    app.config["PUBSUB_AUDIENCE"] = ""
    good = google.id_token(PUSH_ACCOUNT, "https://stepback.test/gmail/push")
    assert push(client, google, envelope("x@y.test", 1), token=good).status_code == 204
    other = google.id_token(PUSH_ACCOUNT, "https://stepback.test/tasks/renew-watches")
    assert push(client, google, envelope("x@y.test", 1), token=other).status_code == 401


def test_certificates_are_fetched_once_for_many_pushes(
    app: Any, client: Any, google: LocalGoogle, rep: Rep
) -> None:
    from server.auth.oidc_verify import certs_cache

    for _ in range(5):
        assert push(client, google, envelope("x@y.test", 1)).status_code == 204
    assert certs_cache(app).fetches == 1


def test_unreachable_certificates_give_503_so_pubsub_retries(
    app: Any, client: Any, google: LocalGoogle, rep: Rep
) -> None:
    token = google.id_token(PUSH_ACCOUNT, PUSH_AUDIENCE)
    app.config["GOOGLE_CERTS_URL"] = "http://127.0.0.1:9/certs"
    assert push(client, google, envelope(REP, 1), token=token).status_code == 503


# -- the envelope ------------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    "body",
    [
        [],
        "text",
        {"subscription": "s"},
        {"message": "x"},
        {"message": {}},
        {"message": {"data": ""}},
        {"message": {"data": "%%%not base64%%%"}},
        {"message": {"data": _b64(b"not json")}},
        {"message": {"data": _b64(b"[1, 2]")}},
        {"message": {"data": _b64(b'{"historyId": 5}')}},
        {"message": {"data": _b64(b'{"emailAddress": "no-at-sign", "historyId": 5}')}},
        {"message": {"data": _b64(b'{"emailAddress": "a@b.test"}')}},
        {"message": {"data": _b64(b'{"emailAddress": "a@b.test", "historyId": "12x"}')}},
        {"message": {"data": _b64(b'{"emailAddress": "a@b.test", "historyId": true}')}},
        {"message": {"data": _b64(b'{"emailAddress": "a@b.test", "historyId": -4}')}},
        {"message": {"data": _b64(b'{"emailAddress": "a@b.test", "historyId": [1]}')}},
        {"message": {"data": _b64(b"\xff\xfe")}},
    ],
)
def test_a_malformed_envelope_gets_400_with_a_reason(
    client: Any, google: LocalGoogle, rep: Rep, body: Any
) -> None:
    resp = push(client, google, body)
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error["reason"] == "bad_envelope"
    assert error["message"].startswith("Malformed Pub/Sub push:")


def test_a_body_that_is_not_json_gets_400(client: Any, google: LocalGoogle, rep: Rep) -> None:
    token = google.id_token(PUSH_ACCOUNT, PUSH_AUDIENCE)
    resp = client.post(
        "/gmail/push",
        data=b"{broken",
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert resp.status_code == 400


def test_an_unknown_mailbox_is_acknowledged_and_ignored(
    app: Any, client: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep
) -> None:
    resp = push(client, google, envelope("stranger@nowhere.test", 99999))
    assert resp.status_code == 204
    assert gmail_calls(mail) == 0
    with get_db(app).session() as s:
        assert s.scalar(select(func.count()).select_from(SyncLock)) == 0


# -- sync on push ------------------------------------------------------------------------------


def test_a_push_syncs_the_new_answer_into_the_thread(
    app: Any, client: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep
) -> None:
    synced(app, rep)
    before = thread_row(app, rep, "t0003")
    assert before.kind == "went_silent" and before.unanswered_count == 1
    answer(mail, 3)
    mail.reset_counters()
    resp = push(client, google, envelope(REP.upper(), int(mail.history_id)))
    assert resp.status_code == 204 and resp.data == b""
    after = thread_row(app, rep, "t0003")
    assert after.unanswered_count == 0 and after.reply_owed_since is not None
    assert mailbox(app, rep.mailbox_id).history_id == mail.history_id
    assert mailbox(app, rep.mailbox_id).last_push_at is not None
    # Incremental: history.list and one threads.get, not a full listing.
    assert mail.calls["gmail.users.history.list"] >= 1
    assert mail.calls["gmail.users.threads.list"] == 0
    assert mail.calls["gmail.users.threads.get"] == 1


def test_a_urlsafe_encoded_notification_and_string_history_id_work(
    app: Any, client: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep
) -> None:
    synced(app, rep)
    answer(mail, 2)
    body = envelope(REP, str(mail.history_id), urlsafe=True)
    assert push(client, google, body).status_code == 204
    assert thread_row(app, rep, "t0002").unanswered_count == 0


def test_duplicate_and_out_of_order_deliveries_are_harmless(
    app: Any, client: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep
) -> None:
    synced(app, rep)
    older = int(mail.history_id)
    answer(mail, 4)
    newest = int(mail.history_id)
    assert push(client, google, envelope(REP, newest)).status_code == 204
    snapshot = thread_row(app, rep, "t0004")
    pushed_at = mailbox(app, rep.mailbox_id).last_push_at
    mail.reset_counters()
    # The same notification again, then one Pub/Sub kept back: neither reaches Gmail.
    assert push(client, google, envelope(REP, newest)).status_code == 204
    assert push(client, google, envelope(REP, older)).status_code == 204
    assert gmail_calls(mail) == 0
    # A no-op delivery must not look like a sync still owed to the scheduler's poll.
    assert mailbox(app, rep.mailbox_id).last_push_at == pushed_at
    again = thread_row(app, rep, "t0004")
    assert again.messages == snapshot.messages
    assert again.unanswered_count == snapshot.unanswered_count == 0
    with get_db(app).session() as s:
        count = s.scalar(
            select(func.count())
            .select_from(ThreadState)
            .where(ThreadState.mailbox_id == rep.mailbox_id)
        )
    assert count == mailbox(app, rep.mailbox_id).threads_synced


def test_a_push_before_the_first_sync_runs_a_full_sync(
    app: Any, client: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep
) -> None:
    assert push(client, google, envelope(REP, int(mail.history_id))).status_code == 204
    mb = mailbox(app, rep.mailbox_id)
    assert mb.status == "ok" and mb.last_full_sync_at is not None
    assert mb.threads_synced == 12


def test_an_expired_history_id_falls_back_to_a_full_sync(
    app: Any, client: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep
) -> None:
    synced(app, rep)
    first_full = mailbox(app, rep.mailbox_id).last_full_sync_at
    answer(mail, 5)
    mail.expire_history()
    assert push(client, google, envelope(REP, int(mail.history_id))).status_code == 204
    mb = mailbox(app, rep.mailbox_id)
    assert mb.last_full_sync_at is not None and first_full is not None
    assert mb.last_full_sync_at > first_full
    assert thread_row(app, rep, "t0005").unanswered_count == 0


def test_gmail_failing_during_a_push_sync_still_acknowledges(
    app: Any, client: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep
) -> None:
    synced(app, rep)
    answer(mail, 6)
    mail.inject(503, count=50)
    resp = push(client, google, envelope(REP, int(mail.history_id)))
    assert resp.status_code == 204
    mb = mailbox(app, rep.mailbox_id)
    assert mb.status == "error" and "503" in (mb.last_error or "")
    # The push is remembered as newer than the last sync, so the scheduler's poll owes it.
    assert mb.last_push_at is not None and mb.last_sync_at is not None
    assert mb.last_push_at > mb.last_sync_at
    mail.clear_faults()
    assert sync_mailbox(app, rep.mailbox_id).result == "synced"
    assert thread_row(app, rep, "t0006").unanswered_count == 0


def test_background_mode_answers_first_and_the_pool_syncs(
    app: Any, client: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep
) -> None:
    synced(app, rep)
    app.config["PUSH_SYNC_MODE"] = "background"
    answer(mail, 7)
    assert push(client, google, envelope(REP, int(mail.history_id))).status_code == 204
    pool = sync_pool(app)
    try:
        assert pool.wait_idle(timeout=30)
    finally:
        pool.shutdown()
    assert thread_row(app, rep, "t0007").unanswered_count == 0


def test_the_pool_queues_a_mailbox_once_and_respects_its_bound(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from server.gmail import jobs

    started, release = threading.Event(), threading.Event()
    ran: list[int] = []

    def slow_sync(_app: Any, mailbox_id: int) -> Outcome:
        ran.append(mailbox_id)
        started.set()
        release.wait(10)
        return Outcome(mailbox_id, "synced")

    monkeypatch.setattr(jobs, "sync_mailbox", slow_sync)
    pool = jobs.SyncPool(app, workers=1, queue_limit=2)
    try:
        assert pool.submit(1)
        assert started.wait(10)  # mailbox 1 is running; the queue is empty again
        assert pool.submit(2)
        assert not pool.submit(2)  # already waiting: its generation bump covers this push
        assert pool.submit(3)
        assert not pool.submit(4)  # the queue is full: dropped, caught up by the poll
        assert pool.dropped == 1
        release.set()
        assert pool.wait_idle(timeout=10)
    finally:
        release.set()
        pool.shutdown()
    assert ran == [1, 2, 3]
