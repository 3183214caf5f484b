"""The threads reps actually have: bounces among several recipients, calendar responses,
out-of-office replies, the rep's own auto-replies (DESIGN section 2)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from server.engine import NO_REPLY_YET, WENT_SILENT, Threshold, analyze_thread, default_context
from server.engine.silence import scan
from tests.engine.builders import msg, received, sent, thread

CTX = default_context("rep@acme.com")
MON = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday
DAY = timedelta(days=1)
PAT = "Pat Buyer <pat@buyer.com>"
LEE = "Lee Buyer <lee@buyer.com>"
GMAIL_DSN = {
    "Auto-Submitted": "auto-replied",
    "Content-Type": "multipart/report; report-type=delivery-status; boundary=x",
}
OOF = {"X-Auto-Response-Suppress": "All", "X-MS-Exchange-Inbox-Rules-Loop": "pat@buyer.com"}


def facts_of(*messages):
    return analyze_thread(thread("t", *messages), CTX)


def dsn(mid, at, failed):
    headers = {**GMAIL_DSN, "X-Failed-Recipients": failed}
    return received(mid, at, "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
                    headers=headers, subject="Delivery Status Notification (Failure)")


def codes(facts):
    return {w.code: w for w in facts.warnings}


def test_a_bounce_for_one_of_several_recipients_keeps_a_live_prospect():
    facts = facts_of(sent("a", MON, to=[PAT, LEE]), dsn("b", MON + DAY, "pat@buyer.com"))
    assert facts.kind == NO_REPLY_YET  # a bounce is never an answer
    assert facts.prospect is not None and facts.prospect.email == "lee@buyer.com"
    assert facts.bounced == ("pat@buyer.com",)
    warning = codes(facts)["bounced"]
    assert "One address bounced (pat@buyer.com)" in warning.message
    assert "Write to lee@buyer.com" in warning.message


def test_a_bounce_of_the_only_recipient_says_the_address_is_dead():
    facts = facts_of(sent("a", MON, to=[PAT]), dsn("b", MON + DAY, "pat@buyer.com"))
    assert facts.kind == NO_REPLY_YET and facts.reply_owed_since is None
    assert "does not work" in codes(facts)["bounced"].message


def test_a_bounce_that_names_no_address_still_warns():
    ndr = received("b", MON + DAY, "Microsoft Outlook <postmaster@buyer.com>",
                   headers={"X-MS-Exchange-Message-Is-Ndr": ""}, subject="Undeliverable: Hi")
    facts = facts_of(sent("a", MON, to=[PAT, LEE]), ndr)
    assert facts.prospect is not None and facts.prospect.email == "pat@buyer.com"
    assert "One address bounced." in codes(facts)["bounced"].message


def test_a_calendar_response_ends_a_silence_but_owes_no_reply():
    accepted = received("b", MON + DAY, PAT, subject="Accepted: Demo",
                        headers={"Content-Class": "urn:content-classes:calendarmessage"})
    facts = facts_of(sent("a", MON, to=[PAT], subject="Demo"), accepted)
    assert not facts.candidate
    assert facts.reply_owed_since is None
    result = scan([thread("t", sent("a", MON, to=[PAT]), accepted)], CTX, MON + 9 * DAY,
                  Threshold(1))
    assert result.silent == () and result.reply_owed == ()


def test_a_calendar_response_after_an_answer_keeps_the_reply_owed_on_the_answer():
    answer = received("b", MON + DAY, PAT, subject="Re: Demo")
    declined = received("c", MON + 2 * DAY, PAT, subject="Declined: Demo",
                        headers={"Content-Type": "text/calendar; method=REPLY"})
    facts = facts_of(sent("a", MON, to=[PAT]), answer, declined)
    assert facts.reply_owed_since == MON + DAY


def test_an_out_of_office_is_a_fact_and_the_silence_clock_keeps_running():
    oof = received("b", MON + DAY, PAT, subject="Automatic reply: Proposal", headers=OOF)
    facts = facts_of(sent("a", MON, to=[PAT]), oof)
    assert facts.kind == NO_REPLY_YET and facts.silent_since == MON
    assert facts.reply_owed_since is None
    assert facts.away is not None and facts.away.seen_at == MON + DAY and facts.away.until is None
    assert codes(facts)["away"].message.startswith("Auto-reply on Dec 1: away.")


def test_an_out_of_office_names_its_return_date_when_the_subject_has_one():
    oof = received("b", MON + DAY, PAT, subject="Out of office until Dec 14",
                   headers={"Auto-Submitted": "auto-replied"})
    earlier = received("x", MON - DAY, PAT)
    facts = facts_of(earlier, sent("a", MON, to=[PAT]), oof)
    assert facts.kind == WENT_SILENT
    assert facts.away is not None and facts.away.until == date(2026, 12, 14)
    assert "away until Dec 14" in codes(facts)["away"].message


def test_an_answer_after_the_out_of_office_clears_it():
    oof = received("b", MON + DAY, PAT, subject="Automatic reply: Proposal", headers=OOF)
    back = received("c", MON + 5 * DAY, PAT, subject="Re: Proposal")
    facts = facts_of(sent("a", MON, to=[PAT]), oof, back)
    assert facts.away is None and "away" not in codes(facts)
    assert facts.reply_owed_since == MON + 5 * DAY


def test_someone_elses_out_of_office_is_not_the_prospects():
    other = received("b", MON + DAY, "Kim <kim@elsewhere.org>", subject="Auto reply: Proposal")
    facts = facts_of(sent("a", MON, to=[PAT], cc=["kim@elsewhere.org"]), other)
    assert facts.away is None and facts.kind == NO_REPLY_YET


def test_the_reps_own_machine_mail_is_not_outbound():
    for headers in ({"Auto-Submitted": "auto-replied"}, {"Auto-Submitted": "auto-generated"},
                    {"X-Autoreply": "yes"}):
        facts = facts_of(received("a", MON, PAT, subject="Question"),
                         msg("b", MON + DAY, "rep@acme.com", [PAT], labels=["SENT"],
                             headers=headers, subject="Out of office"))
        assert not facts.candidate, headers
        assert facts.reply_owed_since == MON, headers


def test_exchange_out_of_office_without_auto_submitted_is_not_an_answer():
    # The common B2B case: Microsoft 365 sends no Auto-Submitted at all.
    oof = received("b", MON + DAY, PAT, subject="Automatic reply: Proposal", headers=OOF)
    result = scan([thread("t", sent("a", MON, to=[PAT]), oof)], CTX, MON + 9 * DAY, Threshold(3))
    assert [v.facts.thread_id for v in result.silent] == ["t"]
    assert result.reply_owed == ()


def test_a_calendar_part_listed_by_gmail_marks_a_meeting_response():
    accepted = received("b", MON + DAY, PAT, subject="Tentative: Demo")
    accepted["payload"]["mimeType"] = "multipart/alternative"
    accepted["payload"]["parts"] = [{"partId": "0", "mimeType": "text/plain"},
                                    {"partId": "1", "mimeType": "text/calendar"}]
    facts = facts_of(sent("a", MON, to=[PAT], subject="Demo"), accepted)
    assert not facts.candidate and facts.reply_owed_since is None
    person = received("c", MON + DAY, PAT, subject="Tentative: Demo")
    assert facts_of(sent("a", MON, to=[PAT]), person).reply_owed_since == MON + DAY
