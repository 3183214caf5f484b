"""The Gmail adapter (extension/src/gmail_adapter.js) on the rebuilt Gmail page, in real Chromium.

The module is imported straight into the page from the extension (it is web-accessible to
mail.google.com), so these checks run against a real DOM without going through the panel.
Real Gmail keeps the thread list (every row with data-legacy-thread-id) in the page around an
open conversation: these tests put rows of other threads first, so a list-row id can't pass."""

from __future__ import annotations

from typing import Any

import pytest

from tests.extension.harness import open_gmail

pytestmark = pytest.mark.browser

NOAH = {"email": "noah@brightwave.example", "name": "Noah Park"}
ARJUN = {"email": "arjun@harborlight-retail.example", "name": "Arjun Mehta"}
CAROL = {"email": "carol@brightwave.example", "name": "Carol"}
# Hex thread ids as the Gmail API gives them.
ARJUN_THREAD = "18c1f0a2b3c4d5e6"
NOAH_THREAD = "18c2aa00bb11cc22"
NOAH_OLDER = "18a0123456789abc"
ROWS = [
    {"threadId": ARJUN_THREAD, "from": ARJUN, "subject": "Pilot for the stores"},
    {"threadId": NOAH_THREAD, "from": NOAH, "subject": "Brightwave rollout"},
    {"threadId": NOAH_OLDER, "from": NOAH, "subject": "Intro call"},
]


def run(page: Any, extension_id: str, body: str, arg: Any = None) -> Any:
    """Evaluate `body` with the adapter module bound to `a` (and `arg`)."""
    script = f"""async ([url, arg]) => {{
        const a = await import(url);
        const byRoot = (id) => a.findComposes().find((c) => c.root.id === id);
        const facts = (id) => {{
          const c = byRoot(id);
          return {{kind: c.kind, thread: a.readThreadId(c),
                   recipients: a.readRecipients(c).map((r) => r.email)}};
        }};
        {body}
    }}"""
    url = f"chrome-extension://{extension_id}/src/gmail_adapter.js"
    return page.evaluate(script, [url, arg])


@pytest.fixture
def page(browser: Any) -> Any:
    gmail = open_gmail(browser)
    gmail.evaluate("(rows) => fixture.setList(rows)", ROWS)
    return gmail


def open_noah(page: Any, layout: str = "conversation") -> None:
    page.evaluate(
        """([tid, noah, layout]) => fixture.openConversation({threadId: tid, layout,
             subject: 'Brightwave rollout', messages: [{from: noah, text: 'Thanks!'}]})""",
        [NOAH_THREAD, NOAH, layout],
    )


def test_thread_ids_from_gmail_values(page: Any, browser: Any) -> None:
    hex_id = "18b9c2f0a1d2e3f4"
    dec = int(hex_id, 16)
    got = run(
        page,
        browser.extension_id,
        "return arg.map((v) => a.threadIdFrom(v));",
        [
            f"thread-f:{dec}",
            f"#thread-f:{dec}|#msg-f:{dec + 5}",  # an rt value
            hex_id.upper(),
            "#thread-a:r-1234567",  # not saved yet: no API id
            "undefined",
            "",
            "x y",
        ],
    )
    assert got == [hex_id, hex_id, hex_id, None, None, None, None]


@pytest.mark.parametrize("layout", ["conversation", "split"])
def test_inline_reply_reads_its_own_form_never_a_list_row(
    page: Any, browser: Any, layout: str
) -> None:
    open_noah(page, layout)
    reply = page.evaluate("(p) => fixture.openInlineReply({to: [p]})", NOAH)
    got = run(page, browser.extension_id, "return facts(arg);", reply)
    assert got == {"kind": "inline", "thread": NOAH_THREAD, "recipients": [NOAH["email"]]}
    # The first id-bearing element on the page is Arjun's list row, not the conversation.
    first = page.evaluate(
        "() => document.querySelector('[data-legacy-thread-id]').getAttribute("
        "'data-legacy-thread-id')"
    )
    assert first == ARJUN_THREAD
    # The URL hash is an opaque token, not a thread id.
    assert NOAH_THREAD not in page.evaluate("() => location.hash")


@pytest.mark.parametrize("layout", ["conversation", "split"])
def test_inline_reply_without_ids_uses_the_conversation_heading(
    page: Any, browser: Any, layout: str
) -> None:
    open_noah(page, layout)
    reply = page.evaluate(
        """(p) => fixture.openInlineReply({to: [p], ids: false,
             quote: {attr: 'On Monday Noah wrote:', text: 'quoted words'}})""",
        NOAH,
    )
    got = run(
        page,
        browser.extension_id,
        """const c = byRoot(arg);
           c.body.firstElementChild.textContent = 'My new words';
           return {...facts(arg), draft: a.draftText(c).trim(),
                   anchorIsBodyParent: a.panelAnchor(c).parent === c.body.parentElement};""",
        reply,
    )
    assert got == {
        "kind": "inline",
        "thread": NOAH_THREAD,
        "recipients": [NOAH["email"]],  # the quoted address is not one
        "draft": "My new words",
        "anchorIsBodyParent": True,
    }


def test_no_heading_and_no_ids_means_no_thread(page: Any, browser: Any) -> None:
    open_noah(page)
    reply = page.evaluate("(p) => fixture.openInlineReply({to: [p], ids: false})", NOAH)
    # A conversation kept in the page twice (one hidden) with different ids: no guessing.
    got = run(
        page,
        browser.extension_id,
        """document.querySelector('h2.hP').remove();
           const without = facts(arg).thread;
           return {without, rows: document.querySelectorAll('tr.zA').length};""",
        reply,
    )
    assert got == {"without": None, "rows": 3}


