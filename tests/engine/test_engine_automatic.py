"""Automatic mail vendor by vendor, judged through `stepback scan --mailbox` like a real export.

Every sample of tests/engine/mail_corpus.py answers one outbound message of the rep; the scan
must list an automatic answer as still silent (never a reply owed), a person's answer as a
reply owed, and a calendar response as neither.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from server.cli import main
from server.engine import default_context
from server.engine.automatic import (
    _DATA,
    METADATA_HEADERS,
    SIGNATURES,
    classify,
    return_date,
    subject_signal,
)
from server.engine.headers import headers_of, mime_type_of, verdict_in
from server.gmail.client import METADATA_HEADERS as CLIENT_HEADERS
from tests.engine.builders import corpus_answer, corpus_mailbox, received, sent, thread
from tests.engine.mail_corpus import SAMPLES, Sample

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
SENT_AT = NOW - timedelta(days=10)
REP = "rep@acme.com"


LABELS = ("INBOX", "CATEGORY_PERSONAL")


def _answer(sample: Sample, tid: str) -> dict[str, Any]:
    return corpus_answer(sample, tid, REP, SENT_AT, LABELS)


def _mailbox(samples: list[Sample]) -> dict[str, Any]:
    return corpus_mailbox(samples, REP, SENT_AT, LABELS)


def scan_file(tmp_path: Path, mailbox: dict[str, Any],
              capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """Run `stepback scan --mailbox FILE ... --format json` the way a person would."""
    path = tmp_path / "mailbox.json"
    path.write_text(json.dumps(mailbox), encoding="utf-8")
    capsys.readouterr()
    code = main(["scan", "--mailbox", str(path), "--now", NOW.isoformat(), "--threshold", "3",
                 "--format", "json"])
    captured = capsys.readouterr()
    assert code in (0, None), captured.err
    out: dict[str, Any] = json.loads(captured.out)
    return out


def test_the_whole_corpus_is_judged_right_through_scan_mailbox(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = scan_file(tmp_path, _mailbox(SAMPLES), capsys)
    silent = {row["threadId"] for row in out["silent"]}
    owed = {row["threadId"] for row in out["replyOwed"]}
    wrong = []
    for sample in SAMPLES:
        tid = f"t-{sample.id}"
        got = ("automatic" if tid in silent and tid not in owed
               else "person" if tid in owed and tid not in silent
               else "calendar" if tid not in silent and tid not in owed else "both")
        if got != sample.expect:
            wrong.append(f"{sample.id}: expected {sample.expect}, got {got}")
    assert not wrong, wrong
    assert len(SAMPLES) >= 60


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.id for s in SAMPLES])
def test_each_sample_on_its_own(sample: Sample) -> None:
    verdict = verdict_in(headers_of(_answer(sample, "x")), sample.mime)
    if sample.expect == "automatic":
        assert verdict.automatic, sample.source
    elif sample.expect == "calendar":
        assert verdict.kind == "calendar", sample.source
    else:
        assert verdict.kind is None, (verdict, sample.source)


def _hits(sample: Sample) -> set[str]:
    message = _answer(sample, "x")
    return set(verdict_in(headers_of(message), mime_type_of(message)).signatures)


@pytest.mark.parametrize("signature", SIGNATURES, ids=[s.id for s in SIGNATURES])
def test_every_vendor_signature_has_a_source_and_a_corpus_sample(signature: Any) -> None:
    assert signature.source.strip() and signature.vendor.strip()
    if signature.weak:
        # Weak signatures only ever decide together with a subject phrase.
        lone = {"x-auto-response-suppress": "All", "x-ms-exchange-inbox-rules-loop": "p@b.com"}
        name = signature.when[0].header
        assert classify({name: lone[name], "subject": "Re: Proposal"}).kind is None
        assert classify({name: lone[name], "subject": "Out of office"}).automatic
        return
    assert any(signature.id in _hits(s) for s in SAMPLES if s.expect == "automatic"), (
        f"no corpus sample shows {signature.id}")


def test_the_client_asks_gmail_for_every_header_a_signature_reads() -> None:
    assert CLIENT_HEADERS == METADATA_HEADERS
    wanted = {h.lower() for h in METADATA_HEADERS}
    for signature in SIGNATURES:
        for condition in signature.when:
            assert condition.header is None or condition.header in wanted
    assert {"from", "to", "cc", "subject", "return-path", "x-auto-response-suppress",
            "x-ms-exchange-inbox-rules-loop"} <= wanted


LANGUAGES = sorted(_DATA["subjects"]["auto_reply"]["prefixes"].items())


@pytest.mark.parametrize("lang, phrases", LANGUAGES, ids=[lang for lang, _ in LANGUAGES])
def test_each_language_auto_reply_prefix_and_its_human_reply(lang: str, phrases: list[str]) -> None:
    assert len(LANGUAGES) >= 10
    for phrase in phrases:
        shaped = f"{phrase.title()}: Proposal"
        assert subject_signal(shaped) == ("auto_reply", True), shaped
        assert classify({"from": "pat@buyer.com", "subject": shaped}).kind == "auto_reply"
        answered = f"Re: {shaped}"
        assert subject_signal(answered) == (None, False), answered
        assert classify({"from": "pat@buyer.com", "subject": answered}).kind is None


BOUNCE_LANGUAGES = sorted(_DATA["subjects"]["bounce"]["prefixes"].items())


@pytest.mark.parametrize("lang, phrases", BOUNCE_LANGUAGES,
                         ids=[lang for lang, _ in BOUNCE_LANGUAGES])
def test_each_language_bounce_prefix(lang: str, phrases: list[str]) -> None:
    for phrase in phrases:
        assert subject_signal(f"{phrase}: Proposal") == ("bounce", True)
        assert subject_signal(f"Fwd: {phrase}: Proposal") == (None, False)


CAL_LANGUAGES = sorted(_DATA["subjects"]["calendar"]["prefixes"].items())


@pytest.mark.parametrize("lang, phrases", CAL_LANGUAGES, ids=[lang for lang, _ in CAL_LANGUAGES])
def test_each_language_calendar_response_needs_calendar_data(lang: str, phrases: list[str]) -> None:
    for phrase in phrases:
        subject = f"{phrase}: Demo"
        with_data = {"from": "pat@buyer.com", "subject": subject,
                     "content-class": "urn:content-classes:calendarmessage"}
        assert classify(with_data).kind == "calendar", subject
        assert classify({"from": "pat@buyer.com", "subject": subject}).kind is None, subject


def test_a_human_reply_never_becomes_automatic_by_its_words() -> None:
    for subject in ["Re: Out of office next week", "RE: Automatic reply: Proposal",
                    "Fwd: Undeliverable: Proposal", "Out of office next week?",
                    "Automatic replies are annoying", "Re: Auto reply: thanks",
                    "AW: Abwesenheitsnotiz: Angebot", "回复: 自动答复: 建议书"]:
        assert classify({"from": "pat@buyer.com", "subject": subject}).kind is None, subject


@pytest.mark.parametrize("subject, expected", [
    ("Out of office until Dec 8", "2026-12-08"),
    ("Away until 8 December", "2026-12-08"),
    ("Automatic reply: back on Monday, December 14", "2026-12-14"),
    ("Pat is out of the office (returning 12/08/2026).", "2026-12-08"),
    ("Abwesend bis 8.12.2026", "2026-12-08"),
    ("Absent jusqu'au 8 décembre", "2026-12-08"),
    ("Out of office until Jan 4", "2027-01-04"),
    ("Back on 2026-12-10", "2026-12-10"),
    ("Automatic reply: Proposal", None),
])
def test_return_date_from_the_subject(subject: str, expected: str | None) -> None:
    found = return_date(subject, NOW - timedelta(days=1))
    assert (found.isoformat() if found else None) == expected


def test_a_real_export_with_null_senders_and_bounces_scans(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bounces = [s for s in SAMPLES if s.id in ("postfix-null-sender", "bare-null-sender",
                                              "mail-delivery-system-null")]
    out = scan_file(tmp_path, _mailbox(bounces), capsys)
    assert {r["threadId"] for r in out["silent"]} == {f"t-{s.id}" for s in bounces}
    assert out["replyOwed"] == []


def test_an_over_long_from_address_is_no_usable_address(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    long = "x" * 400 + "@buyer.com"
    box = {"emailAddress": REP, "historyId": "1", "threads": [thread(
        "t", sent("a", SENT_AT, to=["pat@buyer.com"]),
        received("b", SENT_AT + timedelta(hours=1), f"Odd <{long}>"))]}
    out = scan_file(tmp_path, box, capsys)
    assert [r["threadId"] for r in out["silent"]] == ["t"]
    assert out["replyOwed"] == []
    assert default_context(REP).is_internal("rep@acme.com")
