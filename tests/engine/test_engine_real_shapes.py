"""The independent real-shape corpus (tests/engine/real_shapes.py) judged through
`stepback scan --mailbox`, each message the answer to a rep's outbound mail."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from server.cli import main
from server.engine.headers import headers_of, mime_type_of, verdict_in
from server.gmail.client import METADATA_HEADERS
from tests.engine.builders import corpus_answer, corpus_mailbox
from tests.engine.real_shapes import HUMAN, MACHINE, Shape

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
SENT_AT = NOW - timedelta(days=10)
REP = "rep@acme.com"
ALL = MACHINE + HUMAN


LABELS = ("INBOX", "UNREAD")


def _answer(shape: Shape, tid: str) -> dict[str, Any]:
    return corpus_answer(shape, tid, REP, SENT_AT, LABELS)


def _mailbox(shapes: list[Shape]) -> dict[str, Any]:
    return corpus_mailbox(shapes, REP, SENT_AT, LABELS)


def _judged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    path = tmp_path / "mailbox.json"
    path.write_text(json.dumps(_mailbox(ALL)), encoding="utf-8")
    capsys.readouterr()
    code = main(["scan", "--mailbox", str(path), "--now", NOW.isoformat(), "--threshold", "3",
                 "--format", "json"])
    captured = capsys.readouterr()
    assert code in (0, None), captured.err
    out = json.loads(captured.out)
    silent = {row["threadId"] for row in out["silent"]}
    owed = {row["threadId"] for row in out["replyOwed"]}
    judged = {}
    for shape in ALL:
        tid = f"t-{shape.id}"
        judged[shape.id] = ("automatic" if tid in silent and tid not in owed
                            else "person" if tid in owed and tid not in silent
                            else "calendar" if tid not in silent and tid not in owed else "both")
    return judged


def test_every_real_shape_is_judged_right_through_scan_mailbox(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert len(MACHINE) >= 60 and len([s for s in HUMAN if s.expect == "person"]) >= 40
    judged = _judged(tmp_path, capsys)
    wrong = []
    for shape in ALL:
        want = ("automatic" if shape.expect in ("auto_reply", "bounce", "report")
                else shape.expect)
        if judged[shape.id] != want:
            wrong.append(f"{shape.id}: expected {want}, got {judged[shape.id]}")
    assert not wrong, wrong


@pytest.mark.parametrize("shape", [s for s in MACHINE
                                   if s.expect in ("auto_reply", "bounce", "report")],
                         ids=lambda s: s.id)
def test_auto_replies_and_bounces_are_known_for_what_they_are(shape: Shape) -> None:
    # An out-of-office must become an away fact (never a bounce warning), a bounce a warning.
    message = _answer(shape, "x")
    verdict = verdict_in(headers_of(message), mime_type_of(message))
    assert verdict.kind == shape.expect, (verdict, shape.source)


@pytest.mark.parametrize("shape", ALL, ids=lambda s: s.id)
def test_the_headers_gmail_is_asked_for_are_enough(shape: Shape) -> None:
    # Google returns only the metadataHeaders asked for (users.messages.get reference:
    # "When given and format is METADATA, only include headers specified"), so the verdict
    # on the filtered headers must be the verdict on all of them.
    message = _answer(shape, "x")
    full = verdict_in(headers_of(message), mime_type_of(message))
    wanted = {h.lower() for h in METADATA_HEADERS}
    message["payload"]["headers"] = [h for h in message["payload"]["headers"]
                                     if h["name"].lower() in wanted]
    assert verdict_in(headers_of(message), mime_type_of(message)) == full
