"""Spend Gmail quota at the pace Google allows instead of colliding with its limits.

Two gates stand before every request:

- `UserPacer`: a rolling one-minute window per mailbox (Google's per-user limit is counted per
  minute: https://developers.google.com/gmail/api/reference/quota). It waits until the call fits.
- `ProjectGovernor`: counters in the database shared by every instance, one per minute and one
  per Pacific day, so the whole deployment stays under the per-project limits. A short wait (the
  next minute) is slept; a long one (the day's units are gone) ends the sync with
  `QuotaDeferred`, which the sync turns into a saved position and a "next retry" time.

The clock and the sleep are injected: tests and benchmarks run on a `VirtualClock`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from server.store.models import GmailQuota

# Google resets daily project quotas at midnight Pacific Time
# (https://cloud.google.com/docs/quotas/overview, "per day" quotas).
PACIFIC = ZoneInfo("America/Los_Angeles")
WaitFn = Callable[[float, str], None]


class Clock:
    """Real time: `time()` in epoch seconds and a blocking `sleep()`."""

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class VirtualClock(Clock):
    """Time that moves only when someone sleeps (tests and benchmarks); thread-safe."""

    def __init__(self, start: float = 1_780_000_000.0) -> None:
        self.now = start
        self.slept = 0.0
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            with self._lock:
                self.now += seconds
                self.slept += seconds


class QuotaDeferred(Exception):  # noqa: N818 - a postponement, not a failure
    """The project's quota is spent for longer than a sync should wait; resume at `until`."""

    def __init__(self, until: datetime, why: str) -> None:
        super().__init__(why)
        self.until = until
        self.why = why


@dataclass
class UserPacer:
    """Never spend more than `units_per_minute` in any rolling `window` seconds."""

    units_per_minute: int
    clock: Clock = field(default_factory=Clock)
    # A second of slack: our send time is earlier than Google's count time, so a unit we
    # think has left the window may still be in Google's.
    window: float = 61.0
    waited: float = 0.0
    _spent: deque[tuple[float, int]] = field(default_factory=deque)
    _total: int = 0

    def spend(self, units: int, on_wait: WaitFn | None = None) -> None:
        units = min(units, self.units_per_minute)  # a single call larger than the budget
        while True:
            now = self.clock.time()
            while self._spent and self._spent[0][0] <= now - self.window:
                self._total -= self._spent.popleft()[1]
            if self._total + units <= self.units_per_minute:
                self._spent.append((now, units))
                self._total += units
                return
            freed, wait = 0, 1.0
            need = self._total + units - self.units_per_minute
            for at, spent in self._spent:
                freed += spent
                if freed >= need:
                    wait = max(0.05, at + self.window - now)
                    break
            if on_wait is not None:
                on_wait(wait, "pacing to the per-user quota")
            self.waited += wait
            self.clock.sleep(wait)


class _Full(Exception):  # noqa: N818 - control flow inside _reserve
    def __init__(self, scope: str) -> None:
        self.scope = scope


_MEMORY: dict[tuple[str, str, int], int] = {}
_MEMORY_LOCK = threading.Lock()


