"""`stepback scan` with hostile input from the attack run: one line on stderr and exit 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.test_cli import instance, run

__all__ = ["instance"]  # the CLI tests' instance-folder fixture (autouse) applies here too

OK = {
    "emailAddress": "rep@example.com",
    "historyId": "1",
    "threads": [
        {
            "id": "t1",
            "historyId": "1",
            "messages": [
                {
                    "id": "m1",
                    "threadId": "t1",
                    "labelIds": ["SENT"],
                    "internalDate": "1700000000000",
                    "historyId": "1",
                    "payload": {
                        "headers": [
                            {"name": "From", "value": "rep@example.com"},
                            {"name": "To", "value": "pat@prospect.example"},
                            {"name": "Subject", "value": "Proposal"},
                        ]
                    },
                }
            ],
        }
    ],
}


def _nested_parts(depth: int) -> dict[str, Any]:
    part: dict[str, Any] = {"mimeType": "text/plain"}
    for _ in range(depth):
        part = {"mimeType": "multipart/mixed", "parts": [part]}
    return part


def _files(tmp_path: Path) -> dict[str, Path]:
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps(OK))
    digits = tmp_path / "digits.json"
    digits.write_text(json.dumps(OK).replace('"historyId": "1"', '"historyId": ' + "9" * 5000, 1))
    nested = tmp_path / "nested.json"
    doc = json.loads(json.dumps(OK))
    doc["threads"][0]["messages"][0]["payload"]["parts"] = [_nested_parts(300)]
    # json.dumps itself recurses per level; 300 is well within its reach.
    nested.write_text(json.dumps(doc))
    return {"ok": ok, "digits": digits, "nested": nested}


@pytest.mark.parametrize(
    ("file", "extra"),
    [
        ("digits", []),
        ("nested", []),
        ("ok", ["--now", "0001-01-01T00:00:00+14:00"]),
        ("ok", ["--now", "9999-12-31T23:59:59-14:00"]),
        ("ok", ["--now", "9999-12-31T12:00:00Z", "--timezone", "Pacific/Kiritimati"]),
        ("ok", ["--now", "9999-12-31T23:00:00+00:00", "--timezone", "Pacific/Kiritimati"]),
        ("ok", ["--timezone", "America"]),
        ("ok", ["--timezone", "Etc"]),
    ],
)
def test_hostile_scan_input_is_one_line_and_exit_2(
    capsys: Any, tmp_path: Path, file: str, extra: list[str]
) -> None:
    path = _files(tmp_path)[file]
    code, out, err = run(capsys, "scan", "--mailbox", str(path), *extra, "--format", "json")
    assert code == 2, err
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("stepback: error:"), err


def test_the_ok_file_still_scans_near_the_range_end(capsys: Any, tmp_path: Path) -> None:
    path = _files(tmp_path)["ok"]
    argv = ["--now", "8999-12-31T12:00:00Z", "--timezone", "Pacific/Kiritimati"]
    code, out, err = run(capsys, "scan", "--mailbox", str(path), *argv, "--format", "json")
    assert code == 0, err
    # No overflow near the end of the range; the 2026 thread is far past the 180-day horizon.
    assert json.loads(out)["silent"] == []
