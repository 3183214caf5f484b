"""The admin's view of syncs: pending threads and next retry, quota use, disconnect, horizon."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from server.store.db import get_db
from server.store.models import Mailbox, Org, Team, User, utcnow
from server.store.settings import horizon_days
from tests.admin.helpers import ADMIN, demo_sign_in, post


@pytest.fixture
def admin_client(client: Any, demo_ids: Any) -> Any:
    assert demo_sign_in(client, ADMIN).status_code == 302
    return client


def test_the_mailbox_page_shows_pending_threads_and_the_next_retry(
    app: Any, admin_client: Any, demo_ids: Any
) -> None:
    retry = utcnow() + timedelta(minutes=4)
    with get_db(app).session() as s:
        mailbox = s.get(Mailbox, demo_ids.mailbox_id)
        assert mailbox is not None
        mailbox.pending_threads = ["t1", "t2"]
        mailbox.status = "pending"
        mailbox.next_retry_at = retry
    page = admin_client.get("/admin/mailboxes").get_data(as_text=True)
    assert "2 threads Gmail refused for now" in page
    assert f"next retry {retry:%Y-%m-%d %H:%M} UTC" in page
    assert "Gmail quota used by this deployment" in page and "80,000,000" in page


def test_disconnect_parks_the_mailbox_and_is_audited(
    app: Any, admin_client: Any, demo_ids: Any
) -> None:
    resp = post(admin_client, f"/admin/mailboxes/{demo_ids.mailbox_id}/disconnect")
    assert resp.status_code == 302
    with get_db(app).session() as s:
        mailbox = s.get(Mailbox, demo_ids.mailbox_id)
        assert mailbox is not None and mailbox.status == "disconnected"
    # Without the form's CSRF token nothing happens.
    assert admin_client.post(f"/admin/mailboxes/{demo_ids.mailbox_id}/disconnect").status_code \
        in (400, 403)
    assert post(admin_client, "/admin/mailboxes/999999/disconnect").status_code == 404


def test_the_team_horizon_overrides_the_org_default(
    app: Any, admin_client: Any, demo_ids: Any
) -> None:
    with get_db(app).session() as s:
        team = s.scalar(select(Team).where(Team.org_id == demo_ids.org_id).order_by(Team.id))
        assert team is not None
        team_id, name = team.id, team.name
    resp = post(admin_client, f"/admin/teams/{team_id}", {"name": name, "horizon_days": "90"})
    assert resp.status_code == 302
    bad = post(admin_client, f"/admin/teams/{team_id}", {"name": name, "horizon_days": "2"})
    assert bad.status_code == 400 and "Age horizon" in bad.get_data(as_text=True)
    with get_db(app).session() as s:
        team = s.get(Team, team_id)
        org = s.get(Org, demo_ids.org_id)
        assert team is not None and team.horizon_days == 90 and org is not None
        member = s.scalar(select(User).where(User.team_id == team_id))
        if member is not None:
            assert horizon_days(member) == 90
        assert org.default_horizon_days == 180
