"""Tenant isolation: a rep never sees another rep's or another org's threads, get-backs, events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.store.db import get_db
from server.store.models import GetBack, PlayEvent
from tests.api.conftest import Seeded

FUTURE = "2026-12-01T10:00:00-05:00"
ALEX_THREADS = {"t-silent", "t-owed", "t-fresh", "t-hostile"}


def _thread_ids(api: Any, who: str) -> set[str]:
    return {i["threadId"] for i in api("get", "/prospects", as_=who).get_json()["items"]}


def test_prospects_are_per_rep(api: Any) -> None:
    assert _thread_ids(api, "alex") == {"t-silent", "t-owed", "t-hostile"}
    assert _thread_ids(api, "jordan") == {"j-1"}
    assert _thread_ids(api, "casey") == {"c-1"}


def test_guidance_never_reads_another_reps_thread(api: Any) -> None:
    for who in ("jordan", "casey"):
        for tid in ALEX_THREADS:
            data = api("post", "/guidance", as_=who, json={"threadId": tid}).get_json()
            assert data["state"] == "unknown" and data["subject"] == ""
            assert data["prospect"] is None and data["plays"] == []
        # Bob is their prospect too, but they get their own thread about him.
        own = api("post", "/guidance", as_=who, json={"recipients": ["bob@globex-corp.com"]})
        assert own.get_json()["threadId"] == {"jordan": "j-1", "casey": "c-1"}[who]


def test_getbacks_of_others_are_404_like_missing_ones(api: Any, app: Any) -> None:
    mine = api("post", "/getbacks", json={"threadId": "t-silent", "dueAt": FUTURE}).get_json()
    missing = api("patch", "/getbacks/424242", json={"note": "x"}).get_json()
    for who in ("jordan", "casey"):
        assert api("get", "/getbacks", as_=who).get_json()["items"] == []
        for method, body in (("patch", {"note": "mine"}), ("delete", None)):
            resp = api(method, f"/getbacks/{mine['id']}", as_=who, json=body)
            assert resp.status_code == 404 and resp.get_json() == missing
        # Guessing ids around it finds nothing either.
        for gid in range(1, mine["id"] + 5):
            assert api("delete", f"/getbacks/{gid}", as_=who).status_code == 404
    with get_db(app).session() as s:
        row = s.get(GetBack, mine["id"])
        assert row is not None and row.status == "scheduled" and row.note == ""


def test_another_reps_getback_does_not_silence_my_thread(api: Any) -> None:
    resp = api("post", "/getbacks", as_="casey", json={"threadId": "t-silent", "dueAt": FUTURE})
    assert resp.status_code == 201
    assert "t-silent" in _thread_ids(api, "alex")
    assert api("post", "/guidance", json={"threadId": "t-silent"}).get_json()["nag"] is True


def test_play_events_belong_to_the_caller(api: Any, app: Any, seeded: Seeded) -> None:
    for who in ("alex", "casey"):
        body = {"threadId": "t-silent", "play": "step_back", "variant": 0}
        assert api("post", "/plays/inserted", as_=who, json=body).status_code == 201
    with get_db(app).session() as s:
        owners = {(e.org_id, e.user_id) for e in s.scalars(select(PlayEvent))}
    assert owners == {(seeded.org_id, seeded.alex_id), (seeded.other_org_id, seeded.casey_id)}
