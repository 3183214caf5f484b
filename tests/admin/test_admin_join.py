"""Adding a person outside the org's domains: an audited join link the person accepts by
signing in with Google as that very address (the attack run's squatting finding)."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from server.store.db import get_db
from server.store.models import AuditLog, Org, User
from tests.admin.helpers import ADMIN, OTHER_ORG_ADMIN, demo_sign_in, field_error, post
from tests.admin.standin import GoogleStandIn

OUTSIDER = "pat.contractor@freelance.example"


@pytest.fixture
def app_config(app_config: dict[str, Any], google: GoogleStandIn) -> dict[str, Any]:
    return {**app_config, **google.config()}


def _join_path(app: Any, client: Any, email: str) -> str:
    assert demo_sign_in(client, ADMIN).status_code == 302
    resp = post(client, "/admin/people/join-link", {"join_email": email})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    match = re.search(r'data-testid="join-url">([^<]+)<', resp.get_data(as_text=True))
    assert match
    return urlsplit(html.unescape(match.group(1))).path


def _accept(app: Any, google: GoogleStandIn, path: str, as_email: str) -> Any:
    """A fresh browser opens the link and signs in with Google as `as_email`."""
    browser = app.test_client()
    page = browser.get(path)
    assert page.status_code == 200
    assert "nobody is added until you do" in page.get_data(as_text=True)
    start = browser.get("/auth/google?next=" + path)
    query = {k: v[0] for k, v in parse_qs(urlsplit(start.location).query).items()}
    code = google.issue_code(query, as_email)
    return browser.get(f"/auth/callback?code={code}&state={query['state']}"), browser


def _user(app: Any, email: str) -> User | None:
    with get_db(app).session() as s:
        return s.scalar(select(User).where(User.email == email))


def test_the_person_joins_by_signing_in_as_themselves(
    app: Any, client: Any, google: GoogleStandIn, demo_ids: Any
) -> None:
    path = _join_path(app, client, OUTSIDER)
    assert _user(app, OUTSIDER) is None  # the link alone adds nobody
    resp, browser = _accept(app, google, path, OUTSIDER)
    assert resp.status_code == 302 and resp.location == "/"
    person = _user(app, OUTSIDER)
    assert person is not None and person.org_id == demo_ids.org_id and person.role == "rep"
    with get_db(app).session() as s:
        actions = [
            (a.action, a.actor_email)
            for a in s.scalars(select(AuditLog).where(AuditLog.org_id == demo_ids.org_id))
        ]
    assert ("user.join_link", ADMIN) in actions and ("user.join", OUTSIDER) in actions


def test_someone_else_cannot_use_the_link(
    app: Any, client: Any, google: GoogleStandIn, demo_ids: Any
) -> None:
    path = _join_path(app, client, OUTSIDER)
    resp, _ = _accept(app, google, path, "intruder@freelance.example")
    assert resp.status_code == 403
    assert f"for {OUTSIDER}" in html.unescape(resp.get_data(as_text=True))
    assert _user(app, "intruder@freelance.example") is None and _user(app, OUTSIDER) is None


def test_a_member_of_another_org_stays_where_they_are(
    app: Any, client: Any, google: GoogleStandIn, demo_ids: Any
) -> None:
    """A join link for a Contoso person: making it reveals nothing, accepting moves nobody."""
    path = _join_path(app, client, OTHER_ORG_ADMIN)
    resp, browser = _accept(app, google, path, OTHER_ORG_ADMIN)
    assert resp.status_code == 302
    casey = _user(app, OTHER_ORG_ADMIN)
    with get_db(app).session() as s:
        contoso = s.scalar(select(Org).where(Org.slug == "contoso-demo"))
        assert contoso is not None and casey is not None and casey.org_id == contoso.id


def test_forged_links_and_own_domain_addresses(
    app: Any, client: Any, google: GoogleStandIn, demo_ids: Any
) -> None:
    assert client.get("/auth/join/not-a-token").status_code == 400
    path = _join_path(app, client, OUTSIDER)
    tampered = path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb")
    assert app.test_client().get(tampered).status_code == 400
    resp = post(client, "/admin/people/join-link", {"join_email": "new@northwind-demo.com"})
    assert resp.status_code == 400
    assert "add it directly" in field_error(resp.get_data(as_text=True), "join_email")
    resp = post(client, "/admin/people/join-link", {"join_email": "a\x00b@x.example"})
    assert resp.status_code == 400


def test_a_link_dies_with_its_admins_rights(
    app: Any, client: Any, google: GoogleStandIn, demo_ids: Any
) -> None:
    path = _join_path(app, client, OUTSIDER)
    with get_db(app).session() as s:
        admin = s.scalar(select(User).where(User.email == ADMIN))
        assert admin is not None
        admin.role = "rep"
    resp, _ = _accept(app, google, path, OUTSIDER)
    assert resp.status_code == 403 and _user(app, OUTSIDER) is None
