"""POST /api/v1/guidance reuses cached work only while nothing it reads has changed.

Every test changes one thing the answer depends on and checks that the very next answer
shows the change and equals a freshly composed, uncached answer.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, update

from server.services.guidance import compose_guidance, guidance_to_dict
from server.services.guidance_cache import guidance_cache
from server.store.db import get_db
from server.store.models import GetBack, Mailbox, Org, Team, Template, ThreadState, User
from tests.admin.helpers import ADMIN, demo_sign_in, post
from tests.api.conftest import Seeded
from tests.conftest import NOW
from tests.engine.builders import thread
from tests.services.mailboxes import at, demo_threads, inbound, out, store

BOB_EMAIL = "bob@globex-corp.com"
BOB = {"recipients": [f"Bob Stone <{BOB_EMAIL}>"]}
SILENT = {"threadId": "t-silent"}
FUTURE = "2026-12-01T10:00:00-05:00"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    # The admin pages are reached through the demo's local sign-in.
    return {**app_config, "DEMO_LOGIN": True, "SESSION_COOKIE_SECURE": False}


def fresh(app: Any, rep_id: int, body: dict[str, Any]) -> dict[str, Any]:
    """The answer composed from scratch in a new session (no cache involved)."""
    from server import clock

    with app.app_context(), get_db(app).session() as s:
        rep = s.get(User, rep_id)
        assert rep is not None
        g = compose_guidance(
            s,
            rep,
            recipients=body.get("recipients", []),
            thread_id=body.get("threadId"),
            now=clock.now(),
            locale=body.get("locale"),
            timezone=body.get("timezone"),
        )
        return guidance_to_dict(g)


def ask(api: Any, app: Any, seeded: Seeded, body: dict[str, Any]) -> dict[str, Any]:
    """The API's answer, checked against the uncached one."""
    resp = api("post", "/guidance", json=body)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    data: dict[str, Any] = resp.get_json()
    assert data == fresh(app, seeded.alex_id, body)
    return data


def misses(app: Any) -> int:
    return guidance_cache(app).misses


def test_repeats_are_served_from_the_cache(api: Any, app: Any, seeded: Seeded) -> None:
    first = ask(api, app, seeded, BOB)
    cache = guidance_cache(app)
    hits = cache.hits
    for _ in range(3):
        assert ask(api, app, seeded, BOB) == first
    assert cache.hits == hits + 3
    assert first["state"] == "went_silent" and first["plays"]


def test_a_synced_answer_from_the_prospect_shows_at_once(
    api: Any, app: Any, seeded: Seeded
) -> None:
    assert ask(api, app, seeded, BOB)["state"] == "went_silent"
    before = misses(app)
    silent = next(t for t in demo_threads() if t["id"] == "t-silent")
    replied = thread(
        "t-silent",
        *silent["messages"],
        inbound("s6", at(11, 19), "Bob Stone <bob@globex-corp.com>"),
    )
    with app.app_context(), get_db(app).session() as s:
        rep = s.get(User, seeded.alex_id)
        assert rep is not None
        store(s, rep, [replied])  # the way a sync stores a changed thread
    after = ask(api, app, seeded, BOB)
    assert misses(app) == before + 1
    assert after["state"] == "reply_owed" and after["nag"] is False


def test_a_new_thread_at_the_prospects_company_shows_at_once(
    api: Any, app: Any, seeded: Seeded
) -> None:
    codes = {w["code"] for w in ask(api, app, seeded, SILENT)["warnings"]}
    assert "single_contact" in codes
    colleague = thread(
        "t-colleague",
        out("x1", at(9, 1), "Ann Lee <ann@globex-corp.com>", "Other"),
        inbound("x2", at(9, 2), "Ann Lee <ann@globex-corp.com>", "Other"),
    )
    with app.app_context(), get_db(app).session() as s:
        rep = s.get(User, seeded.alex_id)
        assert rep is not None
        store(s, rep, [colleague])
    codes = {w["code"] for w in ask(api, app, seeded, SILENT)["warnings"]}
    assert "single_contact" not in codes


