"""The `stepback` command line: scan contract, bad input, demo, export/sync, emulator."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from server.cli import main
from server.engine.model import Threshold, default_context
from server.engine.report import scan_to_json
from server.engine.silence import scan
from tests.conftest import NOW, gmail_client

SILENT_KEYS = {
    "threadId",
    "kind",
    "unansweredCount",
    "daysSilent",
    "businessDaysSilent",
    "silentSince",
    "subject",
    "prospect",
}
OWED_KEYS = {"threadId", "waitingSince", "hoursWaiting", "subject", "prospect"}


@pytest.fixture(autouse=True)
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "instance"
    monkeypatch.setenv("STEPBACK_INSTANCE_PATH", str(folder))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("STEPBACK_DATABASE_URL", raising=False)
    return folder


@pytest.fixture
def mailbox_file(tmp_path: Path, demo_mailbox: dict[str, Any]) -> Path:
    path = tmp_path / "mailbox.json"
    path.write_text(json.dumps(demo_mailbox))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_scan_json_follows_the_contract(capsys: Any, mailbox_file: Path, demo_mailbox: Any) -> None:
    code, out, _ = run(
        capsys,
        "scan",
        "--mailbox",
        str(mailbox_file),
        "--now",
        NOW.isoformat(),
        "--threshold",
        "5",
        "--timezone",
        "America/New_York",
        "--format",
        "json",
    )
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == {"silent", "replyOwed"}
    assert doc["silent"] and doc["replyOwed"]
    for item in doc["silent"]:
        assert set(item) == SILENT_KEYS
        assert set(item["prospect"]) == {"email", "name"}
        assert item["kind"] in ("went_silent", "no_reply_yet")
        assert item["businessDaysSilent"] >= 5
        assert item["silentSince"].endswith("Z")
    for item in doc["replyOwed"]:
        assert set(item) == OWED_KEYS
    since = [i["silentSince"] for i in doc["silent"]]
    assert since == sorted(since), "most silent first"
    waits = [i["hoursWaiting"] for i in doc["replyOwed"]]
    assert waits == sorted(waits, reverse=True), "longest waiting first"
    # Same verdicts as the engine called directly.
    ctx = default_context(demo_mailbox["emailAddress"], timezone="America/New_York")
    expected = scan_to_json(scan(demo_mailbox["threads"], ctx, NOW, Threshold(5)))
    assert doc == expected


def test_scan_threshold_and_calendar_days_change_the_answer(
    capsys: Any, mailbox_file: Path
) -> None:
    monday = (NOW + timedelta(days=3)).isoformat()

    def silent(*extra: str) -> list[dict[str, Any]]:
        code, out, _ = run(
            capsys,
            "scan",
            "--mailbox",
            str(mailbox_file),
            "--now",
            monday,
            "--format",
            "json",
            *extra,
        )
        assert code == 0
        return list(json.loads(out)["silent"])

    five = silent("--threshold", "5")
    twenty = silent("--threshold", "20")
    calendar = silent("--threshold", "5", "--calendar-days")
    assert {i["threadId"] for i in twenty} < {i["threadId"] for i in five}
    assert all(i["businessDaysSilent"] >= 5 for i in five)
    assert all(i["daysSilent"] >= 5 for i in calendar)
    assert any(i["businessDaysSilent"] < 5 for i in calendar), "weekends count as calendar days"


def test_scan_table_is_for_people(capsys: Any, mailbox_file: Path) -> None:
    code, out, _ = run(
        capsys,
        "scan",
        "--mailbox",
        str(mailbox_file),
        "--now",
        NOW.isoformat(),
        "--threshold",
        "5",
        "--format",
        "table",
    )
    assert code == 0
    assert "Silent prospects" in out and "Replies owed" in out


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("this is not json", "not valid JSON"),
        ("[1, 2]", "object"),
        ('{"emailAddress": "a@b.com", "historyId": "1", "threads": [{"id": "t1"}]}', "t1"),
        (
            '{"emailAddress": "a@b.com", "historyId": "1", "threads": [{"id": "t1",'
            ' "historyId": "5", "messages": [{"id": "m1", "threadId": "t1", "historyId": "5",'
            ' "internalDate": "soon", "labelIds": [], "payload": {"headers": []}}]}]}',
            "internalDate",
        ),
    ],
)
def test_scan_rejects_bad_files_with_one_clear_line(
    capsys: Any, tmp_path: Path, content: str, needle: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    code, out, err = run(capsys, "scan", "--mailbox", str(path), "--threshold", "5")
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("stepback: error:")
    assert needle.lower() in lines[0].lower()
    assert "Traceback" not in err


def test_scan_refuses_a_huge_file_without_reading_it(capsys: Any, tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as fh:
        fh.truncate(200 * 1024 * 1024)  # sparse: 200 MB on paper, nothing on disk
    code, _, err = run(capsys, "scan", "--mailbox", str(path), "--threshold", "5")
    assert code == 2
    assert "MB" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["scan", "--mailbox", "/nonexistent/mailbox.json"],
        ["scan", "--now", "yesterday-ish"],
        ["scan", "--threshold", "0"],
    ],
)
def test_scan_bad_arguments_exit_2(capsys: Any, argv: list[str]) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert "Traceback" not in err and err.strip()


def test_demo_without_serving_prints_silent_prospects(capsys: Any, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "demo", "--no-serve", "--instance", str(tmp_path / "demo"))
    assert code == 0
    assert "through google-api-python-client" in out
    assert "Silent prospects (" in out
    assert (tmp_path / "demo" / "demo.sqlite3").exists()


def test_export_then_scan_matches_sync_then_scan(
    capsys: Any, tmp_path: Path, emulator: Any
) -> None:
    out_file = tmp_path / "export.json"
    code, out, _ = run(capsys, "export", "--out", str(out_file), "--emulator", emulator.url)
    assert code == 0 and out_file.exists()
    exported = json.loads(out_file.read_text())
    assert exported["emailAddress"] == "alex@northwind-demo.com"
    assert exported["threads"]

    code, _, _ = run(capsys, "sync", "--emulator", emulator.url, "--quiet")
    assert code == 0
    args = ["--now", NOW.isoformat(), "--threshold", "5", "--format", "json"]
    _, from_db, _ = run(capsys, "scan", *args)
    _, from_file, _ = run(capsys, "scan", "--mailbox", str(out_file), *args)
    assert json.loads(from_db)["silent"] == json.loads(from_file)["silent"]
    assert json.loads(from_db)["silent"]


def test_sync_without_a_connected_account_explains_what_to_do(capsys: Any) -> None:
    code, _, err = run(capsys, "sync")
    assert code == 2
    assert "stepback connect" in err


def test_connect_rejects_a_file_that_is_not_a_desktop_client(capsys: Any, tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"web": {"client_id": "x"}}))
    code, _, err = run(capsys, "connect", "--client-secrets", str(path))
    assert code == 2 and "Desktop app" in err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_emulator_command_serves_the_gmail_api(mailbox_file: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server.cli",
            "emulator",
            "--mailbox",
            str(mailbox_file),
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ},
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)

        class Url:
            url = f"http://127.0.0.1:{port}/"

        client = gmail_client(Url())
        assert client.profile()["emailAddress"] == "alex@northwind-demo.com"
        threads, _ = client.list_threads(["SENT"])
        assert threads
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_emulator_command_reports_a_busy_port_in_one_line(capsys: Any, mailbox_file: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = run(capsys, "emulator", "--mailbox", str(mailbox_file), "--port", str(port))
    assert code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in err and "Traceback" not in err


def test_export_skips_a_malformed_message_names_it_and_keeps_the_rest(
    capsys: Any, tmp_path: Path, emulator: Any, demo_mailbox: Any
) -> None:
    thread = next(t for t in demo_mailbox["threads"] if len(t["messages"]) > 1)
    victim = thread["messages"][0]["id"]
    emulator.inject_malformed(victim)
    out_file = tmp_path / "x.json"
    code, _, err = run(
        capsys, "export", "--out", str(out_file), "--emulator", emulator.url, "--all"
    )
    assert code == 0
    assert f"skipped malformed message: thread {thread['id']}: message {victim}" in err
    exported = {t["id"]: t for t in json.loads(out_file.read_text())["threads"]}
    kept = [m["id"] for m in exported[thread["id"]]["messages"]]
    assert victim not in kept and len(kept) == len(thread["messages"]) - 1
