"""Org settings, teams, people, delegation, mailboxes, dashboard and audit log."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from server.store.crypto import secret_box
from server.store.db import get_db
from server.store.models import AuditLog, Mailbox, Org, PlayEvent, Team, Template, User
from server.store.settings import rep_settings
from tests.admin.helpers import (
    ADMIN,
    OTHER_ORG_ADMIN,
    demo_sign_in,
    field_error,
    input_value,
    post,
)

GOOD_ORG = {
    "name": "Northwind Traders",
    "internal_domains": "northwind-demo.com\nnorthwind-sales.com",
    "timezone": "Europe/Berlin",
    "day_mode": "calendar",
    "holiday_country": "DE",
    "holiday_subdiv": "BY",
    "default_threshold_days": "6",
    "reply_target_hours": "12",
}


@pytest.fixture
def admin_client(client: Any, demo_ids: Any) -> Any:
    assert demo_sign_in(client, ADMIN).status_code == 302
    return client


def org_row(app: Any, org_id: int) -> dict[str, Any]:
    with get_db(app).session() as s:
        org = s.get(Org, org_id)
        assert org is not None
        return {c.name: getattr(org, c.name) for c in Org.__table__.columns}


def audit_rows(app: Any, org_id: int) -> list[AuditLog]:
    with get_db(app).session() as s:
        return list(
            s.scalars(select(AuditLog).where(AuditLog.org_id == org_id).order_by(AuditLog.id))
        )


def team_id(app: Any, org_id: int, name: str) -> int:
    with get_db(app).session() as s:
        found = s.scalar(select(Team.id).where(Team.org_id == org_id, Team.name == name))
        assert found is not None
        return int(found)


def test_org_settings_saved_and_audited(app: Any, admin_client: Any, demo_ids: Any) -> None:
    resp = post(admin_client, "/admin/org", GOOD_ORG)
    assert resp.status_code == 302
    org = org_row(app, demo_ids.org_id)
    assert org["internal_domains"] == ["northwind-demo.com", "northwind-sales.com"]
    assert org["timezone"] == "Europe/Berlin" and org["day_mode"] == "calendar"
    assert (org["holiday_country"], org["holiday_subdiv"]) == ("DE", "BY")
    assert org["default_threshold_days"] == 6 and org["reply_target_hours"] == 12.0
    [entry] = audit_rows(app, demo_ids.org_id)
    assert entry.action == "org.update" and entry.actor_email == ADMIN
    assert entry.before is not None and entry.after is not None
    assert entry.before["timezone"] == "America/New_York"
    assert entry.after["timezone"] == "Europe/Berlin"
    assert "name" in entry.after and entry.before["default_threshold_days"] == 5
    # Saving the same values again changes nothing and logs nothing.
    post(admin_client, "/admin/org", GOOD_ORG)
    assert len(audit_rows(app, demo_ids.org_id)) == 1
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "org.update" in page and "Europe/Berlin" in page and ADMIN in page


def test_org_settings_reach_the_reps_settings(app: Any, admin_client: Any, demo_ids: Any) -> None:
    post(admin_client, "/admin/org", GOOD_ORG)
    with get_db(app).session() as s:
        rep = s.get(User, demo_ids.rep_id)
        assert rep is not None
        settings = rep_settings(rep)
    assert settings.threshold.calendar_days is True
    assert settings.timezone == "Europe/Berlin"
    assert settings.context.holiday_country == "DE"
    assert "northwind-sales.com" in settings.context.internal_domains


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("default_threshold_days", "0", "at least 1 days; 0 is too low"),
        ("default_threshold_days", "400", "at most 365 days; 400 is too high"),
        ("default_threshold_days", "five", "must be a whole number of days from 1 to 365"),
        ("default_threshold_days", "", "is required"),
        ("reply_target_hours", "0", "at least 1 hours"),
        ("reply_target_hours", "1000", "at most 720 hours"),
        ("internal_domains", "northwind-demo.com\nlocalhost", "'localhost' needs a dot"),
        ("internal_domains", "exa_mple.com", "may only hold letters, digits, hyphens and dots"),
        ("internal_domains", "-bad.com", "may only hold letters"),
        ("internal_domains", "northwind.c0m", "top-level domain"),
        ("internal_domains", "<script>x</script>.com", "may only hold letters"),
        ("timezone", "Mars/Olympus_Mons", "is not an IANA time zone name"),
        ("timezone", "America/New_Yrok", "Did you mean America/New_York?"),
        ("timezone", "", "Time zone is required"),
        ("holiday_country", "XX", "is not a country the holiday calendar knows"),
        ("holiday_subdiv", "ZZ", "is not a region of DE"),
        ("day_mode", "fortnightly", "Choose one of the offered day counting options"),
        ("name", "   ", "Organisation name is required"),
    ],
)
def test_invalid_org_values_are_refused(
    app: Any, admin_client: Any, demo_ids: Any, field: str, value: str, message: str
) -> None:
    before = org_row(app, demo_ids.org_id)
    resp = post(admin_client, "/admin/org", {**GOOD_ORG, field: value})
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert message in html.unescape(field_error(body, field))
    assert "Nothing was saved" in body
    # What the admin typed is still in the form, including the valid fields.
    if field not in ("day_mode", "holiday_country"):
        assert html.unescape(input_value(body, field)) == value
    assert html.unescape(input_value(body, "timezone")) == {**GOOD_ORG, field: value}["timezone"]
    assert org_row(app, demo_ids.org_id) == before
    assert audit_rows(app, demo_ids.org_id) == []


def test_international_domains_are_stored_in_ascii(
    app: Any, admin_client: Any, demo_ids: Any
) -> None:
    resp = post(
        admin_client,
        "/admin/org",
        {**GOOD_ORG, "internal_domains": "@Bücher.de, northwind-demo.com, bücher.de"},
    )
    assert resp.status_code == 302
    assert org_row(app, demo_ids.org_id)["internal_domains"] == [
        "xn--bcher-kva.de",
        "northwind-demo.com",
    ]


def test_team_create_rename_threshold_delete(app: Any, admin_client: Any, demo_ids: Any) -> None:
    resp = post(admin_client, "/admin/teams", {"name": "Renewals", "threshold_days": "12"})
    assert resp.status_code == 302
    new_id = team_id(app, demo_ids.org_id, "Renewals")
    dup = post(admin_client, "/admin/teams", {"name": "mid-MARKET"})
    assert dup.status_code == 400
    assert "already a team called" in html.unescape(field_error(dup.get_data(as_text=True), "name"))
    resp = post(
        admin_client,
        f"/admin/teams/{new_id}",
        {"name": "Renewals EU", "threshold_days": "", "reply_target_hours": "8"},
    )
    assert resp.status_code == 302
    with get_db(app).session() as s:
        team = s.get(Team, new_id)
        assert team is not None
        assert (team.name, team.threshold_days, team.reply_target_hours) == (
            "Renewals EU",
            None,
            8.0,
        )
        rep = s.get(User, demo_ids.rep_id)
        assert rep is not None
        rep.team_id = new_id
        s.add(
            Template(
                org_id=demo_ids.org_id,
                team_id=new_id,
                play="step_back",
                variant=0,
                body="Hello {{first_name}}",
            )
        )
    resp = post(admin_client, f"/admin/teams/{new_id}/delete")
    assert resp.status_code == 302
    with get_db(app).session() as s:
        assert s.get(Team, new_id) is None
        rep = s.get(User, demo_ids.rep_id)
        assert rep is not None and rep.team_id is None
        assert s.scalar(select(Template).where(Template.team_id == new_id)) is None
    actions = [a.action for a in audit_rows(app, demo_ids.org_id)]
    assert actions == ["team.create", "team.update", "team.delete"]
    deleted = audit_rows(app, demo_ids.org_id)[-1]
    assert deleted.before is not None and deleted.before["members"] == ["alex@northwind-demo.com"]
    assert deleted.after is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "at least 1 days"),
        ("400", "at most 365 days"),
        ("-3", "at least 1"),
        ("7.5", "whole number"),
        ("99999999999", "whole number"),
    ],
)
def test_team_threshold_out_of_range(
    app: Any, admin_client: Any, demo_ids: Any, value: str, message: str
) -> None:
    mid = team_id(app, demo_ids.org_id, "Mid-market")
    resp = post(
        admin_client, f"/admin/teams/{mid}", {"name": "Mid-market renamed", "threshold_days": value}
    )
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert message in html.unescape(field_error(body, "threshold_days"))
    assert input_value(body, "threshold_days") == value
    assert input_value(body, "name") == "Mid-market renamed"
    with get_db(app).session() as s:
        team = s.get(Team, mid)
        assert team is not None and (team.name, team.threshold_days) == ("Mid-market", 5)
    assert audit_rows(app, demo_ids.org_id) == []


def test_move_member_only_within_the_org(app: Any, admin_client: Any, demo_ids: Any) -> None:
    ent = team_id(app, demo_ids.org_id, "Enterprise")
    with get_db(app).session() as s:
        casey = s.scalar(select(User).where(User.email == OTHER_ORG_ADMIN))
        assert casey is not None
        casey_id, casey_org = casey.id, casey.org_id
    foreign = post(admin_client, f"/admin/teams/{ent}/members", {"user_id": str(casey_id)})
    assert foreign.status_code == 404
    with get_db(app).session() as s:
        casey = s.get(User, casey_id)
        assert casey is not None and casey.team_id is None and casey.org_id == casey_org
    assert post(admin_client, f"/admin/teams/{ent}/members", {"user_id": "x"}).status_code == 400
    moved = post(admin_client, f"/admin/teams/{ent}/members", {"user_id": str(demo_ids.rep_id)})
    assert moved.status_code == 302
    with get_db(app).session() as s:
        rep = s.get(User, demo_ids.rep_id)
        assert rep is not None and rep.team_id == ent
        assert rep_settings(rep).threshold.days == 8
    [entry] = audit_rows(app, demo_ids.org_id)
    assert (entry.action, entry.before, entry.after) == (
        "user.move",
        {"team": "Mid-market"},
        {"team": "Enterprise"},
    )


def test_invite_a_rep(app: Any, admin_client: Any, demo_ids: Any) -> None:
    ent = team_id(app, demo_ids.org_id, "Enterprise")
    resp = post(
        admin_client,
        "/admin/people",
        {"email": " Sam.Lee@Northwind-Demo.com ", "name": "Sam Lee", "team_id": str(ent)},
    )
    assert resp.status_code == 302
    with get_db(app).session() as s:
        sam = s.scalar(select(User).where(User.email == "sam.lee@northwind-demo.com"))
        assert sam is not None
        assert (sam.org_id, sam.role, sam.team_id, sam.name) == (
            demo_ids.org_id,
            "rep",
            ent,
            "Sam Lee",
        )
        assert sam.local_password_hash is None
    [entry] = audit_rows(app, demo_ids.org_id)
    assert entry.action == "user.invite" and entry.after is not None
    assert entry.after["team"] == "Enterprise"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"email": "alex@northwind-demo.com"}, "email", "already a member of this organisation"),
        ({"email": OTHER_ORG_ADMIN}, "email", "internal domains (northwind-demo.com)"),
        ({"email": "not-an-address"}, "email", "is not an email address"),
        ({"email": "x@localhost"}, "email", "needs a dot"),
        ({"email": ""}, "email", "Email is required"),
        ({"email": "new@northwind-demo.com", "team_id": "foreign"}, "team_id", "listed teams"),
    ],
)
def test_invite_refusals(
    app: Any, admin_client: Any, demo_ids: Any, data: dict[str, str], field: str, message: str
) -> None:
    with get_db(app).session() as s:
        count = len(list(s.scalars(select(User))))
        other_team = Team(
            org_id=s.scalar(select(Org.id).where(Org.slug == "contoso-demo")), name="Contoso team"
        )
        s.add(other_team)
        s.flush()
        other_team_id = other_team.id
    if data.get("team_id") == "foreign":
        data = {**data, "team_id": str(other_team_id)}
    resp = post(admin_client, "/admin/people", data)
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert message in html.unescape(field_error(body, field))
    assert html.unescape(input_value(body, "email")) == data["email"]
    with get_db(app).session() as s:
        assert len(list(s.scalars(select(User)))) == count
    assert audit_rows(app, demo_ids.org_id) == []


def test_per_rep_override_and_role(app: Any, admin_client: Any, demo_ids: Any) -> None:
    url = f"/admin/people/{demo_ids.rep_id}"
    mid = team_id(app, demo_ids.org_id, "Mid-market")
    base = {"name": "Alex Rivera", "team_id": str(mid), "role": "rep"}
    for bad, message in (("0", "at least 1"), ("400", "at most 365")):
        resp = post(admin_client, url, {**base, "threshold_override_days": bad})
        assert resp.status_code == 400
        body = resp.get_data(as_text=True)
        assert message in field_error(body, "threshold_override_days")
        assert input_value(body, "threshold_override_days") == bad
    assert post(admin_client, url, {**base, "threshold_override_days": "3"}).status_code == 302
    with get_db(app).session() as s:
        rep = s.get(User, demo_ids.rep_id)
        assert rep is not None and rep_settings(rep).threshold.days == 3
    page = admin_client.get(url).get_data(as_text=True)
    assert '<strong data-testid="threshold-in-force">3 days</strong>' in page
    assert post(admin_client, url, {**base, "threshold_override_days": ""}).status_code == 302
    with get_db(app).session() as s:
        rep = s.get(User, demo_ids.rep_id)
        assert rep is not None and rep_settings(rep).threshold.days == 5
    [first, second] = audit_rows(app, demo_ids.org_id)
    assert (first.before, first.after) == (
        {"threshold_override_days": None},
        {"threshold_override_days": 3},
    )
    assert second.after == {"threshold_override_days": None}


def test_the_last_admin_cannot_step_down(app: Any, admin_client: Any, demo_ids: Any) -> None:
    url = f"/admin/people/{demo_ids.admin_id}"
    resp = post(admin_client, url, {"name": "Morgan Lee", "team_id": "", "role": "rep"})
    assert resp.status_code == 400
    assert "only admin" in field_error(resp.get_data(as_text=True), "role")
    promote = post(
        admin_client,
        f"/admin/people/{demo_ids.rep_id}",
        {"name": "Alex Rivera", "team_id": "", "role": "admin"},
    )
    assert promote.status_code == 302
    resp = post(admin_client, url, {"name": "Morgan Lee", "team_id": "", "role": "rep"})
    assert resp.status_code == 302 and resp.location == "/"
    # The demotion ended the session: the settings pages ask for a sign-in again.
    assert admin_client.get("/admin/").status_code == 302


def service_account_key(
    email: str = "reader@northwind-prod.iam.gserviceaccount.com",
) -> dict[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": "northwind-prod",
        "private_key_id": "abc123keyid",
        "private_key": pem,
        "client_email": email,
        "client_id": "109876543210",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


def upload(client: Any, form: dict[str, str], key: bytes | None) -> Any:
    from io import BytesIO

    data: dict[str, Any] = {**form}
    if key is not None:
        data["dwd_key"] = (BytesIO(key), "key.json")
    return post(client, "/admin/delegation", data, content_type="multipart/form-data")


def test_delegation_key_is_stored_encrypted(app: Any, admin_client: Any, demo_ids: Any) -> None:
    info = service_account_key()
    resp = upload(
        admin_client, {"dwd_enabled": "on", "dwd_service_account": ""}, json.dumps(info).encode()
    )
    assert resp.status_code == 302
    org = org_row(app, demo_ids.org_id)
    assert org["dwd_enabled"] is True
    assert org["dwd_service_account"] == info["client_email"]
    stored = org["dwd_key_enc"]
    assert b"PRIVATE KEY" not in stored and b"abc123keyid" not in stored
    with app.app_context():
        assert json.loads(secret_box().decrypt(stored)) == info
    [entry] = audit_rows(app, demo_ids.org_id)
    assert entry.after == {
        "enabled": True,
        "service_account": info["client_email"],
        "key_id": "abc123keyid",
    }
    assert "PRIVATE KEY" not in json.dumps([entry.before, entry.after])
    page = admin_client.get("/admin/mailboxes").get_data(as_text=True)
    assert "109876543210" in page and "https://www.googleapis.com/auth/gmail.metadata" in page
    assert "PRIVATE KEY" not in page
    # Remove the key: delegation cannot stay on without it.
    resp = upload(
        admin_client,
        {"dwd_enabled": "on", "dwd_remove_key": "on", "dwd_service_account": info["client_email"]},
        None,
    )
    assert resp.status_code == 400
    assert "needs the service account's JSON key" in html.unescape(
        field_error(resp.get_data(as_text=True), "dwd_key")
    )
    resp = upload(
        admin_client, {"dwd_remove_key": "on", "dwd_service_account": info["client_email"]}, None
    )
    assert resp.status_code == 302
    org = org_row(app, demo_ids.org_id)
    assert org["dwd_key_enc"] is None and org["dwd_enabled"] is False


@pytest.mark.parametrize(
    ("account", "payload", "field", "message"),
    [
        ("", b"{not json", "dwd_key", "not JSON"),
        ("", json.dumps({"type": "authorized_user"}).encode(), "dwd_key", "not a service-account"),
        (
            "",
            json.dumps(
                {
                    "type": "service_account",
                    "client_email": "a@b.iam.gserviceaccount.com",
                    "private_key": "x",
                    "private_key_id": "1",
                    "client_id": "2",
                }
            ).encode(),
            "dwd_key",
            "cannot be read",
        ),
        ("other@x.iam.gserviceaccount.com", "KEY", "dwd_key", "This key belongs to"),
        ("someone@gmail.com", None, "dwd_service_account", "ends in .gserviceaccount.com"),
        ("", None, "dwd_service_account", "needs the service account's address"),
    ],
)
def test_delegation_refusals(
    app: Any, admin_client: Any, demo_ids: Any, account: str, payload: Any, field: str, message: str
) -> None:
    if payload == "KEY":
        payload = json.dumps(service_account_key()).encode()
    before = org_row(app, demo_ids.org_id)
    resp = upload(admin_client, {"dwd_enabled": "on", "dwd_service_account": account}, payload)
    assert resp.status_code == 400
    assert message in html.unescape(field_error(resp.get_data(as_text=True), field))
    assert org_row(app, demo_ids.org_id) == before


def test_mailboxes_page_shows_sync_health(app: Any, admin_client: Any, synced: Any) -> None:
    page = admin_client.get("/admin/mailboxes").get_data(as_text=True)
    assert "alex@northwind-demo.com" in page and "status-ok" in page
    with get_db(app).session() as s:
        mailbox = s.get(Mailbox, synced.ids.mailbox_id)
        assert mailbox is not None
        mailbox.status = "reconnect_needed"
        mailbox.last_error = "Google says the refresh token was revoked"
        mailbox.messages_skipped = 3
    page = admin_client.get("/admin/mailboxes").get_data(as_text=True)
    assert "The rep must reconnect Gmail." in page
    assert "the refresh token was revoked" in page
    assert '<td class="num">3</td>' in page


def test_dashboard_buckets_and_plays(app: Any, admin_client: Any, synced: Any) -> None:
    with get_db(app).session() as s:
        rep = s.get(User, synced.ids.rep_id)
        assert rep is not None
        rep.name = "<script>alert(1)</script> Alex"
        for answered in (True, False):
            s.add(
                PlayEvent(
                    org_id=rep.org_id,
                    user_id=rep.id,
                    gmail_thread_id="t-globex",
                    play="step_back",
                    variant=0,
                    surface="extension",
                    answered_at=rep.created_at if answered else None,
                )
            )
        s.add(
            PlayEvent(
                org_id=rep.org_id,
                user_id=rep.id,
                gmail_thread_id="t-initech",
                play="apology_feedback",
                variant=1,
                surface="addon",
            )
        )
    page = admin_client.get("/admin/").get_data(as_text=True)
    svg = page[page.index("<svg") : page.index("</svg>")]
    # globex: 10 days silent, umbrella: 17 days, initech: 61 days; hooli owes a reply.
    assert bars(svg) == {1: 1, 2: 1, 3: 1}
    assert '<td class="num"><strong>3</strong></td>' in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; Alex" in svg
    plays = page[page.index('data-testid="plays-table"') :]
    assert (
        '<td>Step-back closure</td><td class="num">2</td><td class="num">1</td>'
        '<td class="num">50%</td>' in plays
    )
    assert "Apology and feedback" in plays


def test_dashboard_follows_the_threshold(app: Any, admin_client: Any, synced: Any) -> None:
    mid = team_id(app, synced.ids.org_id, "Mid-market")
    post(admin_client, f"/admin/teams/{mid}", {"name": "Mid-market", "threshold_days": "30"})
    page = admin_client.get("/admin/").get_data(as_text=True)
    svg = page[page.index("<svg") : page.index("</svg>")]
    # Only the 61-day silence is past 30 business days.
    assert bars(svg) == {3: 1}


def test_dashboard_before_any_sync(app: Any, admin_client: Any) -> None:
    page = admin_client.get("/admin/").get_data(as_text=True)
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert "Alex Rivera" in svg and bars(svg) == {}
    assert "No plays used yet." in page


def bars(svg: str) -> dict[int, int]:
    """Bucket index -> count of the chart's bar segments."""
    found = re.findall(r'data-bucket="(\d)" data-count="(\d+)"', svg)
    return {int(bucket): int(count) for bucket, count in found}