def test_a_deleted_thread_shows_at_once(api: Any, app: Any, seeded: Seeded) -> None:
    assert ask(api, app, seeded, SILENT)["subject"] == "Pilot proposal"
    with app.app_context(), get_db(app).session() as s:
        s.execute(delete(ThreadState).where(ThreadState.gmail_thread_id == "t-silent"))
    gone = ask(api, app, seeded, SILENT)
    assert gone["state"] == "unknown" and gone["subject"] == ""


def test_getback_schedule_move_and_cancel_show_at_once(
    api: Any, app: Any, seeded: Seeded
) -> None:
    assert ask(api, app, seeded, BOB)["nag"] is True
    made = api("post", "/getbacks", json={"threadId": "t-silent", "dueAt": FUTURE}).get_json()
    scheduled = ask(api, app, seeded, BOB)
    assert scheduled["state"] == "scheduled" and scheduled["nag"] is False
    assert scheduled["getback"]["id"] == made["id"]
    assert scheduled["getback"]["dueAt"] == "2026-12-01T15:00:00Z"

    later = "2026-12-03T10:00:00-05:00"
    assert api("patch", f"/getbacks/{made['id']}", json={"dueAt": later}).status_code == 200
    assert ask(api, app, seeded, BOB)["getback"]["dueAt"] == "2026-12-03T15:00:00Z"
    assert api("patch", f"/getbacks/{made['id']}", json={"note": "call"}).status_code == 200
    assert ask(api, app, seeded, BOB)["getback"]["note"] == "call"

    assert api("delete", f"/getbacks/{made['id']}").status_code == 200
    cancelled = ask(api, app, seeded, BOB)
    assert cancelled["getback"] is None and cancelled["state"] == "went_silent"


def test_reminder_job_marking_a_getback_due_shows_at_once(
    api: Any, app: Any, seeded: Seeded
) -> None:
    due = "2026-11-20T16:00:00Z"  # an hour after the test's clock
    made = api("post", "/getbacks", json={"threadId": "t-silent", "dueAt": due}).get_json()
    assert ask(api, app, seeded, BOB)["state"] == "scheduled"
    # The clock passes the date: no data changed, yet the answer must change.
    app.config["FIXED_NOW"] = (NOW + timedelta(hours=2)).isoformat()
    arrived = ask(api, app, seeded, BOB)
    assert arrived["state"] == "went_silent" and arrived["getback"]["status"] == "scheduled"
    # The reminder job's bulk UPDATE (no ORM objects involved).
    with app.app_context(), get_db(app).session() as s:
        s.execute(
            update(GetBack)
            .where(GetBack.id == made["id"], GetBack.status == "scheduled")
            .values(status="due", reminded_at=NOW + timedelta(hours=2))
            .execution_options(synchronize_session=False)
        )
    assert ask(api, app, seeded, BOB)["getback"]["status"] == "due"


def test_the_clock_alone_moves_the_counts(api: Any, app: Any, seeded: Seeded) -> None:
    first = ask(api, app, seeded, BOB)
    hits = guidance_cache(app).hits
    app.config["FIXED_NOW"] = (NOW + timedelta(days=3)).isoformat()  # Friday -> Monday
    later = ask(api, app, seeded, BOB)
    assert guidance_cache(app).hits == hits + 1  # same stored data, recomputed for the new time
    assert later["daysSilent"] == first["daysSilent"] + 3
    assert later["businessDaysSilent"] == first["businessDaysSilent"] + 1
    assert later["proposedAt"] != first["proposedAt"]


