"""The card→HTML renderer and the /demo/addon page."""

from __future__ import annotations

import re
from typing import Any

from server.addon import cards as c
from server.addon.html import card_html, formatted, widget


def test_formatted_text_keeps_only_simple_tags() -> None:
    out = str(formatted("<b>Bold</b> <i>it</i><br><script>alert(1)</script>"
                        "<img src=x onerror=alert(1)><a href='javascript:x'>link</a>"))
    assert out.startswith("<b>Bold</b> <i>it</i><br>")
    assert "<script" not in out and "<img" not in out and "<a " not in out
    assert "alert(1)" in out and "link" in out  # text survives as text


def test_escaped_data_stays_text() -> None:
    name = "<img src=x onerror=alert(1)> {{rep_name}} & Co"
    out = str(formatted(c.esc(name)))
    assert out == "&lt;img src=x onerror=alert(1)&gt; {{rep_name}} &amp; Co"


def test_unclosed_tags_are_closed() -> None:
    assert str(formatted("<b>loud")) == "<b>loud</b>"


def test_every_widget_kind_renders() -> None:
    from datetime import UTC, datetime

    card = c.card("Title <x>", [c.section([
        c.text("para"),
        c.decorated("main", top="top", bottom="bottom",
                    control=c.button("Go", "https://s.test/addon/x", {"k": "v"})),
        *c.buttons([c.button("Save", "https://s.test/addon/y", filled=True)]),
        c.datetime_picker("due", "When", datetime(2026, 11, 30, 15, tzinfo=UTC), -300),
        c.text_input("note", "Note", hint="Optional"),
        c.dropdown("why", "Why", [("A <b>", "a"), ("B", "b")], selected="b"),
        c.divider(),
    ], "Section")])
    html = str(card_html(card))
    assert "Title &lt;x&gt;" in html
    assert 'value="2026-11-30T10:00"' in html  # shown in the picker's own offset (UTC-5)
    assert '<option value="b" selected>B</option>' in html and "A &lt;b&gt;" in html
    assert 'title="POST https://s.test/addon/x (k=v)"' in html
    assert html.count("<button") == 2 and "<hr>" in html
    assert str(widget({"grid": {}})) == '<div class="unknown">(grid)</div>'


def test_collapsible_sections_fold_like_gmail() -> None:
    rows = [c.text(f"row {i}") for i in range(7)]
    html = str(card_html(c.card("t", [c.section(rows, "S", collapsible=True, keep_open=2)])))
    shown, folded = html.split("<details>")
    assert shown.count("row ") == 2 and folded.count("row ") == 5
    assert "<summary>Show 5 more</summary>" in folded


def test_demo_page_is_off_without_demo_login(client: Any) -> None:
    assert client.get("/demo/addon").status_code == 404


def test_demo_page_shows_the_demo_reps_cards(gmail_app: Any) -> None:
    gmail_app.config["DEMO_LOGIN"] = True
    resp = gmail_app.test_client().get("/demo/addon")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert html.count('class="card"') >= 5
    assert "Grace Mensah" in html and "Schedule a get-back date" in html
    # No markup from mailbox data: the only tags are the renderer's own.
    tags = set(re.findall(r"<([a-z0-9]+)", html))
    assert tags <= {"html", "meta", "title", "style", "h1", "p", "div", "h2", "section",
                    "header", "h3", "b", "i", "u", "s", "br", "button", "label", "input",
                    "select", "option", "hr", "details", "summary"}


def test_demo_page_without_demo_data_says_so(app: Any) -> None:
    app.config["DEMO_LOGIN"] = True
    resp = app.test_client().get("/demo/addon")
    assert resp.status_code == 404
    assert "stepback demo" in resp.get_data(as_text=True)
