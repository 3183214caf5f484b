"""The demo add-on cards in a real browser (Debian's Chromium driven by Playwright).

Renders /demo/addon for the synced demo mailbox, checks that mailbox data stayed text
(no element, no script ran), and saves docs/screenshots/addon-cards.png for the README.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from tests.conftest import CHROMIUM_ARGS, screenshot_dir

pytestmark = [pytest.mark.browser, pytest.mark.slow]



@pytest.fixture
def live(gmail_app: Any) -> Iterator[str]:
    """Serve the demo app on a free loopback port."""
    gmail_app.config["DEMO_LOGIN"] = True
    server = make_server("127.0.0.1", 0, gmail_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def test_demo_cards_render_and_are_screenshotted(
    live: str, chromium_path: str, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, headless=True,
                                    args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1800, "height": 1000})
            problems: list[str] = []
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("dialog", lambda d: (problems.append("dialog: " + d.message), d.dismiss()))
            page.goto(live + "/demo/addon")
            page.wait_for_selector("section.card")
            titles = page.locator(".panel h2").all_text_contents()
            assert titles[0] == "Homepage" and len(titles) >= 5
            assert page.locator("section.card").count() == len(titles)
            assert page.locator("img").count() == 0  # display names never became elements
            assert page.get_by_text("Grace Mensah").first.is_visible()
            assert page.locator("input[type=datetime-local]").count() >= 2
            # Each button names the endpoint it would call.
            functions = page.locator("button[data-function]").evaluate_all(
                "els => els.map(e => e.dataset.function)")
            assert functions and all("/addon/actions/" in f for f in functions)
            shot = screenshot_dir(tmp_path) / "addon-cards.png"
            page.screenshot(path=str(shot), full_page=True)
            assert not problems, problems
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
