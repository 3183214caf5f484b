"""/demo/popup: the toolbar popup without the extension (only with DEMO_LOGIN), its files and
its demo-rep endpoints, which answer like the JSON API."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.demo_day import seed_due_getbacks
from server.services.day import rep_day
from server.store.db import get_db
from server.store.models import GetBack, User
from tests.conftest import NOW, screenshot_dir
from tests.extension.harness import serve

PAGE = "/demo/popup"
JSON_HEADERS = {"Accept": "application/json"}


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "DEMO_LOGIN": True}


@pytest.fixture
def due_ids(app: Any, synced_demo: Any) -> list[int]:
    """The demo rep's get-backs due today, as `stepback demo` seeds them."""
    with app.app_context(), get_db(app).session() as s:
        rep = s.get(User, synced_demo.ids.rep_id)
        rows = seed_due_getbacks(s, rep, NOW)
        s.commit()
        # Seeding twice adds nothing.
        assert seed_due_getbacks(s, rep, NOW) == []
        return [r.id for r in rows]


def csrf_of(client: Any) -> str:
    html = client.get(PAGE).get_data(as_text=True)
    match = re.search(r'"csrf": ?"([^"]+)"', html)
    assert match, "the page carries no CSRF token"
    return match.group(1)


@pytest.mark.parametrize("path", [PAGE, f"{PAGE}/ext/popup/day_view.js", f"{PAGE}/api/v1/day"])
def test_nothing_is_served_without_demo_login(app: Any, client: Any, path: str) -> None:
    app.config["DEMO_LOGIN"] = False
    assert client.get(path).status_code == 404


def test_only_the_popup_files_are_served(client: Any) -> None:
    resp = client.get(f"{PAGE}/ext/popup/day_view.js")
    assert resp.status_code == 200 and resp.mimetype == "text/javascript"
    assert "export function renderDay" in resp.get_data(as_text=True)
    assert client.get(f"{PAGE}/ext/popup/popup.css").mimetype == "text/css"
    for bad in ("src/background.js", "manifest.json", "popup/popup.js", "../pyproject.toml"):
        assert client.get(f"{PAGE}/ext/{bad}").status_code == 404, bad
    assert client.get(f"{PAGE}/static/../views.py").status_code == 404


def test_demo_rep_has_getbacks_due_today(
    app: Any, client: Any, synced_demo: Any, due_ids: list[int]
) -> None:
    data = client.get(f"{PAGE}/api/v1/day", headers=JSON_HEADERS).get_json()
    assert [i["getback"]["id"] for i in data["due"]] == due_ids
    with app.app_context(), get_db(app).session() as s:
        day = rep_day(s, s.get(User, synced_demo.ids.rep_id), NOW)
        rows = s.scalars(select(GetBack).where(GetBack.id.in_(due_ids))).all()
        # Due today in the rep's zone (New York) and already past.
        for row in rows:
            local = row.due_at.replace(tzinfo=NOW.tzinfo).astimezone(_ny())
            assert local.date() == NOW.astimezone(_ny()).date() and local < NOW
    assert data["counts"]["badge"] == day.badge == len(day.due) + len(day.reply_owed)
    assert [i["threadId"] for i in data["silent"]] == [i.thread_id for i in day.silent]


def _ny() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("America/New_York")


def test_moving_and_closing_need_csrf_and_act_like_the_api(
    app: Any, client: Any, due_ids: list[int]
) -> None:
    csrf = csrf_of(client)
    first, second = due_ids
    url = f"{PAGE}/api/v1/getbacks/{first}"
    body = {"dueAt": "2026-11-27T15:00:00Z"}
    assert client.patch(url, json=body, headers=JSON_HEADERS).status_code == 400
    assert client.delete(url, headers=JSON_HEADERS).status_code == 400
    headers = {**JSON_HEADERS, "X-CSRF-Token": csrf}
    past = client.patch(url, json={"dueAt": "2020-01-01T00:00:00Z"}, headers=headers)
    assert past.status_code == 422 and "dueAt" in past.get_json()["error"]["fields"]
    moved = client.patch(url, json=body, headers=headers)
    assert moved.status_code == 200 and moved.get_json()["dueAt"] == "2026-11-27T15:00:00Z"
    closed = client.delete(f"{PAGE}/api/v1/getbacks/{second}", headers=headers)
    assert closed.status_code == 200 and closed.get_json()["status"] == "cancelled"
    assert client.delete(f"{PAGE}/api/v1/getbacks/99999", headers=headers).status_code == 404
    data = client.get(f"{PAGE}/api/v1/day").get_json()
    assert data["due"] == [] and data["counts"]["due"] == 0


@pytest.mark.browser
def test_a_newcomer_can_try_the_popup(
    app: Any, synced_demo: Any, due_ids: list[int], chromium_path: str, tmp_path: Path
) -> None:
    """The page in plain Chromium (no extension): the popup renders and a get-back moves."""
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM_ARGS

    app.config["SESSION_COOKIE_SECURE"] = False  # plain http on loopback
    served = serve(app)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=chromium_path, headless=True, args=list(CHROMIUM_ARGS)
            )
            page = browser.new_page(
                locale="en-US",
                timezone_id="America/New_York",
                viewport={"width": 900, "height": 1000},
            )
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(served.url + PAGE)
            page.wait_for_function("() => document.getElementById('day').dataset.state === 'ready'")
            badge = page.locator("#badge").text_content() or ""
            assert int(badge) >= 2
            assert page.locator("li[data-kind=due]").count() == 2
            # Styled from the extension's popup.css despite the strict CSP.
            assert (
                page.evaluate("() => getComputedStyle(document.getElementById('day')).width")
                == "380px"
            )
            page.screenshot(path=str(screenshot_dir(tmp_path) / "popup-demo-page.png"))
            page.locator("li[data-kind=due] button[data-action=week]").first.click()
            page.wait_for_function(
                "() => document.querySelectorAll('li[data-kind=due]').length === 1"
            )
            assert page.locator("#badge").text_content() == str(int(badge) - 1)
            assert errors == []
            browser.close()
        with app.app_context(), get_db(app).session() as s:
            moved = s.get(GetBack, due_ids[0])
            assert moved is not None and moved.status == "scheduled"
            assert moved.due_at.replace(tzinfo=NOW.tzinfo) > NOW
    finally:
        served.stop()


def test_stepback_demo_seeds_getbacks_due_today(tmp_path: Path) -> None:
    """`stepback demo` builds its database with the popup's get-backs due today."""
    from server.cli.demo import build_demo

    built = build_demo(tmp_path / "demo", 40, NOW, quiet=True)
    try:
        with built["app"].app_context(), get_db(built["app"]).session() as s:
            day = rep_day(s, s.get(User, built["rep_id"]), NOW)
            assert len(day.due) == 2
            assert all(i.detail.startswith("Agreed for Friday, November 20 at ") for i in day.due)
    finally:
        built["emulator"].stop()
        get_db(built["app"]).dispose()
