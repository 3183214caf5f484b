"""Run the extension's plain-logic unit tests (tests/extension/js/*.test.mjs) with node --test."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.conftest import need

JS_TESTS = Path(__file__).resolve().parent / "js"


def test_service_worker_logic_under_node() -> None:
    node = shutil.which("node")
    if node is None:
        need("node is not installed (apt-get install -y nodejs)")
    files = sorted(str(p) for p in JS_TESTS.glob("*.test.mjs"))
    assert files, "no JavaScript unit tests found"
    result = subprocess.run(
        [str(node), "--test", *files], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
