"""Template editor: layering, the known-variables check, blank variants, reset and preview."""

from __future__ import annotations

import html
from typing import Any

import pytest
from sqlalchemy import select

from server.plays import DEFAULT_TEMPLATES
from server.services.templates import effective_templates
from server.store.db import get_db
from server.store.models import AuditLog, Team, Template, User
from tests.admin.helpers import ADMIN, csrf_of, demo_sign_in, field_error, input_value, post


@pytest.fixture
def admin_client(client: Any, demo_ids: Any) -> Any:
    assert demo_sign_in(client, ADMIN).status_code == 302
    return client


@pytest.fixture
def mid(app: Any, demo_ids: Any) -> int:
    with get_db(app).session() as s:
        found = s.scalar(
            select(Team.id).where(Team.org_id == demo_ids.org_id, Team.name == "Mid-market")
        )
        assert found is not None
        return int(found)


def in_force(app: Any, user_id: int) -> dict[str, tuple[str, ...]]:
    with get_db(app).session() as s:
        user = s.get(User, user_id)
        assert user is not None
        return effective_templates(s, user)


def rows(app: Any) -> list[tuple[Any, ...]]:
    with get_db(app).session() as s:
        return [
            (t.team_id, t.play, t.variant, t.body)
            for t in s.scalars(select(Template).order_by(Template.team_id, Template.variant))
        ]


def defaults(play: str) -> dict[str, str]:
    return {f"variant_{i}": text for i, text in enumerate(DEFAULT_TEMPLATES[play])}


def test_team_wording_reaches_the_reps(
    app: Any, admin_client: Any, demo_ids: Any, mid: int
) -> None:
    url = f"/admin/teams/{mid}/templates/step_back"
    page = admin_client.get(url).get_data(as_text=True)
    assert html.unescape(input_value(page, "variant_0")) == DEFAULT_TEMPLATES["step_back"][0]
    new = "Hi {{first_name}},\r\n\r\nIf {{company}} has moved on, that is fine; just say so."
    resp = post(admin_client, url, {**defaults("step_back"), "variant_0": new})
    assert resp.status_code == 302
    # Only the changed variant is stored, with plain new lines.
    assert rows(app) == [(mid, "step_back", 0, new.replace("\r\n", "\n"))]
    texts = in_force(app, demo_ids.rep_id)["step_back"]
    assert texts[0] == new.replace("\r\n", "\n")
    assert texts[1:] == DEFAULT_TEMPLATES["step_back"][1:]
    # Jordan is in Enterprise: untouched.
    with get_db(app).session() as s:
        jordan = s.scalar(select(User).where(User.email == "jordan@northwind-demo.com"))
        assert jordan is not None
        assert effective_templates(s, jordan)["step_back"] == DEFAULT_TEMPLATES["step_back"]
        [entry] = s.scalars(select(AuditLog))
    assert entry.action == "template.update" and entry.target == "step_back (team Mid-market)"
    assert entry.before is not None and entry.after is not None
    assert entry.before["variant 1"] == DEFAULT_TEMPLATES["step_back"][0]
    assert entry.after["variant 1"] == new.replace("\r\n", "\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Hi {{first_name}}, what about {{budget}}?", "unknown variable 'budget'"),
        ("Hi {{frist_name}}", "did you mean {{first_name}}?"),
        ("Hi {{first_name.upper}}", "attribute access is not allowed"),
        ("Hi {{ rep_name | upper }}", "filters are not allowed"),
        ("Hi {first_name}", "uses single braces"),
        ("Hi {{first_name", "never closed"),
        ("x" * 5001, "too long"),
    ],
)
def test_unknown_variables_are_refused(
    app: Any, admin_client: Any, mid: int, text: str, message: str
) -> None:
    url = f"/admin/teams/{mid}/templates/step_back"
    resp = post(admin_client, url, {**defaults("step_back"), "variant_1": text})
    assert resp.status_code == 400
    body = resp.get_data(as_text=True)
    assert message in html.unescape(field_error(body, "variant_1"))
    assert field_error(body, "variant_0") == ""
    assert html.unescape(input_value(body, "variant_1")) == text
    assert "Nothing was saved" in body
    assert rows(app) == []
    with get_db(app).session() as s:
        assert list(s.scalars(select(AuditLog))) == []


