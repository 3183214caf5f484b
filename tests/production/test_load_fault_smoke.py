"""A few seconds of bench/load_fault.py: its invariants (no lost writes, no stray 5xx, every
push synced) must hold on a small run too. The full run is `python bench/load_fault.py`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.production.conftest import scratch_pg

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_a_short_load_and_fault_run_keeps_every_write(
    pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from bench.load_fault import main

    with scratch_pg(pg_url, "bench") as url:
        status: Any = main(["--seconds", "6", "--reps", "8", "--database-url", url])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "inject: 429 burst" in out and "inject: expired historyId" in out
    assert "OK: no acknowledged get-back date or settings change was lost" in out
