"""Findings of the outside attack run on the web pages: revocable sessions, no address
squatting across orgs, invited addresses longer than the audit column, body guard."""

from __future__ import annotations

import html
from typing import Any

from sqlalchemy import func, select

from server.store.db import get_db
from server.store.models import AuditLog, Org, User, WebSession
from tests.admin.helpers import (
    ADMIN,
    OTHER_ORG_ADMIN,
    csrf_of,
    demo_sign_in,
    field_error,
    post,
)


def _copied_cookie(app: Any, client: Any) -> Any:
    """A second browser holding a copy of `client`'s session cookie (a stolen cookie)."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def _sessions(app: Any, user_id: int) -> int:
    with get_db(app).session() as s:
        query = select(func.count()).select_from(WebSession).where(WebSession.user_id == user_id)
        return int(s.scalar(query) or 0)


def test_a_copied_cookie_stops_working_at_sign_out(app: Any, client: Any, demo_ids: Any) -> None:
    assert demo_sign_in(client, ADMIN).status_code == 302
    thief = _copied_cookie(app, client)
    assert thief.get("/admin/org").status_code == 200
    assert _sessions(app, demo_ids.admin_id) == 1
    assert post(client, "/auth/signout").status_code == 302
    assert _sessions(app, demo_ids.admin_id) == 0
    resp = thief.get("/admin/org")
    assert resp.status_code == 302 and resp.location.startswith("/auth/signin")


def test_the_cookie_holds_no_user_id_that_works_alone(app: Any, client: Any, demo_ids: Any) -> None:
    """A cookie signed with the right key but naming no session row is not signed in."""
    assert demo_sign_in(client, ADMIN).status_code == 302
    with client.session_transaction() as sess:
        sess["sid"] = "made-up"
    assert client.get("/admin/org").status_code == 302


def test_demotion_ends_every_session_at_once(app: Any, client: Any, demo_ids: Any) -> None:
    assert demo_sign_in(client, ADMIN).status_code == 302
    other = app.test_client()
    assert demo_sign_in(other, ADMIN).status_code == 302
    # Someone else is made admin, then demotes Morgan through the form.
    with get_db(app).session() as s:
        rep = s.get(User, demo_ids.rep_id)
        assert rep is not None
        rep.role = "admin"
    url = f"/admin/people/{demo_ids.admin_id}"
    resp = post(client, url, {"name": "Morgan Lee", "team_id": "", "role": "rep"})
    assert resp.status_code == 302
    assert _sessions(app, demo_ids.admin_id) == 0
    assert other.get("/admin/org").status_code == 302


def test_an_org_change_ends_the_session(app: Any, client: Any, demo_ids: Any) -> None:
    assert demo_sign_in(client, ADMIN).status_code == 302
    with get_db(app).session() as s:
        admin = s.get(User, demo_ids.admin_id)
        other = s.scalar(select(Org).where(Org.slug == "contoso-demo"))
        assert admin is not None and other is not None
        admin.org_id = other.id
        admin.team_id = None
    resp = client.get("/admin/org")
    assert resp.status_code == 302 and resp.location.startswith("/auth/signin")


def test_removal_ends_the_session(app: Any, client: Any, demo_ids: Any) -> None:
    assert demo_sign_in(client, ADMIN).status_code == 302
    thief = _copied_cookie(app, client)
    with get_db(app).session() as s:
        admin = s.get(User, demo_ids.admin_id)
        s.delete(admin)
    assert _sessions(app, demo_ids.admin_id) == 0
    assert thief.get("/admin/org").status_code == 302


def _user_count(app: Any) -> int:
    with get_db(app).session() as s:
        return int(s.scalar(select(func.count()).select_from(User)) or 0)


def test_an_org_cannot_add_another_orgs_address(app: Any, client: Any, demo_ids: Any) -> None:
    assert demo_sign_in(client, ADMIN).status_code == 302
    count = _user_count(app)
    for address in ("new.person@contoso-demo.com", "someone@gmail.com"):
        resp = post(client, "/admin/people", {"email": address})
        assert resp.status_code == 400
        message = html.unescape(field_error(resp.get_data(as_text=True), "email"))
        assert "internal domains (northwind-demo.com)" in message
    assert _user_count(app) == count


def test_refusals_never_reveal_other_orgs(app: Any, client: Any, demo_ids: Any) -> None:
    """An address of our own domain already used elsewhere gets words that name no org."""
    with get_db(app).session() as s:
        contoso = s.scalar(select(Org).where(Org.slug == "contoso-demo"))
        assert contoso is not None
        # As the attack run left it: org 2 squatted an address of org 1's domain.
        s.add(User(org_id=contoso.id, email="squatted@northwind-demo.com", name="", role="rep"))
    assert demo_sign_in(client, ADMIN).status_code == 302
    resp = post(client, "/admin/people", {"email": "squatted@northwind-demo.com"})
    assert resp.status_code == 400
    message = html.unescape(field_error(resp.get_data(as_text=True), "email"))
    assert "can't be added to this organisation" in message
    for leak in ("another", "belongs", "contoso", "Contoso"):
        assert leak not in message
    # And the other org's admin learns nothing about Northwind's people either.
    other = app.test_client()
    assert demo_sign_in(other, OTHER_ORG_ADMIN).status_code == 302
    resp = post(other, "/admin/people", {"email": "alex@northwind-demo.com"})
    message = html.unescape(field_error(resp.get_data(as_text=True), "email"))
    assert resp.status_code == 400 and "member" not in message and "belongs" not in message


def test_listing_another_orgs_domain_does_not_let_an_org_squat_it(
    app: Any, client: Any, demo_ids: Any
) -> None:
    """Contoso's admin lists northwind-demo.com as internal: still no Northwind person."""
    with get_db(app).session() as s:
        contoso = s.scalar(select(Org).where(Org.slug == "contoso-demo"))
        assert contoso is not None
        contoso.internal_domains = ["contoso-demo.com", "northwind-demo.com"]
    count = _user_count(app)
    squatter = app.test_client()
    assert demo_sign_in(squatter, OTHER_ORG_ADMIN).status_code == 302
    resp = post(squatter, "/admin/people", {"email": "new.hire@northwind-demo.com"})
    assert resp.status_code == 400
    message = html.unescape(field_error(resp.get_data(as_text=True), "email"))
    assert "can't be added to this organisation" in message and "Northwind" not in message
    assert _user_count(app) == count
    # Northwind (its admin signs in with a northwind-demo.com address) still adds its people.
    assert demo_sign_in(client, ADMIN).status_code == 302
    assert (
        post(client, "/admin/people", {"email": "new.hire@northwind-demo.com"}).status_code == 302
    )
    assert _user_count(app) == count + 1


