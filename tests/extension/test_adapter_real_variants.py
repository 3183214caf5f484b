"""The Gmail adapter against a second, independently written Gmail page.

The page is fixtures/gmail_real_variants.html.

That page follows the structure InboxSDK and gmail.js describe (sources in its header): the
conversation inside table cells, the inline reply inside the last message's `.ip` container,
the recipients in a form of their own apart from `.aoP` (metadata form and body), list rows
kept in the page, previously opened conversations kept hidden, older recipient shapes, and a
compose popped out into its own window. Each test asserts the thread and recipients the
adapter reads for each compose, in real Chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

PAGE = Path(__file__).resolve().parent / "fixtures" / "gmail_real_variants.html"
TOKEN_URL = "https://mail.google.com/mail/u/0/#inbox/FMfcgzQXJWZbLkdTxwqjKGmRvPZsNcdw"

NOAH = {"email": "noah@brightwave.example", "name": "Noah Park"}
ARJUN = {"email": "arjun@harborlight-retail.example", "name": "Arjun Mehta"}
CAROL = {"email": "carol@northwind-demo.com", "name": "Carol Diaz"}  # a colleague
ME = {"email": "alex@northwind-demo.com", "name": "Alex"}
BOSS = {"email": "priya@globex.example", "name": "Priya"}  # another prospect, only ever in Bcc

ARJUN_THREAD = "18c1f0a2b3c4d5e6"
NOAH_THREAD = "18c2aa00bb11cc22"
NOAH_OLDER = "18a0123456789abc"
HIDDEN_THREAD = "18bbbbbbbbbbbbbb"
ROWS = [
    {"threadId": ARJUN_THREAD, "from": ARJUN, "subject": "Pilot for the stores"},
    {"threadId": NOAH_THREAD, "from": NOAH, "subject": "Brightwave rollout"},
    {"threadId": NOAH_OLDER, "from": NOAH, "subject": "Intro call"},
]


def _route(route: Any) -> None:
    route.fulfill(
        status=200, content_type="text/html; charset=utf-8", body=PAGE.read_text(encoding="utf-8")
    )


@pytest.fixture
def page(browser: Any) -> Any:
    gmail = browser.context.new_page()
    gmail.route("https://mail.google.com/**", _route)  # page routes win over the context's
    gmail.goto(TOKEN_URL)
    gmail.wait_for_function("window.variants !== undefined")
    return gmail


def facts(page: Any, extension_id: str, setup: str, arg: Any = None) -> Any:
    """Run `setup` (it returns compose ids, with `v` the page builder), then read each compose."""
    script = f"""async ([url, arg]) => {{
        const a = await import(url);
        const v = window.variants;
        const ids = (() => {{ {setup} }})();
        const read = (id) => {{
          const body = v.bodyOf(id);
          const found = a.findComposes().filter((c) => c.body === body);
          if (found.length !== 1) return {{error: `found ${{found.length}}`}};
          const c = found[0];
          return {{kind: c.kind, thread: a.readThreadId(c),
                   to: a.readRecipients(c).map((r) => r.email)}};
        }};
        return {{count: a.findComposes().length, got: ids.map(read), ids}};
    }}"""
    url = f"chrome-extension://{extension_id}/src/gmail_adapter.js"
    return page.evaluate(script, [url, arg])


def conversation(thread: str, people: list[dict[str, str]], **extra: Any) -> dict[str, Any]:
    return {
        "threadId": thread,
        "subject": "Brightwave rollout",
        "messages": [
            {"id": thread, "from": people[0], "to": [ME], "text": "Thanks!"},
            {"id": thread[:-1] + "f", "from": ME, "to": people, "text": "Following up"},
        ],
        **extra,
    }


@pytest.mark.parametrize("shown", [False, True], ids=["conversation", "reading-pane"])
@pytest.mark.parametrize("with_ids", [True, False], ids=["form-ids", "heading-only"])
def test_inline_reply_in_real_layout(page: Any, browser: Any, shown: bool, with_ids: bool) -> None:
    """Rows first (hidden or shown), a previously opened conversation kept hidden, then Noah's."""
    got = facts(
        page,
        browser.extension_id,
        """v.list(arg.rows, arg.shown);
           v.conversation(arg.hidden);
           const conv = v.conversation(arg.conv);
           return [v.inlineReply(conv, {to: [arg.noah], cc: [arg.carol], bcc: [arg.boss],
                                        replyTo: arg.withIds ? arg.tid : null})];""",
        {
            "rows": ROWS,
            "shown": shown,
            "withIds": with_ids,
            "tid": NOAH_THREAD,
            "noah": NOAH,
            "carol": CAROL,
            "boss": BOSS,
            "hidden": conversation(HIDDEN_THREAD, [ARJUN], hidden=True),
            "conv": conversation(NOAH_THREAD, [NOAH]),
        },
    )
    assert got["got"] == [
        {"kind": "inline", "thread": NOAH_THREAD, "to": [NOAH["email"], CAROL["email"]]}
    ]


