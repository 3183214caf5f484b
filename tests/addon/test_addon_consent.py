"""Granular consent: a user who granted only some scopes is asked for exactly what each
entry point needs (Google's requesting_google_scopes answer), and everything works once
the scope is there."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from server.addon.consent import COMPOSE, EMAIL, EXECUTE, LOCALE, MESSAGE_METADATA
from server.store.db import get_db
from server.store.models import GetBack, PlayEvent, ThreadState
from tests.addon.checks import (
    check_action_answer,
    check_scope_request,
    check_trigger_answer,
)
from tests.addon.stand_in import recording_proxy

QUIET_THREAD = "1a0ef5bf10869baf"
QUIET_PROSPECT = "priya.ibanez@violethill-freight.test"
BASE = [EXECUTE, EMAIL]


def test_every_needed_scope_is_declared_in_the_deployment() -> None:
    # Google can only grant what the deployment's oauthScopes list.
    from server.addon.consent import NEEDS
    from server.addon.deployment import OAUTH_SCOPES

    assert {s for need in NEEDS.values() for s in need} <= set(OAUTH_SCOPES)
    assert LOCALE not in {s for need in NEEDS.values() for s in need}


def _last_message(app: Any) -> str:
    with get_db(app).session() as s:
        row = s.scalar(select(ThreadState).where(ThreadState.gmail_thread_id == QUIET_THREAD))
        assert row is not None
        return str(max(row.messages, key=lambda m: int(m["internalDate"]))["id"])


def _asked(resp: Any) -> set[str] | None:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    asked = check_scope_request(resp.get_json())
    return None if asked is None else set(asked)


def _play_events(app: Any) -> list[PlayEvent]:
    with get_db(app).session() as s:
        return list(s.scalars(select(PlayEvent)))


def test_homepage_without_the_email_scope_asks_for_it(gmail_app: Any, addon: Any) -> None:
    # Without userinfo.email Google sends no user ID token: ask, don't answer 401.
    event = addon.event(scopes=[EXECUTE, LOCALE])
    event.user_token = ""
    assert _asked(addon.post("/addon/homepage", event)) == {EMAIL}
    check_trigger_answer(gmail_app, addon.post("/addon/homepage",
                                               addon.event(scopes=BASE)).get_json())


def test_the_locale_scope_is_never_required(gmail_app: Any, addon: Any) -> None:
    resp = addon.post("/addon/homepage", addon.event(scopes=BASE))
    check_trigger_answer(gmail_app, resp.get_json())


def test_message_without_metadata_asks_before_calling_gmail(gmail_app: Any,
                                                            addon: Any) -> None:
    message_id = _last_message(gmail_app)
    with recording_proxy(gmail_app.config["GMAIL_API_ENDPOINT"]) as proxy:
        gmail_app.config["GMAIL_API_ENDPOINT"] = proxy.url
        resp = addon.post("/addon/message", addon.event(message_id=message_id,
                                                        scopes=[*BASE, COMPOSE]))
        assert _asked(resp) == {MESSAGE_METADATA}
        assert proxy.seen == [], "no Gmail call without the grant"
        resp = addon.post("/addon/message", addon.event(message_id=message_id,
                                                        scopes=[*BASE, MESSAGE_METADATA]))
        card = check_trigger_answer(gmail_app, resp.get_json())
        assert card["name"] == "message" and proxy.seen


@pytest.mark.parametrize(
    ("granted", "asked"),
    [
        ([*BASE, MESSAGE_METADATA], {COMPOSE}),
        (BASE, {COMPOSE, MESSAGE_METADATA}),
        ([*BASE, COMPOSE], {MESSAGE_METADATA}),
    ],
)
def test_compose_asks_for_what_is_missing(gmail_app: Any, addon: Any, granted: list[str],
                                          asked: set[str]) -> None:
    event = addon.event(recipients=[QUIET_PROSPECT], scopes=granted)
    assert _asked(addon.post("/addon/compose", event)) == asked


def test_compose_works_once_granted(gmail_app: Any, addon: Any) -> None:
    event = addon.event(recipients=[QUIET_PROSPECT], scopes=[*BASE, COMPOSE, MESSAGE_METADATA])
    card = check_trigger_answer(gmail_app, addon.post("/addon/compose", event).get_json())
    assert card["name"] == "compose"


def test_inserting_a_play_without_compose_asks_and_records_nothing(gmail_app: Any,
                                                                   addon: Any) -> None:
    params = {"play": "apology_feedback", "variant": "0", "thread": QUIET_THREAD,
              "prospect": QUIET_PROSPECT}
    event = addon.event(recipients=[QUIET_PROSPECT], params=params,
                        scopes=[*BASE, MESSAGE_METADATA])
    assert _asked(addon.post("/addon/actions/insert-play", event)) == {COMPOSE}
    assert _play_events(gmail_app) == []
    event.scopes = [*BASE, COMPOSE]
    answer = check_action_answer(gmail_app, addon.post("/addon/actions/insert-play",
                                                       event).get_json())
    assert answer["draft"] and "Priya" in answer["draft"]
    assert len(_play_events(gmail_app)) == 1


def test_actions_that_only_save_need_only_the_base_scopes(gmail_app: Any, addon: Any) -> None:
    params = {"thread": QUIET_THREAD, "prospect": QUIET_PROSPECT, "kind": "getback",
              "origin": "home"}
    answer = check_action_answer(gmail_app, addon.post(
        "/addon/actions/schedule-form", addon.event(params=params, scopes=BASE)).get_json())
    assert answer["navigations"] == ["pushCard"]


def test_nothing_granted_asks_for_all_scopes(gmail_app: Any, addon: Any) -> None:
    event = addon.event(scopes=[])
    event.user_token = ""
    assert _asked(addon.post("/addon/homepage", event)) is None  # all_scopes


def test_a_missing_list_is_read_as_consent_given_all_at_once(gmail_app: Any,
                                                             addon: Any) -> None:
    # A deployment that has not opted in gets no list: consent was all or nothing.
    resp = addon.post("/addon/homepage", addon.event(scopes=None))
    check_trigger_answer(gmail_app, resp.get_json())


def test_the_short_name_of_the_email_scope_counts(gmail_app: Any, addon: Any) -> None:
    resp = addon.post("/addon/homepage", addon.event(scopes=[EXECUTE, "email"]))
    check_trigger_answer(gmail_app, resp.get_json())


def test_strangers_are_refused_before_any_scope_talk(client: Any, demo_ids: Any) -> None:
    body = {"authorizationEventObject": {"authorizedScopes": [EXECUTE]}}
    assert client.post("/addon/homepage", json=body).status_code == 401


@pytest.mark.parametrize("value", ["https://www.googleapis.com/auth/gmail.addons.execute",
                                   [EXECUTE, 7], {"scopes": [EXECUTE]}, ["x" * 400]])
def test_a_malformed_scope_list_is_a_400(addon: Any, demo_ids: Any, value: Any) -> None:
    body = addon.event().body()
    body["authorizationEventObject"]["authorizedScopes"] = value
    resp = addon.post("/addon/homepage", body)
    assert resp.status_code == 400
    assert "authorizedScopes" in resp.get_json()["error"]["message"]


def test_a_scope_request_changes_nothing(gmail_app: Any, addon: Any) -> None:
    from datetime import timedelta

    from server.demo import DEMO_REP
    from server.store.models import User
    from tests.conftest import NOW

    with get_db(gmail_app).session() as s:
        rep = s.scalar(select(User).where(User.email == DEMO_REP))
        assert rep is not None
        gb = GetBack(org_id=rep.org_id, user_id=rep.id, gmail_thread_id=QUIET_THREAD,
                     prospect_email=QUIET_PROSPECT, kind="getback", due_at=NOW + timedelta(days=3))
        s.add(gb)
        s.flush()
        gb_id = gb.id
    event = addon.event(params={"getback": str(gb_id), "origin": "home"}, scopes=[EXECUTE])
    event.user_token = ""
    assert _asked(addon.post("/addon/actions/getback-cancel", event)) == {EMAIL}
    with get_db(gmail_app).session() as s:
        assert [g.status for g in s.scalars(select(GetBack))] == ["scheduled"]
