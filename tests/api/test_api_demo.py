"""Guidance over the demo mailbox, synced through the real client from the Gmail emulator."""

from __future__ import annotations

from typing import Any

import pytest

from server.gmail.demo_mailbox import demo_scenarios
from server.plays import company_from, first_name_from
from server.services.scan import scan_user
from server.store.db import get_db
from server.store.models import User
from tests.api.conftest import Tokens
from tests.conftest import NOW

pytestmark = pytest.mark.slow


@pytest.fixture
def demo(app: Any, synced_demo: Any, client: Any, tokens: Tokens) -> Any:
    def call(method: str, path: str, **kw: Any) -> Any:
        return client.open(
            "/api/v1" + path, method=method.upper(), headers=Tokens.header(tokens.alex), **kw
        )

    return call


def _scan(app: Any, synced_demo: Any) -> Any:
    with app.app_context(), get_db(app).session() as s:
        rep = s.get(User, synced_demo.ids.rep_id)
        assert rep is not None
        return scan_user(s, rep, NOW)


def test_guidance_names_the_facts_of_the_most_silent_prospect(
    demo: Any, app: Any, synced_demo: Any
) -> None:
    result = _scan(app, synced_demo)
    verdict = next(v for v in result.silent if v.facts.kind == "went_silent")
    facts = verdict.facts
    assert facts.prospect is not None
    body = {"threadId": facts.thread_id, "recipients": [facts.prospect.email]}
    data = demo("post", "/guidance", json=body).get_json()
    assert data["threadId"] == facts.thread_id
    assert data["state"] == "went_silent" and data["silent"] and data["nag"]
    assert data["businessDaysSilent"] == verdict.business_days_silent
    assert data["daysSilent"] == verdict.days_silent
    assert data["unansweredCount"] == facts.unanswered_count
    assert {w["code"] for w in data["warnings"]} == {w.code for w in verdict.facts.warnings}
    first = first_name_from(facts.prospect.name, facts.prospect.email)
    company = company_from(facts.prospect.email)
    who = f"{first} at {company}" if company else first
    assert data["sentence"].startswith(
        f"{who} hasn't answered in {verdict.business_days_silent} business days; "
    )
    assert data["plays"] and data["plays"][0]["text"].startswith(f"Hi {first},")


def test_prospects_endpoint_matches_the_scan(demo: Any, app: Any, synced_demo: Any) -> None:
    result = _scan(app, synced_demo)
    data = demo("get", "/prospects?kind=silent&per_page=100").get_json()
    assert data["total"] == len(result.silent)
    assert [i["threadId"] for i in data["items"]] == [v.facts.thread_id for v in result.silent][
        :100
    ]
    owed = demo("get", "/prospects?kind=reply_owed&per_page=100").get_json()
    assert [i["threadId"] for i in owed["items"]] == [v.facts.thread_id for v in result.reply_owed]


def test_live_prospect_gets_no_nag(demo: Any) -> None:
    scenarios = demo_scenarios(NOW)
    live = [tid for tid, tags in scenarios.items() if tags == ["live"]]
    assert live
    for tid in live[:5]:
        data = demo("post", "/guidance", json={"threadId": tid}).get_json()
        assert data["nag"] is False and data["silent"] is False
        chasing = {"step_back", "apology_feedback", "apology_call", "getback_date", "cold_file"}
        assert not {p["play"] for p in data["plays"]} & chasing


def test_hostile_display_name_stays_data(demo: Any) -> None:
    tid = next(t for t, tags in demo_scenarios(NOW).items() if "hostile_name" in tags)
    data = demo("post", "/guidance", json={"threadId": tid}).get_json()
    assert data["prospect"]["name"] == "<img src=x onerror=alert(1)> {{rep_name}}"
    assert data["sentence"].startswith("<img at Evil hasn't answered")
    greeted = [p["text"] for p in data["plays"] if p["text"].startswith("Hi ")]
    assert greeted and all(t.startswith("Hi <img,") for t in greeted)
    # The templates' own placeholders were filled; nothing from the name was treated as one.
    assert not any("{{" in p["text"] or "{first_name}" in p["text"] for p in data["plays"])


def test_guidance_warnings_equal_the_mailbox_wide_scan(app: Any, synced_demo: Any) -> None:
    """Guidance reads only the prospect's domain's threads; its warnings must still match
    a scan over the whole mailbox, for every silent thread (and again from the cache)."""
    from server.services.guidance import compose_guidance

    result = _scan(app, synced_demo)
    with app.app_context(), get_db(app).session() as s:
        rep = s.get(User, synced_demo.ids.rep_id)
        assert rep is not None
        for _round in range(2):
            for verdict in result.silent:
                g = compose_guidance(
                    s, rep, recipients=[], thread_id=verdict.facts.thread_id, now=NOW
                )
                assert [(w.code, w.count) for w in g.warnings] == [
                    (w.code, w.count) for w in verdict.facts.warnings
                ], verdict.facts.thread_id
