"""End to end on the second, independently written Gmail page (fixtures/gmail_real_variants.html).

The unpacked extension's content script finds the composes on that page by itself and asks the
real app (demo mailbox synced through the emulator). The harsher shapes: no `.M9`, no
`role=dialog`, no `lts`/`rt` on the inline reply, the recipients apart from the metadata form,
the conversation in table cells, another silent prospect's row first and a previously opened
conversation of theirs kept hidden."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.extension.harness import configure, wait_panel
from tests.extension.test_adapter_real_variants import _route
from tests.extension.test_replies_e2e import GUIDANCE, cast, chip, row, sentence_of

pytestmark = pytest.mark.browser

URL = "https://mail.google.com/mail/u/0/#inbox/FMfcgzQXJWZbLkdTxwqjKGmRvPZsNcdw"


@pytest.fixture
def variants(browser: Any, backend: Any, rep_token: str, app: Any, synced_demo: Any) -> Any:
    configure(browser, backend.url, rep_token)
    page = browser.context.new_page()
    page.route("https://mail.google.com/**", _route)
    page.goto(URL)
    page.wait_for_function("window.variants !== undefined")
    people = cast(app, synced_demo.ids.rep_id)
    other, me = people["silent"]
    page.evaluate("(rows) => variants.list(rows, true)", [row(other), row(me)])
    return page, people


def conv(p: dict[str, Any], hidden: bool = False) -> dict[str, Any]:
    who = chip(p)
    return {
        "threadId": p["thread_id"],
        "subject": p["subject"],
        "hidden": hidden,
        "messages": [{"id": p["thread_id"], "from": who, "to": [who], "text": "ok"}],
    }


def test_bare_inline_reply_without_form_ids(variants: Any, recorder: Any) -> None:
    page, people = variants
    other, me = people["silent"]
    before = len(recorder.bodies(GUIDANCE))
    root = page.evaluate(
        """([hidden, open, to]) => { const v = window.variants; v.conversation(hidden);
             const id = v.conversation(open);
             return v.inlineReply(id, {to: [to], bare: true}); }""",
        [conv(other, hidden=True), conv(me), chip(me)],
    )
    wait_panel(page, root)
    sent = [json.loads(b) for b in recorder.bodies(GUIDANCE)[before:]][0]
    assert (sent.get("threadId"), sent["recipients"]) == (me["thread_id"], [me["email"]])
    assert sentence_of(page, root) == me["sentence"]
    assert other["first"] not in sentence_of(page, root)


def test_bare_docked_new_message_over_a_conversation(variants: Any, recorder: Any) -> None:
    page, people = variants
    other, me = people["silent"]
    before = len(recorder.bodies(GUIDANCE))
    root = page.evaluate(
        """([open, to]) => { const v = window.variants; v.conversation(open);
             return v.dialog({to: [to], bare: true, subject: 'Hello'}); }""",
        [conv(other), chip(me)],
    )
    wait_panel(page, root)
    sent = [json.loads(b) for b in recorder.bodies(GUIDANCE)[before:]][0]
    assert "threadId" not in sent and sent["recipients"] == [me["email"]]
    assert other["first"] not in sentence_of(page, root)
