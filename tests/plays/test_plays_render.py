"""The play catalogue, default templates and rendering a play for one prospect."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from server.engine.pressure import check_pressure
from server.plays import (
    COLD_FILE_REASONS,
    DEFAULT_TEMPLATES,
    PLAYS,
    MissingDateError,
    PlayContext,
    TemplateError,
    UnknownPlayError,
    context_for,
    parse_template,
    play_info,
    render_play,
)

EXPECTED_PLAYS = {"step_back", "apology_feedback", "apology_call", "where_from_here",
                  "getback_date", "truth_question", "back_to_goal", "cold_file"}
SLOT = datetime(2025, 3, 4, 15, 30, tzinfo=UTC)
CHASE_WORDS = ("checking in", "check in", "following up", "follow up", "circle back",
               "touch base", "any update", "bump", "just wanted to")


BASE = PlayContext(first_name="Dana", company="Globex", rep_name="Sam Lee", subject="Pilot",
                   proposed_at=SLOT, locale="en-US", timezone="America/New_York")


def ctx(**overrides):
    return replace(BASE, **overrides)


def test_catalogue_has_every_play_and_defaults_for_each():
    assert set(PLAYS) == EXPECTED_PLAYS
    assert set(DEFAULT_TEMPLATES) == EXPECTED_PLAYS
    for play_id, info in PLAYS.items():
        assert info.id == play_id and info.title and info.idea and info.when
        assert 2 <= len(DEFAULT_TEMPLATES[play_id]) <= 3


def test_flags_match_the_design():
    shown_only = {p for p, info in PLAYS.items() if not info.insertable}
    assert shown_only == {"apology_call", "cold_file"}
    assert {p for p, info in PLAYS.items() if info.needs_date} == {"getback_date", "cold_file"}
    assert PLAYS["apology_call"].channel == "phone"
    assert PLAYS["cold_file"].channel == "note"
    assert COLD_FILE_REASONS and all(COLD_FILE_REASONS.values())


@pytest.mark.parametrize("play_id", sorted(EXPECTED_PLAYS))
def test_default_templates_pass_the_pressure_check(play_id):
    for text in DEFAULT_TEMPLATES[play_id]:
        assert check_pressure(text) == [], text
        lowered = text.lower()
        assert not any(word in lowered for word in CHASE_WORDS), text


@pytest.mark.parametrize("play_id", sorted(EXPECTED_PLAYS))
def test_rendered_defaults_are_complete_and_pressure_free(play_id):
    rendered = render_play(play_id, ctx())
    assert [r.variant for r in rendered] == list(range(len(DEFAULT_TEMPLATES[play_id])))
    for r in rendered:
        assert r.play == play_id and r.title == PLAYS[play_id].title
        assert r.insertable == PLAYS[play_id].insertable
        assert "{{" not in r.text and "}}" not in r.text
        assert check_pressure(r.text) == []


def test_get_back_date_is_in_the_reps_zone_and_locale():
    texts = [r.text for r in render_play("getback_date", ctx())]
    assert all("Tuesday, March 4 at 10:30 AM EST" in t for t in texts)
    german = render_play("getback_date", ctx(locale="de", timezone="Europe/Berlin"))
    assert "Dienstag, 4. März at 16:30 Uhr CET" in german[0].text


def test_cold_file_note_carries_the_year_of_the_revisit_date():
    revisit = datetime(2026, 2, 2, 15, tzinfo=UTC)
    texts = [r.text for r in render_play("cold_file", ctx(proposed_at=revisit))]
    assert all("February 2, 2026" in t for t in texts)


@pytest.mark.parametrize("play_id", ["getback_date", "cold_file"])
def test_plays_that_need_a_date_refuse_to_render_without_one(play_id):
    with pytest.raises(MissingDateError, match=play_id):
        render_play(play_id, ctx(proposed_at=None))


def test_plays_without_a_date_render_without_one():
    assert render_play("step_back", ctx(proposed_at=None))


def test_unknown_play_is_a_clear_error():
    with pytest.raises(UnknownPlayError, match="unknown play 'chase_harder'"):
        render_play("chase_harder", ctx())
    with pytest.raises(UnknownPlayError):
        play_info(None)  # type: ignore[arg-type]


def test_team_templates_replace_the_defaults_for_that_play_only():
    team = {"step_back": ["Hey {{first_name}}, no hard feelings if it's a no. {{rep_name}}"]}
    rendered = render_play("step_back", ctx(), team)
    assert [r.text for r in rendered] == ["Hey Dana, no hard feelings if it's a no. Sam Lee"]
    assert len(render_play("where_from_here", ctx(), team)) == 3
    assert render_play("step_back", ctx(), {"step_back": []}) == []


def test_bad_team_template_raises_template_error():
    with pytest.raises(TemplateError) as info:
        render_play("step_back", ctx(), {"step_back": ["Hi {{first_name.upper}}"]})
    assert "attribute access" in info.value.message


def test_hostile_display_name_is_rendered_as_inert_text():
    hostile = context_for("<img src=x onerror=alert(1)> {{rep_name}}", "evil@x.com", "Sam",
                          "{first_name}")
    text = render_play("where_from_here", hostile)[0].text
    assert text.startswith("Hi <img,")
    cold = render_play("cold_file", context_for('"{{rep_name}} Ha"', "a@b.com", "Sam",
                                                "{{first_name}}", proposed_at=SLOT))
    assert cold[0].text.startswith('Cold file: "{{first_name}}" with {{rep_name}}.')


def test_context_for_derives_values_from_metadata():
    c = context_for('"Doe, Jane"', "jane.doe@globex-corp.co.uk", "  Sam   Lee ", "Re: Fwd: Pilot",
                    SLOT, "de_DE", "Europe/Berlin")
    assert (c.first_name, c.company, c.rep_name, c.subject) == ("Jane", "Globex Corp", "Sam Lee",
                                                               "Pilot")
    assert (c.locale, c.timezone, c.proposed_at) == ("de-DE", "Europe/Berlin", SLOT)
    assert c.variables()["proposed_date"] == "Dienstag, 4. März"
    assert c.variables()["proposed_time"] == "16:30 Uhr CET"


def test_context_without_a_name_greets_without_one():
    c = context_for("", "info@gmail.com", "Sam", "")
    assert (c.first_name, c.company) == ("", "")
    assert render_play("where_from_here", c)[0].text.startswith("Hi,\n")


def test_context_for_rejects_unknown_time_zones():
    with pytest.raises(ValueError, match="unknown time zone"):
        context_for("A", "a@b.com", "Sam", "S", timezone="Moon/Base")


def test_every_default_template_uses_only_known_variables():
    for variants in DEFAULT_TEMPLATES.values():
        for text in variants:
            parse_template(text)
