"""The admin flows in a real browser (Debian's Chromium driven by Playwright).

Sign in through the local Google stand-in and through the demo form, change a team's
threshold and see compose guidance and `stepback scan --user` follow, edit a template and
watch the live preview, and see a rep refused. Screenshots go to docs/screenshots/.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.admin.helpers import ADMIN, REP
from tests.admin.standin import GoogleStandIn
from tests.admin.test_admin_effect import guidance, mid_id, scan_cli, silent_ids
from tests.conftest import screenshot_dir

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-gpu",
    *(["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
]


@pytest.fixture
def app_config(app_config: dict[str, Any], google: GoogleStandIn) -> dict[str, Any]:
    return {**app_config, **google.config()}


@pytest.fixture
def live(app: Any, synced: Any) -> Iterator[str]:
    """Serve the app on a free loopback port for the browser."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_BASE_URL"] = base
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def page(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        tab = context.new_page()
        problems: list[str] = []
        # A console error (a CSP violation, a script error) fails the test; HTTP statuses
        # such as the deliberate 400 of an invalid form are checked by the tests themselves.
        tab.on(
            "console",
            lambda m: (
                problems.append(m.text)
                if m.type == "error" and not m.text.startswith("Failed to load resource")
                else None
            ),
        )
        tab.on("pageerror", lambda e: problems.append(str(e)))
        tab.console_problems = problems
        yield tab
        context.close()
        browser.close()


def shot(page: Any, name: str) -> None:
    folder = screenshot_dir(Path(tempfile.gettempdir()) / "stepback-admin")
    page.screenshot(path=str(folder / f"admin-{name}.png"), full_page=True)


def add_play_events(app: Any) -> None:
    """A few plays the rep used, some answered, so the dashboard has something to show."""
    from sqlalchemy import select

    from server.store.db import get_db
    from server.store.models import PlayEvent, User

    with get_db(app).session() as s:
        rep = s.scalar(select(User).where(User.email == REP))
        assert rep is not None
        for play, answered in (
            ("step_back", True),
            ("step_back", True),
            ("step_back", False),
            ("apology_feedback", True),
            ("where_from_here", False),
        ):
            s.add(
                PlayEvent(
                    org_id=rep.org_id,
                    user_id=rep.id,
                    gmail_thread_id="t-globex",
                    play=play,
                    answered_at=rep.created_at if answered else None,
                )
            )


def google_sign_in(page: Any, base: str, email: str, start: str) -> None:
    """Open a page, get sent to sign-in, pick the account at the stand-in, come back."""
    page.goto(base + start)
    page.click("#google-signin")
    page.wait_for_selector("#identifier")
    page.fill("#identifier", email)
    page.click("#approve")
    page.wait_for_load_state("networkidle")


def test_google_sign_in_and_threshold_change(
    page: Any, live: str, app: Any, google: Any, capsys: Any, monkeypatch: Any
) -> None:
    from playwright.sync_api import expect

    page.goto(live + "/admin/teams")
    assert "/auth/signin" in page.url
    shot(page, "signin")
    google_sign_in(page, live, ADMIN, "/admin/teams")
    assert page.url == live + "/admin/teams"
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(ADMIN)
    assert google.token_requests and google.token_requests[-1]["code_verifier"]

    waited = guidance(app).business_days_silent
    assert guidance(app).silent is True and waited is not None

    page.click("text=Mid-market")
    page.fill("#threshold_days", "400")
    page.click("text=Save team")
    expect(page.locator("#threshold_days-error")).to_contain_text("at most 365 days")
    expect(page.locator("#threshold_days")).to_have_value("400")
    shot(page, "invalid-threshold")
    assert guidance(app).threshold_days == 5

    page.fill("#threshold_days", str(waited + 1))
    page.click("text=Save team")
    expect(page.locator(".flash")).to_contain_text("Team saved.")
    shot(page, "team")
    after = guidance(app)
    assert after.threshold_days == waited + 1 and after.silent is False
    assert "t-globex" not in silent_ids(scan_cli(app, capsys, monkeypatch))

    add_play_events(app)
    for path, name in (
        ("/admin/", "dashboard"),
        ("/admin/org", "org"),
        ("/admin/mailboxes", "mailboxes"),
        ("/admin/audit", "audit"),
    ):
        page.goto(live + path)
        shot(page, name)
    expect(page.locator("table.audit")).to_contain_text("team.update")
    page.goto(live + "/admin/")
    expect(page.get_by_test_id("silence-chart").locator("rect[data-bucket]")).to_have_count(2)
    assert page.console_problems == []


def test_demo_sign_in_and_template_preview(page: Any, live: str, app: Any) -> None:
    from playwright.sync_api import expect

    page.goto(live + "/auth/demo")
    page.fill("#email", ADMIN)
    page.fill("#password", "demo")
    page.click("button[type=submit]")
    page.wait_for_url(live + "/admin/")
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(ADMIN)

    page.goto(f"{live}/admin/teams/{mid_id(app)}/templates/step_back")
    preview = page.get_by_test_id("preview-0")
    page.fill("#variant_0", "Hi {{first_name}}, is {{budget}} the issue?")
    expect(page.locator("#variant_0-live")).to_contain_text("unknown variable 'budget'")
    expect(preview).to_have_text("")
    page.fill("#variant_0", "Hi {{first_name}}, if {{company}} went another way, that is fine.")
    expect(preview).to_have_text("Hi Dana, if Globex Corp went another way, that is fine.")
    expect(page.locator("#variant_0-live")).to_be_hidden()
    shot(page, "template")
    page.click("text=Save wording")
    expect(page.locator(".flash")).to_contain_text("saved")
    plays = [p for p in guidance(app).plays if p.play == "step_back"]
    assert plays[0].text == "Hi Bob, if Globex Corp went another way, that is fine."
    assert page.console_problems == []


def test_rep_is_refused_the_admin_pages(page: Any, live: str, app: Any) -> None:
    from playwright.sync_api import expect

    google_sign_in(page, live, REP, "/admin/")
    assert page.url == live + "/admin/"
    expect(page.get_by_test_id("refused")).to_contain_text("Admins only")
    for path in ("/admin/org", f"/admin/teams/{mid_id(app)}", "/admin/audit"):
        response = page.goto(live + path)
        assert response is not None and response.status == 403
    shot(page, "rep-refused")
