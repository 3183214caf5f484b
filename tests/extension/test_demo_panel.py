"""/demo/panel: the try-it page (only with DEMO_LOGIN), its files and its demo-rep endpoints."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.store.db import get_db
from server.store.models import GetBack, PlayEvent, User
from tests.conftest import NOW
from tests.extension.harness import serve

PAGE = "/demo/panel"
JSON_HEADERS = {"Accept": "application/json"}


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "DEMO_LOGIN": True}


def csrf_of(client: Any) -> str:
    html = client.get(PAGE).get_data(as_text=True)
    match = re.search(r'"csrf": ?"([^"]+)"', html)
    assert match, "the page carries no CSRF token"
    return match.group(1)


def post(client: Any, path: str, body: Any, csrf: str | None) -> Any:
    headers = dict(JSON_HEADERS)
    if csrf is not None:
        headers["X-CSRF-Token"] = csrf
    return client.post(f"{PAGE}/api/v1{path}", json=body, headers=headers)


@pytest.mark.parametrize(
    "path", [PAGE, f"{PAGE}/ext/src/panel.js", f"{PAGE}/static/demo_panel.js"]
)
def test_nothing_is_served_without_demo_login(
    app: Any, client: Any, path: str
) -> None:
    app.config["DEMO_LOGIN"] = False
    resp = client.get(path)
    assert resp.status_code == 404
    assert "stepback demo" in resp.get_data(as_text=True)
    resp = client.post(f"{PAGE}/api/v1/guidance", json={"recipients": ["a@b.example"]},
                       headers=JSON_HEADERS)
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == 404


def test_page_lists_prospects_and_escapes_names(client: Any, synced_demo: Any) -> None:
    resp = client.get(PAGE)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "Went quiet:" in html and "Conversation open:" in html
    # The hostile display name is there, but only as escaped text.
    assert "A hostile display name" in html
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html or "\\u003cimg" in html


def test_page_without_demo_data_says_so(client: Any) -> None:
    resp = client.get(PAGE, headers={"Accept": "text/html"})
    assert resp.status_code == 404
    assert "run `stepback demo`" in resp.get_data(as_text=True)


def test_only_the_panel_files_are_served(client: Any) -> None:
    resp = client.get(f"{PAGE}/ext/src/panel.js")
    assert resp.status_code == 200
    assert resp.mimetype == "text/javascript"
    assert "export function mountPanel" in resp.get_data(as_text=True)
    rules = client.get(f"{PAGE}/ext/shared/pressure_rules.json")
    assert rules.status_code == 200 and rules.get_json()["rules"]
    for bad in ("src/background.js", "manifest.json", "../pyproject.toml", "src/../../README.md"):
        assert client.get(f"{PAGE}/ext/{bad}").status_code == 404, bad
    assert client.get(f"{PAGE}/static/../views.py").status_code == 404


def test_endpoints_act_as_the_demo_rep_like_the_api(
    app: Any, client: Any, synced_demo: Any
) -> None:
    csrf = csrf_of(client)
    eve = {"recipients": ["eve@evil.example"]}
    assert post(client, "/guidance", eve, None).status_code == 400
    assert post(client, "/guidance", eve, "wrong").status_code == 400

    resp = post(client, "/guidance", {"recipients": ["eve@evil.example"]}, csrf)
    assert resp.status_code == 200
    g = resp.get_json()
    assert g["nag"] is True and g["sentence"].startswith("<img at Evil")
    assert {p["play"] for p in g["plays"]} >= {"step_back", "getback_date"}

    bad = post(client, "/guidance", {"recipients": []}, csrf)
    assert bad.status_code == 422 and "recipients" in bad.get_json()["error"]["fields"]
    past = post(client, "/getbacks", {"threadId": g["threadId"], "dueAt": "2020-01-01T10:00:00Z"},
                csrf)
    assert past.status_code == 422 and "dueAt" in past.get_json()["error"]["fields"]

    made = post(client, "/getbacks",
                {"threadId": g["threadId"], "dueAt": "2026-12-01T15:00:00Z"}, csrf)
    assert made.status_code == 201
    played = post(client, "/plays/inserted",
                  {"threadId": g["threadId"], "play": "step_back", "variant": 1}, csrf)
    assert played.status_code == 201
    with app.app_context(), get_db(app).session() as s:
        rep = s.scalar(select(User).where(User.email == "alex@northwind-demo.com"))
        getbacks = s.scalars(select(GetBack)).all()
        events = s.scalars(select(PlayEvent)).all()
        assert [(b.user_id, b.gmail_thread_id, b.status) for b in getbacks] == [
            (rep.id, g["threadId"], "scheduled")
        ]
        assert [(e.user_id, e.play, e.variant) for e in events] == [(rep.id, "step_back", 1)]
    # Once scheduled, the panel stays quiet about this prospect.
    again = post(client, "/guidance", {"recipients": ["eve@evil.example"]}, csrf).get_json()
    assert again["state"] == "scheduled" and again["nag"] is False


def test_demo_endpoints_refuse_a_thread_the_draft_is_not_about(
    app: Any, client: Any, synced_demo: Any
) -> None:
    """The same defence as the API: plays and get-backs never land on someone else's thread."""
    csrf = csrf_of(client)
    eve = post(client, "/guidance", {"recipients": ["eve@evil.example"]}, csrf).get_json()
    stranger = "someone@unrelated.example"
    wrong = post(client, "/guidance", {"recipients": [stranger], "threadId": eve["threadId"]},
                 csrf).get_json()
    assert wrong["threadId"] is None and "<img" not in wrong["sentence"]
    played = post(client, "/plays/inserted", {"threadId": eve["threadId"], "play": "step_back",
                                              "variant": 0, "recipients": [stranger]}, csrf)
    assert played.status_code == 201 and played.get_json()["threadId"] is None
    made = post(client, "/getbacks", {"threadId": eve["threadId"], "recipients": [stranger],
                                      "dueAt": "2026-12-01T15:00:00Z"}, csrf)
    assert made.status_code == 422 and "threadId" in made.get_json()["error"]["fields"]


