"""Pick the plays that fit a thread's state, best fit first."""

from __future__ import annotations

from collections.abc import Iterable

STATES = frozenset({"went_silent", "no_reply_yet", "reply_owed", "live", "cold"})
# The same bar as the engine's "chasing" warning: two or more follow-ups after the first.
CHASING_COUNT = 3
# Warning codes from server.engine.warnings that change the order.
CHASING = "chasing"
SINGLE_CONTACT = "single_contact"
QUIET_AFTER_OURS = "quiet_after_ours"
AWAY = "away"  # the prospect's out-of-office: agree a date after their return, never chase


def _went_silent(codes: frozenset[str], unanswered: int) -> list[str]:
    order = ["step_back", "where_from_here", "getback_date", "back_to_goal",
             "apology_feedback", "apology_call"]
    if CHASING in codes or unanswered >= CHASING_COUNT or QUIET_AFTER_OURS in codes:
        # After a run of unanswered messages, or a sudden stop, owning it comes first.
        order = ["apology_feedback", "apology_call", "step_back", "where_from_here",
                 "getback_date", "back_to_goal"]
    if SINGLE_CONTACT in codes:
        # One open question lets them say "you should talk to someone else".
        order.remove("where_from_here")
        order.insert(1, "where_from_here")
    return order + ["cold_file"]


def _no_reply_yet(codes: frozenset[str], unanswered: int) -> list[str]:
    # They never engaged, so there is no shared goal to return to and little to apologise for.
    order = ["step_back", "where_from_here", "getback_date"]
    if CHASING in codes or unanswered >= CHASING_COUNT:
        return ["step_back", "cold_file", "where_from_here"]
    return order + ["cold_file"]


def suggest_plays(state: str, warning_codes: Iterable[str] = (),
                  unanswered_count: int = 0) -> list[str]:
    """Return play ids suited to ``state``, best first; raise ValueError for bad input.

    A thread where a reply is owed gets no chasing play at all: the rep should answer.
    """
    if state not in STATES:
        raise ValueError(f"unknown state {state!r}; expected one of {', '.join(sorted(STATES))}")
    if isinstance(unanswered_count, bool) or not isinstance(unanswered_count, int) \
            or unanswered_count < 0:
        raise ValueError("unanswered_count must be a whole number, 0 or more")
    if isinstance(warning_codes, str):
        warning_codes = (warning_codes,)
    codes = frozenset(warning_codes)
    if state in ("went_silent", "no_reply_yet") and AWAY in codes:
        return ["getback_date", "cold_file"]
    if state == "went_silent":
        return _went_silent(codes, unanswered_count)
    if state == "no_reply_yet":
        return _no_reply_yet(codes, unanswered_count)
    if state == "reply_owed":
        return ["truth_question"]
    if state == "live":
        return ["truth_question", "back_to_goal", "where_from_here"]
    return ["cold_file", "apology_feedback", "apology_call"]
