"""The Gmail adapter (extension/src/gmail_adapter.js) on the fixture page, in real Chromium.

The module is imported straight into the page from the extension (it is web-accessible to
mail.google.com), so these checks run against a real DOM without going through the panel."""

from __future__ import annotations

from typing import Any

import pytest

from tests.extension.harness import open_gmail

pytestmark = pytest.mark.browser

BOB = {"email": "Bob.Smith@Globex-Corp.com", "name": "Bob Smith"}
CAROL = {"email": "carol@globex-corp.com", "name": "Carol"}


def run(page: Any, extension_id: str, body: str, arg: Any = None) -> Any:
    """Evaluate `body` with the adapter module bound to `a` (and `arg`)."""
    script = f"""async ([url, arg]) => {{
        const a = await import(url);
        {body}
    }}"""
    url = f"chrome-extension://{extension_id}/src/gmail_adapter.js"
    return page.evaluate(script, [url, arg])


@pytest.fixture
def page(browser: Any) -> Any:
    return open_gmail(browser)


def test_thread_ids_from_gmail_attributes(page: Any, browser: Any) -> None:
    hex_id = "18b9c2f0a1d2e3f4"
    got = run(
        page,
        browser.extension_id,
        "return arg.map((v) => a.threadIdFrom(v));",
        [f"thread-f:{int(hex_id, 16)}", hex_id.upper(), f"#{hex_id}", "thread-a:r-123", "", "x y"],
    )
    assert got == [hex_id, hex_id, hex_id, None, None, None]


def test_dialog_compose_reads_its_own_chips_and_no_thread(page: Any, browser: Any) -> None:
    page.evaluate(
        """([bob, carol]) => {
            fixture.openThread({threadId: '18b9c2f0a1d2e3f4', subject: 'Older thread',
              messages: [{from: {email: 'dave@other.example', name: 'Dave'}, text: 'hi'}]});
            fixture.openCompose({to: [bob], cc: [carol], subject: 'Hello'});
        }""",
        [BOB, CAROL],
    )
    got = run(
        page,
        browser.extension_id,
        """const [c] = a.findComposes().filter((x) => x.kind === 'dialog');
           return {kind: c.kind, root: c.root.id, recipients: a.readRecipients(c),
                   subject: a.readSubject(c), thread: a.readThreadId(c)};""",
    )
    assert got == {
        "kind": "dialog",
        "root": "compose-1",
        "recipients": [
            {"email": "bob.smith@globex-corp.com", "name": "Bob Smith"},
            {"email": "carol@globex-corp.com", "name": "Carol"},
        ],
        "subject": "Hello",
        # A new message is not about the thread open behind it.
        "thread": None,
    }


def test_inline_reply_uses_the_open_thread_and_ignores_sender_names(
    page: Any, browser: Any
) -> None:
    page.evaluate(
        """([bob]) => {
            fixture.openThread({threadId: '18b9c2f0a1d2e3f4', subject: 'Pilot',
              messages: [{from: {email: 'dave@other.example', name: 'Dave'}, text: 'hi'}]});
            fixture.openInlineReply({to: [bob],
              quote: {attr: 'On Monday Dave wrote:', text: 'quoted words'}});
            // An address inside the quoted history is not a recipient.
            const q = document.querySelector('#inline-reply .gmail_quote');
            const s = document.createElement('span');
            s.setAttribute('email', 'quoted@elsewhere.example');
            s.textContent = 'Quoted';
            q.append(s);
        }""",
        [BOB],
    )
    got = run(
        page,
        browser.extension_id,
        """const [c] = a.findComposes();
           c.body.firstElementChild.textContent = 'My new words';
           return {kind: c.kind, root: c.root.id,
                   recipients: a.readRecipients(c).map((r) => r.email),
                   thread: a.readThreadId(c), draft: a.draftText(c).trim(),
                   anchorIsBodyParent: a.panelAnchor(c).parent === c.body.parentElement};""",
    )
    assert got == {
        "kind": "inline",
        "root": "inline-reply",
        "recipients": ["bob.smith@globex-corp.com"],
        "thread": "18b9c2f0a1d2e3f4",
        "draft": "My new words",
        "anchorIsBodyParent": True,
    }


def test_fallbacks_hidden_inputs_hash_and_perm_id(page: Any, browser: Any) -> None:
    got = run(
        page,
        browser.extension_id,
        """
        // A compose with only Gmail's hidden recipient inputs (no chips rendered yet).
        const box = document.createElement('div');
        box.innerHTML = '<form><input type="hidden" name="to">'
          + '<input type="hidden" name="cc"></form>'
          + '<div g_editable="true" contenteditable="true" class="editable"><div>x</div></div>';
        box.querySelector('input[name=to]').value = '"Smith, Bob" <Bob@Globex.com>, not-an-address';
        box.querySelector('input[name=cc]').value = 'carol@globex.com';
        document.querySelector('[role=main]').append(box);
        location.hash = '#inbox/18b9c2f0a1d2e3f4';
        const c = a.findComposes().find((x) => x.root === box);
        const fromHash = a.readThreadId(c);
        // The permanent id on the open thread wins over the URL.
        const h = document.createElement('h2');
        const perm = 'thread-f:' + BigInt('0x18b9c2f0a1d2e3aa').toString();
        h.setAttribute('data-thread-perm-id', perm);
        document.querySelector('[role=main]').prepend(h);
        return {recipients: a.readRecipients(c), fromHash, fromPerm: a.readThreadId(c),
                kind: c.kind};
        """,
    )
    assert got == {
        "recipients": [
            {"email": "bob@globex.com", "name": "Smith, Bob"},
            {"email": "carol@globex.com", "name": ""},
        ],
        "fromHash": "18b9c2f0a1d2e3f4",
        "fromPerm": "18b9c2f0a1d2e3aa",
        "kind": "inline",
    }


def test_each_body_is_found_once_and_panels_are_not_composes(page: Any, browser: Any) -> None:
    got = run(
        page,
        browser.extension_id,
        """
        fixture.openCompose({to: [{email: 'a@b.example'}]});
        const body = document.querySelector('#compose-1 [g_editable="true"]');
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