def test_audit_log_lists_every_change(app: Any, admin_client: Any, demo_ids: Any) -> None:
    mid = team_id(app, demo_ids.org_id, "Mid-market")
    post(admin_client, "/admin/org", GOOD_ORG)
    post(admin_client, f"/admin/teams/{mid}", {"name": "Mid-market", "threshold_days": "9"})
    post(admin_client, "/admin/teams", {"name": "Partners"})
    post(admin_client, "/admin/people", {"email": "pat@northwind-demo.com"})
    post(
        admin_client,
        f"/admin/teams/{mid}/templates/step_back",
        {"variant_0": "Hi {{first_name}}, no pressure at all."},
    )
    post(admin_client, f"/admin/teams/{mid}/templates/step_back/reset")
    actions = [a.action for a in audit_rows(app, demo_ids.org_id)]
    assert actions == [
        "org.update",
        "team.update",
        "team.create",
        "user.invite",
        "template.update",
        "template.reset",
    ]
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    for action in actions:
        assert action in page
    assert "no pressure at all." in page
    # Another org's admin sees none of it.
    admin_client.post("/auth/signout", data={"csrf_token": ""})
    demo_sign_in(admin_client, OTHER_ORG_ADMIN)
    other = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "No changes yet." in other and "org.update" not in other