def test_admin_threshold_change_shows_at_once(api: Any, app: Any, seeded: Seeded) -> None:
    admin = app.test_client()
    assert demo_sign_in(admin, ADMIN).status_code == 302
    with app.app_context(), get_db(app).session() as s:
        team = s.scalar(select(Team).where(Team.name == "Mid-market"))
        assert team is not None
        team_id = team.id
    before = ask(api, app, seeded, BOB)
    assert before["thresholdDays"] == 5 and before["silent"] is True
    waited = before["businessDaysSilent"]
    resp = post(admin, f"/admin/teams/{team_id}", {"name": "Mid-market", "threshold_days": "30"})
    assert resp.status_code == 302
    after = ask(api, app, seeded, BOB)
    assert waited < 30
    assert after["thresholdDays"] == 30 and after["silent"] is False and after["nag"] is False


def test_admin_template_edit_and_reset_show_at_once(api: Any, app: Any, seeded: Seeded) -> None:
    admin = app.test_client()
    assert demo_sign_in(admin, ADMIN).status_code == 302

    def step_back() -> list[str]:
        return [p["text"] for p in ask(api, app, seeded, BOB)["plays"] if p["play"] == "step_back"]

    defaults = step_back()
    assert defaults
    text = "Hi {{first_name}}, no rush at all from our side."
    assert post(admin, "/admin/templates/org/step_back", {"variant_0": text}).status_code == 302
    assert step_back() == ["Hi Bob, no rush at all from our side."]
    assert post(admin, "/admin/templates/org/step_back/reset").status_code == 302
    assert step_back() == defaults


def _write(app: Any, statement: Any) -> None:
    with app.app_context(), get_db(app).session() as s:
        s.execute(statement)


def test_settings_written_without_an_audit_row_still_show(
    api: Any, app: Any, seeded: Seeded
) -> None:
    """A script or CLI editing rows directly (no AuditLog) is noticed too."""
    seen = [ask(api, app, seeded, BOB)]
    for statement in (
        update(Team).where(Team.id == _team_of(app, seeded)).values(threshold_days=6),
        update(User).where(User.id == seeded.alex_id).values(threshold_override_days=40),
        update(Org).where(Org.id == seeded.org_id).values(day_mode="calendar"),
        update(User).where(User.id == seeded.alex_id).values(threshold_override_days=None),
    ):
        _write(app, statement)
        seen.append(ask(api, app, seeded, BOB))
    assert [d["thresholdDays"] for d in seen] == [5, 6, 40, 40, 6]
    assert [d["dayMode"] for d in seen] == ["business"] * 3 + ["calendar"] * 2


def test_calendar_and_address_settings_still_show(api: Any, app: Any, seeded: Seeded) -> None:
    """Each setting the engine reads, changed alone, changes the next answer."""
    first = ask(api, app, seeded, BOB)
    assert first["businessDaysSilent"] == 17  # Veterans Day is a US holiday for the demo org
    _write(app, update(Org).where(Org.id == seeded.org_id).values(holiday_country=None))
    assert ask(api, app, seeded, BOB)["businessDaysSilent"] == 18
    _write(app, update(Org).where(Org.id == seeded.org_id).values(timezone="Asia/Tokyo"))
    tokyo = ask(api, app, seeded, BOB)
    assert tokyo["proposedAt"] != first["proposedAt"]
    _write(app, update(User).where(User.id == seeded.alex_id).values(timezone="Europe/Berlin"))
    berlin = ask(api, app, seeded, BOB)
    assert berlin["proposedAt"] not in (first["proposedAt"], tokyo["proposedAt"])

    def dated() -> list[str]:
        data = ask(api, app, seeded, BOB)
        return [p["text"] for p in data["plays"] if p["play"] == "getback_date"]

    english = dated()
    _write(app, update(User).where(User.id == seeded.alex_id).values(locale="de"))
    assert dated() != english
    # Bob's address becomes (or stops being) one of the rep's own: no prospect to judge.
    alex = User.id == seeded.alex_id
    for statement, own in (
        (update(User).where(alex).values(aliases=["bob@globex-corp.com"]), True),
        (update(User).where(alex).values(aliases=[]), False),
        (update(Mailbox).where(Mailbox.user_id == seeded.alex_id).values(email=BOB_EMAIL), True),
    ):
        _write(app, statement)
        state = ask(api, app, seeded, BOB)["state"]
        assert (state == "unknown") == own, state
    _write(app, update(Mailbox).where(Mailbox.user_id == seeded.alex_id).values(
        email="alex@northwind-demo.com"
    ))
    assert ask(api, app, seeded, BOB)["state"] == "went_silent"
    _write(app, update(Org).where(Org.id == seeded.org_id).values(
        internal_domains=["northwind-demo.com", "globex-corp.com"]
    ))
    assert ask(api, app, seeded, BOB)["prospect"] is None


