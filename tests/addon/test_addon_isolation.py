"""One org's data never reaches another org's rep through the add-on, even with guessed ids."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from server.demo import DEMO_OTHER_ORG_REP, DEMO_REP
from server.store.db import get_db
from server.store.models import GetBack, PlayEvent, ThreadState, User
from tests.addon.checks import all_text, check_action_answer, check_trigger_answer
from tests.conftest import NOW

ALEX_THREAD = "1a0ef5bf10869baf"
ALEX_PROSPECT = "priya.ibanez@violethill-freight.test"


def _alex_getback(app: Any) -> int:
    with get_db(app).session() as s:
        alex = s.scalar(select(User).where(User.email == DEMO_REP))
        assert alex is not None
        gb = GetBack(org_id=alex.org_id, user_id=alex.id, gmail_thread_id=ALEX_THREAD,
                     prospect_email=ALEX_PROSPECT, kind="getback",
                     due_at=NOW - timedelta(hours=3), note="alex private note")
        s.add(gb)
        s.flush()
        return gb.id


def _state(app: Any, gb_id: int) -> tuple[str, Any]:
    with get_db(app).session() as s:
        gb = s.get(GetBack, gb_id)
        assert gb is not None
        return gb.status, gb.due_at


def test_other_orgs_homepage_shows_nothing_of_alex(gmail_app: Any, addon: Any) -> None:
    _alex_getback(gmail_app)
    card = check_trigger_answer(gmail_app, addon.post(
        "/addon/homepage", addon.event(DEMO_OTHER_ORG_REP)).get_json())
    text = all_text(card)
    assert ALEX_PROSPECT not in text and "alex private note" not in text
    assert "Grace Mensah" not in text
    assert "Nobody has gone quiet" in text


def test_other_org_cannot_cancel_or_move_alexs_getback(gmail_app: Any, addon: Any) -> None:
    gb_id = _alex_getback(gmail_app)
    before = _state(gmail_app, gb_id)
    for path in ("/addon/actions/getback-cancel", "/addon/actions/getback-move"):
        event = addon.event(DEMO_OTHER_ORG_REP, params={"getback": str(gb_id), "origin": "home"})
        answer = check_action_answer(gmail_app, addon.post(path, event).get_json())
        assert answer["notify"] == "No such get-back."
        assert "alex private note" not in json.dumps(answer)
    assert _state(gmail_app, gb_id) == before


def test_same_org_colleague_cannot_touch_it_either(gmail_app: Any, addon: Any) -> None:
    gb_id = _alex_getback(gmail_app)
    event = addon.event("jordan@northwind-demo.com",
                        params={"getback": str(gb_id), "origin": "home"})
    answer = check_action_answer(gmail_app, addon.post("/addon/actions/getback-cancel",
                                                       event).get_json())
    assert answer["notify"] == "No such get-back."
    assert _state(gmail_app, gb_id)[0] == "scheduled"


def test_guessing_alexs_thread_id_reveals_nothing(gmail_app: Any, addon: Any) -> None:
    params = {"play": "apology_feedback", "thread": ALEX_THREAD, "prospect": "", "variant": "0",
              "origin": "message"}
    for path in ("/addon/actions/show-play", "/addon/actions/insert-play"):
        answer = check_action_answer(gmail_app, addon.post(
            path, addon.event(DEMO_OTHER_ORG_REP, params=params)).get_json())
        assert answer["draft"] is None
        assert "Priya" not in json.dumps(answer)
        assert answer["notify"] == "That play no longer fits this thread."
    card = check_trigger_answer(gmail_app, addon.post("/addon/compose", addon.event(
        DEMO_OTHER_ORG_REP, thread_id=ALEX_THREAD, recipients=[ALEX_PROSPECT])).get_json())
    text = all_text(card)
    assert "Pilot results" not in text and "followed up" not in text
    with get_db(gmail_app).session() as s:
        assert s.scalars(select(PlayEvent)).first() is None


def test_opening_a_message_never_files_it_under_another_mailbox(gmail_app: Any,
                                                                addon: Any) -> None:
    # Casey (other org, no mailbox) opens a message: nothing is stored for anyone, and
    # Alex's stored state of that thread is not used for Casey's card.
    with get_db(gmail_app).session() as s:
        before = s.scalar(select(ThreadState).where(ThreadState.gmail_thread_id == ALEX_THREAD))
        assert before is not None
        count = len(list(s.scalars(select(ThreadState))))
    row_messages = before.messages
    newest = max(row_messages, key=lambda m: int(m["internalDate"]))["id"]
    card = check_trigger_answer(gmail_app, addon.post(
        "/addon/message", addon.event(DEMO_OTHER_ORG_REP, message_id=newest)).get_json())
    text = all_text(card)
    assert "followed up" not in text and "no stored conversation" in text
    with get_db(gmail_app).session() as s:
        assert len(list(s.scalars(select(ThreadState)))) == count
