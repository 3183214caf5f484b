"""The demo mailbox: deterministic, valid, and covering every scenario the rules care about.

Scenarios are checked from labels and headers directly, never through the engine.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import getaddresses
from typing import Any

import pytest

from server.gmail.demo_mailbox import (
    build_demo_mailbox,
    build_large_mailbox,
    demo_scenarios,
)
from server.gmail.emulator import GmailEmulator
from server.gmail.mailbox_file import parse_mailbox
from tests.conftest import NOW
from tests.gmail.emulator_fixtures import gmail

REP = "alex@northwind-demo.com"
ALIAS = "alex.sales@northwind-demo.com"
HOSTILE = '"<img src=x onerror=alert(1)> {{rep_name}}" <eve@evil.example>'
AUTO_HEADERS = ("auto-submitted", "x-autoreply", "x-autorespond", "x-autoresponse")
Thread = dict[str, Any]


@pytest.fixture(scope="module")
def mailbox() -> dict[str, Any]:
    return build_demo_mailbox(NOW)


@pytest.fixture(scope="module")
def tags() -> dict[str, list[str]]:
    return demo_scenarios(NOW)


def hdr(msg: dict[str, Any], name: str) -> str | None:
    for header in msg["payload"]["headers"]:
        if header["name"].lower() == name.lower():
            return str(header["value"])
    return None


def emails(value: str | None) -> list[str]:
    return [a.lower() for _, a in getaddresses([value or ""]) if "@" in a]


def chrono(thread: Thread) -> list[dict[str, Any]]:
    return sorted(thread["messages"], key=lambda m: int(m["internalDate"]))


def internal(address: str) -> bool:
    return address.endswith("@northwind-demo.com")


def automatic(msg: dict[str, Any]) -> bool:
    submitted = hdr(msg, "Auto-Submitted")
    if submitted is not None and submitted.lower() != "no":
        return True
    if any(hdr(msg, h) is not None for h in AUTO_HEADERS[1:]):
        return True
    if (hdr(msg, "Precedence") or "").lower() in ("bulk", "junk", "list", "auto_reply"):
        return True
    return hdr(msg, "List-Id") is not None or hdr(msg, "X-Failed-Recipients") is not None


def counted(msg: dict[str, Any]) -> bool:
    return not {"DRAFT", "SPAM", "TRASH"} & set(msg.get("labelIds", []))


def external_answer(msg: dict[str, Any]) -> bool:
    sender = emails(hdr(msg, "From"))
    return ("SENT" not in msg["labelIds"] and counted(msg) and not automatic(msg)
            and bool(sender) and not internal(sender[0]))


def trailing_sent(thread: Thread) -> int:
    """Rep messages with an external recipient after the last external answer."""
    run = 0
    for msg in chrono(thread):
        if not counted(msg):
            continue
        if external_answer(msg):
            run = 0
        elif "SENT" in msg["labelIds"] and any(
                not internal(a) for a in emails(hdr(msg, "To")) + emails(hdr(msg, "Cc"))):
            run += 1
    return run


def all_messages(mailbox: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for thread in mailbox["threads"]:
        yield from thread["messages"]


def find(mailbox: dict[str, Any], test: Callable[[Thread], bool]) -> list[Thread]:
    return [t for t in mailbox["threads"] if test(t)]


# ----- shape and determinism ----------------------------------------------------------------

def test_same_inputs_give_identical_json() -> None:
    first = json.dumps(build_demo_mailbox(NOW), ensure_ascii=False)
    assert first == json.dumps(build_demo_mailbox(NOW), ensure_ascii=False)
    assert first != json.dumps(build_demo_mailbox(NOW, seed=8), ensure_ascii=False)


def test_now_moves_times_but_keeps_the_story() -> None:
    def story(mailbox: dict[str, Any]) -> Counter[tuple[Any, ...]]:
        return Counter(tuple(tuple(m["labelIds"]) for m in t["messages"])
                       for t in mailbox["threads"])
    later = build_demo_mailbox(NOW + timedelta(days=30))
    assert story(build_demo_mailbox(NOW)) == story(later)
    newest = max(int(m["internalDate"]) for m in all_messages(later))
    assert newest > int((NOW + timedelta(days=29)).timestamp() * 1000)


def test_naive_now_is_read_as_utc() -> None:
    naive = NOW.replace(tzinfo=None)
    assert build_demo_mailbox(naive) == build_demo_mailbox(NOW)


def test_validates_against_the_mailbox_schema(mailbox: dict[str, Any]) -> None:
    assert parse_mailbox(mailbox, "demo")["emailAddress"] == REP
    assert len(mailbox["threads"]) == 200


def test_thread_count_is_adjustable() -> None:
    small = build_demo_mailbox(NOW, threads=20)
    assert len(small["threads"]) == 20
    parse_mailbox(small, "demo")
    assert len(build_demo_mailbox(NOW, threads=500)["threads"]) == 500
    with pytest.raises(ValueError):
        build_demo_mailbox(NOW, threads=0)


def test_ids_look_like_gmails_and_are_unique(mailbox: dict[str, Any]) -> None:
    ids = [m["id"] for m in all_messages(mailbox)]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[0-9a-f]{16}", i) for i in ids)
    for thread in mailbox["threads"]:
        assert thread["id"] == chrono(thread)[0]["id"]
        assert all(m["threadId"] == thread["id"] for m in thread["messages"])
        # Gmail ids grow with time: the high bits are the millisecond timestamp.
        for msg in thread["messages"]:
            assert int(msg["id"], 16) >> 20 == int(msg["internalDate"])


def test_history_ids_grow_with_time(mailbox: dict[str, Any]) -> None:
    ordered = sorted(all_messages(mailbox), key=lambda m: int(m["internalDate"]))
    history = [int(m["historyId"]) for m in ordered]
    assert history == sorted(history) and len(set(history)) == len(history)
    assert int(mailbox["historyId"]) > history[-1]
    for thread in mailbox["threads"]:
        assert int(thread["historyId"]) == max(int(m["historyId"]) for m in thread["messages"])


def test_times_spread_over_the_last_sixty_days(mailbox: dict[str, Any]) -> None:
    now_ms = int(NOW.timestamp() * 1000)
    times = [int(m["internalDate"]) for m in all_messages(mailbox)]
    assert max(times) < now_ms
    assert min(times) > now_ms - 62 * 86_400_000
    assert max(times) - min(times) > 45 * 86_400_000
    assert any(now_ms - t < 86_400_000 for t in times)


def test_threads_are_listed_newest_first(mailbox: dict[str, Any]) -> None:
    newest = [max(int(m["internalDate"]) for m in t["messages"]) for t in mailbox["threads"]]
    assert newest == sorted(newest, reverse=True)


def test_metadata_only_no_bodies(mailbox: dict[str, Any]) -> None:
    for msg in all_messages(mailbox):
        assert set(msg["payload"]) == {"partId", "mimeType", "filename", "headers"}
        assert msg["snippet"] == ""
        for name in ("From", "Subject", "Message-ID"):
            assert hdr(msg, name) is not None


def test_labels_are_gmail_system_labels(mailbox: dict[str, Any]) -> None:
    used = {label for m in all_messages(mailbox) for label in m["labelIds"]}
    assert used <= {"INBOX", "SENT", "UNREAD", "IMPORTANT", "DRAFT", "SPAM", "TRASH",
                    "CATEGORY_PERSONAL", "CATEGORY_PROMOTIONS", "CATEGORY_UPDATES",
                    "CATEGORY_FORUMS"}
    assert {"INBOX", "SENT", "UNREAD", "IMPORTANT", "DRAFT", "SPAM", "TRASH"} <= used
    for msg in all_messages(mailbox):
        if "SENT" in msg["labelIds"] or "DRAFT" in msg["labelIds"]:
            assert emails(hdr(msg, "From"))[0] in (REP, ALIAS)


def test_every_rep_message_goes_from_the_rep(mailbox: dict[str, Any]) -> None:
    rep_senders = {emails(hdr(m, "From"))[0] for m in all_messages(mailbox)
                   if "SENT" in m["labelIds"]}
    assert rep_senders == {REP, ALIAS}


# ----- scenarios --------------------------------------------------------------------------------

def test_went_silent_with_one_to_four_follow_ups(mailbox: dict[str, Any]) -> None:
    def silent(thread: Thread) -> bool:
        return any(external_answer(m) for m in thread["messages"]) and trailing_sent(thread) > 0
    runs = {trailing_sent(t) for t in find(mailbox, silent)}
    assert {1, 2, 3, 4, 5} <= runs  # the first message plus up to four follow-ups


def test_tags_agree_with_the_headers(mailbox: dict[str, Any], tags: dict[str, list[str]]) -> None:
    assert set(tags) == {t["id"] for t in mailbox["threads"]}
    for thread in mailbox["threads"]:
        labels = tags[thread["id"]]
        for tag in labels:
            if tag.startswith("unanswered_"):
                assert trailing_sent(thread) == int(tag.split("_")[1]), labels
        if "went_silent" in labels:
            assert any(external_answer(m) for m in thread["messages"]), labels
        if "no_reply_yet" in labels:
            assert not any(external_answer(m) for m in thread["messages"]), labels
            assert trailing_sent(thread) > 0
        if "reply_owed" in labels:
            last = [m for m in chrono(thread) if counted(m) and not automatic(m)][-1]
            assert external_answer(last), labels


def test_cold_outreach_never_answered(mailbox: dict[str, Any]) -> None:
    cold = find(mailbox, lambda t: all("SENT" in m["labelIds"] for m in t["messages"])
                and trailing_sent(t) >= 1)
    assert len(cold) >= 10
    assert {trailing_sent(t) for t in cold} >= {1, 2, 3}


def test_reply_owed_prospect_wrote_last(mailbox: dict[str, Any]) -> None:
    owed = find(mailbox, lambda t: external_answer(chrono(t)[-1])
                and any("SENT" in m["labelIds"] for m in t["messages"]))
    assert len(owed) >= 5
    waits = [NOW - datetime.fromtimestamp(int(chrono(t)[-1]["internalDate"]) / 1000, UTC)
             for t in owed]
    assert min(waits) < timedelta(hours=12) and max(waits) > timedelta(hours=30)


def test_inbound_lead_without_any_reply(mailbox: dict[str, Any]) -> None:
    leads = find(mailbox, lambda t: len(t["messages"]) == 1
                 and external_answer(t["messages"][0])
                 and ALIAS in emails(hdr(t["messages"][0], "To")))
    assert leads


def test_live_conversations(mailbox: dict[str, Any]) -> None:
    recent_ms = int((NOW - timedelta(days=7)).timestamp() * 1000)

    def live(thread: Thread) -> bool:
        recent = [m for m in thread["messages"] if int(m["internalDate"]) > recent_ms]
        return (sum("SENT" in m["labelIds"] for m in recent) >= 2
                and sum(external_answer(m) for m in recent) >= 1)
    assert len(find(mailbox, live)) >= 10


def test_a_colleague_of_the_prospect_answered(mailbox: dict[str, Any]) -> None:
    def assistant(thread: Thread) -> bool:
        first = chrono(thread)[0]
        if "SENT" not in first["labelIds"]:
            return False
        wrote_to = set(emails(hdr(first, "To")))
        domains = {a.split("@")[1] for a in wrote_to}
        return any(external_answer(m) and emails(hdr(m, "From"))[0] not in wrote_to
                   and emails(hdr(m, "From"))[0].split("@")[1] in domains
                   for m in thread["messages"])
    assert len(find(mailbox, assistant)) >= 2


def test_internal_threads(mailbox: dict[str, Any]) -> None:
    def addresses(thread: Thread) -> set[str]:
        return {a for m in thread["messages"] for h in ("From", "To", "Cc")
                for a in emails(hdr(m, h))}
    only_internal = find(mailbox, lambda t: all(internal(a) for a in addresses(t)))
    assert len(only_internal) >= 2
    colleague_replied = find(mailbox, lambda t: any(
        "SENT" not in m["labelIds"] and internal(emails(hdr(m, "From"))[0])
        for m in t["messages"]) and any(not internal(a) for a in addresses(t)))
    assert colleague_replied


@pytest.mark.parametrize("name, value", [
    ("Auto-Submitted", "auto-replied"), ("X-Autoreply", "yes"),
    ("X-Autorespond", "Out of office"), ("X-Autoresponse", "1"),
    ("Precedence", "auto_reply"), ("Precedence", "junk"), ("Precedence", "bulk"),
    ("Precedence", "list"), ("Auto-Submitted", "auto-generated"), ("Auto-Submitted", "no"),
])
def test_each_automatic_header_kind_appears(mailbox: dict[str, Any], name: str,
                                            value: str) -> None:
    assert any(hdr(m, name) == value for m in all_messages(mailbox))


def test_auto_replies_answer_rep_mail_from_the_prospect(mailbox: dict[str, Any]) -> None:
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponse"):
        thread = find(mailbox, lambda t, n=name: any(hdr(m, n) for m in t["messages"]))[0]
        first, reply = chrono(thread)[:2]
        assert "SENT" in first["labelIds"]
        assert emails(hdr(reply, "From")) == emails(hdr(first, "To"))


def test_bounces_from_mailer_daemon_and_postmaster(mailbox: dict[str, Any]) -> None:
    bounces = [m for m in all_messages(mailbox) if hdr(m, "X-Failed-Recipients")]
    senders = {emails(hdr(m, "From"))[0].split("@")[0] for m in bounces}
    assert senders == {"mailer-daemon", "postmaster"}
    for msg in bounces:
        assert (hdr(msg, "Content-Type") or "").startswith("multipart/report")
        assert msg["payload"]["mimeType"] == "multipart/report"
        thread = next(t for t in mailbox["threads"] if t["id"] == msg["threadId"])
        sent_to = emails(hdr(chrono(thread)[0], "To"))
        assert hdr(msg, "X-Failed-Recipients") in sent_to


def test_newsletters_carry_list_headers(mailbox: dict[str, Any]) -> None:
    letters = [m for m in all_messages(mailbox) if hdr(m, "List-Id")]
    assert len(letters) >= 5
    for msg in letters:
        assert (hdr(msg, "List-Unsubscribe") or "").startswith("<https://")
        assert {"CATEGORY_PROMOTIONS", "CATEGORY_UPDATES", "CATEGORY_FORUMS"} & set(
            msg["labelIds"])


def test_calendar_acceptance_from_the_prospect(mailbox: dict[str, Any]) -> None:
    accepted = [m for m in all_messages(mailbox)
                if (hdr(m, "Subject") or "").startswith("Accepted: ")]
    assert accepted and all(external_answer(m) for m in accepted)


def test_drafts(mailbox: dict[str, Any]) -> None:
    draft_only = find(mailbox, lambda t: all(m["labelIds"] == ["DRAFT"] for m in t["messages"]))
    unsent_follow_up = find(mailbox, lambda t: "DRAFT" in chrono(t)[-1]["labelIds"]
                            and any("SENT" in m["labelIds"] for m in t["messages"]))
    assert draft_only and unsent_follow_up


def test_spam_and_trash(mailbox: dict[str, Any]) -> None:
    assert find(mailbox, lambda t: all("SPAM" in m["labelIds"] for m in t["messages"]))
    assert find(mailbox, lambda t: all({"SENT", "TRASH"} <= set(m["labelIds"])
                                       for m in t["messages"]))


def test_send_as_alias(mailbox: dict[str, Any]) -> None:
    via_alias = find(mailbox, lambda t: any(
        "SENT" in m["labelIds"] and emails(hdr(m, "From")) == [ALIAS] for m in t["messages"]))
    assert via_alias and any(trailing_sent(t) >= 1 for t in via_alias)


def test_cc_only_prospect(mailbox: dict[str, Any]) -> None:
    def cc_only(msg: dict[str, Any]) -> bool:
        to, cc = emails(hdr(msg, "To")), emails(hdr(msg, "Cc"))
        return ("SENT" in msg["labelIds"] and bool(to) and all(internal(a) for a in to)
                and any(not internal(a) for a in cc))
    assert any(cc_only(m) for m in all_messages(mailbox))


def test_missing_and_wrong_date_headers(mailbox: dict[str, Any]) -> None:
    assert any(hdr(m, "Date") is None for m in all_messages(mailbox))
    wrong = [m for m in all_messages(mailbox) if (hdr(m, "Date") or "").endswith("1998 00:00:00"
                                                                                 " +0000")]
    assert wrong and all(int(m["internalDate"]) > 1_600_000_000_000 for m in wrong)


def test_a_thread_lists_its_messages_out_of_order(mailbox: dict[str, Any]) -> None:
    assert find(mailbox, lambda t: t["messages"] != chrono(t))


def test_hostile_display_name(mailbox: dict[str, Any]) -> None:
    assert any(hdr(m, "From") == HOSTILE for m in all_messages(mailbox))
    assert any(hdr(m, "To") == HOSTILE and "SENT" in m["labelIds"] for m in all_messages(mailbox))
    assert any("<script>" in (hdr(m, "Subject") or "") for m in all_messages(mailbox))


def test_unicode_names(mailbox: dict[str, Any]) -> None:
    names = [n for m in all_messages(mailbox) for h in ("From", "To", "Cc")
             for n, _ in getaddresses([hdr(m, h) or ""])]
    assert sum(1 for n in names if not n.isascii()) >= 20
    assert any("=?utf-8?" in (hdr(m, "From") or "") for m in all_messages(mailbox))
    assert any(not (hdr(m, "Subject") or "").isascii() for m in all_messages(mailbox))


def test_address_case_differs_between_messages(mailbox: dict[str, Any]) -> None:
    assert any(any(c.isupper() for c in a) for m in all_messages(mailbox)
               for _, a in getaddresses([hdr(m, "From") or ""]))


def test_a_third_party_advisor_answers(mailbox: dict[str, Any]) -> None:
    def advisor(thread: Thread) -> bool:
        first = chrono(thread)[0]
        to_domains = {a.split("@")[1] for a in emails(hdr(first, "To"))}
        return any(external_answer(m) and emails(hdr(m, "From"))[0].split("@")[1] not in to_domains
                   for m in thread["messages"] if "SENT" in first["labelIds"])
    assert find(mailbox, advisor)


def test_domains_are_invented(mailbox: dict[str, Any]) -> None:
    domains = {a.split("@")[1] for m in all_messages(mailbox) for h in ("From", "To", "Cc")
               for a in emails(hdr(m, h))}
    allowed = ("northwind-demo.com", "googlemail.com")
    assert all(d.endswith((".example", ".test")) or d in allowed for d in domains), domains


def test_the_emulator_serves_the_demo_mailbox(mailbox: dict[str, Any]) -> None:
    with GmailEmulator(mailbox) as emu:
        service = gmail(emu)
        users = service.users()
        ids: list[str] = []
        request = users.threads().list(userId="me", labelIds=["SENT"], maxResults=100)
        while request is not None:
            page = request.execute()
            ids += [t["id"] for t in page.get("threads", [])]
            request = users.threads().list_next(request, page)
        thread = users.threads().get(userId="me", id=ids[0], format="metadata").execute()
        service.close()
    expected = [t["id"] for t in mailbox["threads"]
                if any("SENT" in m["labelIds"] for m in t["messages"])
                and any(not {"SPAM", "TRASH"} & set(m["labelIds"]) for m in t["messages"])]
    assert sorted(ids) == sorted(expected)
    assert thread["id"] == ids[0] and thread["messages"]


# ----- the large benchmark mailbox ------------------------------------------------------------

def test_large_mailbox_size_and_sent_share() -> None:
    big = build_large_mailbox(10_000)
    assert len(big["threads"]) == 10_000
    with_sent = sum(any("SENT" in m["labelIds"] for m in t["messages"]) for t in big["threads"])
    assert 1_800 <= with_sent <= 2_200
    ids = [m["id"] for m in all_messages(big)]
    assert len(ids) == len(set(ids))


def test_large_mailbox_is_deterministic_and_valid() -> None:
    a = build_large_mailbox(300, sent_fraction=0.5, seed=3)
    assert json.dumps(a) == json.dumps(build_large_mailbox(300, sent_fraction=0.5, seed=3))
    parse_mailbox(a, "large")
    with_sent = sum(any("SENT" in m["labelIds"] for m in t["messages"]) for t in a["threads"])
    assert 110 <= with_sent <= 190
    none_sent = build_large_mailbox(50, sent_fraction=0.0)
    assert not any("SENT" in m["labelIds"] for m in all_messages(none_sent))
    with pytest.raises(ValueError):
        build_large_mailbox(10, sent_fraction=1.5)