@pytest.mark.parametrize("heading_ids", ["perm", "legacy", "container"])
def test_heading_with_one_kind_of_id(page: Any, browser: Any, heading_ids: str) -> None:
    got = facts(
        page,
        browser.extension_id,
        """v.list(arg.rows, true);
           const conv = v.conversation(arg.conv);
           return [v.inlineReply(conv, {to: [arg.noah]})];""",
        {
            "rows": ROWS,
            "noah": NOAH,
            "conv": conversation(NOAH_THREAD, [NOAH], headingIds=heading_ids),
        },
    )
    assert got["got"] == [{"kind": "inline", "thread": NOAH_THREAD, "to": [NOAH["email"]]}]


def test_new_messages_have_no_thread(page: Any, browser: Any) -> None:
    """New message windows over an open conversation: one prospect; prospect + colleague (+ Bcc)."""
    got = facts(
        page,
        browser.extension_id,
        """v.list(arg.rows);
           v.conversation(arg.conv);
           return [v.dialog({to: [arg.arjun], subject: 'Hello'}),
                   v.dialog({to: [arg.arjun], cc: [arg.carol], bcc: [arg.noah]})];""",
        {
            "rows": ROWS,
            "arjun": ARJUN,
            "carol": CAROL,
            "noah": NOAH,
            "conv": conversation(NOAH_THREAD, [NOAH]),
        },
    )
    assert got["got"] == [
        {"kind": "dialog", "thread": None, "to": [ARJUN["email"]]},
        {"kind": "dialog", "thread": None, "to": [ARJUN["email"], CAROL["email"]]},
    ]


def test_popped_out_reply_and_odd_form_values(page: Any, browser: Any) -> None:
    """A reply to an older thread in a window; rt-only; a draft-only `thread-a:` id; junk values."""
    older = int(NOAH_OLDER, 16)
    got = facts(
        page,
        browser.extension_id,
        """v.list(arg.rows);
           v.conversation(arg.conv);
           return [
             v.dialog({to: [arg.noah], replyTo: arg.older, subject: 'Re: Intro call'}),
             v.dialog({to: [arg.noah],
                       replyTo: {lts: '', rt: `#thread-f:${arg.olderDec}|#msg-f:${arg.olderDec}`}}),
             v.dialog({to: [arg.noah],
                       replyTo: {lts: '', rt: '#thread-a:r-8817263541|#msg-a:r-1234567'}}),
             v.dialog({to: [arg.noah], replyTo: {lts: 'undefined', rt: 'null'},
                       draft: 'undefined'}),
           ];""",
        {
            "rows": ROWS,
            "noah": NOAH,
            "older": NOAH_OLDER,
            "olderDec": str(older),
            "conv": conversation(NOAH_THREAD, [NOAH]),
        },
    )
    assert [g["thread"] for g in got["got"]] == [NOAH_OLDER, NOAH_OLDER, None, None]
    assert all(g["to"] == [NOAH["email"]] and g["kind"] == "dialog" for g in got["got"])


@pytest.mark.parametrize("shape", ["old", "old-input", "oldest", "spans"])
def test_older_recipient_shapes(page: Any, browser: Any, shape: str) -> None:
    """`.vR` chips with hidden inputs beside textarea.vO / input[name=to]; bare comma lists."""
    got = facts(
        page,
        browser.extension_id,
        """const conv = v.conversation(arg.conv);
           return [v.inlineReply(conv, {to: [arg.noah, arg.bob], cc: [arg.carol], bcc: [arg.boss],
                                        shape: arg.shape, replyTo: arg.tid}),
                   v.dialog({to: [arg.arjun], bcc: [arg.noah], shape: arg.shape})];""",
        {
            "shape": shape,
            "noah": NOAH,
            "arjun": ARJUN,
            "carol": CAROL,
            "boss": BOSS,
            "bob": {"email": "bob@brightwave.example", "name": "Smith, Bob"},
            "tid": NOAH_THREAD,
            "conv": conversation(NOAH_THREAD, [NOAH]),
        },
    )
    assert got["got"] == [
        {
            "kind": "inline",
            "thread": NOAH_THREAD,
            "to": [NOAH["email"], "bob@brightwave.example", CAROL["email"]],
        },
        {"kind": "dialog", "thread": None, "to": [ARJUN["email"]]},
    ]