@dataclass
class ProjectGovernor:
    """Per-minute and per-day project budgets, counted in the `gmail_quota` table.

    `memory_key` counts in this process instead (SQLite: one instance, and a second
    connection writing while a sync holds the file's write lock would wait on it).
    """

    engine: Engine | None
    units_per_minute: int = 1_200_000
    units_per_day: int = 80_000_000
    clock: Clock = field(default_factory=Clock)
    max_wait: float = 120.0  # longer waits end the sync with QuotaDeferred
    memory_key: str | None = None

    def spend(self, units: int, on_wait: WaitFn | None = None) -> None:
        while True:
            now = self.clock.time()
            minute = int(now // 60)
            day = datetime.fromtimestamp(now, PACIFIC).date().toordinal()
            full = self._reserve(units, minute, day)
            if full is None:
                return
            if full == "day":
                midnight = datetime.fromordinal(day + 1).replace(tzinfo=PACIFIC)
                raise QuotaDeferred(
                    midnight.astimezone(UTC), "the project's daily Gmail quota is spent"
                )
            wait = (minute + 1) * 60 - now
            if wait > self.max_wait:  # pragma: no cover - a minute is never longer
                raise QuotaDeferred(
                    datetime.fromtimestamp(now + wait, UTC), "the project's Gmail quota is busy"
                )
            if on_wait is not None:
                on_wait(wait, "the project's per-minute Gmail quota is in use by other syncs")
            self.clock.sleep(wait)

    def _reserve(self, units: int, minute: int, day: int) -> str | None:
        """Add `units` to both counters atomically; the name of a full counter, else None."""
        buckets = (("minute", minute, self.units_per_minute), ("day", day, self.units_per_day))
        if self.memory_key is not None or self.engine is None:
            return self._reserve_in_memory(units, buckets)
        for _attempt in range(5):
            try:
                with self.engine.begin() as conn:
                    for scope, period, limit in buckets:
                        key = (GmailQuota.scope == scope) & (GmailQuota.period == period)
                        done = conn.execute(
                            update(GmailQuota)
                            .where(key, GmailQuota.units + units <= limit)
                            .values(units=GmailQuota.units + units)
                        )
                        if done.rowcount:
                            continue
                        if conn.scalar(select(GmailQuota.units).where(key)) is not None:
                            raise _Full(scope)  # undoes the other counter's increment
                        conn.execute(insert(GmailQuota).values(scope=scope, period=period,
                                                               units=units))
                        if scope == "minute":  # old minutes are of no further use
                            conn.execute(delete(GmailQuota).where(
                                GmailQuota.scope == "minute", GmailQuota.period < period - 5))
                return None
            except _Full as full:
                return full.scope
            except IntegrityError:
                continue  # another instance opened the same counter first; count again
        return None  # pragma: no cover - five insert races in a row

    def _reserve_in_memory(self, units: int, buckets: tuple[tuple[str, int, int], ...]
                           ) -> str | None:
        key = self.memory_key or ""
        with _MEMORY_LOCK:
            for scope, period, limit in buckets:
                used = _MEMORY.get((key, scope, period), 0)
                if used and used + units > limit:
                    return scope
            for scope, period, _limit in buckets:
                _MEMORY[(key, scope, period)] = _MEMORY.get((key, scope, period), 0) + units
            stale = [k for k in _MEMORY if k[0] == key and k[1] == "minute"
                     and k[2] < buckets[0][1] - 5]
            for k in stale:
                del _MEMORY[k]
        return None

    def used(self, now: float | None = None) -> tuple[int, int]:
        """Units counted this minute and this Pacific day."""
        now = self.clock.time() if now is None else now
        minute = int(now // 60)
        day = datetime.fromtimestamp(now, PACIFIC).date().toordinal()
        if self.memory_key is not None or self.engine is None:
            key = self.memory_key or ""
            with _MEMORY_LOCK:
                return (_MEMORY.get((key, "minute", minute), 0),
                        _MEMORY.get((key, "day", day), 0))
        with self.engine.connect() as conn:
            rows = dict(
                ((s, p), u)
                for s, p, u in conn.execute(
                    select(GmailQuota.scope, GmailQuota.period, GmailQuota.units)
                )
            )
        return int(rows.get(("minute", minute), 0)), int(rows.get(("day", day), 0))


@dataclass
class QuotaGate:
    """What a GmailClient consults before each request: the user's pacer, then the project."""

    pacer: UserPacer | None = None
    governor: ProjectGovernor | None = None
    on_wait: WaitFn | None = None
    spent: int = 0

    def burst(self) -> int:
        """The most units one request may cost (0: no limit)."""
        limits = [g.units_per_minute for g in (self.pacer, self.governor) if g is not None]
        return min(limits) if limits else 0

    def spend(self, units: int) -> None:
        if self.pacer is not None:
            self.pacer.spend(units, self.on_wait)
        if self.governor is not None:
            self.governor.spend(units, self.on_wait)
        self.spent += units


def next_retry(now: datetime, attempts: int) -> datetime:
    """When pending threads are tried again: one minute, doubling, at most an hour."""
    return now + timedelta(seconds=min(3600, 60 * 2 ** max(0, attempts - 1)))
