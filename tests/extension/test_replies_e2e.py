"""End to end, one test per compose kind: the unpacked extension in Chromium on the rebuilt
Gmail page, against the real app with the demo mailbox synced through the Gmail emulator.

Each kind must speak of the thread being answered: the right sentence, the right first name in
the inserted play, and the play event and get-back recorded on the right thread. The thread
list stays in the page with another silent prospect's row first, as in real Gmail, so a
list-row id would show."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import select

from server.plays import first_name_from
from server.services.guidance import compose_guidance
from server.store.db import get_db
from server.store.models import GetBack, PlayEvent, ThreadState, User
from tests.conftest import NOW
from tests.extension.harness import PANEL, configure, open_gmail, wait_panel

pytestmark = pytest.mark.browser

GUIDANCE = "/api/v1/guidance"
TZ = "America/New_York"


def _guidance(session: Any, rep: User, email: str, thread_id: str | None) -> Any:
    return compose_guidance(
        session, rep, recipients=[email], thread_id=thread_id, now=NOW, locale="en-US",
        timezone=TZ,
    )


def cast(app: Any, rep_id: int) -> dict[str, Any]:
    """Prospects from the demo mailbox, each with a distinct ASCII first name.

    silent: two prospects whose newest thread has gone silent (with a get-back offered);
    older: a prospect with an older silent thread whose facts differ from the newest one's;
    calm: a prospect in a live conversation.
    """
    with app.app_context(), get_db(app).session() as s:
        rep = s.get(User, rep_id)
        assert rep is not None
        rows = s.scalars(
            select(ThreadState)
            .where(ThreadState.prospect_email.is_not(None))
            .order_by(ThreadState.last_message_at.desc(), ThreadState.id.desc())
        ).all()
        by_email: dict[str, list[ThreadState]] = {}
        for row in rows:
            by_email.setdefault(str(row.prospect_email), []).append(row)
        used: set[str] = set()
        people: dict[str, Any] = {"silent": []}

        def person(email: str, thread: ThreadState, g: Any) -> dict[str, Any]:
            first = first_name_from(thread.prospect_name or "", email)
            used.add(first)
            return {"email": email, "name": thread.prospect_name or "", "first": first,
                    "thread_id": thread.gmail_thread_id, "sentence": g.sentence,
                    "subject": thread.subject}

        for email, threads in by_email.items():
            name = threads[0].prospect_name or ""
            first = first_name_from(name, email)
            if not name.isascii() or first in used or "<" in name:
                continue
            newest = _guidance(s, rep, email, None)
            if newest.thread_id != threads[0].gmail_thread_id:
                continue
            if len(people["silent"]) < 2 and newest.nag and "getback_date" in newest.suggested:
                people["silent"].append(person(email, threads[0], newest))
            elif "older" not in people and len(threads) > 1:
                for old in threads[1:]:
                    g = _guidance(s, rep, email, old.gmail_thread_id)
                    if g.nag and g.sentence != newest.sentence and "getback_date" in g.suggested:
                        people["older"] = {**person(email, old, g), "newest": person(
                            email, threads[0], newest)}
                        break
            elif "calm" not in people and newest.state == "live" and not newest.nag:
                people["calm"] = person(email, threads[0], newest)
        assert len(people["silent"]) == 2 and "older" in people and "calm" in people, people
        return people


def eventually(app: Any, query: Any, timeout: float = 5.0) -> Any:
    """Poll the database until `query(session)` returns something truthy (or time runs out)."""
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context(), get_db(app).session() as s:
            found = query(s)
            if found or time.monotonic() > deadline:
                return found
        time.sleep(0.05)


def chip(p: dict[str, Any]) -> dict[str, str]:
    return {"email": p["email"], "name": p["name"]}


def row(p: dict[str, Any]) -> dict[str, Any]:
    return {"threadId": p["thread_id"], "from": chip(p), "subject": p["subject"]}


def requests_from(recorder: Any, root_body_count: int) -> list[dict[str, Any]]:
    return [json.loads(b) for b in recorder.bodies(GUIDANCE)[root_body_count:]]


def panel(page: Any, root: str, part: str = "") -> Any:
    return page.locator(f"#{root} {PANEL} {part}".strip())


def sentence_of(page: Any, root: str) -> str:
    return panel(page, root, ".sentence").text_content() or ""


def insert_lead_and_schedule(page: Any, app: Any, root: str, who: dict[str, Any]) -> None:
    """Insert the folded panel's one play, then a get-back: both on `who`'s thread."""
    lead = panel(page, root, "article.play.lead")
    lead.locator("button.insert").click()
    body = page.locator(f"#{root} [g_editable='true']")
    text = body.inner_text()
    assert f"Hi {who['first']}," in text
    play = lead.get_attribute("data-play")
    events = eventually(app, lambda s: s.scalars(
        select(PlayEvent).where(PlayEvent.play == play)).all())
    assert [e.gmail_thread_id for e in events] == [who["thread_id"]]
    panel(page, root, "button.toggle").click()  # expand: the get-back picker is inside
    getback = panel(page, root, "article[data-play='getback_date']")
    getback.locator("input[type='datetime-local']").fill("2026-11-27T14:30")
    getback.locator("button.schedule").click()
    page.locator(f"#{root} {PANEL}[data-stepback-scheduled]").wait_for(state="attached")
    with app.app_context(), get_db(app).session() as s:
        rows = s.scalars(select(GetBack).where(GetBack.status == "scheduled")).all()
    assert [(g.gmail_thread_id, g.prospect_email) for g in rows] == [
        (who["thread_id"], who["email"])
    ]


@pytest.fixture
def gmail(browser: Any, backend: Any, rep_token: str, app: Any, synced_demo: Any) -> Any:
    configure(browser, backend.url, rep_token)
    page = open_gmail(browser)
    people = cast(app, synced_demo.ids.rep_id)
    other, me = people["silent"]
    # The other prospect's row comes first in the list, as the newest mail would.
    page.evaluate("(rows) => fixture.setList(rows)", [row(other), row(me), row(people["calm"])])
    return page, people


@pytest.mark.parametrize("layout", ["conversation", "split"])
def test_inline_reply_speaks_of_the_thread_answered(
    gmail: Any, recorder: Any, app: Any, layout: str
) -> None:
    page, people = gmail
    other, me = people["silent"]
    page.evaluate(
        """([p, layout]) => fixture.openConversation({threadId: p.thread_id, layout,
             subject: p.subject,
             messages: [{from: {email: p.email, name: p.name}, text: 'ok'}]})""",
        [me, layout],
    )
    before = len(recorder.bodies(GUIDANCE))
    root = page.evaluate("(p) => fixture.openInlineReply({to: [p]})", chip(me))
    wait_panel(page, root)
    sent = requests_from(recorder, before)[0]
    assert (sent["threadId"], sent["recipients"]) == (me["thread_id"], [me["email"]])
    assert sentence_of(page, root) == me["sentence"]
    assert other["first"] not in sentence_of(page, root)
    # Folded, the one line says where things stand.
    assert panel(page, root, ".summary").inner_text() == me["sentence"]
    insert_lead_and_schedule(page, app, root, me)


def test_popped_out_reply_to_an_older_thread(gmail: Any, recorder: Any, app: Any) -> None:
    page, people = gmail
    old = people["older"]
    newest = old["newest"]
    # The prospect's newest conversation is open behind; the reply is to the older thread.
    page.evaluate(
        """(p) => fixture.openConversation({threadId: p.thread_id, subject: p.subject,
             messages: [{from: {email: p.email, name: p.name}, text: 'newest'}]})""",
        newest,
    )
    before = len(recorder.bodies(GUIDANCE))
    root = page.evaluate(
        "([p, tid, subject]) => fixture.openCompose({to: [p], replyTo: tid, subject})",
        [chip(old), old["thread_id"], f"Re: {old['subject']}"],
    )
    wait_panel(page, root)
    sent = requests_from(recorder, before)[0]
    assert sent["threadId"] == old["thread_id"] != newest["thread_id"]
    assert sentence_of(page, root) == old["sentence"] != newest["sentence"]
    insert_lead_and_schedule(page, app, root, old)


def test_new_message_is_about_its_recipient_not_the_open_conversation(
    gmail: Any, recorder: Any, app: Any
) -> None:
    page, people = gmail
    other, me = people["silent"]
    page.evaluate(
        """(p) => fixture.openConversation({threadId: p.thread_id, subject: p.subject,
             messages: [{from: {email: p.email, name: p.name}, text: 'open behind'}]})""",
        other,
    )
    before = len(recorder.bodies(GUIDANCE))
    # A colleague on Bcc is never taken for the prospect.
    root = page.evaluate(
        """(p) => fixture.openCompose({to: [p],
             bcc: [{email: 'sam@northwind-demo.com', name: 'Sam'}]})""",
        chip(me),
    )
    wait_panel(page, root)
    sent = requests_from(recorder, before)[0]
    assert "threadId" not in sent and sent["recipients"] == [me["email"]]
    assert sentence_of(page, root) == me["sentence"]
    insert_lead_and_schedule(page, app, root, me)


def test_several_composes_each_speak_of_their_own(gmail: Any, app: Any) -> None:
    page, people = gmail
    other, me = people["silent"]
    calm = people["calm"]
    page.evaluate(
        """(p) => fixture.openConversation({threadId: p.thread_id, layout: 'split',
             subject: p.subject, messages: [{from: {email: p.email, name: p.name}, text: 'x'}]})""",
        me,
    )
    roots = page.evaluate(
        """([me, other, otherThread, calm]) => [
             fixture.openInlineReply({to: [me]}),
             fixture.openCompose({to: [other], replyTo: otherThread, subject: 'Re: ours'}),
             fixture.openCompose({to: [calm], subject: 'A new idea'}),
           ]""",
        [chip(me), chip(other), other["thread_id"], chip(calm)],
    )
    for root in roots:
        wait_panel(page, root)
    expected = [me["sentence"], other["sentence"], calm["sentence"]]
    assert [sentence_of(page, r) for r in roots] == expected
    assert panel(page, roots[2]).get_attribute("data-stepback-nag") == "false"
    # Closing one leaves the others right, and their plays go to their own threads.
    page.evaluate("(id) => fixture.close(id)", roots[0])
    assert page.locator(PANEL).count() == 2
    assert [sentence_of(page, r) for r in roots[1:]] == expected[1:]
    insert_lead_and_schedule(page, app, roots[1], other)


def test_folded_panel_fits_a_compose_window_and_send_stays_visible(gmail: Any) -> None:
    page, people = gmail
    _, me = people["silent"]
    root = page.evaluate("(p) => fixture.openCompose({to: [p]})", chip(me))
    wait_panel(page, root)
    measure = """(root) => {
        const dialog = document.getElementById(root);
        const host = dialog.querySelector('[data-stepback-panel]');
        const content = host.shadowRoot.querySelector('.content');
        const send = dialog.querySelector('[role=button][data-tooltip="Send"]');
        const box = send.getBoundingClientRect();
        const hit = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
        return {compose: dialog.getBoundingClientRect().height,
                panel: host.getBoundingClientRect().height,
                scrolls: getComputedStyle(content).overflowY,
                contentHeight: content.clientHeight, contentFull: content.scrollHeight,
                sendVisible: hit === send || send.contains(hit),
                sendInside: box.bottom <= dialog.getBoundingClientRect().bottom
                  && box.bottom <= innerHeight};
    }"""
    folded = page.evaluate(measure, root)
    assert 450 <= folded["compose"] <= 550  # Gmail's compose window, about 500 px
    # One line plus the one play: a small part of the window.
    assert folded["panel"] < 0.25 * folded["compose"], folded
    assert folded["sendVisible"] and folded["sendInside"], folded
    toggle = panel(page, root, "button.toggle")
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    expanded = page.evaluate(measure, root)
    assert expanded["panel"] > folded["panel"]
    assert expanded["panel"] <= 0.5 * expanded["compose"], expanded
    # All the plays do not fit in that space: the panel scrolls inside itself.
    assert expanded["scrolls"] == "auto"
    assert expanded["contentFull"] > expanded["contentHeight"], expanded
    assert expanded["sendVisible"] and expanded["sendInside"], expanded
    # Keyboard: the toggle folds again.
    toggle.focus()
    page.keyboard.press("Enter")
    assert toggle.get_attribute("aria-expanded") == "false"


def test_thread_inputs_filled_after_the_body_appears(gmail: Any, recorder: Any) -> None:
    """Gmail may fill a reply's lts/rt a moment after the compose shows: the panel looks again."""
    page, people = gmail
    old = people["older"]
    root = page.evaluate(
        """([p, tid]) => {
             const id = fixture.openCompose({to: [p], replyTo: tid, subject: 'Re: earlier'});
             const form = document.querySelector(`#${id} form.bAs`);
             const lts = form.querySelector('input[name=lts]');
             const rt = form.querySelector('input[name=rt]');
             const values = [lts.value, rt.value];
             lts.value = ''; rt.value = '';
             setTimeout(() => { [lts.value, rt.value] = values; }, 150);
             return id;
           }""",
        [chip(old), old["thread_id"]],
    )
    page.wait_for_function(
        """([root, sentence]) => document.querySelector(`#${root} [data-stepback-panel]`)
             ?.shadowRoot.querySelector('.sentence').textContent === sentence""",
        arg=[root, old["sentence"]],
        timeout=10_000,
    )
    sent = [json.loads(b) for b in recorder.bodies(GUIDANCE)]
    assert sent[-1]["threadId"] == old["thread_id"]
