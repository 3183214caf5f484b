"""Hostile input on every admin route: never a 500, never a change to saved settings."""

from __future__ import annotations

from typing import Any

import pytest

from tests.admin.helpers import ADMIN, csrf_of, demo_sign_in, post
from tests.admin.test_admin_access import RULES, _ids, _url, snapshot

HUGE = "9" * 25
FIELDS = (
    "name",
    "threshold_days",
    "default_threshold_days",
    "threshold_override_days",
    "reply_target_hours",
    "timezone",
    "day_mode",
    "internal_domains",
    "holiday_country",
    "holiday_subdiv",
    "role",
    "email",
    "team_id",
    "user_id",
    "variant_0",
    "variant_1",
    "dwd_enabled",
    "dwd_service_account",
)
NASTY = {
    "nul": "a\x00b",
    "huge": HUGE,
    "negative": "-1",
    "long": "x" * 20000,
    "unicode": "\u202e\ufeff👀 ünïcödé",
    "markup": "<img src=x onerror=alert(1)>{{first_name}}",
}
POSTS = [r for r in RULES if r[1] == "POST"]


@pytest.mark.parametrize("kind", sorted(NASTY))
@pytest.mark.parametrize(("rule", "method", "args"), POSTS, ids=[r for r, _, _ in POSTS])
def test_nasty_values_never_break_a_route(
    app: Any, client: Any, demo_ids: Any, rule: str, method: str, args: tuple[str, ...], kind: str
) -> None:
    assert demo_sign_in(client, ADMIN).status_code == 302
    url = _url(rule, _ids(app, "northwind-demo"))
    value = NASTY[kind]
    before = snapshot(app, demo_ids.org_id)
    resp = post(client, url, {name: value for name in FIELDS})
    assert resp.status_code < 500, resp.get_data(as_text=True)[:300]
    if resp.status_code >= 400:
        assert snapshot(app, demo_ids.org_id) == before


@pytest.mark.parametrize(
    "path",
    [
        f"/admin/teams/{HUGE}",
        f"/admin/people/{HUGE}",
        f"/admin/teams/{HUGE}/templates/step_back",
        "/admin/teams/0",
        "/admin/people/0",
        "/admin/audit?page=-4",
        "/admin/audit?page=x",
        f"/admin/audit?page={HUGE}",
        "/admin/templates/org/..%2f..%2fetc",
    ],
)
def test_odd_urls(client: Any, demo_ids: Any, path: str) -> None:
    assert demo_sign_in(client, ADMIN).status_code == 302
    resp = client.get(path)
    assert resp.status_code in (200, 404)


def test_control_characters_are_refused_in_templates(app: Any, client: Any, demo_ids: Any) -> None:
    assert demo_sign_in(client, ADMIN).status_code == 302
    resp = post(client, "/admin/templates/org/step_back", {"variant_0": "Hi\x07 {{first_name}}"})
    assert resp.status_code == 400
    assert "control characters" in resp.get_data(as_text=True)


def test_foreign_or_huge_ids_in_forms(app: Any, client: Any, demo_ids: Any) -> None:
    assert demo_sign_in(client, ADMIN).status_code == 302
    ids = _ids(app, "northwind-demo")
    resp = post(client, f"/admin/teams/{ids['team_id']}/members", {"user_id": HUGE})
    assert resp.status_code == 400 and "Choose a person" in resp.get_data(as_text=True)
    resp = post(client, "/admin/people", {"email": "kim@northwind-demo.com", "team_id": HUGE})
    assert resp.status_code == 400 and "listed teams" in resp.get_data(as_text=True)


def test_demo_sign_in_with_odd_input(client: Any, demo_ids: Any) -> None:
    for email in ("a\x00b@northwind-demo.com", "x" * 5000, ""):
        resp = client.post(
            "/auth/demo", data={"email": email, "password": "demo", "csrf_token": csrf_of(client)}
        )
        assert resp.status_code == 401


def test_oversized_request_is_refused_cleanly(app: Any, client: Any, demo_ids: Any) -> None:
    assert demo_sign_in(client, ADMIN).status_code == 302
    resp = post(client, "/admin/org", {"name": "x" * (2 * 1024 * 1024)})
    assert resp.status_code == 413