@pytest.mark.browser
def test_a_newcomer_can_try_the_panel(
    app: Any, synced_demo: Any, chromium_path: str, tmp_path: Path
) -> None:
    """The page in plain Chromium (no extension): the panel renders and a play inserts."""
    import os

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
                locale="en-US", timezone_id="America/New_York",
                viewport={"width": 900, "height": 1600},
            )
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(served.url + PAGE)
            host = page.locator("#compose [data-stepback-panel]")
            page.wait_for_function(
                "() => document.querySelector('#compose [data-stepback-panel]')"
                "?.dataset.stepbackState === 'ready'"
            )
            assert "hasn't answered" in host.locator(".sentence").inner_text()
            # Styled despite the page's strict CSP (no inline styles allowed there).
            border = page.evaluate(
                "() => getComputedStyle(document.querySelector('#compose [data-stepback-panel]')"
                ".shadowRoot.querySelector('.sb')).borderLeftWidth"
            )
            assert border == "4px"
            host.locator("article.play button.insert").first.click()
            text = host.locator("article.play .text").first.text_content() or ""
            assert text.split("\n")[0] in page.inner_text("#body")
            page.evaluate("() => { window.scrollTo(0, 0); }")
            folder = (
                Path(__file__).resolve().parents[2] / "docs" / "screenshots"
                if os.environ.get("STEPBACK_SCREENSHOTS") else tmp_path
            )
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(folder / "panel-demo-page.png"), full_page=True)
            # Switch to the hostile name: text only, nothing injected.
            hostile = page.eval_on_selector(
                "#prospect",
                "s => [...s.options].find((o) => o.text.startsWith('A hostile')).value",
            )
            page.select_option("#prospect", value=hostile)
            page.wait_for_function(
                "() => document.querySelector('#compose [data-stepback-panel]')"
                "?.dataset.stepbackState === 'ready'"
            )
            assert host.locator(".sentence").inner_text().startswith("<img")
            assert page.evaluate("() => document.querySelectorAll('img').length") == 0
            assert errors == []
            browser.close()
        with app.app_context(), get_db(app).session() as s:
            assert s.scalars(select(PlayEvent)).first() is not None
    finally:
        served.stop()


def test_clock_is_the_apps(app: Any) -> None:
    """The demo endpoints use the app's clock (FIXED_NOW here), like the API."""
    from server import clock

    with app.app_context():
        assert clock.now() == NOW
