"""The add-on's compose card for a prospect with a broken encoded word in name and subject."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.demo import DEMO_REP
from server.store.db import get_db
from server.store.models import User
from tests.services.conftest import store
from tests.services.test_mail_reality import BROKEN, BROKEN_PROSPECT, broken_threads


def test_addon_compose_card_for_a_broken_name(gmail_app: Any, addon: Any) -> None:
    with gmail_app.app_context(), get_db(gmail_app).session() as s:
        rep = s.scalar(select(User).where(User.email == DEMO_REP))
        assert rep is not None
        store(s, rep, broken_threads())
        s.commit()
    resp = addon.post("/addon/compose", addon.event(recipients=[f"{BROKEN} <{BROKEN_PROSPECT}>"]))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert "Insert" in resp.get_data(as_text=True)
