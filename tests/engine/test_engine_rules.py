"""One test (or a small table) per rule of DESIGN section 2."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.engine import (
    NO_REPLY_YET,
    WENT_SILENT,
    Person,
    Threshold,
    analyze_thread,
    default_context,
    reply_owed_verdict,
    silence_verdict,
)
from tests.engine.builders import msg, received, sent, thread

CTX = default_context("rep@acme.com", aliases=["Rita@Acme-Sales.io"])
MON = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
DAY = timedelta(days=1)
PAT = "Pat Buyer <pat@buyer.com>"


def facts_of(*messages, ctx=CTX, tid="t1"):
    return analyze_thread(thread(tid, *messages), ctx)


# --- metadata only -------------------------------------------------------------------------


def test_rule_metadata_only_snippet_may_be_absent():
    with_snippet = sent("a", MON, to=[PAT])
    with_snippet["snippet"] = "Hi Pat, here is the proposal"
    without = sent("a", MON, to=[PAT])
    assert "snippet" not in without
    assert facts_of(with_snippet) == facts_of(without)
    assert facts_of(without).kind == NO_REPLY_YET


# --- ordering ------------------------------------------------------------------------------


def test_rule_sort_by_internal_date_not_the_date_header():
    # The Date headers claim the opposite order; internalDate decides.
    answer = received("b", MON + DAY, PAT, headers={"Date": "Mon, 1 Jan 2001 00:00:00 +0000"})
    ours = sent("a", MON, to=[PAT], headers={"Date": "Fri, 1 Jan 2100 00:00:00 +0000"})
    facts = facts_of(answer, ours)  # listed newest first on purpose
    assert facts.kind is None
    assert facts.reply_owed_since == MON + DAY


def test_rule_missing_date_header_is_fine():
    facts = facts_of(sent("a", MON, to=[PAT]))
    assert facts.silent_since == MON


def test_rule_internal_date_ties_are_broken_by_message_id():
    # Same millisecond: "m1" (answer) sorts before "m2" (ours), so ours is newest.
    facts = facts_of(sent("m2", MON, to=[PAT]), received("m1", MON, PAT))
    assert facts.kind == WENT_SILENT
    assert facts.unanswered_count == 1
    flipped = facts_of(sent("m1", MON, to=[PAT]), received("m2", MON, PAT))
    assert flipped.kind is None
    assert flipped.reply_owed_since == MON


def test_rule_internal_date_may_be_an_int():
    message = sent("a", MON, to=[PAT])
    message["internalDate"] = int(message["internalDate"])
    assert facts_of(message).silent_since == MON


def test_rule_header_names_are_case_insensitive():
    odd = {
        "id": "a",
        "labelIds": ["SENT"],
        "internalDate": sent("x", MON)["internalDate"],
        "payload": {
            "headers": [
                {"name": "FROM", "value": "rep@acme.com"},
                {"name": "to", "value": PAT},
                {"name": "sUbJeCt", "value": "Pricing"},
            ]
        },
    }
    facts = facts_of(odd)
    assert facts.prospect == Person("pat@buyer.com", "Pat Buyer")
    assert facts.subject == "Pricing"


# --- outbound ------------------------------------------------------------------------------


def test_rule_outbound_is_label_sent_including_send_as_aliases():
    alias = sent("a", MON, to=[PAT], frm="Rita <rita@acme-sales.io>")
    facts = facts_of(alias)
    assert facts.kind == NO_REPLY_YET
    assert facts.unanswered_count == 1


def test_rule_message_from_rep_without_sent_label_is_not_outbound():
    # e.g. a copy that arrived in the inbox: no SENT label, so not part of a run.
    copy = msg("a", MON, "rep@acme.com", to=[PAT], labels=["INBOX"])
    facts = facts_of(copy)
    assert not facts.candidate
    assert facts.reply_owed_since is None


def test_rule_drafts_are_ignored_entirely():
    base = [sent("a", MON, to=[PAT]), received("b", MON + DAY, PAT)]
    ignored_ours = sent("c", MON + 2 * DAY, to=[PAT], labels=["DRAFT"])
    ignored_theirs = received("d", MON + 3 * DAY, PAT, labels=["DRAFT"])
    plain = facts_of(*base)
    noisy = facts_of(*base, ignored_ours, ignored_theirs)
    assert noisy == plain
    assert noisy.message_count == 2
    assert noisy.reply_owed_since == MON + DAY


def test_rule_an_answer_the_rep_moved_to_trash_still_counts():
    # The rep binned a "not interested": that is still the prospect's answer.
    facts = facts_of(sent("a", MON, to=[PAT]), received("b", MON + DAY, PAT, labels=["TRASH"]))
    assert not facts.candidate
    assert facts.answer_count == 1
    assert facts.reply_owed_since == MON + DAY


def test_rule_mail_the_rep_sent_and_then_binned_is_not_a_chase():
    # Only an answer survives the Trash: a follow-up the rep binned is not waiting on anyone,
    # and a thread wholly in the Trash is one Gmail's threads.list leaves out of a sync.
    binned = facts_of(sent("a", MON, to=[PAT], labels=["TRASH"]))
    assert not binned.candidate
    kept_first = facts_of(sent("a", MON, to=[PAT]), sent("b", MON + DAY, to=[PAT],
                                                       labels=["TRASH"]))
    assert kept_first.candidate and kept_first.unanswered_count == 1


def test_rule_an_answer_in_spam_from_the_prospects_domain_counts():
    colleague = "Lee <lee@buyer.com>"
    facts = facts_of(sent("a", MON, to=[PAT]), received("b", MON + DAY, colleague, labels=["SPAM"]))
    assert not facts.candidate
    assert facts.answer_count == 1


def test_rule_other_spam_is_not_part_of_the_conversation():
    stranger = received("b", MON + DAY, "Win <prize@lottery.example>", labels=["SPAM"])
    facts = facts_of(sent("a", MON, to=[PAT]), stranger)
    assert facts.kind == NO_REPLY_YET
    assert facts.message_count == 1
    assert facts.reply_owed_since is None


def test_rule_a_draft_reply_does_not_cancel_reply_owed():
    facts = facts_of(
        received("a", MON, PAT),
        msg("b", MON + DAY, "rep@acme.com", to=[PAT], labels=["DRAFT"]),
    )
    assert facts.reply_owed_since == MON


# --- internal / external ---------------------------------------------------------------------


def test_rule_internal_domain_defaults_to_the_reps_domain():
    assert CTX.internal_domains == frozenset({"acme.com"})
    assert CTX.is_internal("BOSS@ACME.COM")
    assert CTX.is_internal("rita@acme-sales.io")  # an alias is internal, whatever its domain
    assert not CTX.is_internal("pat@buyer.com")


def test_rule_outbound_to_colleagues_only_is_not_a_run():
    facts = facts_of(sent("a", MON, to=["Sam <sam@acme.com>"], cc=["rita@acme-sales.io"]))
    assert not facts.candidate
    assert facts.unanswered_count == 0


def test_rule_configured_internal_domains_replace_the_default():
    ctx = default_context("rep@acme.com", internal_domains=["acme.com", "acme-group.de"])
    facts = facts_of(
        sent("a", MON, to=[PAT]),
        received("b", MON + DAY, "Kai <kai@ACME-group.de>"),
        ctx=ctx,
    )
    assert facts.kind == NO_REPLY_YET  # a group colleague is not an answer
    assert facts.answer_count == 0


# --- automatic messages ----------------------------------------------------------------------

AUTOMATIC_VARIANTS = [
    ("auto-submitted", PAT, {"Auto-Submitted": "auto-replied"}),
    ("auto-submitted-generated", PAT, {"auto-submitted": "auto-generated"}),
    ("auto-submitted-params", PAT, {"Auto-Submitted": "auto-replied; owner-email=pat@buyer.com"}),
    ("x-autoreply", PAT, {"X-Autoreply": "yes"}),
    ("x-autorespond", PAT, {"X-Autorespond": "1"}),
    ("x-autoresponse", PAT, {"X-AutoResponse": ""}),
    ("precedence-bulk", PAT, {"Precedence": "bulk"}),
    ("precedence-junk", PAT, {"Precedence": "JUNK"}),
    ("precedence-list", PAT, {"Precedence": " list "}),
    ("precedence-auto-reply", PAT, {"Precedence": "auto_reply"}),
    ("list-id", PAT, {"List-Id": "<news.buyer.com>"}),
    ("list-unsubscribe", PAT, {"List-Unsubscribe": "<mailto:leave@buyer.com>"}),
    ("mailer-daemon", "Mail Delivery Subsystem <MAILER-DAEMON@buyer.com>", {}),
    ("postmaster", "postmaster@buyer.com", {}),
    ("bare-mailer-daemon", "MAILER-DAEMON", {}),
    ("bounce-report", PAT, {"Content-Type": 'multipart/report; report-type="delivery-status"'}),
    ("failed-recipients", PAT, {"X-Failed-Recipients": "pat@buyer.com"}),
]


@pytest.mark.parametrize(
    "frm,headers", [v[1:] for v in AUTOMATIC_VARIANTS], ids=[v[0] for v in AUTOMATIC_VARIANTS]
)
def test_rule_automatic_inbound_is_never_an_answer(frm, headers):
    facts = facts_of(
        sent("a", MON, to=[PAT]),
        received("b", MON + DAY, frm, headers=headers),
    )
    assert facts.kind == NO_REPLY_YET
    assert facts.silent_since == MON
    assert facts.answer_count == 0
    assert facts.reply_owed_since is None


def test_rule_auto_submitted_no_is_a_real_answer():
    facts = facts_of(
        sent("a", MON, to=[PAT]),
        received("b", MON + DAY, PAT, headers={"Auto-Submitted": "No"}),
    )
    assert not facts.candidate
    assert facts.answer_count == 1


def test_rule_calendar_acceptance_is_an_answer():
    acceptance = received(
        "b",
        MON + DAY,
        PAT,
        subject="Accepted: Demo @ Thu 5 Mar 2026 10am",
        headers={"Content-Type": 'multipart/mixed; boundary="x"'},
    )
    facts = facts_of(sent("a", MON, to=[PAT]), acceptance)
    assert not facts.candidate
    assert facts.answer_count == 1


def test_rule_reps_own_auto_responder_is_not_a_follow_up():
    vacation = sent("b", MON + DAY, to=[PAT], headers={"Auto-Submitted": "auto-replied"})
    facts = facts_of(received("a", MON, PAT), vacation)
    assert not facts.candidate
    assert facts.reply_owed_since == MON


# --- who counts as answering -----------------------------------------------------------------


def test_rule_assistant_at_the_prospects_domain_answers():
    facts = facts_of(
        sent("a", MON, to=[PAT]),
        received("b", MON + DAY, "Alex Assistant <alex@buyer.com>"),
    )
    assert not facts.candidate
    assert facts.external_senders == ("alex@buyer.com",)


def test_rule_colleague_message_is_not_an_answer():
    facts = facts_of(
        sent("a", MON, to=[PAT]),
        received("b", MON + DAY, "Sam Sales <sam@acme.com>", to=["rep@acme.com", PAT]),
    )
    assert facts.kind == NO_REPLY_YET
    assert facts.unanswered_count == 1


def test_rule_address_comparison_is_case_insensitive():
    facts = facts_of(
        sent("a", MON, to=["Pat <Pat@Buyer.COM>"], frm="REP@ACME.COM"),
        received("b", MON + DAY, "PAT@BUYER.com", to=["Rep@Acme.Com"]),
    )
    assert not facts.candidate
    assert facts.external_senders == ("pat@buyer.com",)
    assert facts.reply_owed_from == Person("pat@buyer.com", "Pat")


# --- the unanswered run ----------------------------------------------------------------------


def test_rule_unanswered_run_is_outbound_after_the_last_answer():
    facts = facts_of(
        sent("a", MON, to=[PAT]),
        received("b", MON + DAY, PAT),
        sent("c", MON + 2 * DAY, to=[PAT]),
        sent("d", MON + 3 * DAY, to=["sam@acme.com"]),  # internal only: not in the run
        sent("e", MON + 4 * DAY, to=[PAT]),
    )
    assert facts.kind == WENT_SILENT
    assert facts.silent_since == MON + 2 * DAY
    assert facts.unanswered_count == 2
    assert facts.last_answer_at == MON + DAY
    assert facts.last_message_at == MON + 4 * DAY


def test_rule_empty_run_is_not_a_candidate():
    facts = facts_of(sent("a", MON, to=[PAT]), received("b", MON + DAY, PAT))
    assert not facts.candidate
    assert facts.kind is None
    assert facts.silent_since is None
    assert facts.prospect is None


def test_rule_prospect_is_first_external_to_of_the_newest_run_message():
    facts = facts_of(
        sent("a", MON, to=["lee@buyer.com"]),
        sent("b", MON + DAY, to=["sam@acme.com", "Dana <dana@buyer.com>", PAT]),
    )
    assert facts.prospect == Person("dana@buyer.com", "Dana")
    assert facts.prospect_domain == "buyer.com"
    assert facts.silent_since == MON


def test_rule_prospect_falls_back_to_cc():
    facts = facts_of(sent("a", MON, to=["sam@acme.com"], cc=["Ola <ola@client.org>", PAT]))
    assert facts.candidate
    assert facts.prospect == Person("ola@client.org", "Ola")


def test_rule_prospect_name_is_filled_from_elsewhere_in_the_thread():
    facts = facts_of(
        received("a", MON, "Pat Buyer <pat@buyer.com>"),
        sent("b", MON + DAY, to=["pat@buyer.com"]),
    )
    assert facts.prospect == Person("pat@buyer.com", "Pat Buyer")


# --- kind ------------------------------------------------------------------------------------


def test_rule_kind_went_silent_needs_an_earlier_answer():
    warm = facts_of(received("a", MON, PAT), sent("b", MON + DAY, to=[PAT]))
    cold = facts_of(sent("a", MON, to=[PAT]), sent("b", MON + DAY, to=[PAT]))
    assert warm.kind == WENT_SILENT
    assert cold.kind == NO_REPLY_YET


# --- silent or not yet -----------------------------------------------------------------------


def test_rule_silent_when_business_days_reach_the_threshold():
    facts = facts_of(sent("a", MON, to=[PAT]))
    # Monday 09:00 -> next Monday 08:00 is five business days (Tue..Fri + Mon).
    almost = silence_verdict(facts, MON + 6 * DAY, Threshold(5), CTX)
    reached = silence_verdict(facts, MON + 7 * DAY - timedelta(hours=1), Threshold(5), CTX)
    assert almost is not None and not almost.silent
    assert almost.business_days_silent == 4
    assert reached is not None and reached.silent
    assert reached.business_days_silent == 5
    assert reached.days_silent == 6


def test_rule_silent_in_calendar_days_when_asked():
    facts = facts_of(sent("a", MON, to=[PAT]))
    saturday = MON + 5 * DAY
    verdict = silence_verdict(facts, saturday, Threshold(5, calendar_days=True), CTX)
    assert verdict is not None and verdict.silent
    assert not silence_verdict(facts, saturday, Threshold(5), CTX).silent


def test_rule_days_silent_is_floor_of_calendar_days():
    facts = facts_of(sent("a", MON, to=[PAT]))
    verdict = silence_verdict(facts, MON + 3 * DAY - timedelta(seconds=1), Threshold(1), CTX)
    assert verdict.days_silent == 2


def test_rule_future_getback_date_suppresses_until_it_passes():
    facts = facts_of(received("z", MON - DAY, PAT), sent("a", MON, to=[PAT]))
    now = MON + 20 * DAY
    assert silence_verdict(facts, now, Threshold(3), CTX, getback_until=now + DAY) is None
    after = silence_verdict(facts, now, Threshold(3), CTX, getback_until=now - DAY)
    assert after is not None and after.silent


def test_rule_non_candidate_has_no_silence_verdict():
    facts = facts_of(received("a", MON, PAT))
    assert silence_verdict(facts, MON + 30 * DAY, Threshold(1), CTX) is None


# --- reply owed ------------------------------------------------------------------------------


def test_rule_reply_owed_when_the_prospect_wrote_last():
    facts = facts_of(sent("a", MON, to=[PAT]), received("b", MON + DAY, PAT))
    assert facts.reply_owed_since == MON + DAY
    assert facts.reply_owed_from == Person("pat@buyer.com", "Pat Buyer")
    verdict = reply_owed_verdict(facts, MON + DAY + timedelta(hours=30))
    assert verdict is not None
    assert verdict.hours_waiting == pytest.approx(30)


def test_rule_reply_owed_ignores_later_automatic_mail():
    facts = facts_of(
        received("a", MON, PAT),
        received("b", MON + DAY, "noreply@buyer.com", headers={"Precedence": "bulk"}),
    )
    assert facts.reply_owed_since == MON


def test_rule_reply_owed_ends_with_our_outbound():
    facts = facts_of(received("a", MON, PAT), sent("b", MON + DAY, to=[PAT]))
    assert facts.reply_owed_since is None
    assert reply_owed_verdict(facts, MON + 9 * DAY) is None


def test_rule_reply_owed_needs_the_newest_human_message_to_be_the_answer():
    # A colleague wrote after the prospect: the newest human message is not an answer.
    facts = facts_of(received("a", MON, PAT), received("b", MON + DAY, "sam@acme.com"))
    assert facts.reply_owed_since is None


def test_rule_reply_owed_respects_the_target():
    facts = facts_of(received("a", MON, PAT))
    assert reply_owed_verdict(facts, MON + timedelta(hours=3), reply_target_hours=4) is None
    verdict = reply_owed_verdict(facts, MON + timedelta(hours=4), reply_target_hours=4)
    assert verdict is not None and verdict.hours_waiting == pytest.approx(4)
