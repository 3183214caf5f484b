"""Black-box: `stepback emulator` on a bad day, `stepback sync` until done, then compare scans.

Only the command line is used, as a user would: a tight per-user budget answered 403 (Google's
usage-limit answer), 5% of calls answered 503, a per-user concurrency limit. The quota window is
shortened to a few seconds so the rehearsal fits in CI; the sync sees the same answers as with
Google's one-minute window, only sooner.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import NOW


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(env: dict[str, str], *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *argv],
        capture_output=True, text=True, env=env, timeout=timeout, check=False,
    )


@pytest.mark.slow
def test_sync_on_a_bad_day_stores_exactly_what_scan_finds(
    tmp_path: Path, demo_mailbox: dict[str, Any]
) -> None:
    path = tmp_path / "mailbox.json"
    path.write_text(json.dumps(demo_mailbox))
    dropped = ("DATABASE_URL", "STEPBACK_DATABASE_URL")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    # Our pacer would keep to Google's real 6,000 units a minute and so never meet the
    # emulator's limit; lifting it makes the emulator's 403s (and Retry-After) do the pacing.
    env.update(STEPBACK_INSTANCE_PATH=str(tmp_path / "instance"),
               STEPBACK_GMAIL_BACKOFF_BASE="0.25",
               STEPBACK_GMAIL_USER_UNITS_PER_MINUTE="1000000")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "emulator", "--mailbox", str(path),
         "--port", str(port), "--units-per-minute", "1500", "--window-seconds", "3",
         "--quota-status", "403", "--fail-rate", "0.05", "--seed", "7", "--concurrency", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the emulator did not start"
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/"
        for _ in range(5):  # "until it reports done"; one run normally suffices
            done = _cli(env, "sync", "--emulator", url, "--quiet")
            if done.returncode == 0:
                break
            assert done.returncode == 3, done.stderr  # "not done yet", never a crash
        assert done.returncode == 0 and "sync done" in done.stdout, done.stdout + done.stderr
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C: the emulator prints what it answered
        summary, _ = server.communicate(timeout=10)
    answered = dict(re.findall(r"(\d{3}): (\d+)", summary.rpartition("answered")[2]))
    assert int(answered.get("403", 0)) > 0 and int(answered.get("503", 0)) > 0, summary
    assert int(answered.get("429", 0)) > 0, summary  # the concurrency limit met a batch
    domain = demo_mailbox["emailAddress"].rpartition("@")[2]
    common = ["--now", NOW.isoformat(), "--format", "json", "--reply-target-hours", "24"]
    from_file = _cli(env, "scan", "--mailbox", str(path), "--internal-domain", domain, *common)
    from_store = _cli(env, "scan", "--user", demo_mailbox["emailAddress"], *common)
    assert from_file.returncode == 0 and from_store.returncode == 0, from_store.stderr
    expected, got = json.loads(from_file.stdout), json.loads(from_store.stdout)
    assert expected["silent"], "the mailbox should hold silent prospects"
    assert [v["threadId"] for v in got["silent"]] == [v["threadId"] for v in expected["silent"]]
    assert got["silent"] == expected["silent"]  # none lost, none invented, same verdicts
