"""GET /api/v1/day: what the extension's toolbar badge and popup show."""

from __future__ import annotations

from typing import Any

import pytest

FUTURE = "2026-12-01T10:00:00-05:00"


def test_day_lists_owed_then_silent_with_sentences(api: Any) -> None:
    resp = api("get", "/day")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    data = resp.get_json()
    assert data["email"] == "alex@northwind-demo.com" and data["timezone"] == "America/New_York"
    assert data["now"] == "2026-11-20T15:00:00Z" and data["due"] == []
    assert [i["threadId"] for i in data["replyOwed"]] == ["t-owed"]
    owed = data["replyOwed"][0]
    assert owed["detail"] == "Waiting 2 days for your answer"
    assert owed["sentence"] == "Carol at Initech wrote 2 days ago and is waiting for your reply."
    assert [i["threadId"] for i in data["silent"]] == ["t-hostile", "t-silent"]
    bob = data["silent"][1]
    assert bob["detail"] == "Quiet for 17 business days"
    assert bob["sentence"] == (
        "Bob at Globex Corp hasn't answered in 17 business days; you've followed up 2 times."
    )
    # Inside-the-threshold threads (t-fresh) are not listed at all.
    assert data["counts"] == {"badge": 1, "due": 0, "replyOwed": 1, "silent": 2}


def test_day_silent_limit_and_bad_query(api: Any) -> None:
    data = api("get", "/day?silentLimit=1").get_json()
    assert [i["threadId"] for i in data["silent"]] == ["t-hostile"]
    assert data["counts"]["silent"] == 2
    for bad in ("-1", "51", "many"):
        resp = api("get", f"/day?silentLimit={bad}")
        assert resp.status_code == 422 and "silentLimit" in resp.get_json()["error"]["fields"]


def test_due_getback_comes_first_moves_and_closes(api: Any, app: Any) -> None:
    gb = api("post", "/getbacks", json={"threadId": "t-silent", "dueAt": FUTURE}).get_json()
    assert "t-silent" not in [i["threadId"] for i in api("get", "/day").get_json()["silent"]]
    app.config["FIXED_NOW"] = "2026-12-01T18:00:00+00:00"
    data = api("get", "/day").get_json()
    assert [i["threadId"] for i in data["due"]] == ["t-silent"]
    due = data["due"][0]
    assert due["detail"] == "Agreed for Tuesday, December 1 at 10:00 AM EST"
    assert due["getback"]["id"] == gb["id"] and due["since"] == "2026-12-01T15:00:00Z"
    assert due["weekLater"] == "2026-12-08T18:00:00Z"  # a week from now: the date has passed
    assert due["sentence"].startswith("Bob at Globex Corp hasn't answered in")
    # Listed once: under get-backs, not again under silent prospects.
    assert "t-silent" not in [i["threadId"] for i in data["silent"]]
    assert data["counts"]["badge"] == 2
    moved = api("patch", f"/getbacks/{gb['id']}", json={"dueAt": due["weekLater"]})
    assert moved.status_code == 200
    assert api("get", "/day").get_json()["counts"]["badge"] == 1
    app.config["FIXED_NOW"] = "2026-12-09T12:00:00+00:00"
    assert api("get", "/day").get_json()["counts"]["due"] == 1
    assert api("delete", f"/getbacks/{gb['id']}").get_json()["status"] == "cancelled"
    assert api("get", "/day").get_json()["due"] == []


def test_day_is_per_rep(api: Any) -> None:
    api("post", "/getbacks", json={"threadId": "t-silent", "dueAt": FUTURE})
    other = api("get", "/day", as_="casey").get_json()
    assert other["email"] == "casey@contoso-demo.com"
    assert "t-silent" not in [i["threadId"] for i in other["silent"] + other["due"]]


@pytest.mark.parametrize("as_", ["stranger"])
def test_day_needs_a_known_rep(api: Any, as_: str) -> None:
    assert api("get", "/day", as_=as_).status_code == 403