def test_new_message_has_no_thread_and_bcc_is_not_a_recipient(page: Any, browser: Any) -> None:
    open_noah(page)
    compose = page.evaluate(
        """([to, cc, bcc]) => fixture.openCompose({to: [to], cc: [cc], bcc: [bcc],
             subject: 'Hello'})""",
        [ARJUN, CAROL, NOAH],
    )
    got = run(
        page,
        browser.extension_id,
        """const c = byRoot(arg);
           return {...facts(arg), subject: a.readSubject(c),
                   names: a.readRecipients(c).map((r) => r.name)};""",
        compose,
    )
    assert got == {
        "kind": "dialog",
        # A new message is not about the conversation open behind it.
        "thread": None,
        "recipients": [ARJUN["email"], CAROL["email"]],
        "subject": "Hello",
        "names": [ARJUN["name"], CAROL["name"]],
    }


def test_popped_out_reply_to_an_older_thread_keeps_that_thread(page: Any, browser: Any) -> None:
    open_noah(page)  # the prospect's newest thread is open behind it
    popped = page.evaluate(
        "([p, tid]) => fixture.openCompose({to: [p], subject: 'Re: Intro call', replyTo: tid})",
        [NOAH, NOAH_OLDER],
    )
    got = run(page, browser.extension_id, "return facts(arg);", popped)
    assert got == {"kind": "dialog", "thread": NOAH_OLDER, "recipients": [NOAH["email"]]}


def test_several_composes_each_read_their_own(page: Any, browser: Any) -> None:
    open_noah(page, "split")
    ids = page.evaluate(
        """([noah, arjun, older, arjunThread]) => [
             fixture.openInlineReply({to: [noah]}),
             fixture.openCompose({to: [arjun], replyTo: arjunThread, subject: 'Re: Pilot'}),
             fixture.openCompose({to: [noah], replyTo: older, subject: 'Re: Intro call'}),
             fixture.openCompose({to: [arjun], subject: 'Something new'}),
           ]""",
        [NOAH, ARJUN, NOAH_OLDER, ARJUN_THREAD],
    )
    got = run(page, browser.extension_id, "return arg.map(facts);", ids)
    assert [(g["thread"], g["recipients"]) for g in got] == [
        (NOAH_THREAD, [NOAH["email"]]),
        (ARJUN_THREAD, [ARJUN["email"]]),
        (NOAH_OLDER, [NOAH["email"]]),
        (None, [ARJUN["email"]]),
    ]
    page.evaluate("(id) => fixture.close(id)", ids[1])
    again = run(page, browser.extension_id, "return arg.map(facts);", [ids[0], ids[2], ids[3]])
    assert [g["thread"] for g in again] == [NOAH_THREAD, NOAH_OLDER, None]


def test_older_chips_with_hidden_inputs_and_bcc(page: Any, browser: Any) -> None:
    """Gmail's pre-2021 chips: `.vR` spans with `email` and a hidden input named by field."""
    got = run(
        page,
        browser.extension_id,
        """
        const box = document.createElement('div');
        box.id = 'old-style';
        const gs = document.createElement('div');
        gs.className = 'GS';
        for (const [field, value, email] of [
            ['to', '"Smith, Bob" <Bob@Globex.example>', 'bob@globex.example'],
            ['cc', 'carol@globex.example', 'carol@globex.example'],
            ['bcc', 'boss@northwind-demo.com', 'boss@northwind-demo.com']]) {
          const chip = document.createElement('span');
          chip.className = 'vR';
          const inner = document.createElement('span');
          inner.className = 'vN';
          inner.setAttribute('email', email);
          chip.append(inner);
          const input = document.createElement('input');
          input.type = 'hidden';
          input.name = field;
          input.value = value;
          chip.append(input);
          gs.append(chip);
        }
        box.append(gs);
        const ed = document.createElement('div');
        ed.setAttribute('g_editable', 'true');
        ed.setAttribute('contenteditable', 'true');
        ed.className = 'editable';
        box.append(ed);
        document.querySelector('[role=main]').append(box);
        return a.readRecipients(a.findComposes().find((c) => c.root === box));
        """,
    )
    assert got == [
        {"email": "bob@globex.example", "name": "Smith, Bob"},
        {"email": "carol@globex.example", "name": ""},
    ]


def test_each_body_is_found_once_and_panels_are_not_composes(page: Any, browser: Any) -> None:
    got = run(
        page,
        browser.extension_id,
        """
        const id = fixture.openCompose({to: [{email: 'a@b.example'}]});
        const body = document.querySelector(`#${id} [g_editable="true"]`);
        // Gmail sometimes nests editable wrappers; a stepback panel is never a compose.
        const inner = document.createElement('div');
        inner.setAttribute('contenteditable', 'true');
        inner.setAttribute('role', 'textbox');
        body.append(inner);
        const host = document.createElement('div');
        a.markPanelHost(host);
        const fake = document.createElement('div');
        fake.setAttribute('contenteditable', 'true');
        fake.setAttribute('role', 'textbox');
        host.append(fake);
        document.body.append(host);
        return {count: a.findComposes().length, ours: a.isOurs(fake), notOurs: a.isOurs(body)};
        """,
    )
    assert got == {"count": 1, "ours": True, "notOurs": False}
