"""The per-user pacer and the project governor, on a virtual clock and the test database."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest

from server.gmail.pacing import ProjectGovernor, QuotaDeferred, UserPacer, VirtualClock
from server.store.db import get_db


def test_the_pacer_never_spends_more_than_the_budget_in_any_window() -> None:
    clock = VirtualClock()
    pacer = UserPacer(6000, clock=clock)
    spent: list[tuple[float, int]] = []
    for _ in range(400):  # 400 batches of 40-unit calls, 50 at a time: 800,000 units
        pacer.spend(2000)
        spent.append((clock.time(), 2000))
    for at, _units in spent:
        window = sum(u for t, u in spent if at - 60 < t <= at)
        assert window <= 6000
    # ... and it is not slower than the budget allows (a second of slack per minute).
    minutes = (clock.time() - 1_780_000_000.0) / 60
    assert minutes <= 800_000 / 6000 * 61 / 60 + 1


def test_two_instances_share_the_project_budget(app: Any) -> None:
    clock = VirtualClock(1_780_000_020.0)
    engine = get_db(app).engine
    a = ProjectGovernor(engine, units_per_minute=1000, units_per_day=10_000, clock=clock)
    b = ProjectGovernor(engine, units_per_minute=1000, units_per_day=10_000, clock=clock)
    a.spend(600)
    before = clock.time()
    b.spend(600)  # does not fit this minute next to a's 600: waits for the next minute
    assert clock.time() - before == pytest.approx(60 - (before % 60))
    assert a.used() == (600, 1200)


def test_a_spent_day_defers_until_midnight_pacific(app: Any) -> None:
    clock = VirtualClock()
    governor = ProjectGovernor(get_db(app).engine, units_per_minute=1000, units_per_day=1500,
                               clock=clock)
    governor.spend(1000)
    clock.sleep(60)
    with pytest.raises(QuotaDeferred) as caught:
        governor.spend(1000)
    until = caught.value.until
    assert until.timestamp() > clock.time()
    assert until.astimezone(ZoneInfo("America/Los_Angeles")).hour == 0


def test_in_process_counting_shares_the_budget_between_governors() -> None:
    clock = VirtualClock(1_780_000_020.0)
    a = ProjectGovernor(None, units_per_minute=1000, units_per_day=10_000, clock=clock,
                        memory_key="test-shared")
    b = ProjectGovernor(None, units_per_minute=1000, units_per_day=10_000, clock=clock,
                        memory_key="test-shared")
    a.spend(700)
    before = clock.time()
    b.spend(700)
    assert clock.time() > before and b.used() == (700, 1400)
