"""Header access, address parsing and the automatic-mail rules."""

from __future__ import annotations

import pytest

from server.engine import Person, header, is_automatic, parse_addresses


def message(*pairs):
    return {"payload": {"headers": [{"name": n, "value": v} for n, v in pairs]}}


def test_header_is_case_insensitive_and_returns_the_first():
    m = message(("received", "one"), ("RECEIVED", "two"), ("Subject", "Hi"))
    assert header(m, "Received") == "one"
    assert header(m, "SUBJECT") == "Hi"
    assert header(m, "To") is None


@pytest.mark.parametrize(
    "odd",
    [
        {},
        {"payload": None},
        {"payload": {}},
        {"payload": {"headers": "nope"}},
        {"payload": {"headers": [None, 3, {"value": "no name"}, {"name": 5, "value": "x"}]}},
    ],
)
def test_header_tolerates_odd_shapes(odd):
    assert header(odd, "From") is None
    assert not is_automatic(odd)


def test_header_with_non_string_value_reads_as_empty():
    assert header({"payload": {"headers": [{"name": "To", "value": None}]}}, "to") == ""


def test_parse_addresses_lowercases_and_keeps_names():
    people = parse_addresses('"Pat, Buyer" <Pat@Buyer.COM>, lee@buyer.com')
    assert people == [Person("pat@buyer.com", "Pat, Buyer"), Person("lee@buyer.com", "")]


@pytest.mark.parametrize(
    "garbage",
    ["", None, "undisclosed-recipients:;", "not an address", "@buyer.com", "pat@", "a@b@c"],
)
def test_parse_addresses_skips_garbage(garbage):
    assert parse_addresses(garbage) == []


def test_parse_addresses_keeps_good_ones_among_garbage_and_drops_repeats():
    people = parse_addresses("junk, <pat@buyer.com>, PAT@buyer.com, ,  lee@buyer.com")
    assert [p.email for p in people] == ["pat@buyer.com", "lee@buyer.com"]


def test_parse_addresses_unicode_and_encoded_names():
    assert parse_addresses("Zoë Müller <zoe@kunde.de>") == [Person("zoe@kunde.de", "Zoë Müller")]
    encoded = "=?UTF-8?B?0JDQvdC90LA=?= <anna@client.ru>"
    assert parse_addresses(encoded) == [Person("anna@client.ru", "Анна")]


def test_parse_addresses_flattens_control_characters_in_names():
    [raw] = parse_addresses('"Bell\x07Name\tX" <e@x.io>')
    assert raw.name == "Bell Name X"
    [decoded] = parse_addresses("=?UTF-8?Q?Line=0ABreak?= <e@x.io>")
    assert decoded.name == "Line Break"


@pytest.mark.parametrize(
    "pairs",
    [
        [("Auto-Submitted", "auto-replied")],
        [("AUTO-SUBMITTED", "auto-notified")],
        [("X-Autoreply", "yes")],
        [("x-autorespond", "")],
        [("X-Autoresponse", "1")],
        [("Precedence", "bulk")],
        [("Precedence", "Junk")],
        [("Precedence", "list")],
        [("Precedence", "auto_reply")],
        [("List-Id", "<x.y>")],
        [("List-Unsubscribe", "<https://u.example/x>")],
        [("From", "MAILER-DAEMON@mx.buyer.com")],
        [("From", "Postmaster <postmaster@buyer.com>")],
        [("Content-Type", "multipart/report; report-type=delivery-status")],
        [("Content-Type", "Multipart/Report; report-type=disposition-notification")],
        [("X-Failed-Recipients", "pat@buyer.com")],
    ],
)
def test_is_automatic_variants(pairs):
    assert is_automatic(message(*pairs))


@pytest.mark.parametrize(
    "pairs",
    [
        [("From", "pat@buyer.com")],
        [("From", "pat@buyer.com"), ("Auto-Submitted", "no")],
        [("From", "pat@buyer.com"), ("Precedence", "first-class")],
        [("From", "pat@buyer.com"), ("Content-Type", "text/calendar; method=REPLY")],
        [("From", "daemon-fan@buyer.com")],
        [("From", "pat@mailer-daemon.buyer.com")],
    ],
)
def test_is_not_automatic(pairs):
    assert not is_automatic(message(*pairs))
