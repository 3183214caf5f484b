"""Fixtures for the service layer: demo users with small hand-built mailboxes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from server.gmail.sync import store_thread
from server.store.db import get_db
from server.store.models import Mailbox, User
from server.store.settings import rep_settings
from tests.engine.builders import msg, thread

REP = "Alex Rivera <alex@northwind-demo.com>"
HOSTILE_NAME = '"{{rep_name}} <img src=x onerror=alert(1)> {first_name}"'


def at(month: int, day: int, hour: int = 15) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def out(mid: str, when: datetime, to: str, subject: str = "Pilot proposal") -> dict[str, Any]:
    return msg(mid, when, REP, [to], labels=("SENT",), subject=subject)


def inbound(mid: str, when: datetime, frm: str, subject: str = "Pilot proposal") -> dict:
    return msg(mid, when, frm, ["alex@northwind-demo.com"], labels=("INBOX",), subject=subject)


def demo_threads() -> list[dict[str, Any]]:
    """Alex's mailbox: one silent chase, one reply owed, one fresh, one hostile name."""
    bob = "Bob Stone <bob@globex-corp.com>"
    return [
        thread(
            "t-silent",
            out("s1", at(10, 20), bob),
            inbound("s2", at(10, 22), bob),
            out("s3", at(10, 27), bob),
            out("s4", at(10, 30), bob),
            out("s5", at(11, 4), bob),
        ),
        thread(
            "t-owed",
            out("o1", at(11, 17), "Carol Diaz <carol@initech.io>", "Rollout"),
            inbound("o2", at(11, 18), "Carol Diaz <carol@initech.io>", "Rollout"),
        ),
        thread(
            "t-fresh",
            out("f1", at(11, 2), "Dave Ng <dave@umbrella.example>", "Renewal"),
            inbound("f2", at(11, 10), "Dave Ng <dave@umbrella.example>", "Renewal"),
            out("f3", at(11, 19), "Dave Ng <dave@umbrella.example>", "Renewal"),
        ),
        thread(
            "t-hostile",
            out("h1", at(10, 1), f"{HOSTILE_NAME} <eve@hostile-example.com>", "Intro"),
            inbound("h2", at(10, 2), f"{HOSTILE_NAME} <eve@hostile-example.com>", "Intro"),
            out("h3", at(10, 5), f"{HOSTILE_NAME} <eve@hostile-example.com>", "Intro"),
        ),
    ]


def store(session: Session, user: User, threads: list[dict[str, Any]]) -> None:
    """Store threads into the user's mailbox the way a sync does."""
    if user.mailbox is None:
        session.add(Mailbox(org_id=user.org_id, user_id=user.id, email=user.email))
        session.flush()
        session.refresh(user)
    assert user.mailbox is not None
    ctx = rep_settings(user).context
    for item in threads:
        store_thread(session, user.mailbox, item, ctx)
    session.flush()


@dataclass
class Reps:
    alex: User
    jordan: User
    casey: User


@pytest.fixture
def db(app: Any) -> Iterator[Session]:
    """A session inside an app context (services read the clock from the app)."""
    with app.app_context(), get_db(app).session() as s:
        yield s


@pytest.fixture
def reps(db: Session, demo_ids: Any) -> Reps:
    """The demo reps: Alex with the hand-built mailbox; Jordan (same org) and Casey
    (other org) each with one thread to the same prospect, to prove isolation."""
    from sqlalchemy import select

    alex = db.get(User, demo_ids.rep_id)
    jordan = db.scalar(select(User).where(User.email == "jordan@northwind-demo.com"))
    casey = db.scalar(select(User).where(User.email == "casey@contoso-demo.com"))
    assert alex and jordan and casey
    store(db, alex, demo_threads())
    bob = "Bob Stone <bob@globex-corp.com>"
    store(
        db,
        jordan,
        [
            thread(
                "j-1",
                msg(
                    "j1",
                    at(9, 1),
                    "Jordan <jordan@northwind-demo.com>",
                    [bob],
                    labels=("SENT",),
                    subject="Jordan's deal",
                ),
            )
        ],
    )
    store(
        db,
        casey,
        [
            thread(
                "c-1",
                msg(
                    "c1",
                    at(9, 1),
                    "Casey <casey@contoso-demo.com>",
                    [bob],
                    labels=("SENT",),
                    subject="Contoso deal",
                ),
            )
        ],
    )
    db.commit()
    return Reps(alex, jordan, casey)


StoreFn = Callable[[Session, User, list[dict[str, Any]]], None]
