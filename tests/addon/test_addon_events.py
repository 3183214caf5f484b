"""Malformed events get a clear 400 once Google's token is verified, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from server.addon.events import AddonEvent, gmail_id, parse_event
from server.errors import ApiError
from tests.addon.stand_in import Event


@pytest.fixture
def seeded(demo_ids: Any) -> Any:
    return demo_ids


def _body(addon: Any, **kw: Any) -> dict[str, Any]:
    return addon.event(**kw).body()


def _is_400(resp: Any) -> str:
    assert resp.status_code == 400, resp.get_data(as_text=True)
    error = resp.get_json()["error"]
    assert error["reason"] == "malformed_event"
    return str(error["message"])


def test_body_that_is_not_json(client: Any, tokens: Any, seeded: Any) -> None:
    resp = client.post("/addon/homepage", data=b"\x00not json",
                       headers={"Authorization": f"Bearer {tokens.system('/addon/homepage')}",
                                "Content-Type": "application/json"})
    assert "not JSON" in _is_400(resp)


def test_body_that_is_a_list(addon: Any, seeded: Any) -> None:
    assert "JSON object" in _is_400(addon.post("/addon/homepage", [1, 2]))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda b: b.update(commonEventObject="GMAIL"), "commonEventObject must be an object"),
        (lambda b: b["commonEventObject"].update(parameters={"play": 3}), "parameters.play"),
        (lambda b: b["commonEventObject"].update(timeZone={"id": "UTC", "offset": "x"}),
         "offset"),
        (lambda b: b["gmail"].update(messageId="../../etc/passwd"), "gmail.messageId"),
        (lambda b: b["gmail"].update(toRecipients="bob@globex.example"), "toRecipients"),
        (lambda b: b["authorizationEventObject"].update(userOAuthToken=["t"]), "userOAuthToken"),
        (lambda b: b.update(gmail=[]), "gmail must be an object"),
    ],
)
def test_malformed_shapes(addon: Any, seeded: Any, mutate: Any, fragment: str) -> None:
    body = _body(addon, message_id="1a0ef5bf10869baf")
    mutate(body)
    assert fragment in _is_400(addon.post("/addon/message", body))


def test_message_trigger_without_a_message_id(addon: Any, seeded: Any) -> None:
    assert "messageId is missing" in _is_400(addon.post("/addon/message", addon.event()))


def test_message_trigger_without_gmail_tokens(addon: Any, seeded: Any) -> None:
    event = addon.event(message_id="1a0ef5bf10869baf", gmail_token="")
    assert "access tokens" in _is_400(addon.post("/addon/message", event))


def test_bad_action_parameters(addon: Any, seeded: Any) -> None:
    event = addon.event(params={"getback": "one"})
    assert "getback parameter" in _is_400(addon.post("/addon/actions/getback-cancel", event))
    event = addon.event(params={"kind": "forever", "thread": "abc"})
    assert "kind parameter" in _is_400(addon.post("/addon/actions/schedule-form", event))
    event = addon.event(params={"play": "pester", "variant": "0"})
    assert "unknown play" in _is_400(addon.post("/addon/actions/insert-play", event))
    event = addon.event(params={"play": "step_back", "thread": "<script>"})
    assert "thread parameter" in _is_400(addon.post("/addon/actions/show-play", event))


def test_bad_picker_value(addon: Any, seeded: Any) -> None:
    event = addon.event(params={"kind": "getback", "thread": "abc", "prospect": "a@b.example"},
                        form={"due_at": {"dateTimeInput": {"msSinceEpoch": "soon"}}})
    assert "msSinceEpoch" in _is_400(addon.post("/addon/actions/schedule", event))


def test_event_parsing_reads_the_documented_fields() -> None:
    body = Event(user_token="u", message_id="msg-f:1878262305411399418",
                 thread_id="thread-f:1878262305411399418", recipients=["Bob@Globex.example"],
                 params={"play": "step_back"}, locale="fr-CA",
                 timezone="America/Montreal", system_token="s").body()
    event = parse_event(body)
    assert isinstance(event, AddonEvent)
    assert event.message_id == event.thread_id == format(1878262305411399418, "x")
    assert event.recipients == ("bob@globex.example",)
    assert (event.locale, event.timezone, event.param("play")) == (
        "fr-CA", "America/Montreal", "step_back")
    assert (event.user_oauth_token, event.system_id_token) == ("ya29.test-user-token", "s")


def test_unknown_time_zone_falls_back_instead_of_failing() -> None:
    body = Event(user_token="u", timezone="Mars/Olympus_Mons").body()
    assert parse_event(body).timezone is None


def test_int64_strings_are_accepted_for_picked_dates() -> None:
    body = Event(user_token="u", form={"d": {"dateTimeInput": {"msSinceEpoch": "1795000000000"}}})
    assert parse_event(body.body()).datetime_input("d", "UTC") is not None


@pytest.mark.parametrize("value", ["../x", "a b", "<script>", "-1", "x" * 65])
def test_gmail_ids_are_checked(value: str) -> None:
    with pytest.raises(ApiError):
        gmail_id(value, "gmail.messageId")


def test_other_id_spellings_go_to_gmail_unchanged() -> None:
    assert gmail_id("msg-a:r123", "gmail.messageId") == "msg-a:r123"
    assert gmail_id("18C2AB", "gmail.messageId") == "18c2ab"
    assert gmail_id("  ", "gmail.messageId") is None