def test_a_play_cannot_be_emptied(app: Any, admin_client: Any, mid: int) -> None:
    blank = {f"variant_{i}": "  " for i in range(4)}
    resp = post(admin_client, f"/admin/teams/{mid}/templates/where_from_here", blank)
    assert resp.status_code == 400
    assert "Keep at least one variant" in field_error(resp.get_data(as_text=True), "variant_0")
    assert rows(app) == []


def test_blank_variant_hides_the_inherited_one(
    app: Any, admin_client: Any, demo_ids: Any, mid: int
) -> None:
    form = {**defaults("truth_question"), "variant_1": ""}
    assert (
        post(admin_client, f"/admin/teams/{mid}/templates/truth_question", form).status_code == 302
    )
    texts = in_force(app, demo_ids.rep_id)["truth_question"]
    originals = DEFAULT_TEMPLATES["truth_question"]
    assert texts == (originals[0], *originals[2:])


def test_extra_variant_can_be_added(app: Any, admin_client: Any, demo_ids: Any, mid: int) -> None:
    count = len(DEFAULT_TEMPLATES["where_from_here"])
    extra = "{{first_name}}, what would a good next step look like for {{company}}?"
    form = {**defaults("where_from_here"), f"variant_{count}": extra}
    assert (
        post(admin_client, f"/admin/teams/{mid}/templates/where_from_here", form).status_code == 302
    )
    assert in_force(app, demo_ids.rep_id)["where_from_here"][-1] == extra


def test_org_wide_then_team_then_reset(
    app: Any, admin_client: Any, demo_ids: Any, mid: int
) -> None:
    org_text = "Hi {{first_name}}, org-wide wording."
    team_text = "Hi {{first_name}}, team wording."
    assert (
        post(
            admin_client,
            "/admin/templates/org/back_to_goal",
            {**defaults("back_to_goal"), "variant_0": org_text},
        ).status_code
        == 302
    )
    assert in_force(app, demo_ids.rep_id)["back_to_goal"][0] == org_text
    # The team editor starts from what the team inherits: the org-wide text.
    page = admin_client.get(f"/admin/teams/{mid}/templates/back_to_goal").get_data(as_text=True)
    assert html.unescape(input_value(page, "variant_0")) == org_text
    form = {**defaults("back_to_goal"), "variant_0": team_text}
    assert post(admin_client, f"/admin/teams/{mid}/templates/back_to_goal", form).status_code == 302
    assert in_force(app, demo_ids.rep_id)["back_to_goal"][0] == team_text
    assert post(admin_client, f"/admin/teams/{mid}/templates/back_to_goal/reset").status_code == 302
    assert in_force(app, demo_ids.rep_id)["back_to_goal"][0] == org_text
    assert post(admin_client, "/admin/templates/org/back_to_goal/reset").status_code == 302
    assert in_force(app, demo_ids.rep_id)["back_to_goal"] == DEFAULT_TEMPLATES["back_to_goal"]
    assert rows(app) == []
    with get_db(app).session() as s:
        actions = [a.action for a in s.scalars(select(AuditLog).order_by(AuditLog.id))]
    assert actions == ["template.update", "template.update", "template.reset", "template.reset"]


def test_saving_the_inherited_text_stores_nothing(app: Any, admin_client: Any, mid: int) -> None:
    resp = post(admin_client, f"/admin/teams/{mid}/templates/step_back", defaults("step_back"))
    assert resp.status_code == 302
    assert rows(app) == []
    with get_db(app).session() as s:
        assert list(s.scalars(select(AuditLog))) == []