def test_typed_but_uncommitted_text_in_an_old_row(page: Any, browser: Any) -> None:
    """Half-typed text in textarea.vO is no recipient; a whole typed address is read leniently."""
    got = facts(
        page,
        browser.extension_id,
        """return [v.dialog({to: [arg.noah], shape: 'old',
                             typed: {to: 'arj', bcc: arg.boss.email}}),
                   v.dialog({to: [], shape: 'old-input', typed: {to: arg.arjun.email}})];""",
        {"noah": NOAH, "arjun": ARJUN, "boss": BOSS},
    )
    assert [g["to"] for g in got["got"]] == [[NOAH["email"]], [ARJUN["email"]]]


def test_several_composes_then_one_closes(page: Any, browser: Any) -> None:
    got = facts(
        page,
        browser.extension_id,
        """v.list(arg.rows, true);
           const conv = v.conversation(arg.conv);
           return [v.inlineReply(conv, {to: [arg.noah], replyTo: arg.noahThread}),
                   v.dialog({to: [arg.arjun], replyTo: arg.arjunThread, subject: 'Re: Pilot'}),
                   v.dialog({to: [arg.noah], replyTo: arg.older, subject: 'Re: Intro call'}),
                   v.dialog({to: [arg.arjun], subject: 'New idea'})];""",
        {
            "rows": ROWS,
            "noah": NOAH,
            "arjun": ARJUN,
            "noahThread": NOAH_THREAD,
            "arjunThread": ARJUN_THREAD,
            "older": NOAH_OLDER,
            "conv": conversation(NOAH_THREAD, [NOAH]),
        },
    )
    assert got["count"] == 4
    assert [(g["thread"], g["to"]) for g in got["got"]] == [
        (NOAH_THREAD, [NOAH["email"]]),
        (ARJUN_THREAD, [ARJUN["email"]]),
        (NOAH_OLDER, [NOAH["email"]]),
        (None, [ARJUN["email"]]),
    ]
    ids = got["ids"]
    again = facts(
        page,
        browser.extension_id,
        "v.remove(arg.gone); return arg.keep;",
        {"gone": ids[1], "keep": [ids[0], ids[2], ids[3]]},
    )
    assert again["count"] == 3
    assert [g["thread"] for g in again["got"]] == [NOAH_THREAD, NOAH_OLDER, None]


@pytest.mark.parametrize("reply", [True, False], ids=["reply", "new"])
def test_compose_in_its_own_window(page: Any, browser: Any, reply: bool) -> None:
    """Shift-click pop-out: its own window (view=cm, body.xE.xp), the compose in [role=main]."""
    got = facts(
        page,
        browser.extension_id,
        """if (arg.reply) v.url('/mail/u/0/?ui=2&view=cm&fs=1&tf=1');  // else only body.xE.xp
           return [v.standalone({to: [arg.noah], replyTo: arg.reply ? arg.older : null,
                                 subject: 'Re: Intro call'})];""",
        {"noah": NOAH, "older": NOAH_OLDER, "reply": reply},
    )
    assert got["got"] == [
        {"kind": "popout", "thread": NOAH_OLDER if reply else None, "to": [NOAH["email"]]}
    ]


def test_without_gmails_compose_classes(page: Any, browser: Any) -> None:
    """No `.M9`, no role=dialog: fields found by climbing; a docked window is never inline."""
    got = facts(
        page,
        browser.extension_id,
        """v.list(arg.rows, true);
           v.conversation(arg.hidden);
           const conv = v.conversation(arg.conv);
           return [v.inlineReply(conv, {to: [arg.noah], bare: true, replyTo: arg.tid}),
                   v.dialog({to: [arg.arjun], bcc: [arg.noah], bare: true}),
                   v.dialog({to: [arg.arjun], bare: true, replyTo: arg.arjunThread})];""",
        {
            "rows": ROWS,
            "noah": NOAH,
            "carol": CAROL,
            "arjun": ARJUN,
            "tid": NOAH_THREAD,
            "arjunThread": ARJUN_THREAD,
            "hidden": conversation(HIDDEN_THREAD, [ARJUN], hidden=True),
            "conv": conversation(NOAH_THREAD, [NOAH]),
        },
    )
    assert got["got"] == [
        {"kind": "inline", "thread": NOAH_THREAD, "to": [NOAH["email"]]},
        {"kind": "dialog", "thread": None, "to": [ARJUN["email"]]},
        {"kind": "dialog", "thread": ARJUN_THREAD, "to": [ARJUN["email"]]},
    ]


