"""The toolbar button in Chromium with the unpacked extension: badge, popup, links, get-backs,
signed-out and server-down states, against the real app with the synced demo mailbox."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import select

from server.demo_day import seed_due_getbacks
from server.services.day import RepDay, rep_day
from server.store.db import get_db
from server.store.models import GetBack, User
from tests.conftest import NOW, screenshot_dir
from tests.extension.conftest import REP_EMAIL
from tests.extension.harness import configure
from tests.extension.test_panel_e2e import eventually

pytestmark = pytest.mark.browser

SIGNED_OUT = "Sign in to stepback (extension options) to see guidance here."
UNREACHABLE = "stepback can't reach its server right now; Gmail works as usual."
HOSTILE_EMAIL = "eve@evil.example"


def thread_url(thread_id: str) -> str:
    return f"https://mail.google.com/mail/u/0/?authuser={quote(REP_EMAIL, safe='')}#all/{thread_id}"


@pytest.fixture
def seeded_day(app: Any, synced_demo: Any) -> RepDay:
    """The demo rep with two get-backs due today (as `stepback demo` seeds), and their day."""
    with app.app_context(), get_db(app).session() as s:
        rep = s.get(User, synced_demo.ids.rep_id)
        assert len(seed_due_getbacks(s, rep, NOW)) == 2
        s.commit()
        return rep_day(s, rep, NOW)


def service_day(app: Any, rep_id: int) -> RepDay:
    with app.app_context(), get_db(app).session() as s:
        return rep_day(s, s.get(User, rep_id), NOW)


def badge(browser: Any) -> str:
    worker = browser.context.service_workers[0]
    return str(worker.evaluate("chrome.action.getBadgeText({})"))


def wait_badge(browser: Any, text: str, timeout: float = 10.0) -> str:
    """Poll the badge until it shows `text` (the worker refreshes it asynchronously)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        now = badge(browser)
        if now == text or time.monotonic() > deadline:
            return now
        time.sleep(0.05)


def open_popup(browser: Any, states: str = "ready") -> Any:
    """The popup's page in a tab (what Chrome shows under the toolbar button)."""
    from playwright.sync_api import expect

    page = browser.context.new_page()
    page.set_viewport_size({"width": 400, "height": 900})
    page.goto(f"chrome-extension://{browser.extension_id}/popup/popup.html")
    expect(page.locator("#day")).to_have_attribute(
        "data-state", re.compile(f"^({'|'.join(states.split())})$")
    )
    return page


def listed(page: Any) -> list[tuple[str, str | None]]:
    return [
        (str(li.get_attribute("data-kind")), li.get_attribute("data-thread-id"))
        for li in page.locator("li.item").all()
    ]


def expected_rows(day: RepDay) -> list[tuple[str, str | None]]:
    return [(i.kind, i.thread_id) for i in (*day.due, *day.reply_owed, *day.silent)]


