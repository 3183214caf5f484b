"""Small hand-built mailboxes for the demo reps (service and API tests share them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.gmail.sync import store_thread
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


def seed_mailboxes(session: Session, demo_ids: Any) -> tuple[User, User, User]:
    """Alex gets the hand-built mailbox; Jordan (same org) and Casey (other org) each wrote
    one thread to the same prospect, Bob, so isolation can be proven."""
    alex = session.get(User, demo_ids.rep_id)
    jordan = session.scalar(select(User).where(User.email == "jordan@northwind-demo.com"))
    casey = session.scalar(select(User).where(User.email == "casey@contoso-demo.com"))
    assert alex and jordan and casey
    store(session, alex, demo_threads())
    bob = "Bob Stone <bob@globex-corp.com>"
    jordan_mail = msg(
        "j1",
        at(9, 1),
        "Jordan <jordan@northwind-demo.com>",
        [bob],
        labels=("SENT",),
        subject="Jordan's deal",
    )
    casey_mail = msg(
        "c1",
        at(9, 1),
        "Casey <casey@contoso-demo.com>",
        [bob],
        labels=("SENT",),
        subject="Contoso deal",
    )
    store(session, jordan, [thread("j-1", jordan_mail)])
    store(session, casey, [thread("c-1", casey_mail)])
    session.commit()
    return alex, jordan, casey