def _team_of(app: Any, seeded: Seeded) -> int:
    with app.app_context(), get_db(app).session() as s:
        rep = s.get(User, seeded.alex_id)
        assert rep is not None and rep.team_id is not None
        return rep.team_id


def test_template_rows_written_directly_still_show(api: Any, app: Any, seeded: Seeded) -> None:
    def step_back() -> list[str]:
        return [p["text"] for p in ask(api, app, seeded, BOB)["plays"] if p["play"] == "step_back"]

    defaults = step_back()
    with app.app_context(), get_db(app).session() as s:
        s.add(Template(org_id=seeded.org_id, team_id=None, play="step_back", variant=0,
                       body="Hi {{first_name}}, this is {{rep_name}}."))
    assert step_back()[0] == "Hi Bob, this is Alex Rivera."
    # Same row count and ids, only the text (and its update time) changes.
    _write(app, update(Template).values(body="Hi {{first_name}}, all good here."))
    assert step_back()[0] == "Hi Bob, all good here."
    _write(app, update(Template).values(body="Hi {{first_name}}, this is {{rep_name}}."))
    assert step_back()[0] == "Hi Bob, this is Alex Rivera."
    _write(app, update(User).where(User.id == seeded.alex_id).values(name="Alexandra Rivera"))
    assert step_back()[0] == "Hi Bob, this is Alexandra Rivera."
    _write(app, delete(Template))
    assert step_back() == defaults


def test_answers_are_cached_per_rep(api: Any, app: Any, seeded: Seeded) -> None:
    mine = api("post", "/guidance", json=BOB).get_json()
    theirs = api("post", "/guidance", as_="jordan", json=BOB).get_json()
    assert (mine["threadId"], theirs["threadId"]) == ("t-silent", "j-1")
    assert api("post", "/guidance", json=SILENT, as_="casey").get_json()["state"] == "unknown"


def test_bodies_seen_before_are_still_validated(api: Any) -> None:
    body = b'{"recipients": ["bob@globex-corp.com"]}'
    ok = api("post", "/guidance", data=body, content_type="application/json")
    assert ok.status_code == 200
    # The same bytes under another content type are still refused.
    assert api("post", "/guidance", data=body, content_type="text/plain").status_code == 400
    for _ in range(2):
        bad = api("post", "/guidance", json={"recipients": [], "timezone": "Mars/Base"})
        assert bad.status_code == 422
        broken = api("post", "/guidance", data=b"{", content_type="application/json")
        assert broken.status_code == 400


def test_cache_can_be_turned_off(app_config: dict[str, Any], tokens: Any, seeded: Seeded) -> None:
    from server import create_app
    from tests.api.conftest import Tokens

    off = create_app({**app_config, "GUIDANCE_CACHE_SECONDS": 0})
    try:
        client = off.test_client()
        answers = [
            client.post("/api/v1/guidance", json=BOB, headers=Tokens.header(tokens.alex))
            for _ in range(2)
        ]
        assert [r.status_code for r in answers] == [200, 200]
        assert answers[0].get_json() == answers[1].get_json()
        assert len(guidance_cache(off)) == 0 and guidance_cache(off).hits == 0
    finally:
        get_db(off).dispose()
