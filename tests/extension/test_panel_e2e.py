"""End to end: the unpacked extension in Debian's Chromium, on the Gmail fixture page, against
the real app with the demo mailbox synced through the Gmail emulator."""

from __future__ import annotations

import json
import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.gmail.demo_mailbox import demo_scenarios
from server.services.guidance import compose_guidance
from server.services.scan import scan_user
from server.store.db import get_db
from server.store.models import GetBack, PlayEvent, ThreadState, User
from tests.conftest import NOW
from tests.extension.harness import PANEL, configure, open_gmail, wait_panel

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
HOSTILE_EMAIL = "eve@evil.example"
HOSTILE_NAME = "<img src=x onerror=alert(1)> {{rep_name}}"
CHASING_PLAYS = ("step_back", "apology_feedback", "apology_call", "getback_date", "cold_file")
GUIDANCE_PATH = "/api/v1/guidance"


def shot(page: Any, selector: str, name: str, tmp_path: Path) -> None:
    """Screenshot for the README when STEPBACK_SCREENSHOTS=1 (docs/screenshots), else to tmp."""
    folder = ROOT / "docs" / "screenshots" if os.environ.get("STEPBACK_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.set_viewport_size({"width": 1280, "height": 1800})  # the whole compose window
    page.locator(selector).screenshot(path=str(folder / f"panel-{name}.png"))
    page.set_viewport_size(size)


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _newest_thread(session: Any, email: str) -> str | None:
    """The thread the server picks for a draft to `email`: the newest stored one."""
    return session.scalars(
        select(ThreadState.gmail_thread_id)
        .where(ThreadState.prospect_email == email)
        .order_by(ThreadState.last_message_at.desc().nulls_last(), ThreadState.id.desc())
    ).first()


def silent_prospect(app: Any, rep_id: int) -> dict[str, Any]:
    """A went-silent prospect with follow-ups, per the engine's scan (their newest thread)."""
    with app.app_context(), get_db(app).session() as s:
        rep = s.get(User, rep_id)
        for verdict in scan_user(s, rep, NOW).silent:
            f = verdict.facts
            if (
                f.kind == "went_silent"
                and f.prospect is not None
                and f.prospect.email != HOSTILE_EMAIL
                and _newest_thread(s, f.prospect.email) == f.thread_id
                and f.unanswered_count >= 2
                and f.prospect.name.isascii()
            ):
                return {
                    "thread_id": f.thread_id,
                    "email": f.prospect.email,
                    "name": f.prospect.name,
                    "first": f.prospect.name.split()[0],
                    "business_days": verdict.business_days_silent,
                    "follow_ups": f.unanswered_count - 1,
                }
    raise AssertionError("the demo mailbox has no suitable silent prospect")


def calm_prospect(app: Any, rep_id: int) -> dict[str, Any]:
    """A prospect in a live conversation: nothing to chase."""
    live = {tid for tid, tags in demo_scenarios(NOW).items() if tags == ["live"]}
    with app.app_context(), get_db(app).session() as s:
        rep = s.get(User, rep_id)
        rows = s.scalars(select(ThreadState).where(ThreadState.gmail_thread_id.in_(live)))
        for row in rows:
            email = row.prospect_email
            if not email or _newest_thread(s, email) != row.gmail_thread_id:
                continue
            g = compose_guidance(s, rep, recipients=[email], thread_id=None, now=NOW)
            if g.state == "live" and not g.nag:
                return {"email": email, "sentence": g.sentence, "thread_id": row.gmail_thread_id}
    raise AssertionError("the demo mailbox has no live conversation")


def eventually(app: Any, query: Any, timeout: float = 5.0) -> Any:
    """Poll the database until `query(session)` returns something truthy (or time runs out)."""
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context(), get_db(app).session() as s:
            found = query(s)
            if found or time.monotonic() > deadline:
                return found
        time.sleep(0.05)


def panel_text(page: Any, root_id: str, part: str) -> str:
    return page.locator(f"#{root_id} {PANEL} {part}").inner_text()


def test_silent_prospect_flow(
    browser: Any, backend: Any, recorder: Any, rep_token: str, app: Any, synced_demo: Any,
    tmp_path: Path,
) -> None:
    who = silent_prospect(app, synced_demo.ids.rep_id)
    state = configure(browser, backend.url, rep_token)
    assert state.startswith("Signed in as alex@northwind-demo.com")

    page = open_gmail(browser)
    root = page.evaluate(
        "(p) => fixture.openCompose({to: [p], subject: 'Re: checking where we stand'})",
        {"email": who["email"], "name": who["name"]},
    )
    wait_panel(page, root)
    # The panel opens folded in a compose window; the rep expands it to see everything.
    page.locator(f"#{root} {PANEL} button.toggle").click()

    # The facts, in one sentence, as the engine counts them.
    sentence = panel_text(page, root, ".sentence")
    assert who["first"] in sentence
    assert f"{who['business_days']} business days" in sentence
    times = "time" if who["follow_ups"] == 1 else "times"
    assert f"followed up {who['follow_ups']} {times}" in sentence
    sent = json.loads(recorder.bodies(GUIDANCE_PATH)[0])
    assert sent["recipients"] == [who["email"]]
    assert sent["timezone"] == "America/New_York"

    # One click puts a play into the body, as typing (undoable), and the server records it.
    play = page.locator(f"#{root} {PANEL} article.play[data-play='step_back']")
    expected = play.locator(".text").text_content() or ""
    play.locator("button.insert").click()
    body = page.locator(f"#{root} [g_editable='true']")
    assert flat(expected) in flat(body.inner_text())
    assert "Ctrl+Z" in panel_text(page, root, ".notice")
    events = eventually(app, lambda s: s.scalars(
        select(PlayEvent).where(PlayEvent.play == "step_back")).all())
    assert [(e.gmail_thread_id, e.surface, e.variant) for e in events] == [
        (who["thread_id"], "extension", 0)
    ]
    body.press("Control+z")
    assert flat(expected) not in flat(body.inner_text())

    # The phone script is shown, not offered for insertion.
    call = page.locator(f"#{root} {PANEL} [data-play='apology_call']")
    assert call.locator("button.insert").count() == 0
    assert call.locator(".detail").is_hidden()
    call.locator("button.preview").click()
    assert call.locator("button.preview").get_attribute("aria-expanded") == "true"
    assert call.locator(".text").is_visible()

    # Pick a get-back slot: it goes into the text and the server records it.
    getback = page.locator(f"#{root} {PANEL} article[data-play='getback_date']")
    getback.locator("input[type='datetime-local']").fill("2026-11-27T14:30")
    getback.locator("button.schedule").click()
    page.locator(f"#{root} {PANEL}[data-stepback-scheduled]").wait_for(state="attached")
    assert "Get-back set for" in panel_text(page, root, ".notice")
    text = flat(body.inner_text())
    assert "November 27 at 2:30 PM" in text
    with app.app_context(), get_db(app).session() as s:
        rows = s.scalars(select(GetBack)).all()
    assert len(rows) == 1
    row = rows[0]
    assert (row.gmail_thread_id, row.prospect_email, row.kind, row.status) == (
        who["thread_id"], who["email"], "getback", "scheduled",
    )
    # 14:30 in New York on 27 November (EST, UTC-5) is 19:30 UTC.
    assert row.due_at.replace(tzinfo=UTC) == datetime(2026, 11, 27, 19, 30, tzinfo=UTC)

    # The pressure check runs in the browser only: the draft never reaches the server.
    body.press("Control+End")
    body.type(" Just checking in on my last email, any update?")
    page.locator(f"#{root} {PANEL} .pressure li").first.wait_for()
    findings = page.locator(f"#{root} {PANEL} .pressure li")
    rules = {findings.nth(i).get_attribute("data-rule") for i in range(findings.count())}
    assert any(r.startswith("chasing.") for r in rules if r)
    assert "/api/v1/pressure-check" not in recorder.paths()
    assert not any(b"checking in" in b for _, _, b in recorder.calls)
    shot(page, f"#{root}", "silent", tmp_path)


def test_hostile_display_name_stays_text(
    browser: Any, backend: Any, rep_token: str, tmp_path: Path
) -> None:
    configure(browser, backend.url, rep_token)
    page = open_gmail(browser)
    root = page.evaluate(
        "(p) => fixture.openCompose({to: [p], subject: 'Partnership question'})",
        {"email": HOSTILE_EMAIL, "name": HOSTILE_NAME},
    )
    panel = wait_panel(page, root)
    sentence = panel_text(page, root, ".sentence")
    assert sentence.startswith("<img")  # the name is shown as the characters it is
    play_text = page.locator(f"#{root} {PANEL} article.play .text").first.text_content() or ""
    assert play_text.startswith("Hi <img")
    counts = page.evaluate(
        """(rootId) => {
            const host = document.getElementById(rootId).querySelector('[data-stepback-panel]');
            return {
              panelImages: host.shadowRoot.querySelectorAll('img, script, [onerror]').length,
              pageImages: document.querySelectorAll('img').length,
              alerts: window.fixture.alerts.length,
            };
        }""",
        root,
    )
    assert counts == {"panelImages": 0, "pageImages": 0, "alerts": 0}
    assert panel.get_attribute("data-stepback-state") == "ready"
    shot(page, f"#{root}", "hostile-name", tmp_path)


def test_backend_down_says_so_in_one_line(
    browser: Any, backend: Any, rep_token: str, tmp_path: Path
) -> None:
    configure(browser, backend.url, rep_token)
    backend.stop()
    page = open_gmail(browser)
    root = page.evaluate(
        "() => fixture.openCompose({to: [{email: 'someone@prospect.example', name: 'Sam'}]})"
    )
    wait_panel(page, root, "unreachable")
    status = panel_text(page, root, ".status")
    assert status == "stepback can't reach its server right now; Gmail works as usual."
    assert "\n" not in status
    assert page.locator(f"#{root} {PANEL} .sentence").inner_text() == ""
    # Gmail keeps working: the rep can still write.
    body = page.locator(f"#{root} [g_editable='true']")
    body.click()
    body.type("Hello Sam")
    assert "Hello Sam" in body.inner_text()
    shot(page, f"#{root}", "offline", tmp_path)


def test_no_nagging_for_a_live_conversation(
    browser: Any, backend: Any, rep_token: str, app: Any, synced_demo: Any, tmp_path: Path
) -> None:
    who = calm_prospect(app, synced_demo.ids.rep_id)
    configure(browser, backend.url, rep_token)
    page = open_gmail(browser)
    root = page.evaluate("(email) => fixture.openCompose({to: [{email, name: ''}]})", who["email"])
    panel = wait_panel(page, root)
    assert panel.get_attribute("data-stepback-nag") == "false"
    assert panel_text(page, root, ".sentence") == who["sentence"]
    assert page.locator(f"#{root} {PANEL} .warnings").count() == 0
    assert page.locator(f"#{root} {PANEL} input[type='datetime-local']").count() == 0
    for play in CHASING_PLAYS:
        assert page.locator(f"#{root} {PANEL} [data-play='{play}']").count() == 0
    shot(page, f"#{root}", "calm", tmp_path)


def test_signed_out_says_so(browser: Any, backend: Any) -> None:
    state = configure(browser, backend.url, None)
    assert state == "Not signed in."
    page = open_gmail(browser)
    root = page.evaluate("() => fixture.openCompose({to: [{email: 'a@prospect.example'}]})")
    wait_panel(page, root, "signed_out")
    status = panel_text(page, root, ".status")
    assert status.startswith("Sign in to stepback")
    assert page.locator(f"#{root} {PANEL} .status button").inner_text() == "Sign in"


def test_fold_is_keyboard_operable_and_each_panel_opens_folded(
    browser: Any, backend: Any, rep_token: str
) -> None:
    configure(browser, backend.url, rep_token)
    page = open_gmail(browser)
    first = page.evaluate("() => fixture.openCompose({to: [{email: 'a@prospect.example'}]})")
    wait_panel(page, first)
    toggle = page.locator(f"#{first} {PANEL} button.toggle")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert page.locator(f"#{first} {PANEL} .content .sentence").is_hidden()
    toggle.focus()
    page.keyboard.press("Enter")
    assert toggle.get_attribute("aria-expanded") == "true"
    assert page.locator(f"#{first} {PANEL} .content .sentence").is_visible()
    # Gmail's own shortcuts must not see keys typed in the panel.
    seen = page.evaluate(
        """() => { window.__keys = 0; document.addEventListener('keydown', () => window.__keys++);
                   return window.__keys; }"""
    )
    page.keyboard.press("Space")
    assert page.evaluate("() => window.__keys") == seen
    assert toggle.get_attribute("aria-expanded") == "false"
    page.keyboard.press("Space")
    assert toggle.get_attribute("aria-expanded") == "true"

    # Another compose window opens folded again: it must fit Gmail's small window.
    second = page.evaluate("() => fixture.openCompose({to: [{email: 'b@prospect.example'}]})")
    wait_panel(page, second)
    page.locator(f"#{second} {PANEL}[data-stepback-folded='true']").wait_for(state="attached")
    assert page.locator(f"#{second} {PANEL} button.toggle").get_attribute("aria-expanded") == (
        "false"
    )


def test_adding_a_recipient_loads_guidance(
    browser: Any, backend: Any, rep_token: str, app: Any, synced_demo: Any
) -> None:
    who = silent_prospect(app, synced_demo.ids.rep_id)
    configure(browser, backend.url, rep_token)
    page = open_gmail(browser)
    root = page.evaluate("() => fixture.openCompose()")
    wait_panel(page, root, "empty")
    assert "Add the prospect" in panel_text(page, root, ".sentence")
    page.evaluate(
        "([root, p]) => fixture.addRecipient(root, p)",
        [root, {"email": who["email"], "name": who["name"]}],
    )
    wait_panel(page, root)
    assert who["first"] in panel_text(page, root, ".sentence")
    # Closing the compose window removes the panel with it.
    page.evaluate("(root) => fixture.close(root)", root)
    assert page.locator(PANEL).count() == 0


def test_options_page_checks_input_and_signs_out(
    browser: Any, backend: Any, rep_token: str, tokeninfo: Any
) -> None:
    from playwright.sync_api import expect

    page = browser.context.new_page()
    page.goto(browser.options_url())
    expect(page.locator("#account-state")).to_have_text("Not signed in.")
    # Plain http to a remote host is refused before anything is stored.
    page.fill("#backend", "http://stepback.example.com")
    page.click("#backend-form button[type=submit]")
    expect(page.locator("#backend-result")).to_contain_text("Use https://")
    page.reload()
    assert page.input_value("#backend") == "http://127.0.0.1:5000"
    page.close()

    # A valid Google token of someone who is not a rep: the server's reason is shown.
    stranger = tokeninfo.register(f"stranger-{rep_token}", "someone@elsewhere.example")
    state = configure(browser, backend.url, stranger)
    assert state == "This Google account is not set up in stepback; ask your admin to add you."
    state = configure(browser, backend.url, "not-a-known-token")
    assert state.startswith("The server refused the sign-in")

    assert configure(browser, backend.url, rep_token).startswith("Signed in as alex@")
    page = browser.context.new_page()
    page.goto(browser.options_url())
    expect(page.locator("#account-state")).to_contain_text("Signed in as")
    page.click("#sign-out")
    expect(page.locator("#account-state")).to_have_text("Not signed in.")
    assert page.input_value("#dev-token") == ""
