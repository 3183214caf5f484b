"""Whole-mailbox scans, their ordering and their JSON / table output."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from server.engine import (
    SINGLE_CONTACT,
    Threshold,
    analyze_thread,
    default_context,
    scan,
    scan_to_json,
    scan_to_table,
)
from tests.engine.builders import msg, received, sent, thread

CTX = default_context("rep@acme.com")
NOW = datetime(2026, 5, 29, 12, 0, tzinfo=UTC)  # a Friday
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")


def mailbox():
    return [
        # silent for 10 days, warm
        thread(
            "warm",
            sent("w1", NOW - 12 * DAY, to=["Pat <pat@buyer.com>"]),
            received("w2", NOW - 11 * DAY, "Pat <pat@buyer.com>"),
            sent("w3", NOW - 10 * DAY, to=["pat@buyer.com"], subject="Re: Proposal"),
        ),
        # silent for 20 days, cold
        thread("cold", sent("c1", NOW - 20 * DAY, to=["Lee <lee@corp.io>"], subject="Intro")),
        # only 1 business day: not silent at threshold 3
        thread("fresh", sent("f1", NOW - DAY, to=["kim@new.org"], subject="Hello")),
        # two threads silent since the same moment: thread id breaks the tie
        thread("tie-b", sent("b1", NOW - 15 * DAY, to=["b@tie.com"], subject="B")),
        thread("tie-a", sent("a1", NOW - 15 * DAY, to=["a@tie.com"], subject="A")),
        # replies owed, 5 hours and 50 hours
        thread("owed-short", received("o1", NOW - 5 * HOUR, "Ann <ann@x.com>", subject="Q1")),
        thread("owed-long", received("o2", NOW - 50 * HOUR, "Ben <ben@y.com>", subject="Q2")),
    ]


def test_scan_keeps_only_silent_threads_most_silent_first():
    result = scan(mailbox(), CTX, NOW, Threshold(3))
    assert [v.facts.thread_id for v in result.silent] == ["cold", "tie-a", "tie-b", "warm"]
    assert all(v.silent for v in result.silent)


def test_scan_lists_replies_owed_longest_waiting_first():
    result = scan(mailbox(), CTX, NOW, Threshold(3))
    assert [v.facts.thread_id for v in result.reply_owed] == ["owed-long", "owed-short"]
    late = scan(mailbox(), CTX, NOW, Threshold(3), reply_target_hours=24)
    assert [v.facts.thread_id for v in late.reply_owed] == ["owed-long"]


def test_scan_ignores_listing_order():
    forward = scan_to_json(scan(mailbox(), CTX, NOW, Threshold(3)))
    backward = scan_to_json(scan(list(reversed(mailbox())), CTX, NOW, Threshold(3)))
    assert forward == backward


def test_scan_getbacks_suppress_only_future_dates():
    getbacks = {"cold": NOW + DAY, "warm": NOW - DAY}
    result = scan(mailbox(), CTX, NOW, Threshold(3), getbacks=getbacks)
    ids = [v.facts.thread_id for v in result.silent]
    assert "cold" not in ids
    assert "warm" in ids


def test_scan_calendar_threshold():
    # "fresh" is one calendar day old; a one-calendar-day threshold catches it.
    result = scan(mailbox(), CTX, NOW, Threshold(1, calendar_days=True))
    assert "fresh" in [v.facts.thread_id for v in result.silent]


def test_scan_uses_the_mailbox_wide_sender_index():
    threads = [
        thread("cold", sent("c1", NOW - 9 * DAY, to=["pat@buyer.com"])),
        thread(
            "old", received("o1", NOW - 90 * DAY, "pat@buyer.com"), sent("o2", NOW, to=["x@q.io"])
        ),
    ]
    [verdict] = scan(threads, CTX, NOW, Threshold(3)).silent
    assert SINGLE_CONTACT in [w.code for w in verdict.facts.warnings]


def test_scan_judges_a_thread_listed_twice_once():
    twice = [*mailbox(), *mailbox()]
    result = scan(twice, CTX, NOW, Threshold(3))
    ids = [v.facts.thread_id for v in result.silent]
    assert len(ids) == len(set(ids)) == 4


def test_scan_of_nothing():
    result = scan([], CTX, NOW, Threshold(3))
    assert scan_to_json(result) == {"silent": [], "replyOwed": []}
    table = scan_to_table(result)
    assert table.count("none") == 2


def test_json_contract_keys_and_types():
    data = scan_to_json(scan(mailbox(), CTX, NOW, Threshold(3)))
    assert set(data) == {"silent", "replyOwed"}
    json.dumps(data)  # plain JSON types only
    for row in data["silent"]:
        assert set(row) == {
            "threadId",
            "kind",
            "unansweredCount",
            "daysSilent",
            "businessDaysSilent",
            "silentSince",
            "subject",
            "prospect",
        }
        assert row["kind"] in {"went_silent", "no_reply_yet"}
        for key in ("unansweredCount", "daysSilent", "businessDaysSilent"):
            assert type(row[key]) is int
        assert ISO_Z.match(row["silentSince"])
        assert isinstance(row["subject"], str)
        assert set(row["prospect"]) == {"email", "name"}
    for row in data["replyOwed"]:
        assert set(row) == {"threadId", "waitingSince", "hoursWaiting", "subject", "prospect"}
        assert ISO_Z.match(row["waitingSince"])
        assert type(row["hoursWaiting"]) is float
        assert set(row["prospect"]) == {"email", "name"}


def test_json_values():
    data = scan_to_json(scan(mailbox(), CTX, NOW, Threshold(3)))
    warm = next(r for r in data["silent"] if r["threadId"] == "warm")
    assert warm == {
        "threadId": "warm",
        "kind": "went_silent",
        "unansweredCount": 1,
        "daysSilent": 10,
        "businessDaysSilent": 8,
        "silentSince": "2026-05-19T12:00:00Z",
        "subject": "Proposal",
        "prospect": {"email": "pat@buyer.com", "name": "Pat"},
    }
    assert data["replyOwed"][0] == {
        "threadId": "owed-long",
        "waitingSince": "2026-05-27T10:00:00Z",
        "hoursWaiting": 50.0,
        "subject": "Q2",
        "prospect": {"email": "ben@y.com", "name": "Ben"},
    }


def test_json_hours_rounded_and_milliseconds_kept():
    at = NOW - timedelta(hours=7, minutes=20, milliseconds=250)
    data = scan_to_json(scan([thread("t", received("m", at, "ann@x.com"))], CTX, NOW, Threshold(3)))
    [row] = data["replyOwed"]
    assert row["hoursWaiting"] == 7.3
    assert row["waitingSince"] == "2026-05-29T04:39:59.750Z"


def test_table_has_a_heading_per_section_and_aligned_columns():
    table = scan_to_table(scan(mailbox(), CTX, NOW, Threshold(3)))
    lines = table.splitlines()
    assert lines[0] == "Silent prospects (4)"
    owed_at = lines.index("Replies owed (2)")
    header = lines[1]
    rows = lines[2:6]
    start = header.index("PROSPECT")
    assert all(row[start - 2 : start] == "  " for row in rows)
    assert rows[0].split()[0] == "cold"
    assert "Lee <lee@corp.io>" in rows[0]
    assert "owed-long" in lines[owed_at + 2]
    assert "none" not in table


def test_table_flattens_hostile_subjects():
    subject = "Line one\nLine two\t" + "x" * 200
    t = thread("t", received("m", NOW - HOUR, "ann@x.com", subject=subject))
    table = scan_to_table(scan([t], CTX, NOW, Threshold(3)))
    row = table.splitlines()[-1]
    assert "Line one Line two" in row
    assert row.endswith("…")
    assert "Silent prospects (0)" in table


@pytest.mark.parametrize(
    "odd_thread",
    [
        {"id": "t"},
        {"id": "t", "messages": None},
        {"id": "t", "messages": "nope"},
        {"id": "t", "messages": [None, 5, "x"]},
        {"messages": []},
        {"id": "t", "messages": [{"id": "m"}]},
        {"id": "t", "messages": [{"id": "m", "labelIds": None, "payload": None}]},
        {"id": "t", "messages": [{"id": "m", "internalDate": "soon", "labelIds": ["SENT"]}]},
        {"id": "t", "messages": [{"id": "m", "internalDate": 10**30, "labelIds": ["SENT"]}]},
    ],
)
def test_structurally_odd_threads_never_crash(odd_thread):
    facts = analyze_thread(odd_thread, CTX)
    assert not facts.candidate
    result = scan([odd_thread, "not a thread", None], CTX, NOW, Threshold(0))
    json.dumps(scan_to_json(result))
    scan_to_table(result)


def test_odd_but_valid_messages():
    t = thread(
        "t",
        msg("a", NOW - 9 * DAY, None, to=["pat@buyer.com"], labels=["SENT"]),  # no From
        msg("b", NOW - 8 * DAY, "??? garbage", to=[], labels=["INBOX"]),  # unusable sender
        msg("c", NOW - 7 * DAY, "Zoë 🌷 <zoe@kunde.de>", to=[], labels=["INBOX"], subject=None),
        msg(
            "d",
            NOW - 6 * DAY,
            "rep@acme.com",
            to=["not-an-address", "Zoë <ZOE@kunde.de>"],
            labels=["SENT"],
        ),
    )
    facts = analyze_thread(t, CTX)
    assert facts.kind == "went_silent"
    assert facts.prospect is not None and facts.prospect.email == "zoe@kunde.de"
    assert facts.prospect.name == "Zoë"
    assert facts.silent_since == NOW - 6 * DAY
    assert facts.answer_count == 1
    data = scan_to_json(scan([t], CTX, NOW, Threshold(3)))
    assert data["silent"][0]["prospect"] == {"email": "zoe@kunde.de", "name": "Zoë"}
