"""The scheduler endpoints: watch renewal, polling quiet mailboxes, due get-backs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from deploy.local_google import LocalGoogle
from server.gmail.emulator import GmailEmulator
from server.gmail.jobs import sync_mailbox
from server.store.crypto import secret_box
from server.store.db import get_db
from server.store.models import GetBack, Mailbox, Org, User, utcnow
from tests.conftest import NOW
from tests.production.conftest import (
    PUSH_ACCOUNT,
    SCHEDULER_ACCOUNT,
    TOPIC,
    Rep,
    answer,
    mailbox,
    make_rep,
    run_task,
)

TASKS = ("renew-watches", "poll-quiet-mailboxes", "due-getbacks")


@pytest.mark.parametrize("name", TASKS)
def test_tasks_need_the_scheduler_token(client: Any, google: LocalGoogle, name: str) -> None:
    url = f"https://stepback.test/tasks/{name}"
    assert client.post(f"/tasks/{name}").status_code == 401
    for token in (
        google.id_token(PUSH_ACCOUNT, url),  # Pub/Sub's account is not the scheduler's
        google.id_token(SCHEDULER_ACCOUNT, "https://stepback.test/tasks/other"),
        google.id_token(SCHEDULER_ACCOUNT, url, lifetime=-300),
    ):
        resp = client.post(f"/tasks/{name}", headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 401
        assert resp.get_json()["error"]["reason"] == "unauthorized"


@pytest.mark.parametrize("name", TASKS)
def test_tasks_refuse_a_bad_limit(client: Any, google: LocalGoogle, name: str) -> None:
    for bad in ("0", "-3", "abc", "100000"):
        resp = run_task(client, google, name, limit=bad)
        assert resp.status_code == 422
        assert "limit" in resp.get_json()["error"]["fields"]


def test_a_json_body_that_is_not_an_object_is_refused(client: Any, google: LocalGoogle) -> None:
    token = google.id_token(SCHEDULER_ACCOUNT, "https://stepback.test/tasks/due-getbacks")
    resp = client.post(
        "/tasks/due-getbacks", json=[1], headers={"Authorization": f"Bearer {token}"}
    )
    assert resp.status_code == 400


# -- renew-watches -----------------------------------------------------------------------------


def test_renew_watches_calls_watch_and_stores_the_expiration(
    app: Any, client: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep
) -> None:
    resp = run_task(client, google, "renew-watches")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["results"] == {"renewed": 1} and body["more"] is False
    assert mail.watch_topic == TOPIC
    assert mail.watch_requests[-1]["labelIds"] == ["INBOX", "SENT"]
    expiry = mailbox(app, rep.mailbox_id).watch_expiration
    assert expiry is not None and expiry - utcnow() > timedelta(days=6)
    # Renewed a moment ago: the next daily run leaves it alone.
    again = run_task(client, google, "renew-watches").get_json()
    assert again["checked"] == 0 and len(mail.watch_requests) == 1


def test_renew_watches_renews_soon_expiring_first_and_honours_the_limit(
    app: Any, client: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep
) -> None:
    second = make_rep(app, google, "sam@acme.test")
    with get_db(app).session() as s:
        s.execute(
            update(Mailbox)
            .where(Mailbox.id == rep.mailbox_id)
            .values(watch_expiration=utcnow() + timedelta(hours=20))
        )
        s.execute(
            update(Mailbox)
            .where(Mailbox.id == second.mailbox_id)
            .values(watch_expiration=utcnow() + timedelta(hours=2))
        )
    body = run_task(client, google, "renew-watches", limit=1).get_json()
    assert body["results"] == {"renewed": 1} and body["more"] is True
    assert mailbox(app, second.mailbox_id).watch_expiration > utcnow() + timedelta(days=6)
    assert mailbox(app, rep.mailbox_id).watch_expiration < utcnow() + timedelta(days=1)


def test_renew_watches_without_a_topic_is_a_clear_503(app: Any, client: Any, google: Any) -> None:
    app.config["PUBSUB_TOPIC"] = ""
    resp = run_task(client, google, "renew-watches")
    assert resp.status_code == 503
    assert "PUBSUB_TOPIC" in resp.get_json()["error"]["message"]


def test_renew_watches_marks_a_revoked_grant_and_carries_on(
    app: Any, client: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep
) -> None:
    revoked = make_rep(app, google, "gone@acme.test")
    google.revoke(revoked.refresh_token)
    body = run_task(client, google, "renew-watches").get_json()
    assert body["results"] == {"reconnect_needed": 1, "renewed": 1}
    assert body["failures"][0]["mailbox_id"] == revoked.mailbox_id
    assert mailbox(app, revoked.mailbox_id).status == "reconnect_needed"
    assert mailbox(app, rep.mailbox_id).watch_expiration is not None


def test_renew_watches_skips_mailboxes_without_any_grant(
    app: Any, client: Any, google: LocalGoogle, rep: Rep
) -> None:
    with get_db(app).session() as s:
        org = s.scalar(select(Org))
        user = User(org_id=org.id, email="new@acme.test")
        s.add(user)
        s.flush()
        s.add(Mailbox(org_id=org.id, user_id=user.id, email=user.email, auth_kind="oauth"))
    body = run_task(client, google, "renew-watches").get_json()
    assert body["checked"] == 1 and body["results"] == {"renewed": 1}


def test_renew_watches_enrolls_reps_of_a_delegating_org(
    app: Any, client: Any, google: LocalGoogle, mail: GmailEmulator
) -> None:
    key = google.service_account_key("dwd@acme-prod.iam.gserviceaccount.com")
    with get_db(app).session() as s:
        org = Org(
            slug="dwd-org",
            name="Delegating",
            internal_domains=["acme.test"],
            dwd_enabled=True,
            dwd_service_account=key["client_email"],
            dwd_key_enc=secret_box(app).encrypt(__import__("json").dumps(key)),
        )
        s.add(org)
        s.flush()
        s.add(User(org_id=org.id, email="rita@acme.test", name="Rita"))
    google.allow_delegation("rita@acme.test")
    body = run_task(client, google, "renew-watches").get_json()
    assert body["enrolled"] == 1 and body["results"] == {"renewed": 1}
    with get_db(app).session() as s:
        row = s.scalar(select(Mailbox))
        assert row is not None and row.auth_kind == "dwd"


# -- poll-quiet-mailboxes ----------------------------------------------------------------------


def _set(app: Any, mailbox_id: int, **values: Any) -> None:
    with get_db(app).session() as s:
        s.execute(update(Mailbox).where(Mailbox.id == mailbox_id).values(**values))


def test_poll_syncs_never_synced_and_owing_mailboxes_only(
    app: Any, client: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep
) -> None:
    fresh = make_rep(app, google, "sam@acme.test")
    owing = make_rep(app, google, "kim@acme.test")
    for r in (rep, fresh, owing):
        assert sync_mailbox(app, r.mailbox_id).result == "synced"
    now = utcnow()
    _set(app, rep.mailbox_id, last_push_at=now - timedelta(minutes=5))
    _set(app, fresh.mailbox_id, last_push_at=now - timedelta(minutes=5))
    # A push arrived after kim's last sync and was never applied (a dropped pool job).
    _set(app, owing.mailbox_id, last_push_at=now + timedelta(seconds=1))
    answer(mail, 1)
    body = run_task(client, google, "poll-quiet-mailboxes").get_json()
    assert body == {"checked": 1, "results": {"synced": 1}, "failures": [], "more": False}
    assert mailbox(app, owing.mailbox_id).history_id == mail.history_id
    assert mailbox(app, rep.mailbox_id).history_id != mail.history_id


def test_poll_catches_up_a_mailbox_whose_pushes_went_quiet(
    app: Any, client: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep
) -> None:
    assert sync_mailbox(app, rep.mailbox_id).result == "synced"
    long_ago = utcnow() - timedelta(hours=7)
    _set(app, rep.mailbox_id, last_sync_at=long_ago, last_push_at=long_ago)
    answer(mail, 2)
    body = run_task(client, google, "poll-quiet-mailboxes").get_json()
    assert body["results"] == {"synced": 1}
    assert mailbox(app, rep.mailbox_id).history_id == mail.history_id


def test_poll_leaves_reconnect_needed_mailboxes_alone(
    app: Any, client: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep
) -> None:
    _set(app, rep.mailbox_id, status="reconnect_needed")
    body = run_task(client, google, "poll-quiet-mailboxes").get_json()
    assert body["checked"] == 0 and len(mail.requests) == 0


def test_poll_reports_gmail_failures_without_failing(
    app: Any, client: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep
) -> None:
    mail.inject(500, count=100)
    resp = run_task(client, google, "poll-quiet-mailboxes")
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["results"] == {"error": 1}
    assert "500" in body["failures"][0]["detail"]


def test_poll_respects_its_time_budget(
    app: Any, client: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep
) -> None:
    make_rep(app, google, "sam@acme.test")
    app.config["TASK_BUDGET_SECONDS"] = 0
    body = run_task(client, google, "poll-quiet-mailboxes").get_json()
    assert body["checked"] == 2 and body["results"] == {} and body["more"] is True


# -- due-getbacks ------------------------------------------------------------------------------


def _getback(app: Any, user_id: int, org_id: int, due: datetime, status: str = "scheduled") -> int:
    with get_db(app).session() as s:
        row = GetBack(
            org_id=org_id, user_id=user_id, gmail_thread_id="t0001", due_at=due, status=status
        )
        s.add(row)
        s.flush()
        return row.id


def test_due_getbacks_marks_what_has_come_once(
    app: Any, client: Any, google: LocalGoogle, rep: Rep
) -> None:
    other = make_rep(app, google, "casey@contoso.test", slug="contoso")
    past = _getback(app, rep.user_id, rep.org_id, NOW - timedelta(hours=1))
    future = _getback(app, rep.user_id, rep.org_id, NOW + timedelta(days=1))
    cancelled = _getback(app, rep.user_id, rep.org_id, NOW - timedelta(days=2), "cancelled")
    elsewhere = _getback(app, other.user_id, other.org_id, NOW - timedelta(minutes=1))
    body = run_task(client, google, "due-getbacks").get_json()
    assert body["due"] == 2 and body["more"] is False
    assert body["asOf"].startswith("2026-11-20T15:00")
    assert body["reps"] == [
        {"email": "casey@contoso.test", "org": "contoso", "getbackIds": [elsewhere]},
        {"email": "rita@acme.test", "org": "acme", "getbackIds": [past]},
    ]
    with get_db(app).session() as s:
        states = {g.id: (g.status, g.reminded_at) for g in s.scalars(select(GetBack))}
    assert states[past][0] == "due" and states[past][1] == NOW
    assert states[future] == ("scheduled", None)
    assert states[cancelled] == ("cancelled", None)
    assert run_task(client, google, "due-getbacks").get_json()["due"] == 0


def test_due_getbacks_pages_with_the_limit(
    app: Any, client: Any, google: LocalGoogle, rep: Rep
) -> None:
    ids = [
        _getback(app, rep.user_id, rep.org_id, NOW - timedelta(hours=h)) for h in (3, 2, 1)
    ]
    first = run_task(client, google, "due-getbacks", limit=2).get_json()
    assert first["due"] == 2 and first["more"] is True
    assert first["reps"][0]["getbackIds"] == sorted(ids[:2])
    second = run_task(client, google, "due-getbacks", limit=2).get_json()
    assert second["due"] == 1 and second["more"] is False


def test_a_getback_rescheduled_meanwhile_is_not_marked(
    app: Any, client: Any, google: LocalGoogle, rep: Rep
) -> None:
    gid = _getback(app, rep.user_id, rep.org_id, NOW - timedelta(hours=1))
    with get_db(app).session() as s:
        s.execute(
            update(GetBack)
            .where(GetBack.id == gid)
            .values(due_at=datetime(2027, 1, 5, 9, tzinfo=UTC))
        )
    assert run_task(client, google, "due-getbacks").get_json()["due"] == 0