def preview(client: Any, play: str, body: Any) -> Any:
    return client.post(
        "/admin/templates/preview",
        json={"play": play, "body": body},
        headers={"X-CSRF-Token": csrf_of(client), "Accept": "application/json"},
    )


def test_preview_uses_the_real_renderer(admin_client: Any) -> None:
    data = preview(
        admin_client,
        "step_back",
        "Hi {{first_name}} at {{company}} about {{subject}}, from {{rep_name}}.",
    ).get_json()
    assert data["problems"] == []
    assert data["text"] == (
        "Hi Dana at Globex Corp about Pilot for the support team, from Morgan Lee."
    )
    dated = preview(
        admin_client, "getback_date", "{{proposed_date}} at {{proposed_time}}"
    ).get_json()
    # FIXED_NOW is Friday 2026-11-20; three weekdays on is Wednesday the 25th, 10:00 New York.
    assert dated["text"] == "Wednesday, November 25 at 10:00 AM EST"
    cold = preview(admin_client, "cold_file", "Revisit on {{proposed_date}}").get_json()
    assert "2027" in cold["text"]


def test_preview_reports_problems_and_pressure(admin_client: Any) -> None:
    data = preview(admin_client, "step_back", "Hi {{first_name}}, {{deal_size}}").get_json()
    assert data["text"] == "" and "unknown variable 'deal_size'" in data["problems"][0]
    pushy = preview(
        admin_client, "step_back", "Hi {{first_name}}, just checking in on this."
    ).get_json()
    assert pushy["problems"] == [] and pushy["pressure"]
    assert pushy["pressure"][0]["text"].lower().startswith("just checking in")


def test_preview_values_stay_inert(admin_client: Any, app: Any, demo_ids: Any) -> None:
    with get_db(app).session() as s:
        admin = s.get(User, demo_ids.admin_id)
        assert admin is not None
        admin.name = "{{first_name}} <b>Morgan</b>"
    data = preview(admin_client, "step_back", "From {{rep_name}}").get_json()
    assert data["text"] == "From {{first_name}} <b>Morgan</b>"


def test_preview_bad_requests(admin_client: Any) -> None:
    token = {"X-CSRF-Token": csrf_of(admin_client), "Accept": "application/json"}
    not_json = admin_client.post("/admin/templates/preview", data="nope", headers=token)
    assert not_json.status_code == 400 and "JSON object" in not_json.get_json()["error"]["message"]
    assert preview(admin_client, "step_back", 42).status_code == 400
    unknown = preview(admin_client, "hard_close", "Hi")
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == 404


def test_editor_page_escapes_template_text(app: Any, admin_client: Any, mid: int) -> None:
    text = "<script>alert(1)</script> Hi {{first_name}}"
    url = f"/admin/teams/{mid}/templates/where_from_here"
    assert (
        post(admin_client, url, {**defaults("where_from_here"), "variant_0": text}).status_code
        == 302
    )
    page = admin_client.get(url).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Hi Dana" in page


def test_unknown_play_is_not_found(admin_client: Any, mid: int) -> None:
    assert admin_client.get("/admin/templates/org/hard_close").status_code == 404
    assert admin_client.get(f"/admin/teams/{mid}/templates/hard_close").status_code == 404
    assert (
        post(admin_client, "/admin/templates/org/hard_close", {"variant_0": "x"}).status_code == 404
    )


def test_templates_index_marks_customised(app: Any, admin_client: Any, mid: int) -> None:
    post(
        admin_client,
        f"/admin/teams/{mid}/templates/step_back",
        {**defaults("step_back"), "variant_0": "Hi {{first_name}}."},
    )
    page = admin_client.get("/admin/templates").get_data(as_text=True)
    assert f'href="/admin/teams/{mid}/templates/step_back">customised</a>' in page
    assert 'href="/admin/templates/org/step_back">built-in</a>' in page