def test_bare_inline_reply_reads_the_heading(page: Any, browser: Any) -> None:
    got = facts(
        page,
        browser.extension_id,
        """v.list(arg.rows);
           v.conversation(arg.hidden);
           const conv = v.conversation(arg.conv);
           return [v.inlineReply(conv, {to: [arg.noah], cc: [arg.carol], bcc: [arg.boss],
                                        bare: true}),
                   v.dialog({to: [arg.arjun], bare: true})];""",
        {
            "rows": ROWS,
            "noah": NOAH,
            "carol": CAROL,
            "boss": BOSS,
            "arjun": ARJUN,
            "hidden": conversation(HIDDEN_THREAD, [ARJUN], hidden=True),
            "conv": conversation(NOAH_THREAD, [NOAH]),
        },
    )
    assert got["got"] == [
        {"kind": "inline", "thread": NOAH_THREAD, "to": [NOAH["email"], CAROL["email"]]},
        {"kind": "dialog", "thread": None, "to": [ARJUN["email"]]},
    ]


def test_thread_values_and_chip_addresses(page: Any, browser: Any) -> None:
    """Gmail's id spellings; a chip whose hovercard id is no address still has `email`."""
    hex_id = "18b9c2f0a1d2e3f4"
    number = int(hex_id, 16)
    values = [
        f"#thread-f:{number}|#msg-f:{number + 7}",
        f"f:{number}",
        f"  {hex_id.upper()} ",
        f"#msg-f:{number}",
        "#thread-a:r-8817263541",
        "#msg-a:r-8817263541",
        f"thread-f:{2**64}",
        "thread-f:0",
        "null",
    ]
    got = page.evaluate(
        """async ([url, values]) => {
            const a = await import(url);
            const v = window.variants;
            const id = v.dialog({to: [{email: 'noah@brightwave.example', name: 'Noah'}]});
            const chip = document.querySelector(`#${id} [role=option]`);
            chip.setAttribute('data-hovercard-id', '104857601234567890');
            chip.setAttribute('email', 'Noah@Brightwave.example');
            const c = a.findComposes().find((x) => x.body === v.bodyOf(id));
            return {ids: values.map((x) => a.threadIdFrom(x)),
                    to: a.readRecipients(c).map((r) => r.email)};
        }""",
        [f"chrome-extension://{browser.extension_id}/src/gmail_adapter.js", values],
    )
    assert got == {
        "ids": [hex_id, hex_id, hex_id, None, None, None, None, None, None],
        "to": ["noah@brightwave.example"],
    }


def test_fields_arriving_after_the_body(page: Any, browser: Any) -> None:
    """The body can appear before Gmail builds the reply's fields around it: a compose found
    then still reads the right thread and recipients once they are there."""
    got = page.evaluate(
        """async ([url, arg]) => {
            const a = await import(url);
            const v = window.variants;
            v.list(arg.rows);
            const conv = v.conversation(arg.conv);
            const id = v.inlineReply(conv, {to: [arg.noah], bcc: [arg.arjun], replyTo: arg.older});
            const box = document.getElementById(id);
            const body = v.bodyOf(id);
            const parked = document.createElement('div');
            box.replaceWith(parked);
            const lone = document.createElement('div');
            parked.after(lone);
            lone.append(body);          // only the body is in the page yet
            const early = a.findComposes().find((c) => c.body === body);
            const before = {to: a.readRecipients(early).length};
            const slot = box.querySelector('.Ap');
            slot.append(body);          // now the whole reply box arrives
            lone.remove();
            parked.replaceWith(box);
            return {before, kind: early.kind, thread: a.readThreadId(early),
                    to: a.readRecipients(early).map((r) => r.email)};
        }""",
        [
            f"chrome-extension://{browser.extension_id}/src/gmail_adapter.js",
            {
                "rows": ROWS,
                "noah": NOAH,
                "arjun": ARJUN,
                "older": NOAH_OLDER,
                "conv": conversation(NOAH_THREAD, [NOAH]),
            },
        ],
    )
    assert got == {
        "before": {"to": 0},
        "kind": "inline",
        "thread": NOAH_OLDER,
        "to": [NOAH["email"]],
    }
