"""Each endpoint: success, invalid input (422), malformed bodies (400)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import NOW

FUTURE = "2026-12-01T10:00:00-05:00"


def test_me(api: Any) -> None:
    resp = api("get", "/me")
    assert resp.status_code == 200
    data = resp.get_json()
    assert data["email"] == "alex@northwind-demo.com" and data["name"] == "Alex Rivera"
    assert data["org"] == {"slug": "northwind-demo", "name": "Northwind Traders (demo)"}
    assert data["team"]["name"] == "Mid-market"
    assert data["thresholdDays"] == 5 and data["dayMode"] == "business"
    assert data["timezone"] == "America/New_York" and data["locale"] == "en"
    assert resp.headers["Cache-Control"] == "no-store"
    jordan = api("get", "/me", as_="jordan").get_json()
    assert jordan["team"]["name"] == "Enterprise" and jordan["thresholdDays"] == 8


def test_prospects_lists_owed_then_silent(api: Any) -> None:
    data = api("get", "/prospects").get_json()
    assert data["page"] == 1 and data["per_page"] == 25 and data["total"] == 3
    kinds = [(i["kind"], i["threadId"]) for i in data["items"]]
    # Owed replies first; silent prospects most silent first; the fresh thread is absent.
    assert kinds == [
        ("reply_owed", "t-owed"),
        ("went_silent", "t-hostile"),
        ("went_silent", "t-silent"),
    ]
    silent = data["items"][2]
    assert silent["prospect"] == {"email": "bob@globex-corp.com", "name": "Bob Stone"}
    assert silent["businessDaysSilent"] == 17 and silent["unansweredCount"] == 3
    assert silent["since"] == "2026-10-27T15:00:00Z"
    assert "chasing" in {w["code"] for w in silent["warnings"]}
    assert data["items"][0]["hoursWaiting"] == 48.0


@pytest.mark.parametrize(
    "query, expected",
    [
        ("kind=reply_owed", ["t-owed"]),
        ("kind=silent", ["t-hostile", "t-silent"]),
        ("kind=went_silent", ["t-hostile", "t-silent"]),
        ("kind=no_reply_yet", []),
        ("kind=due", []),
        ("per_page=1&page=2", ["t-hostile"]),
        ("per_page=2&page=9", []),
    ],
)
def test_prospects_filter_and_pages(api: Any, query: str, expected: list[str]) -> None:
    data = api("get", f"/prospects?{query}").get_json()
    assert [i["threadId"] for i in data["items"]] == expected


@pytest.mark.parametrize(
    "query, field",
    [("kind=angry", "kind"), ("page=0", "page"), ("per_page=500", "per_page"), ("page=x", "page")],
)
def test_prospects_bad_query_is_422(api: Any, query: str, field: str) -> None:
    resp = api("get", f"/prospects?{query}")
    assert resp.status_code == 422
    assert field in resp.get_json()["error"]["fields"]


def test_scheduled_getback_moves_thread_from_silent_to_due(api: Any, app: Any) -> None:
    created = api("post", "/getbacks", json={"threadId": "t-silent", "dueAt": FUTURE})
    assert created.status_code == 201
    body = created.get_json()
    assert body["status"] == "scheduled" and body["prospectEmail"] == "bob@globex-corp.com"
    assert body["dueAt"] == "2026-12-01T15:00:00Z"
    ids = [i["threadId"] for i in api("get", "/prospects?kind=silent").get_json()["items"]]
    assert "t-silent" not in ids
    assert api("get", "/getbacks?due=1").get_json()["items"] == []
    assert [g["id"] for g in api("get", "/getbacks").get_json()["items"]] == [body["id"]]
    app.config["FIXED_NOW"] = "2026-12-02T12:00:00+00:00"
    due = api("get", "/prospects?kind=due").get_json()["items"]
    assert [(i["kind"], i["threadId"], i["getback"]["id"]) for i in due] == [
        ("due", "t-silent", body["id"])
    ]
    assert due[0]["subject"] == "Pilot proposal"
    assert [g["id"] for g in api("get", "/getbacks?due=1").get_json()["items"]] == [body["id"]]
    assert "t-silent" in [i["threadId"] for i in api("get", "/prospects").get_json()["items"]]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"threadId": "t-silent", "dueAt": "2026-11-19T10:00:00Z"}, "dueAt"),  # past
        ({"threadId": "t-silent", "dueAt": "2029-01-01T10:00:00Z"}, "dueAt"),  # > 2 years
        ({"threadId": "t-silent", "dueAt": "2026-12-01T10:00:00"}, "dueAt"),  # no offset
        ({"threadId": "t-silent", "dueAt": "next tuesday"}, "dueAt"),
        ({"threadId": "t-silent"}, "dueAt"),
        ({"dueAt": FUTURE}, "threadId"),
        ({"threadId": "t-silent", "dueAt": FUTURE, "kind": "nag"}, "kind"),
        ({"prospectEmail": "not an email", "dueAt": FUTURE}, "prospectEmail"),
        ({"threadId": "../etc", "dueAt": FUTURE}, "threadId"),
        ({"threadId": "t-silent", "dueAt": FUTURE, "note": "x" * 2001}, "note"),
        ({"threadId": "t-silent", "dueAt": FUTURE, "colour": "red"}, "colour"),
    ],
)
def test_create_getback_invalid_is_422(api: Any, body: dict, field: str) -> None:
    resp = api("post", "/getbacks", json=body)
    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["error"]["fields"]


def test_patch_and_cancel_getback(api: Any) -> None:
    gb = api(
        "post",
        "/getbacks",
        json={
            "prospectEmail": "Dave@Umbrella.example",
            "dueAt": FUTURE,
            "kind": "cold_file",
            "note": "budget",
        },
    ).get_json()
    assert gb["prospectEmail"] == "dave@umbrella.example" and gb["threadId"] is None
    moved = api("patch", f"/getbacks/{gb['id']}", json={"dueAt": "2027-03-01T09:00:00+01:00"})
    assert moved.status_code == 200 and moved.get_json()["dueAt"] == "2027-03-01T08:00:00Z"
    assert api("patch", f"/getbacks/{gb['id']}", json={}).status_code == 422
    assert (
        api("patch", f"/getbacks/{gb['id']}", json={"dueAt": "2020-01-01T00:00:00Z"}).status_code
        == 422
    )
    cancelled = api("delete", f"/getbacks/{gb['id']}")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    assert api("delete", f"/getbacks/{gb['id']}").status_code == 200
    assert api("patch", f"/getbacks/{gb['id']}", json={"note": "again"}).status_code == 409
    assert api("get", "/getbacks").get_json()["items"] == []


@pytest.mark.parametrize("gid", ["0", "99999", "2147483648", "99999999999999999999999"])
def test_missing_getback_ids_are_404(api: Any, gid: str) -> None:
    for method, body in (("patch", {"note": "x"}), ("delete", None)):
        resp = api(method, f"/getbacks/{gid}", json=body)
        assert resp.status_code == 404
        assert resp.get_json()["error"]["code"] == 404


def test_play_inserted(api: Any) -> None:
    resp = api(
        "post",
        "/plays/inserted",
        json={"threadId": "t-silent", "play": "step_back", "variant": 2, "surface": "addon"},
    )
    assert resp.status_code == 201
    data = resp.get_json()
    assert data["play"] == "step_back" and data["variant"] == 2 and data["surface"] == "addon"
    assert data["createdAt"] == NOW.isoformat().replace("+00:00", "Z")
    assert (
        api("post", "/plays/inserted", json={"play": "step_back", "variant": 0}).status_code == 201
    )


@pytest.mark.parametrize(
    "body, field",
    [
        ({"play": "push_harder", "variant": 0}, "play"),
        ({"play": "step_back", "variant": 7}, "variant"),
        ({"play": "step_back", "variant": "1"}, "variant"),
        ({"play": "step_back", "variant": True}, "variant"),
        ({"play": "step_back", "variant": 0, "surface": "fax"}, "surface"),
        ({"variant": 0}, "play"),
    ],
)
def test_play_inserted_invalid_is_422(api: Any, body: dict, field: str) -> None:
    resp = api("post", "/plays/inserted", json=body)
    assert resp.status_code == 422
    assert field in resp.get_json()["error"]["fields"]


def test_guidance(api: Any) -> None:
    resp = api("post", "/guidance", json={"recipients": ["Bob Stone <BOB@globex-corp.com>"]})
    assert resp.status_code == 200
    data = resp.get_json()
    assert data["state"] == "went_silent" and data["nag"] is True
    assert data["sentence"] == (
        "Bob at Globex Corp hasn't answered in 17 business days; you've followed up 2 times."
    )
    assert data["plays"][0]["play"] == "apology_feedback"


def test_guidance_matches_the_service_dict(api: Any, app: Any, seeded: Any) -> None:
    """The API schema and guidance_to_dict (used by the demo pages) never drift apart."""
    from server.services.guidance import compose_guidance, guidance_to_dict
    from server.store.db import get_db
    from server.store.models import User

    api("post", "/getbacks", json={"threadId": "t-silent", "dueAt": FUTURE})
    calls: list[dict[str, Any]] = [
        {"recipients": ["bob@globex-corp.com"]},
        {"threadId": "t-owed"},
        {"recipients": ["eve@hostile-example.com"], "locale": "fr", "timezone": "Europe/Paris"},
    ]
    for body in calls:
        via_api = api("post", "/guidance", json=body).get_json()
        with app.app_context(), get_db(app).session() as s:
            rep = s.get(User, seeded.alex_id)
            assert rep is not None
            g = compose_guidance(
                s,
                rep,
                recipients=body.get("recipients", []),
                thread_id=body.get("threadId"),
                now=NOW,
                locale=body.get("locale"),
                timezone=body.get("timezone"),
            )
            assert via_api == guidance_to_dict(g)


def test_guidance_for_a_fresh_thread_is_quiet(api: Any) -> None:
    data = api("post", "/guidance", json={"threadId": "t-fresh"}).get_json()
    assert data["nag"] is False and data["state"] == "live"
    assert {p["play"] for p in data["plays"]} <= {
        "truth_question",
        "back_to_goal",
        "where_from_here",
    }


def test_guidance_hostile_name_is_inert_json(api: Any) -> None:
    resp = api("post", "/guidance", json={"recipients": ["eve@hostile-example.com"]})
    raw = resp.get_data(as_text=True)
    data = resp.get_json()
    assert data["prospect"]["name"] == "{{rep_name}} <img src=x onerror=alert(1)> {first_name}"
    # It travels as a JSON string value, in a response browsers will not sniff as HTML.
    assert '"name":"{{rep_name}} <img src=x onerror=alert(1)> {first_name}"' in raw
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    greetings = [p["text"] for p in data["plays"] if p["play"] == "step_back"]
    assert greetings and all(t.startswith("Hi {{rep_name}},") for t in greetings)
    assert resp.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "recipients"),
        ({"recipients": "bob@globex-corp.com"}, "recipients"),
        ({"recipients": ["bob@globex-corp.com"], "timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"recipients": ["bob@globex-corp.com"], "timezone": "../../etc/passwd"}, "timezone"),
        ({"recipients": ["bob@globex-corp.com"], "locale": "<script>"}, "locale"),
        (
            {"recipients": ["bob@globex-corp.com"], "proposedAt": "2026-12-01T10:00:00"},
            "proposedAt",
        ),
        ({"recipients": ["x"] * 101}, "recipients"),
        ({"threadId": "a" * 65}, "threadId"),
    ],
)
def test_guidance_invalid_is_422(api: Any, body: dict, field: str) -> None:
    resp = api("post", "/guidance", json=body)
    assert resp.status_code == 422, resp.get_json()
    assert field in resp.get_json()["error"]["fields"]


@pytest.mark.parametrize("path", ["/guidance", "/pressure-check", "/getbacks", "/plays/inserted"])
def test_malformed_bodies_are_400(api: Any, path: str) -> None:
    bad_json = api("post", path, data="{not json", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400
    assert "JSON" in bad_json.get_json()["error"]["message"]
    form = api("post", path, data={"text": "hi"})
    assert form.status_code == 400
    not_utf8 = api("post", path, data=b"\xff\xfe{", headers={"Content-Type": "application/json"})
    assert not_utf8.status_code == 400


@pytest.mark.parametrize("payload", [[], "text", 3, None])
def test_non_object_json_is_rejected(api: Any, payload: Any) -> None:
    import json

    resp = api(
        "post", "/guidance", data=json.dumps(payload), headers={"Content-Type": "application/json"}
    )
    assert resp.status_code in (400, 422)


def test_pressure_check(api: Any) -> None:
    text = "Just checking in on my last email. Any update?"
    data = api("post", "/pressure-check", json={"text": text}).get_json()
    assert data["findings"]
    for f in data["findings"]:
        assert text[f["start"] : f["end"]] == f["text"] and f["why"] and f["suggestion"]
    fine = api(
        "post", "/pressure-check", json={"text": "Where do you think we should go from here?"}
    )
    assert fine.get_json() == {"findings": []}


@pytest.mark.parametrize("body", [{"text": "x" * 20_001}, {"text": 5}, {}, {"text": "a", "b": 1}])
def test_pressure_check_invalid_is_422(api: Any, body: dict) -> None:
    resp = api("post", "/pressure-check", json=body)
    assert resp.status_code == 422


def test_wrong_method_and_unknown_path_stay_json(api: Any) -> None:
    assert api("put", "/me").status_code == 405
    missing = api("get", "/nothing-here")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == 404
