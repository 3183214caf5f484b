"""Fixtures for the production path: a local Google stand-in, a small Gmail mailbox served by
the emulator that accepts only tokens the stand-in issued, and a rep connected with a refresh
token (offline access)."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from deploy.local_google import LocalGoogle
from server.gmail.credentials import forget_credentials
from server.gmail.emulator import GmailEmulator
from server.store.crypto import secret_box
from server.store.db import get_db
from server.store.models import Mailbox, Org, User
from tests.conftest import NOW
from tests.engine.builders import msg

CLIENT_ID = "stepback-test-client.apps.googleusercontent.com"
CLIENT_SECRET = "local-test-secret"  # noqa: S105 - the stand-in's test client
PUSH_ACCOUNT = "gmail-push@stepback-test.iam.gserviceaccount.com"
SCHEDULER_ACCOUNT = "scheduler@stepback-test.iam.gserviceaccount.com"
PUSH_AUDIENCE = "https://stepback.test/gmail/push"
TOPIC = "projects/stepback-test/topics/gmail-watch"
REP = "rita@acme.test"
PROSPECT = "Bob Buyer <bob@globex.test>"


def thread(tid: str, *messages: dict[str, Any]) -> dict[str, Any]:
    for m in messages:
        m["threadId"] = tid
    return {"id": tid, "historyId": "100", "messages": list(messages)}


def small_mailbox(n_silent: int = 12) -> dict[str, Any]:
    """Threads where the rep wrote last to a prospect (silent candidates) and a newsletter."""
    threads = []
    for i in range(n_silent):
        at = NOW - timedelta(days=9 + i % 5, hours=i)
        threads.append(
            thread(
                f"t{i:04x}",
                msg(f"m{i:04x}a", at - timedelta(days=2), PROSPECT, [REP], labels=["INBOX"]),
                msg(f"m{i:04x}b", at, f"Rita <{REP}>", [f"bob{i}@globex.test"], labels=["SENT"]),
            )
        )
    threads.append(
        thread(
            "news",
            msg(
                "news1",
                NOW - timedelta(days=1),
                "News <news@vendor.test>",
                [REP],
                labels=["INBOX", "CATEGORY_PROMOTIONS"],
                headers={"List-Unsubscribe": "<mailto:u@vendor.test>"},
            ),
        )
    )
    return {"emailAddress": REP, "historyId": "100", "threads": threads}


def answer(emulator: GmailEmulator, index: int, *, mid: str | None = None) -> dict[str, Any]:
    """The prospect of thread `index` answers; returns the delivered message."""
    tid = f"t{index:04x}"
    message = msg(
        mid or f"r{index:04x}",
        NOW - timedelta(hours=2),
        f"Bob {index} <bob{index}@globex.test>",
        [REP],
        labels=["INBOX", "CATEGORY_PERSONAL"],
        thread_id=tid,
    )
    return emulator.add_message(message)


@pytest.fixture
def google() -> Iterator[LocalGoogle]:
    with LocalGoogle(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as stand_in:
        yield stand_in


@pytest.fixture
def mail(google: LocalGoogle) -> Iterator[GmailEmulator]:
    """The rep's Gmail: only live access tokens with the metadata scope are accepted."""
    with GmailEmulator(small_mailbox(), token_checker=google.gmail_token_checker) as emu:
        yield emu


@pytest.fixture
def app_config(app_config: dict[str, Any], google: LocalGoogle, mail: GmailEmulator) -> Any:
    return {
        **app_config,
        **google.config(),
        "GMAIL_API_ENDPOINT": mail.url,
        "PUBSUB_SERVICE_ACCOUNT": PUSH_ACCOUNT,
        "PUBSUB_AUDIENCE": PUSH_AUDIENCE,
        "PUBSUB_TOPIC": TOPIC,
        "SCHEDULER_SERVICE_ACCOUNT": SCHEDULER_ACCOUNT,
        "PUSH_SYNC_MODE": "inline",
        "GMAIL_RETRY_ATTEMPTS": 3,
        "GMAIL_BACKOFF_BASE": 0.001,
        "GMAIL_BACKOFF_CAP": 0.01,
        "TASK_WORKERS": 2,
    }


@dataclass
class Rep:
    user_id: int
    mailbox_id: int
    org_id: int
    refresh_token: str


def make_rep(app: Any, google: LocalGoogle, email: str = REP, slug: str = "acme") -> Rep:
    """An org with one rep whose mailbox holds an encrypted refresh token."""
    refresh = google.add_refresh_token(email)
    with get_db(app).session() as s:
        org = s.query(Org).filter_by(slug=slug).one_or_none()
        if org is None:
            domain = email.rpartition("@")[2]
            org = Org(slug=slug, name=slug.title(), internal_domains=[domain], day_mode="calendar")
            s.add(org)
            s.flush()
        user = User(org_id=org.id, email=email, name="Rita Rep")
        s.add(user)
        s.flush()
        mailbox = Mailbox(
            org_id=org.id,
            user_id=user.id,
            email=email,
            auth_kind="oauth",
            refresh_token_enc=secret_box(app).encrypt(refresh),
        )
        s.add(mailbox)
        s.flush()
        rep = Rep(user.id, mailbox.id, org.id, refresh)
    forget_credentials(rep.mailbox_id)
    return rep


@pytest.fixture
def rep(app: Any, google: LocalGoogle) -> Rep:
    return make_rep(app, google)


def mailbox(app: Any, mailbox_id: int) -> Mailbox:
    with get_db(app).session() as s:
        row = s.get(Mailbox, mailbox_id)
        assert row is not None
        s.expunge(row)
        return row


def envelope(email: str, history_id: Any, *, urlsafe: bool = False) -> dict[str, Any]:
    """A Pub/Sub push body carrying a Gmail notification."""
    data = json.dumps({"emailAddress": email, "historyId": history_id}).encode()
    encoded = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(data).decode()
    return {
        "message": {"data": encoded, "messageId": "1234567890", "publishTime": NOW.isoformat()},
        "subscription": "projects/stepback-test/subscriptions/gmail-push",
    }


def push(client: Any, google: LocalGoogle, body: Any, *, token: str | None = None) -> Any:
    """POST /gmail/push as Pub/Sub would."""
    token = token or google.id_token(PUSH_ACCOUNT, PUSH_AUDIENCE)
    return client.post("/gmail/push", json=body, headers={"Authorization": f"Bearer {token}"})


def run_task(client: Any, google: LocalGoogle, name: str, **query: Any) -> Any:
    """POST /tasks/<name> as Cloud Scheduler would (audience = the endpoint's URL)."""
    token = google.id_token(SCHEDULER_ACCOUNT, f"https://stepback.test/tasks/{name}")
    return client.post(
        f"/tasks/{name}", query_string=query, headers={"Authorization": f"Bearer {token}"}
    )


@contextmanager
def scratch_pg(base_url: str, tag: str) -> Iterator[str]:
    """A brand-new PostgreSQL database on the test server (dropped afterwards); yields its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base_url.replace("postgresql+psycopg://", "postgresql://", 1))
    name = f"{url.database or 'stepback'}_{tag}_{secrets.token_hex(3)}"
    admin = url.set(drivername="postgresql", database="postgres")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
