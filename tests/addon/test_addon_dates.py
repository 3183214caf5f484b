"""Dates as Google sends them (hasDate/hasTime, int64 strings, date-only picks in the
user's zone) and every malformed value a 400 or a notification, never a 500."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from server.store.db import get_db
from server.store.models import GetBack
from tests.addon.checks import check_action_answer, check_trigger_answer
from tests.addon.stand_in import picked, typed

SCHEDULE = "/addon/actions/schedule"
PARAMS = {"thread": "1a0ef5bf10869baf", "prospect": "priya.ibanez@violethill-freight.test",
          "kind": "getback", "origin": "home"}
# Monday 30 November 2026 as a DATE_ONLY value: "a calendar date at 00:00:00 UTC"
# (google.apps.card.v1 DateTimePicker, valueMsEpoch).
MONDAY_MIDNIGHT_UTC = datetime(2026, 11, 30, tzinfo=UTC)
YEAR_ONE_MS = str(int((datetime(1, 1, 1, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC))
                      .total_seconds() * 1000))


@pytest.fixture
def seeded(demo_ids: Any) -> Any:
    return demo_ids


def _saved(app: Any) -> list[tuple[datetime, str]]:
    with get_db(app).session() as s:
        return [(g.due_at.replace(tzinfo=UTC) if g.due_at.tzinfo is None else g.due_at, g.status)
                for g in s.scalars(select(GetBack).order_by(GetBack.id))]


def _schedule(app: Any, addon: Any, form: dict[str, Any], timezone: str = "America/New_York"
              ) -> dict[str, Any]:
    event = addon.event(params=PARAMS, form=form, timezone=timezone)
    return check_action_answer(app, addon.post(SCHEDULE, event).get_json())


def _is_400(resp: Any, fragment: str) -> None:
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert fragment in resp.get_json()["error"]["message"]


# --- hasDate / hasTime -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("timezone", "expected"),
    [
        ("America/New_York", datetime(2026, 11, 30, 15, 0, tzinfo=UTC)),  # 10:00 EST
        ("Asia/Tokyo", datetime(2026, 11, 30, 1, 0, tzinfo=UTC)),  # 10:00 JST
    ],
)
def test_a_date_only_pick_is_that_day_in_the_users_zone(app: Any, addon: Any, seeded: Any,
                                                        timezone: str,
                                                        expected: datetime) -> None:
    # Midnight UTC read as an instant would be Sunday evening in New York.
    answer = _schedule(app, addon, {"due_at": picked(MONDAY_MIDNIGHT_UTC, has_time=False)},
                       timezone)
    assert _saved(app) == [(expected, "scheduled")]
    assert "Monday, November 30" in answer["notify"]


def test_a_date_only_picker_answer_is_read_the_same_way(app: Any, addon: Any,
                                                        seeded: Any) -> None:
    form = {"due_at": {"dateInput": {"msSinceEpoch": str(int(MONDAY_MIDNIGHT_UTC.timestamp()
                                                            * 1000))}}}
    _schedule(app, addon, form)
    assert _saved(app) == [(datetime(2026, 11, 30, 15, 0, tzinfo=UTC), "scheduled")]


def test_a_date_and_time_pick_is_the_instant(app: Any, addon: Any, seeded: Any) -> None:
    moment = datetime(2026, 11, 30, 21, 30, tzinfo=UTC)
    _schedule(app, addon, {"due_at": picked(moment)})
    assert _saved(app) == [(moment, "scheduled")]


def test_a_time_without_a_date_asks_for_a_date(app: Any, addon: Any, seeded: Any) -> None:
    form = {"due_at": {"dateTimeInput": {"msSinceEpoch": "36000000", "hasTime": True}}}
    assert _schedule(app, addon, form)["notify"] == "Pick a date and time first."
    assert _saved(app) == []


@pytest.mark.parametrize("ms", [YEAR_ONE_MS, "253402214400000", "0"])
def test_dates_no_picker_offers_get_a_notification(app: Any, addon: Any, seeded: Any,
                                                   ms: str) -> None:
    for has_time in (True, False):
        value: dict[str, Any] = {"msSinceEpoch": ms, "hasDate": True}
        if has_time:
            value["hasTime"] = True
        answer = _schedule(app, addon, {"due_at": {"dateTimeInput": value}})
        assert answer["notify"] == "Pick a date within the next two years."
    assert _saved(app) == []


def test_insert_getback_play_with_a_year_one_date(gmail_app: Any, addon: Any) -> None:
    params = {"play": "getback_date", "variant": "0", "thread": PARAMS["thread"],
              "prospect": PARAMS["prospect"]}
    form = {"proposed_at": {"dateTimeInput": {"msSinceEpoch": YEAR_ONE_MS, "hasDate": True}}}
    event = addon.event(params=params, form=form, recipients=[PARAMS["prospect"]])
    answer = check_action_answer(gmail_app, addon.post("/addon/actions/insert-play",
                                                       event).get_json())
    assert answer["draft"] is None and "two years" in answer["notify"]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ({"msSinceEpoch": "-62135596800001", "hasDate": True}, "out of range"),
        ({"msSinceEpoch": "١٧٩٥٠٠٠٠٠٠٠٠٠", "hasDate": True}, "must be a number"),
        ({"msSinceEpoch": "1795000000000", "hasDate": "yes"}, "hasDate"),
        ({"msSinceEpoch": [1], "hasDate": True}, "must be a number"),
    ],
)
def test_malformed_picker_values_are_400(app: Any, addon: Any, seeded: Any,
                                         value: dict[str, Any], fragment: str) -> None:
    event = addon.event(params=PARAMS, form={"due_at": {"dateTimeInput": value}})
    _is_400(addon.post(SCHEDULE, event), fragment)
    assert _saved(app) == []


# --- values that used to be 500s ---------------------------------------------------------


def _raw_post(addon: Any, path: str, body: dict[str, Any], raw: dict[str, str]) -> Any:
    """Post JSON text in which placeholders are swapped for raw tokens (NaN, Infinity)."""
    text = json.dumps(body)
    for placeholder, token in raw.items():
        text = text.replace(json.dumps(placeholder), token)
    headers = {"Authorization": f"Bearer {addon.tokens.system(path)}",
               "Content-Type": "application/json"}
    return addon.client.post(path, data=text, headers=headers)


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_time_zone_offsets_are_400(addon: Any, seeded: Any, token: str) -> None:
    body = addon.event().body()
    body["commonEventObject"]["timeZone"]["offset"] = "@offset@"
    resp = _raw_post(addon, "/addon/homepage", body, {"@offset@": token})
    _is_400(resp, "offset must be a finite number")


def test_non_finite_picked_time_is_400(addon: Any, seeded: Any) -> None:
    body = addon.event(params=PARAMS, form={"due_at": {"dateTimeInput": {
        "msSinceEpoch": "@ms@", "hasDate": True, "hasTime": True}}}).body()
    _is_400(_raw_post(addon, SCHEDULE, body, {"@ms@": "NaN"}), "finite")


def test_an_absurd_but_finite_offset_is_ignored(app: Any, addon: Any, seeded: Any) -> None:
    body = addon.event().body()
    body["commonEventObject"]["timeZone"]["offset"] = 1e300
    check_trigger_answer(app, addon.post("/addon/homepage", body).get_json())


@pytest.mark.parametrize("zone", ["America", "Etc", "America/", "Europe/../etc", "Amérique",
                                  "UTC\u0000"])
def test_zone_ids_that_are_no_zone_fall_back_to_the_reps(app: Any, addon: Any, seeded: Any,
                                                         zone: str) -> None:
    resp = addon.post("/addon/homepage", addon.event(timezone=zone))
    check_trigger_answer(app, resp.get_json())


def test_a_folder_zone_on_a_date_pick_still_saves(app: Any, addon: Any, seeded: Any) -> None:
    # The rep's own zone (the demo rep's setting) stands in for "America".
    answer = _schedule(app, addon, {"due_at": picked(MONDAY_MIDNIGHT_UTC, has_time=False)},
                       "America")
    assert answer["notify"].startswith("Get-back date saved for")
    assert len(_saved(app)) == 1


@pytest.mark.parametrize(
    ("note", "fragment"),
    [
        ({"stringInputs": "after QBR"}, "stringInputs must be an object"),
        ({"stringInputs": {"value": "after QBR"}}, "must hold strings"),
        ({"stringInputs": {"value": [1, 2]}}, "must hold strings"),
        ("after QBR", "formInputs.note must be an object"),
    ],
)
def test_wrong_typed_string_inputs_are_400(app: Any, addon: Any, seeded: Any, note: Any,
                                           fragment: str) -> None:
    form = {"due_at": picked(datetime(2026, 11, 30, 15, tzinfo=UTC)), "note": note}
    event = addon.event(params=PARAMS, form=form)
    _is_400(addon.post(SCHEDULE, event), fragment)
    assert _saved(app) == []


def test_a_typed_note_is_still_read(app: Any, addon: Any, seeded: Any) -> None:
    form = {"due_at": picked(datetime(2026, 11, 30, 15, tzinfo=UTC)), "note": typed("QBR")}
    _schedule(app, addon, form)
    with get_db(app).session() as s:
        assert [g.note for g in s.scalars(select(GetBack))] == ["QBR"]


@pytest.mark.parametrize(
    ("path", "params", "fragment"),
    [
        ("/addon/actions/insert-play", {"play": "step_back", "variant": "²"}, "variant"),
        ("/addon/actions/insert-play", {"play": "step_back", "variant": "١"}, "variant"),
        ("/addon/actions/getback-cancel", {"getback": "٣"}, "getback parameter"),
        ("/addon/actions/getback-move", {"getback": "１２"}, "getback parameter"),
        ("/addon/actions/show-play", {"play": "step_back", "thread": "ñandú"}, "thread"),
    ],
)
def test_unicode_digits_and_letters_in_parameters_are_400(addon: Any, seeded: Any, path: str,
                                                          params: dict[str, str],
                                                          fragment: str) -> None:
    _is_400(addon.post(path, addon.event(params=params)), fragment)
