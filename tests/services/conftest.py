"""Fixtures for the service layer: demo users with small hand-built mailboxes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session

from server.store.db import get_db
from server.store.models import User
from tests.services.mailboxes import at, inbound, out, seed_mailboxes, store

__all__ = ["Reps", "at", "inbound", "out", "store"]


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
    """The demo reps, Alex with a hand-built mailbox (see tests/services/mailboxes.py)."""
    return Reps(*seed_mailboxes(db, demo_ids))
