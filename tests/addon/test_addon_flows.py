"""The add-on end to end against the Gmail emulator: homepage, opened message, compose,
inserting a play, scheduling and moving get-back dates, and friendly failures."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from server.demo import DEMO_REP
from server.store.db import get_db
from server.store.models import GetBack, PlayEvent, ThreadState, User
from tests.addon.checks import all_text, check_action_answer, check_trigger_answer
from tests.addon.stand_in import picked, recording_proxy, typed
from tests.conftest import NOW

# A demo thread where the prospect went quiet after several follow-ups.
QUIET_THREAD = "1a0ef5bf10869baf"
QUIET_PROSPECT = "priya.ibanez@violethill-freight.test"


def _thread_row(app: Any, thread_id: str) -> ThreadState:
    with get_db(app).session() as s:
        row = s.scalar(select(ThreadState).where(ThreadState.gmail_thread_id == thread_id))
        assert row is not None
        s.expunge(row)
        return row


def _last_message(app: Any, thread_id: str) -> str:
    row = _thread_row(app, thread_id)
    newest = max(row.messages, key=lambda m: int(m["internalDate"]))
    return str(newest["id"])


def _getbacks(app: Any) -> list[GetBack]:
    with get_db(app).session() as s:
        rows = list(s.scalars(select(GetBack).order_by(GetBack.id)))
        for r in rows:
            s.expunge(r)
        return rows


def test_homepage_lists_silent_prospects_and_due_getbacks(gmail_app: Any, addon: Any) -> None:
    with get_db(gmail_app).session() as s:
        rep = s.scalar(select(User).where(User.email == DEMO_REP))
        assert rep is not None
        s.add(GetBack(org_id=rep.org_id, user_id=rep.id, gmail_thread_id=None,
                      prospect_email="late@overdue-co.example", kind="getback",
                      due_at=NOW - timedelta(hours=2), note="said call me Thursday"))
    card = check_trigger_answer(gmail_app, addon.post("/addon/homepage").get_json())
    text = all_text(card)
    assert "late@overdue-co.example" in text and "said call me Thursday" in text
    assert "Grace Mensah" in text  # the longest-silent demo prospect
    headers = [s.get("header", "") for s in card["sections"]]
    assert any(h.startswith("Went quiet (") for h in headers)
    assert any(h.startswith("Waiting for your reply (") for h in headers)


def test_message_opened_shows_this_threads_facts(gmail_app: Any, addon: Any) -> None:
    message_id = _last_message(gmail_app, QUIET_THREAD)
    with recording_proxy(gmail_app.config["GMAIL_API_ENDPOINT"]) as proxy:
        gmail_app.config["GMAIL_API_ENDPOINT"] = proxy.url
        resp = addon.post("/addon/message", addon.event(message_id=message_id))
    card = check_trigger_answer(gmail_app, resp.get_json())
    text = all_text(card)
    assert "Priya Ibáñez" in text
    assert "hasn't answered in" in text and "business days" in text
    assert "followed up 2 times" in text
    assert "Apology and feedback" in text  # several follow-ups: owning it comes first
    # Google's recipe: user OAuth token as bearer + per-message token header, metadata only.
    first = proxy.seen[0]
    assert first["authorization"] == "Bearer ya29.test-user-token"
    assert first["x-goog-gmail-access-token"] == "gmail-message-token-123"
    assert f"/messages/{message_id}" in first[":path"] and "format=metadata" in first[":path"]


def test_legacy_message_ids_are_converted(gmail_app: Any, addon: Any) -> None:
    message_id = _last_message(gmail_app, QUIET_THREAD)
    legacy = f"msg-f:{int(message_id, 16)}"
    resp = addon.post("/addon/message", addon.event(message_id=legacy))
    card = check_trigger_answer(gmail_app, resp.get_json())
    assert "Priya Ibáñez" in all_text(card)


def test_a_new_message_refreshes_the_stored_thread(gmail_app: Any, addon: Any,
                                                   synced_demo: Any) -> None:
    emu = synced_demo.emulator
    at_ms = int((NOW - timedelta(hours=1)).timestamp() * 1000)
    emu.add_message({
        "id": "1b00000000000001", "threadId": QUIET_THREAD, "labelIds": ["INBOX"],
        "internalDate": str(at_ms), "historyId": "999999",
        "payload": {"mimeType": "text/plain", "headers": [
            {"name": "From", "value": f"Priya Ibáñez <{QUIET_PROSPECT}>"},
            {"name": "To", "value": DEMO_REP},
            {"name": "Subject", "value": "Re: Pilot results and rollout plan"},
        ]},
    })
    resp = addon.post("/addon/message", addon.event(message_id="1b00000000000001"))
    card = check_trigger_answer(gmail_app, resp.get_json())
    assert "waiting for your reply" in all_text(card)
    row = _thread_row(gmail_app, QUIET_THREAD)
    assert "1b00000000000001" in {m["id"] for m in row.messages}
    assert row.reply_owed_since is not None


def test_gmail_failure_gives_a_friendly_card(gmail_app: Any, addon: Any,
                                             synced_demo: Any) -> None:
    synced_demo.emulator.inject(status=503, count=5)
    resp = addon.post("/addon/message", addon.event(message_id=_last_message(gmail_app,
                                                                           QUIET_THREAD)))
    assert resp.status_code == 200
    card = check_trigger_answer(gmail_app, resp.get_json())
    assert "Gmail didn't let stepback read this message" in all_text(card)


def test_unknown_message_gives_a_friendly_card(gmail_app: Any, addon: Any) -> None:
    resp = addon.post("/addon/message", addon.event(message_id="ffffffffffff0000"))
    assert resp.status_code == 200
    assert "Gmail didn't let" in all_text(check_trigger_answer(gmail_app, resp.get_json()))


def test_database_failure_gives_a_friendly_card(gmail_app: Any, addon: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    import server.addon.views as views

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))

    monkeypatch.setattr(views, "scan_user", broken)
    resp = addon.post("/addon/homepage")
    assert resp.status_code == 200
    assert "couldn't reach its database" in all_text(check_trigger_answer(gmail_app,
                                                                          resp.get_json()))


def test_compose_offers_plays_to_insert(gmail_app: Any, addon: Any) -> None:
    resp = addon.post("/addon/compose", addon.event(recipients=[QUIET_PROSPECT]))
    card = check_trigger_answer(gmail_app, resp.get_json())
    text = all_text(card)
    assert "Apology and feedback" in text and "Insert" in text
    pickers = [w["dateTimePicker"] for s in card["sections"] for w in s["widgets"]
               if "dateTimePicker" in w]
    assert pickers, "the get-back play needs a date picker"
    # New York in November is UTC-5: the picker shows the user's zone.
    assert pickers[0]["timezoneOffsetDate"] == -300


def test_insert_play_puts_the_rendered_text_into_the_draft(gmail_app: Any, addon: Any) -> None:
    event = addon.event(recipients=[QUIET_PROSPECT],
                        params={"play": "apology_feedback", "variant": "0",
                                "thread": QUIET_THREAD, "prospect": QUIET_PROSPECT})
    answer = check_action_answer(gmail_app, addon.post("/addon/actions/insert-play",
                                                       event).get_json())
    assert answer["draft"] and "Priya" in answer["draft"]
    assert "{{" not in answer["draft"]
    with get_db(gmail_app).session() as s:
        events = list(s.scalars(select(PlayEvent)))
        assert [(e.play, e.variant, e.surface, e.gmail_thread_id) for e in events] == [
            ("apology_feedback", 0, "addon", QUIET_THREAD)
        ]


def test_insert_getback_play_uses_the_picked_date_and_saves_it(gmail_app: Any,
                                                               addon: Any) -> None:
    slot = NOW + timedelta(days=6, hours=1)  # Thursday 26 Nov 2026, 16:00 UTC = 11:00 EST
    event = addon.event(recipients=[QUIET_PROSPECT],
                        params={"play": "getback_date", "variant": "0",
                                "thread": QUIET_THREAD, "prospect": QUIET_PROSPECT},
                        form={"proposed_at": picked(slot)})
    answer = check_action_answer(gmail_app, addon.post("/addon/actions/insert-play",
                                                       event).get_json())
    assert "Thursday, November 26" in answer["draft"]
    assert "Get-back date saved for Thursday, November 26 at 11:00 AM EST" in answer["notify"]
    saved = _getbacks(gmail_app)
    assert [(g.gmail_thread_id, g.kind, g.due_at, g.status) for g in saved] == [
        (QUIET_THREAD, "getback", slot, "scheduled")
    ]


def test_insert_getback_play_without_a_date_asks_for_one(gmail_app: Any, addon: Any) -> None:
    event = addon.event(params={"play": "getback_date", "variant": "0",
                                "thread": QUIET_THREAD, "prospect": QUIET_PROSPECT})
    answer = check_action_answer(gmail_app, addon.post("/addon/actions/insert-play",
                                                       event).get_json())
    assert answer["draft"] is None and "Pick a date" in answer["notify"]
    assert _getbacks(gmail_app) == []


def test_schedule_form_then_save(gmail_app: Any, addon: Any) -> None:
    params = {"thread": QUIET_THREAD, "prospect": QUIET_PROSPECT, "kind": "getback",
              "origin": "message"}
    form = check_action_answer(gmail_app, addon.post("/addon/actions/schedule-form",
                                                     addon.event(params=params)).get_json())
    assert form["navigations"] == ["pushCard"]
    assert "dateTimePicker" in str(form["cards"][0])
    due = NOW + timedelta(days=10)
    event = addon.event(params=params, form={"due_at": picked(due), "note": typed("after QBR")})
    saved = check_action_answer(gmail_app, addon.post("/addon/actions/schedule",
                                                      event).get_json())
    assert saved["notify"].startswith("Get-back date saved for Monday, November 30")
    assert saved["navigations"] == ["pop", "updateCard"]
    # The refreshed message card now shows the date and no nagging.
    refreshed = all_text(saved["cards"][0])
    assert "stepback stays quiet until then" in refreshed
    rows = _getbacks(gmail_app)
    assert [(r.gmail_thread_id, r.note, r.due_at) for r in rows] == [
        (QUIET_THREAD, "after QBR", due)
    ]


def test_cold_file_keeps_the_reason(gmail_app: Any, addon: Any) -> None:
    params = {"thread": QUIET_THREAD, "prospect": QUIET_PROSPECT, "kind": "cold_file",
              "origin": "home"}
    form = check_action_answer(gmail_app, addon.post("/addon/actions/schedule-form",
                                                     addon.event(params=params)).get_json())
    assert "selectionInput" in str(form["cards"][0])
    event = addon.event(params=params, form={"due_at": picked(NOW + timedelta(days=120)),
                                             "reason": typed("wrong_person")})
    saved = check_action_answer(gmail_app, addon.post("/addon/actions/schedule",
                                                      event).get_json())
    assert saved["notify"].startswith("Parked in the cold file until")
    rows = _getbacks(gmail_app)
    assert [(r.kind, r.note) for r in rows] == [("cold_file", "Not the person who decides")]


def test_a_date_in_the_past_is_refused_without_saving(gmail_app: Any, addon: Any) -> None:
    params = {"thread": QUIET_THREAD, "prospect": QUIET_PROSPECT, "kind": "getback"}
    event = addon.event(params=params, form={"due_at": picked(NOW - timedelta(days=1))})
    answer = check_action_answer(gmail_app, addon.post("/addon/actions/schedule",
                                                       event).get_json())
    assert answer["notify"] == "The date must be in the future."
    assert _getbacks(gmail_app) == []


def test_move_and_cancel_from_the_homepage(gmail_app: Any, addon: Any) -> None:
    with get_db(gmail_app).session() as s:
        rep = s.scalar(select(User).where(User.email == DEMO_REP))
        assert rep is not None
        gb = GetBack(org_id=rep.org_id, user_id=rep.id, gmail_thread_id=QUIET_THREAD,
                     prospect_email=QUIET_PROSPECT, kind="getback", due_at=NOW - timedelta(days=1))
        s.add(gb)
        s.flush()
        gb_id = gb.id
    params = {"getback": str(gb_id), "origin": "home"}
    moved = check_action_answer(gmail_app, addon.post("/addon/actions/getback-move",
                                                      addon.event(params=params)).get_json())
    assert moved["navigations"] == ["updateCard"]
    assert _getbacks(gmail_app)[0].due_at == NOW + timedelta(days=7)
    cancelled = check_action_answer(gmail_app, addon.post("/addon/actions/getback-cancel",
                                                          addon.event(params=params)).get_json())
    assert cancelled["notify"] == "Cancelled."
    assert _getbacks(gmail_app)[0].status == "cancelled"


def test_dates_follow_the_events_locale_and_time_zone(gmail_app: Any, addon: Any) -> None:
    due = NOW + timedelta(days=10)  # Monday 30 Nov 2026, 15:00 UTC
    params = {"thread": QUIET_THREAD, "prospect": QUIET_PROSPECT, "kind": "getback"}
    event = addon.event(params=params, form={"due_at": picked(due)}, locale="de-DE",
                        timezone="Europe/Berlin")
    answer = check_action_answer(gmail_app, addon.post("/addon/actions/schedule",
                                                       event).get_json())
    assert "Montag, 30. November um 16:00 Uhr CET" in answer["notify"]


def test_show_play_lists_every_variant(gmail_app: Any, addon: Any) -> None:
    params = {"play": "step_back", "thread": QUIET_THREAD, "prospect": QUIET_PROSPECT,
              "origin": "message"}
    answer = check_action_answer(gmail_app, addon.post("/addon/actions/show-play",
                                                       addon.event(params=params)).get_json())
    card = answer["cards"][0]
    assert card["header"]["title"] == "Step-back closure"
    assert sum(1 for s in card["sections"] if s.get("header", "").startswith("Variant")) >= 2


def test_an_id_gmail_does_not_know_gives_a_friendly_card(gmail_app: Any, addon: Any) -> None:
    resp = addon.post("/addon/message", addon.event(message_id="msg-a:r-4242"))
    assert resp.status_code == 200
    assert "Gmail didn't let" in all_text(check_trigger_answer(gmail_app, resp.get_json()))


def test_unknown_user_action_gets_a_notification(gmail_app: Any, addon: Any) -> None:
    event = addon.event("stranger@unknown-co.example", params={"getback": "1"})
    answer = check_action_answer(gmail_app, addon.post("/addon/actions/getback-cancel",
                                                       event).get_json())
    assert answer["notify"] == "stranger@unknown-co.example is not set up in stepback yet."


def test_compose_without_recipients_explains_itself(gmail_app: Any, addon: Any) -> None:
    card = check_trigger_answer(gmail_app, addon.post("/addon/compose", addon.event()).get_json())
    text = all_text(card)
    assert "no stored conversation" in text and "Insert" not in text


def _prospect_reply(emu: Any, message_id: str, hours_ago: int = 1) -> None:
    at_ms = int((NOW - timedelta(hours=hours_ago)).timestamp() * 1000)
    emu.add_message({
        "id": message_id, "threadId": QUIET_THREAD, "labelIds": ["INBOX", "UNREAD"],
        "internalDate": str(at_ms), "historyId": "999999",
        "payload": {"mimeType": "text/plain", "headers": [
            {"name": "From", "value": f"Priya Ibáñez <{QUIET_PROSPECT}>"},
            {"name": "To", "value": DEMO_REP},
            {"name": "Subject", "value": "Re: Pilot results and rollout plan"},
        ]},
    })


def test_the_open_message_wins_when_the_thread_cannot_be_read(gmail_app: Any, addon: Any,
                                                              synced_demo: Any) -> None:
    before = _thread_row(gmail_app, QUIET_THREAD)
    stored_ids = {m["id"] for m in before.messages}
    _prospect_reply(synced_demo.emulator, "1b00000000000002")
    with recording_proxy(gmail_app.config["GMAIL_API_ENDPOINT"],
                         refuse=("/threads/",)) as proxy:
        gmail_app.config["GMAIL_API_ENDPOINT"] = proxy.url
        resp = addon.post("/addon/message", addon.event(message_id="1b00000000000002"))
    paths = [seen[":path"] for seen in proxy.seen]
    assert any("/messages/1b00000000000002" in p for p in paths)
    assert any("/threads/" in p for p in paths), "the thread was asked for (and refused)"
    text = all_text(check_trigger_answer(gmail_app, resp.get_json()))
    # Her reply an hour ago is the fact: no "hasn't answered", no apology play.
    assert "waiting for your reply" in text
    assert "hasn't answered" not in text and "Apology and feedback" not in text
    after = _thread_row(gmail_app, QUIET_THREAD)
    assert {m["id"] for m in after.messages} == stored_ids | {"1b00000000000002"}
    assert after.reply_owed_since is not None and after.silent_since is None
    # The rest of the thread was not read: its stored history id stays for the next sync.
    assert after.history_id == before.history_id


def test_fresher_labels_of_a_stored_message_replace_the_stale_copy(gmail_app: Any, addon: Any,
                                                                   synced_demo: Any) -> None:
    message_id = _last_message(gmail_app, QUIET_THREAD)
    synced_demo.emulator.add_labels(message_id, ["STARRED"])
    with recording_proxy(gmail_app.config["GMAIL_API_ENDPOINT"],
                         refuse=("/threads/",)) as proxy:
        gmail_app.config["GMAIL_API_ENDPOINT"] = proxy.url
        check_trigger_answer(gmail_app, addon.post(
            "/addon/message", addon.event(message_id=message_id)).get_json())
    row = _thread_row(gmail_app, QUIET_THREAD)
    copies = [m for m in row.messages if m["id"] == message_id]
    assert len(copies) == 1 and "STARRED" in copies[0]["labelIds"]


def test_an_up_to_date_stored_thread_costs_one_gmail_call(gmail_app: Any, addon: Any) -> None:
    message_id = _last_message(gmail_app, QUIET_THREAD)
    with recording_proxy(gmail_app.config["GMAIL_API_ENDPOINT"]) as proxy:
        gmail_app.config["GMAIL_API_ENDPOINT"] = proxy.url
        check_trigger_answer(gmail_app, addon.post(
            "/addon/message", addon.event(message_id=message_id)).get_json())
    assert len(proxy.seen) == 1 and "/messages/" in proxy.seen[0][":path"]