def test_badge_and_popup_show_the_day_in_order(
    browser: Any, backend: Any, rep_token: str, seeded_day: RepDay, tmp_path: Path
) -> None:
    day = seeded_day
    assert len(day.due) == 2 and day.reply_owed and day.silent_total > len(day.silent)
    configure(browser, backend.url, rep_token)
    # Get-backs due plus replies owed past the reply target; silent prospects are not counted.
    assert wait_badge(browser, str(day.badge)) == str(day.badge)
    worker = browser.context.service_workers[0]
    colour = worker.evaluate("chrome.action.getBadgeBackgroundColor({})")
    assert colour[:3] == [0x4A, 0x65, 0x72]  # the calm slate
    # The daily notification is off by default: its permission is optional and not granted.
    granted = worker.evaluate("chrome.permissions.contains({permissions: ['notifications']})")
    assert granted is False
    assert worker.evaluate("typeof chrome.notifications") == "undefined"
    alarm = worker.evaluate("chrome.alarms.get('stepback-day')")
    assert alarm["periodInMinutes"] == 15
    page = open_popup(browser)
    sections = page.locator("section").evaluate_all("(s) => s.map((x) => x.dataset.section)")
    assert sections == ["due", "replyOwed", "silent"]
    assert [h.text_content() for h in page.locator("section h2").all()] == [
        "Get-backs due",
        "Replies you owe",
        "Gone quiet",
    ]
    assert listed(page) == expected_rows(day)
    summary = page.locator("header .summary").text_content()
    assert summary == (
        f"2 get-backs due · {len(day.reply_owed)} "
        f"{'reply' if len(day.reply_owed) == 1 else 'replies'} waiting · "
        f"{day.silent_total} gone quiet"
    )
    first = page.locator("li.item").first
    gb = day.due[0]
    assert first.locator(".detail").text_content() == gb.detail
    assert (gb.detail or "").startswith("Agreed for Friday, November 20 at ")
    assert first.locator(".sentence").text_content() == gb.sentence
    owed = page.locator('li[data-kind="reply_owed"]').first
    assert owed.locator(".detail").text_content() == day.reply_owed[0].detail
    assert re.fullmatch(r"Waiting \d+ (hours|days?) for your answer", day.reply_owed[0].detail)
    assert owed.locator(".sentence").text_content() == day.reply_owed[0].sentence
    quiet = page.locator('section[data-section="silent"] li.item')
    assert quiet.count() == 5
    assert re.fullmatch(r"Quiet for \d+ business days", day.silent[0].detail)
    # No alarm colours anywhere: nothing red-dominant in the popup's computed styles.
    reds = page.evaluate(
        """() => [...document.querySelectorAll('*')].flatMap((e) => {
            const s = getComputedStyle(e);
            return [s.color, s.backgroundColor, s.borderLeftColor];
        }).filter((c) => {
            const m = c.match(/rgba?\\((\\d+), (\\d+), (\\d+)/);
            return m && +m[1] > 150 && +m[2] < 90 && +m[3] < 90;
        })"""
    )
    assert reds == []
    # The README's picture: the top of the popup, a little taller than Chrome shows it.
    page.evaluate("document.getElementById('day').style.maxHeight = '760px'")
    page.locator("#day").screenshot(path=str(screenshot_dir(tmp_path) / "popup-day.png"))
    page.locator("button[data-action=all]").click()
    page.wait_for_function(
        "(n) => document.querySelectorAll('section[data-section=silent] li.item').length === n",
        arg=min(day.silent_total, 50),
    )


def test_link_opens_the_thread_in_gmail(
    browser: Any, backend: Any, rep_token: str, seeded_day: RepDay
) -> None:
    configure(browser, backend.url, rep_token)
    page = open_popup(browser)
    thread_id = seeded_day.due[0].thread_id
    assert thread_id is not None
    link = page.locator("li.item").first.locator("a.open")
    assert link.get_attribute("href") == thread_url(thread_id)
    with browser.context.expect_page() as opened:
        link.click()
    gmail = opened.value
    gmail.wait_for_function("window.fixture !== undefined")  # the Gmail fixture page answered
    assert gmail.url == thread_url(thread_id)
    assert gmail.evaluate("location.hash") == f"#all/{thread_id}"
    assert gmail.evaluate("new URLSearchParams(location.search).get('authuser')") == REP_EMAIL
    # The API's thread id is the hex id Gmail's own URLs use.
    assert re.fullmatch(r"[0-9a-f]{16}", thread_id)


