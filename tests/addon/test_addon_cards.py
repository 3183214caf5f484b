"""Every card the add-on can produce for the demo mailbox passes Google's card definitions,
stays within Google's limits, points only at existing endpoints, and shows data inertly."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.apps.card_v1 import Card

from server import clock
from server.addon import cards as c
from server.addon import screens
from server.addon.views import homepage_body, make_screen
from server.demo import DEMO_REP
from server.services.guidance import compose_guidance
from server.store.db import get_session
from server.store.models import User
from tests.addon.checks import (
    all_text,
    check_action_answer,
    check_card,
    check_trigger_answer,
    demo_threads,
    widgets_of,
)

HOSTILE_THREAD = "1a1a8834d8f23c9d"
HOSTILE_NAME = "<img src=x onerror=alert(1)> {{rep_name}}"


def test_every_card_for_every_demo_thread(gmail_app: Any) -> None:
    """Message, compose, play and form cards for all ~200 demo threads, plus the homepage."""
    rows = demo_threads(gmail_app)
    assert len(rows) > 100
    checked = 0
    with gmail_app.test_request_context():
        session = get_session()
        user = session.query(User).filter_by(email=DEMO_REP).one()
        screen = make_screen(user, None, clock.now())
        check_card(gmail_app, homepage_body(user, screen, session))
        for row in rows:
            g = compose_guidance(session, user, recipients=[], thread_id=row.gmail_thread_id,
                                 now=screen.now, locale=screen.locale, timezone=screen.timezone)
            produced = [screens.message_card(screen, g), screens.compose_card(screen, g)]
            produced += [screens.play_card(screen, g, p) for p in {x.play for x in g.plays}]
            for kind in ("getback", "cold_file"):
                produced.append(screens.schedule_card(
                    screen, kind=kind, thread_id=g.thread_id,
                    prospect=g.prospect.email if g.prospect else None, origin="message"))
            for card in produced:
                check_card(gmail_app, card)
                checked += 1
    assert checked > 5 * len(rows)


def test_every_state_gets_a_card(gmail_app: Any) -> None:
    """The demo mailbox exercises silent, reply-owed, live and unknown threads."""
    seen: set[str] = set()
    with gmail_app.test_request_context():
        session = get_session()
        user = session.query(User).filter_by(email=DEMO_REP).one()
        for row in demo_threads(gmail_app):
            g = compose_guidance(session, user, recipients=[], thread_id=row.gmail_thread_id,
                                 now=clock.now())
            seen.add(g.state)
    assert {"went_silent", "no_reply_yet", "reply_owed", "live"} <= seen


def test_hostile_display_name_is_shown_as_text(gmail_app: Any, addon: Any) -> None:
    row = next(r for r in demo_threads(gmail_app) if r.gmail_thread_id == HOSTILE_THREAD)
    newest = max(row.messages, key=lambda m: int(m["internalDate"]))["id"]
    resp = addon.post("/addon/message", addon.event(message_id=newest))
    card = check_trigger_answer(gmail_app, resp.get_json())
    raw = json.dumps(card, ensure_ascii=False)
    assert "<img" not in raw
    assert "&lt;img src=x onerror=alert(1)&gt;" in raw
    # Template syntax inside a name is data: never expanded to the rep's name.
    assert "{{rep_name}}" in raw


def test_hostile_name_in_compose_and_inserted_text(gmail_app: Any, addon: Any) -> None:
    prospect = "eve@evil.example"
    card = check_trigger_answer(gmail_app, addon.post(
        "/addon/compose", addon.event(recipients=[prospect], thread_id=HOSTILE_THREAD)
    ).get_json())
    assert "<img" not in json.dumps(card)
    resp = addon.post("/addon/actions/insert-play", addon.event(
        params={"play": "where_from_here", "variant": "0", "thread": HOSTILE_THREAD,
                "prospect": prospect}))
    answer = check_action_answer(gmail_app, resp.get_json())
    # The derived first name is kept as data and inserted as TEXT, so Gmail shows the
    # characters and never parses them as markup.
    assert answer["draft"].startswith("Hi <img,")
    inserted = resp.get_json()["renderActions"]["hostAppAction"]["gmailAction"]
    body = inserted["updateDraftActionMarkup"]["updateBody"]
    assert body["insertContents"][0]["contentType"] == "TEXT"


def test_homepage_stays_within_googles_widget_limit(gmail_app: Any, addon: Any) -> None:
    card = check_trigger_answer(gmail_app, addon.post("/addon/homepage").get_json())
    assert len(widgets_of(card)) <= c.MAX_WIDGETS
    silent = next(s for s in card["sections"] if s.get("header", "").startswith("Went quiet"))
    assert len(silent["widgets"]) == screens.MAX_SILENT  # 102 silent, 15 shown


def test_card_builder_trims_to_the_limits() -> None:
    many = [c.text(c.esc(f"row {i}")) for i in range(80)]
    card = c.card("t", [c.section(many), c.section(many), c.section(many)])
    assert len(widgets_of(card)) == c.MAX_WIDGETS
    assert [len(s["widgets"]) for s in card["sections"]] == [80, 20]
    Card.from_json(json.dumps(card), ignore_unknown_fields=False)


def test_long_texts_are_clipped() -> None:
    text = c.esc("x" * 10_000)
    assert len(text) == c.MAX_TEXT and text.endswith("…")
    assert c.esc("<" * 2000).count("&lt;") == c.MAX_TEXT - 1  # clipped before escaping


def test_empty_sections_are_left_out() -> None:
    card = c.card("t", [c.section([]), c.section([c.divider()])])
    assert len(card["sections"]) == 1


@pytest.mark.parametrize("path", ["/addon/homepage", "/addon/compose"])
def test_trigger_answers_are_documented_render_actions(gmail_app: Any, addon: Any,
                                                       path: str) -> None:
    body = addon.post(path, addon.event(recipients=["gmensah@marrowstone-outfitters.example"]))
    answer = body.get_json()
    assert set(answer) == {"action"} and set(answer["action"]) == {"navigations"}
    check_trigger_answer(gmail_app, answer)


def test_unknown_recipients_get_no_pushy_plays(gmail_app: Any, addon: Any) -> None:
    card = check_trigger_answer(gmail_app, addon.post(
        "/addon/compose", addon.event(recipients=["new.contact@fresh-lead.example"])).get_json())
    text = all_text(card)
    assert "Insert" not in text
    assert "no stored conversation" in text
