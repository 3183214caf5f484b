"""Which plays fit a thread's state."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.plays import PLAYS, STATES, suggest_plays

CHASING_PLAYS = {"step_back", "apology_feedback", "apology_call", "where_from_here",
                 "getback_date", "cold_file", "back_to_goal"}
CODES = ["chasing", "single_contact", "quiet_after_ours", "something_new"]


def test_went_silent_starts_with_the_step_back():
    assert suggest_plays("went_silent", (), 1)[0] == "step_back"


def test_went_silent_after_chasing_starts_with_the_apology():
    by_code = suggest_plays("went_silent", ["chasing"], 1)
    by_count = suggest_plays("went_silent", [], 3)
    assert by_code[:2] == ["apology_feedback", "apology_call"]
    assert by_count == by_code
    assert suggest_plays("went_silent", [], 2)[0] == "step_back"


def test_sudden_silence_after_our_message_also_starts_with_the_apology():
    assert suggest_plays("went_silent", ["quiet_after_ours"], 1)[0] == "apology_feedback"


def test_single_contact_moves_the_open_question_up():
    plays = suggest_plays("went_silent", ["single_contact"], 1)
    assert plays[:2] == ["step_back", "where_from_here"]
    plays = suggest_plays("went_silent", ["single_contact", "chasing"], 4)
    assert plays[:2] == ["apology_feedback", "where_from_here"]


def test_no_reply_yet_has_nothing_to_apologise_for_or_return_to():
    plays = suggest_plays("no_reply_yet", [], 1)
    assert plays[0] == "step_back"
    assert not {"apology_feedback", "apology_call", "back_to_goal"} & set(plays)
    assert suggest_plays("no_reply_yet", ["chasing"], 3)[:2] == ["step_back", "cold_file"]


def test_reply_owed_offers_no_chasing_play():
    plays = suggest_plays("reply_owed", ["chasing"], 5)
    assert plays == ["truth_question"]
    assert not CHASING_PLAYS & set(plays)


def test_live_thread_gets_the_truth_question_then_their_goal():
    assert suggest_plays("live")[:2] == ["truth_question", "back_to_goal"]


def test_cold_thread_is_parked():
    assert suggest_plays("cold")[0] == "cold_file"


def test_a_single_code_string_is_not_split_into_letters():
    assert suggest_plays("went_silent", "chasing", 1)[0] == "apology_feedback"


@pytest.mark.parametrize("state, codes, count", [
    ("silent", (), 0), ("", (), 0), ("went_silent", (), -1), ("went_silent", (), 1.5),
    ("went_silent", (), True),
])
def test_bad_input_is_a_value_error(state, codes, count):
    with pytest.raises(ValueError):
        suggest_plays(state, codes, count)


@given(st.sampled_from(sorted(STATES)), st.sets(st.sampled_from(CODES)),
       st.integers(min_value=0, max_value=50))
def test_suggestions_are_known_plays_without_repeats(state, codes, count):
    plays = suggest_plays(state, codes, count)
    assert plays and len(plays) == len(set(plays))
    assert set(plays) <= set(PLAYS)