def test_moving_and_closing_a_getback_updates_server_and_badge(
    browser: Any,
    backend: Any,
    recorder: Any,
    rep_token: str,
    seeded_day: RepDay,
    app: Any,
    synced_demo: Any,
) -> None:
    day = seeded_day
    configure(browser, backend.url, rep_token)
    assert wait_badge(browser, str(day.badge)) == str(day.badge)
    page = open_popup(browser)
    first, second = day.due
    assert first.getback is not None and second.getback is not None
    row = page.locator(f'li[data-kind="due"][data-thread-id="{first.thread_id}"]')
    row.locator("button[data-action=week]").click()
    page.wait_for_function(
        "(t) => !document.querySelector(`li[data-kind=due][data-thread-id='${t}']`)",
        arg=first.thread_id,
    )
    assert page.locator(".status").text_content().startswith("Moved to ")
    moved = eventually(app, lambda s: s.get(GetBack, first.getback.id))
    assert moved.due_at.replace(tzinfo=UTC) == NOW + timedelta(days=7)
    assert moved.status == "scheduled"
    assert f"/api/v1/getbacks/{first.getback.id}" in recorder.paths("PATCH")
    assert wait_badge(browser, str(day.badge - 1)) == str(day.badge - 1)

    # Pick a date for the other one: the agreed time of day stays, the day is the picked one.
    row = page.locator(f'li[data-kind="due"][data-thread-id="{second.thread_id}"]')
    row.locator("button[data-action=pick]").click()
    # The earliest day offered is the day after the server's "now" (not the browser's clock).
    assert row.locator("input[type=date]").get_attribute("min") == "2026-11-21"
    row.locator("input[type=date]").fill("2026-12-03")
    row.locator("form.picker button[type=submit]").click()
    page.wait_for_function("() => !document.querySelector('section[data-section=due]')")
    picked = eventually(app, lambda s: s.get(GetBack, second.getback.id))
    local = picked.due_at.replace(tzinfo=UTC).astimezone(_ny())
    agreed = second.getback.due_at.replace(tzinfo=UTC).astimezone(_ny())
    assert (local.date().isoformat(), local.time()) == ("2026-12-03", agreed.time())
    badge_now = str(len(day.reply_owed)) if day.reply_owed else ""
    assert wait_badge(browser, badge_now) == badge_now
    assert service_day(app, synced_demo.ids.rep_id).due == []

    # Close one that is due again (a week later): the row is kept, cancelled.
    app.config["FIXED_NOW"] = (NOW + timedelta(days=8)).isoformat()
    page.reload()
    row = page.locator(f'li[data-kind="due"][data-thread-id="{first.thread_id}"]')
    row.locator("button[data-action=close]").click()
    page.wait_for_function("() => !document.querySelector('section[data-section=due]')")
    closed = eventually(
        app, lambda s: (g := s.get(GetBack, first.getback.id)) and g.status == "cancelled" and g
    )
    assert closed and closed.status == "cancelled"


def _ny() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("America/New_York")


def test_signed_out_and_server_down(
    browser: Any, backend: Any, rep_token: str, seeded_day: RepDay
) -> None:
    configure(browser, backend.url, None)
    page = open_popup(browser, "signed_out")
    assert page.locator(".problem").text_content() == SIGNED_OUT
    assert page.locator("button[data-action=options]").is_visible()
    assert badge(browser) == ""
    page.close()
    configure(browser, backend.url, rep_token)
    assert wait_badge(browser, str(seeded_day.badge)) == str(seeded_day.badge)
    backend.stop()
    page = open_popup(browser, "unreachable")
    assert page.locator(".problem").text_content() == UNREACHABLE
    assert page.locator("li.item").count() == 0
    # Nothing known for sure while the server is away: no stale count.
    assert badge(browser) == ""


def test_hostile_display_name_stays_text(
    browser: Any, backend: Any, rep_token: str, seeded_day: RepDay, app: Any, synced_demo: Any
) -> None:
    with app.app_context(), get_db(app).session() as s:
        rep = s.get(User, synced_demo.ids.rep_id)
        from server.services.scan import scan_user

        found = [
            v.facts
            for v in (*scan_user(s, rep, NOW).silent, *scan_user(s, rep, NOW).reply_owed)
            if (v.facts.prospect or v.facts.reply_owed_from)
            and (v.facts.prospect or v.facts.reply_owed_from).email == HOSTILE_EMAIL
        ]
        assert found, "the demo mailbox has no thread with the hostile display name"
        hostile_thread = found[0].thread_id
        existing = s.scalars(select(GetBack).where(GetBack.gmail_thread_id == hostile_thread))
        assert list(existing) == []
        s.add(
            GetBack(
                org_id=rep.org_id,
                user_id=rep.id,
                gmail_thread_id=hostile_thread,
                prospect_email=HOSTILE_EMAIL,
                kind="getback",
                status="scheduled",
                due_at=NOW - timedelta(hours=3),
                note="<b>note</b> {{rep_name}}",
                created_at=datetime(2026, 11, 13, tzinfo=UTC),
            )
        )
    configure(browser, backend.url, rep_token)
    page = open_popup(browser)
    row = page.locator(f'li[data-thread-id="{hostile_thread}"]')
    assert row.get_attribute("data-kind") == "due"
    assert row.locator(".name").text_content() == "<img src=x onerror=alert(1)> {{rep_name}}"
    assert (row.locator(".sentence").text_content() or "").startswith("<img")
    assert row.locator(".note").text_content() == "<b>note</b> {{rep_name}}"
    counts = page.evaluate(
        "() => document.querySelectorAll('#day img, #day script, #day b, [onerror]').length"
    )
    assert counts == 0
