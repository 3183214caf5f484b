"""Thread warnings: chasing, single contact, quiet after ours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.engine import (
    CHASING,
    QUIET_AFTER_OURS,
    SINGLE_CONTACT,
    Threshold,
    analyze_thread,
    default_context,
    domain_sender_index,
    silence_verdict,
)
from tests.engine.builders import received, sent, thread

CTX = default_context("rep@acme.com")
T0 = datetime(2026, 4, 6, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
PAT = "Pat <pat@buyer.com>"


def codes(facts):
    return [w.code for w in facts.warnings]


def warning(facts, code):
    return next(w for w in facts.warnings if w.code == code)


def test_chasing_starts_at_two_follow_ups():
    one_follow_up = analyze_thread(
        thread("t", sent("a", T0, to=[PAT]), sent("b", T0 + DAY, to=[PAT])), CTX
    )
    two = analyze_thread(
        thread(
            "t",
            sent("a", T0, to=[PAT]),
            sent("b", T0 + DAY, to=[PAT]),
            sent("c", T0 + 2 * DAY, to=[PAT]),
        ),
        CTX,
    )
    assert CHASING not in codes(one_follow_up)
    chase = warning(two, CHASING)
    assert chase.count == 2
    assert "followed up 2 times without an answer" in chase.message


def test_chasing_counts_only_the_current_run():
    facts = analyze_thread(
        thread(
            "t",
            sent("a", T0, to=[PAT]),
            sent("b", T0 + DAY, to=[PAT]),
            sent("c", T0 + 2 * DAY, to=[PAT]),
            received("d", T0 + 3 * DAY, PAT),
            sent("e", T0 + 4 * DAY, to=[PAT]),
        ),
        CTX,
    )
    assert CHASING not in codes(facts)


def test_single_contact_thread_wide():
    facts = analyze_thread(thread("t", received("a", T0, PAT), sent("b", T0 + DAY, to=[PAT])), CTX)
    single = warning(facts, SINGLE_CONTACT)
    assert single.count == 1
    assert "buyer.com" in single.message


def test_single_contact_not_when_an_assistant_also_wrote():
    facts = analyze_thread(
        thread(
            "t",
            received("a", T0, PAT),
            received("b", T0 + HOUR, "Alex <alex@buyer.com>"),
            sent("c", T0 + DAY, to=[PAT]),
        ),
        CTX,
    )
    assert SINGLE_CONTACT not in codes(facts)


def test_single_contact_not_when_nobody_ever_wrote():
    facts = analyze_thread(thread("t", sent("a", T0, to=[PAT])), CTX, {})
    assert SINGLE_CONTACT not in codes(facts)


def test_single_contact_mailbox_wide_index():
    cold = thread("t1", sent("a", T0, to=[PAT]))
    other = thread("t2", received("x", T0 - DAY, "Pat <pat@buyer.com>"))
    second_person = thread("t3", received("y", T0 - DAY, "Lee <lee@buyer.com>"))
    unrelated = thread("t4", received("z", T0 - DAY, "Kim <kim@elsewhere.net>"))

    index = domain_sender_index([cold, other, unrelated], CTX)
    assert index == {
        "buyer.com": frozenset({"pat@buyer.com"}),
        "elsewhere.net": frozenset({"kim@elsewhere.net"}),
    }
    assert SINGLE_CONTACT in codes(analyze_thread(cold, CTX, index))

    wider = domain_sender_index([cold, other, second_person], CTX)
    assert wider["buyer.com"] == frozenset({"pat@buyer.com", "lee@buyer.com"})
    assert SINGLE_CONTACT not in codes(analyze_thread(cold, CTX, wider))


def test_domain_index_skips_automatic_and_internal_senders():
    threads = [
        thread("t1", received("a", T0, "news@buyer.com", headers={"List-Id": "<n.buyer.com>"})),
        thread("t2", received("b", T0, "sam@acme.com")),
        thread("t3", sent("c", T0, to=[PAT])),
    ]
    assert domain_sender_index(threads, CTX) == {}


def quick_then_quiet():
    # Pat answered our first message within 2 hours, then went quiet after our next one.
    return thread(
        "t",
        sent("a", T0, to=[PAT]),
        received("b", T0 + 2 * HOUR, PAT),
        sent("c", T0 + DAY, to=[PAT]),
    )


def test_quiet_after_ours_needs_silence_past_three_times_the_slowest_gap_and_two_days():
    facts = analyze_thread(quick_then_quiet(), CTX)
    assert facts.longest_reply_gap == 2 * HOUR
    assert QUIET_AFTER_OURS not in codes(facts)  # no `now`: time-dependent warnings left out
    silent_since = T0 + DAY
    just_under = analyze_thread(quick_then_quiet(), CTX, now=silent_since + 2 * DAY)
    past = analyze_thread(quick_then_quiet(), CTX, now=silent_since + 2 * DAY + HOUR)
    assert QUIET_AFTER_OURS not in codes(just_under)
    quiet = warning(past, QUIET_AFTER_OURS)
    assert quiet.count == 2
    assert "2 hours" in quiet.message


def test_quiet_after_ours_scales_with_a_slow_replier():
    slow = thread(
        "t",
        sent("a", T0, to=[PAT]),
        received("b", T0 + 4 * DAY, PAT),
        sent("c", T0 + 5 * DAY, to=[PAT]),
    )
    since = T0 + 5 * DAY
    assert QUIET_AFTER_OURS not in codes(analyze_thread(slow, CTX, now=since + 12 * DAY))
    assert QUIET_AFTER_OURS in codes(analyze_thread(slow, CTX, now=since + 12 * DAY + HOUR))


def test_quiet_after_ours_only_for_went_silent_with_a_known_gap():
    cold = thread("t", sent("a", T0, to=[PAT]))
    they_wrote_first = thread("t", received("a", T0, PAT), sent("b", T0 + HOUR, to=[PAT]))
    later = T0 + 60 * DAY
    assert QUIET_AFTER_OURS not in codes(analyze_thread(cold, CTX, now=later))
    facts = analyze_thread(they_wrote_first, CTX, now=later)
    assert facts.longest_reply_gap is None
    assert QUIET_AFTER_OURS not in codes(facts)


def test_silence_verdict_adds_quiet_after_ours_for_its_moment():
    facts = analyze_thread(quick_then_quiet(), CTX)
    early = silence_verdict(facts, T0 + 2 * DAY, Threshold(0), CTX)
    late = silence_verdict(facts, T0 + 10 * DAY, Threshold(0), CTX)
    assert QUIET_AFTER_OURS not in codes(early.facts)
    assert warning(late.facts, QUIET_AFTER_OURS).count == 9
    # Re-judging at another moment replaces the old figure instead of stacking warnings.
    again = silence_verdict(late.facts, T0 + 20 * DAY, Threshold(0), CTX)
    assert [w.count for w in again.facts.warnings if w.code == QUIET_AFTER_OURS] == [19]