def test_an_address_longer_than_the_audit_column(app: Any, client: Any, demo_ids: Any) -> None:
    long_domain = ".".join(["d" * 60] * 4) + ".com"  # 248 characters, a valid name
    with get_db(app).session() as s:
        org = s.get(Org, demo_ids.org_id)
        assert org is not None
        org.internal_domains = ["northwind-demo.com", long_domain]
    assert demo_sign_in(client, ADMIN).status_code == 302
    address = "p" * 64 + "@" + long_domain
    assert len(address) > AuditLog.target.property.columns[0].type.length
    resp = post(client, "/admin/people", {"email": address})
    assert resp.status_code == 302
    with get_db(app).session() as s:
        entry = s.scalar(select(AuditLog).where(AuditLog.action == "user.invite"))
        assert entry is not None and len(entry.target) <= 200
        assert entry.target.startswith("p" * 64)
        assert s.scalar(select(User).where(User.email == address)) is not None


def test_control_characters_in_an_invited_address(app: Any, client: Any, demo_ids: Any) -> None:
    assert demo_sign_in(client, ADMIN).status_code == 302
    count = _user_count(app)
    resp = post(client, "/admin/people", {"email": "a\x00b@northwind-demo.com"})
    assert resp.status_code == 400
    assert _user_count(app) == count


def test_template_preview_refuses_deep_json(app: Any, client: Any, demo_ids: Any) -> None:
    assert demo_sign_in(client, ADMIN).status_code == 302
    token = csrf_of(client)
    body = '{"play": "step_back", "body": ' + "[" * 5000 + "]" * 5000 + "}"
    resp = client.post(
        "/admin/templates/preview",
        data=body,
        content_type="application/json",
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert resp.status_code == 400
    assert resp.get_json()["error"]["reason"] == "body_too_deep"
