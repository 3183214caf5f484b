"""Findings of the outside attack run on the rep API: a rep's own odd input gets 422 (never
a 500, the same on SQLite and PostgreSQL), bodies are guarded before parsing, made-up tokens
cannot make us call Google without limit, and the OpenAPI document states every rule."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from server.api.openapi import build_spec
from server.store.db import get_db
from server.store.models import GetBack
from tests.api.conftest import Seeded, Tokens
from tests.api.tokeninfo_standin import TokenInfoStandIn

FUTURE = "2026-12-01T10:00:00+01:00"
EXTREME_DATES = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00")
LONG_ADDRESS = "a" * 64 + "@" + ".".join(["b" * 63] * 4) + ".com"  # 324 characters


def _getbacks(app: Any) -> list[tuple[str | None, str, str]]:
    with get_db(app).session() as s:
        rows = s.scalars(select(GetBack).order_by(GetBack.id))
        return [(r.gmail_thread_id, r.note, r.status) for r in rows]


def _field(resp: Any, name: str) -> list[str]:
    assert resp.status_code == 422, resp.get_data(as_text=True)
    return resp.get_json()["error"]["fields"][name]


@pytest.mark.parametrize("zone", ["America", "Etc", "Europe", "America/", "posixrules/x"])
def test_folder_names_are_not_zones(api: Any, zone: str) -> None:
    body = {"recipients": ["dana@fabrikam.example"], "timezone": zone}
    assert "IANA" in _field(api("post", "/guidance", json=body), "timezone")[0]


@pytest.mark.parametrize("moment", EXTREME_DATES)
def test_dates_at_the_ends_of_time(api: Any, app: Any, moment: str) -> None:
    body = {"recipients": ["dana@fabrikam.example"], "proposedAt": moment}
    assert "between" in _field(api("post", "/guidance", json=body), "proposedAt")[0]
    before = _getbacks(app)
    resp = api("post", "/getbacks", json={"threadId": "t-dana", "dueAt": moment})
    assert "between" in _field(resp, "dueAt")[0]
    assert _getbacks(app) == before


def test_nul_in_a_note_or_recipient(api: Any, app: Any) -> None:
    created = api("post", "/getbacks", json={"threadId": "t-dana", "dueAt": FUTURE, "note": "ok"})
    assert created.status_code == 201
    before = _getbacks(app)
    resp = api("post", "/getbacks", json={"threadId": "t-x", "dueAt": FUTURE, "note": "a\x00b"})
    assert "control" in _field(resp, "note")[0]
    gid = created.get_json()["id"]
    resp = api("patch", f"/getbacks/{gid}", json={"note": "bell\x07"})
    assert "control" in _field(resp, "note")[0]
    resp = api("post", "/guidance", json={"recipients": ["dana\x00@fabrikam.example"]})
    assert resp.status_code == 422
    assert _getbacks(app) == before
    # Tabs and new lines are text, not control input.
    fine = api("patch", f"/getbacks/{gid}", json={"note": "line one\n\tline two"})
    assert fine.status_code == 200


def test_an_over_long_prospect_email(api: Any, app: Any) -> None:
    resp = api("post", "/getbacks", json={"prospectEmail": LONG_ADDRESS, "dueAt": FUTURE})
    assert _field(resp, "prospectEmail")
    assert _getbacks(app) == []


def test_deep_json_gets_400_not_500(api: Any, client: Any) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    for path in ("/guidance", "/getbacks", "/pressure-check", "/plays/inserted"):
        resp = api("post", path, data=deep, content_type="application/json")
        assert resp.status_code == 400, path
        assert resp.get_json()["error"]["reason"] == "body_too_deep"
    # Without a token nothing is parsed at all: the token is refused first.
    resp = client.post("/api/v1/guidance", data=deep, content_type="application/json")
    assert resp.status_code == 401


def test_huge_numbers_and_large_bodies(api: Any) -> None:
    digits = '{"play": "step_back", "variant": ' + "9" * 5000 + "}"
    resp = api("post", "/plays/inserted", data=digits, content_type="application/json")
    assert resp.status_code == 400
    big = b'{"text": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    resp = api("post", "/pressure-check", data=big, content_type="application/json")
    assert resp.status_code == 413
    assert resp.get_json()["error"]["code"] == 413


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "TOKEN_LOOKUP_LIMIT": "5 per minute"}


def test_made_up_tokens_are_limited_before_any_outbound_call(
    client: Any, tokeninfo: TokenInfoStandIn, tokens: Tokens, seeded: Seeded
) -> None:
    # A real rep's token, verified once, is cached and never counted again.
    assert client.get("/api/v1/me", headers=Tokens.header(tokens.alex)).status_code == 200
    hits = tokeninfo.hits
    answers = []
    for _ in range(12):
        made_up = Tokens.header("ya29." + uuid.uuid4().hex)
        answers.append(client.get("/api/v1/me", headers=made_up))
    statuses = [r.status_code for r in answers]
    assert statuses[:4] == [401] * 4  # 4 more lookups fit in this address's 5 a minute
    assert set(statuses[4:]) == {429}
    assert all(int(r.headers["Retry-After"]) >= 1 for r in answers[4:])
    assert tokeninfo.hits - hits == 4
    # The known token still works from the same address: it needs no lookup.
    assert client.get("/api/v1/me", headers=Tokens.header(tokens.alex)).status_code == 200


def test_the_document_states_every_rule() -> None:
    spec = build_spec()
    schemas = spec["components"]["schemas"]

    def described(schema: str, prop: str) -> str:
        return str(schemas[schema]["properties"][prop].get("description", ""))

    assert "past date" in described("GetBackCreate", "dueAt")
    assert "past date" in described("GetBackPatch", "dueAt")
    assert "threadId" in described("GuidanceIn", "recipients")
    assert "422" in described("GuidanceIn", "threadId")
    assert "does not have gets 422" in described("PlayInsertedIn", "variant")
    assert "'America'" in described("GuidanceIn", "timezone")
    assert "control" in described("GetBackCreate", "note")
    assert schemas["GetBackCreate"]["properties"]["prospectEmail"]["maxLength"] == 320
    assert "pattern" in schemas["GetBackCreate"]["properties"]["note"]
    for ops in spec["paths"].values():
        for op in ops.values():
            if "requestBody" in op:
                assert {"400", "413", "422"} <= set(map(str, op["responses"]))


def test_stored_data_survives_hostile_bodies(api: Any, app: Any) -> None:
    api("post", "/getbacks", json={"threadId": "t-dana", "dueAt": FUTURE, "note": "keep me"})
    before = _getbacks(app)
    hostile = [
        {"threadId": "t-dana", "dueAt": FUTURE, "note": "x" * 5000},
        {"threadId": "t-dana", "dueAt": "2020-01-01T00:00:00Z"},
        {"threadId": "t-dana\x00", "dueAt": FUTURE},
        {"threadId": None, "prospectEmail": None, "dueAt": FUTURE},
        {"threadId": "t-dana", "dueAt": FUTURE, "kind": "\x00"},
    ]
    for body in hostile:
        assert api("post", "/getbacks", json=body).status_code == 422
    with get_db(app).session() as s:
        assert s.scalar(select(func.count()).select_from(GetBack)) == 1
    assert _getbacks(app) == before


def test_behind_a_proxy_each_caller_has_its_own_lookup_budget(
    app: Any, tokeninfo: TokenInfoStandIn, seeded: Seeded
) -> None:
    from server import create_app

    proxied = create_app({**app.config, "PROXY_FIX_X_FOR": 1})
    client = proxied.test_client()

    def made_up(address: str) -> int:
        headers = {**Tokens.header("ya29." + uuid.uuid4().hex), "X-Forwarded-For": address}
        return int(client.get("/api/v1/me", headers=headers).status_code)

    assert [made_up("203.0.113.7") for _ in range(6)] == [401] * 5 + [429]
    # Another caller behind the same balancer is not held back by the first one's flood.
    assert made_up("198.51.100.9") == 401
