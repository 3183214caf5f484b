"""Seed data for `stepback demo`: a demo org whose rep's mailbox is the built-in demo mailbox."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from server.store.models import Mailbox, Org, Team, User

DEMO_REP = "alex@northwind-demo.com"
DEMO_ADMIN = "morgan@northwind-demo.com"
DEMO_OTHER_ORG_REP = "casey@contoso-demo.com"
# The other reps of the demo org, each with a generated mailbox of their own: (email, name, seed).
DEMO_TEAM_REPS = (
    ("jordan@northwind-demo.com", "Jordan Kim", 11),
    ("priya.natarajan@northwind-demo.com", "Priya Natarajan", 23),
)
DEMO_PASSWORD = "demo"  # noqa: S105 - local sign-in exists only when DEMO_LOGIN is on


@dataclass(frozen=True)
class DemoIds:
    org_id: int
    rep_id: int
    admin_id: int
    mailbox_id: int
    # Every demo rep with a mailbox, Alex first: (user id, email, name, mailbox seed or None).
    reps: tuple[tuple[int, str, str, int | None], ...] = ()


def seed_demo(session: Session, *, team_mailboxes: bool = True) -> DemoIds:
    """Create (once) the demo orgs, teams, users and the reps' mailbox rows.

    `team_mailboxes=False` gives only Alex a mailbox (the production-like local run connects
    one mailbox to its Google stand-in; the others would have nothing to sign in with).
    """
    org = session.scalar(select(Org).where(Org.slug == "northwind-demo"))
    if org is None:
        org = Org(
            slug="northwind-demo",
            name="Northwind Traders (demo)",
            internal_domains=["northwind-demo.com"],
            timezone="America/New_York",
            day_mode="business",
            holiday_country="US",
            default_threshold_days=5,
            reply_target_hours=24.0,
        )
        session.add(org)
        session.flush()
        mid = Team(org_id=org.id, name="Mid-market", threshold_days=5)
        ent = Team(org_id=org.id, name="Enterprise", threshold_days=8)
        session.add_all([mid, ent])
        session.flush()
        password = generate_password_hash(DEMO_PASSWORD)
        session.add_all(
            [
                User(
                    org_id=org.id,
                    team_id=mid.id,
                    email=DEMO_REP,
                    name="Alex Rivera",
                    role="rep",
                    aliases=["alex.sales@northwind-demo.com"],
                    local_password_hash=password,
                ),
                User(
                    org_id=org.id,
                    team_id=ent.id,
                    email=DEMO_ADMIN,
                    name="Morgan Lee",
                    role="admin",
                    local_password_hash=password,
                ),
                User(
                    org_id=org.id,
                    team_id=ent.id,
                    email=DEMO_TEAM_REPS[0][0],
                    name=DEMO_TEAM_REPS[0][1],
                    role="rep",
                    local_password_hash=password,
                ),
                User(
                    org_id=org.id,
                    team_id=mid.id,
                    email=DEMO_TEAM_REPS[1][0],
                    name=DEMO_TEAM_REPS[1][1],
                    role="rep",
                    local_password_hash=password,
                ),
            ]
        )
        other = Org(
            slug="contoso-demo",
            name="Contoso (demo, another tenant)",
            internal_domains=["contoso-demo.com"],
        )
        session.add(other)
        session.flush()
        session.add(
            User(
                org_id=other.id,
                email=DEMO_OTHER_ORG_REP,
                name="Casey Park",
                role="admin",
                local_password_hash=password,
            )
        )
        session.flush()
    rep = session.scalar(select(User).where(User.email == DEMO_REP))
    admin = session.scalar(select(User).where(User.email == DEMO_ADMIN))
    assert rep is not None and admin is not None
    reps: list[tuple[int, str, str, int | None]] = []
    for email, name, seed in ((DEMO_REP, "", None), *(DEMO_TEAM_REPS if team_mailboxes else ())):
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            continue
        if user.mailbox is None:
            session.add(Mailbox(org_id=org.id, user_id=user.id, email=email, auth_kind="none"))
            session.flush()
            session.refresh(user)
        reps.append((user.id, email, user.name or name, seed))
    assert rep.mailbox is not None
    session.commit()
    return DemoIds(org.id, rep.id, admin.id, rep.mailbox.id, tuple(reps))
