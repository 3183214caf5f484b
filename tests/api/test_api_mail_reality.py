"""A prospect whose name or subject holds a broken encoded word gets guidance, not a 500."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.store.db import get_db
from server.store.models import User
from tests.services.conftest import store
from tests.services.test_mail_reality import BROKEN, BROKEN_PROSPECT, broken_threads


def test_api_guidance_for_a_broken_name_answers_200(app: Any, api: Any) -> None:
    with app.app_context(), get_db(app).session() as s:
        alex = s.scalar(select(User).where(User.email == "alex@northwind-demo.com"))
        assert alex is not None
        store(s, alex, broken_threads())
        s.commit()
    resp = api("post", "/guidance", json={"recipients": [f"{BROKEN} <{BROKEN_PROSPECT}>"]})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    data = resp.get_json()
    assert data["threadId"] == "t-broken"
    assert data["plays"], "the plays render for this prospect"
    resp = api("post", "/guidance", json={"threadId": "t-broken"})
    assert resp.status_code == 200
