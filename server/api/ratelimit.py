"""Per-rep rate limit of the JSON API: a fixed window per rep and endpoint.

Same settings, Redis keys and headers as flask-limiter's fixed window, which the API used
before (API_RATE_LIMIT in its syntax, RATELIMIT_STORAGE_URI, RATELIMIT_KEY_PREFIX,
RATELIMIT_HEADERS_ENABLED, RATELIMIT_ENABLED), with far less work per request: one storage
trip both counts the request and reads the window's reset time. In Redis that is a single
script call (flask-limiter made three round trips); in memory, a dict update under a lock.
If the shared store fails, requests are limited per process until it answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from flask import Blueprint, Flask, Response, request
from limits import RateLimitItem, parse_many
from limits.errors import ConfigurationError
from limits.storage import RedisStorage, Storage, storage_from_string

from server.errors import ApiError

log = logging.getLogger(__name__)

LIMIT_MESSAGE = "Too many requests; wait for the time in Retry-After, then try again."
DEFAULT_LIMIT = "120 per minute"
# Token-info lookups (tokens not yet verified) per caller address: a rep needs one per token
# (about one an hour); a flood of made-up tokens is stopped here before any outbound call.
DEFAULT_LOOKUP_LIMIT = "30 per minute"
LOOKUP_MESSAGE = (
    "Too many sign-in attempts with unknown tokens from this address; wait for the time in "
    "Retry-After, then try again."
)
# After the shared store fails, it is tried again this many seconds later.
RETRY_STORE_SECONDS = 10.0
# Lua: count this request and report the window's remaining seconds, in one round trip.
# Same keys and expiry rule as the limits library's fixed window (the first hit starts the
# window); a counter that somehow lost its expiry gets one instead of limiting forever.
_HIT_SCRIPT = """
local current = redis.call("incrby", KEYS[1], 1)
local ttl = redis.call("ttl", KEYS[1])
if current == 1 or ttl < 0 then
    redis.call("expire", KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
end
return {current, ttl}
"""


class Windows(Protocol):
    """Fixed-window counters: count one hit, return (count so far, window end in epoch s)."""

    def hit(self, key: str, expiry: int) -> tuple[int, float]: ...


class LocalWindows:
    """Counters in this process (memory://, and the fallback when the shared store fails)."""

    def __init__(self, clock: Callable[[], float] = time.time, max_keys: int = 100_000) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._lock = threading.Lock()
        self._data: dict[str, list[float]] = {}

    def hit(self, key: str, expiry: int) -> tuple[int, float]:
        now = self._clock()
        with self._lock:
            entry = self._data.get(key)
            if entry is None or entry[1] <= now:
                if len(self._data) >= self._max_keys:
                    self._purge(now)
                entry = self._data[key] = [0, now + expiry]
            entry[0] += 1
            return int(entry[0]), entry[1]

    def _purge(self, now: float) -> None:
        expired = [k for k, (_, end) in self._data.items() if end <= now]
        for k in expired:
            del self._data[k]
        if len(self._data) >= self._max_keys:
            self._data.clear()  # all live: forgetting some counts beats growing without bound


class RedisWindows:
    """Counters in Redis (keys as the limits library names them), one script call per hit."""

    def __init__(self, storage: RedisStorage) -> None:
        self._storage = storage
        self._script = storage.get_connection().register_script(_HIT_SCRIPT.encode())

    def hit(self, key: str, expiry: int) -> tuple[int, float]:
        count, ttl = self._script([self._storage.prefixed_key(key)], [expiry])
        return int(count), time.time() + max(int(ttl), 0)


class StorageWindows:
    """Any other storage the limits library knows (two calls per hit)."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def hit(self, key: str, expiry: int) -> tuple[int, float]:
        count = self._storage.incr(key, expiry)
        return int(count), float(self._storage.get_expiry(key))


def windows_for(uri: str) -> Windows:
    """Counters for RATELIMIT_STORAGE_URI; RuntimeError when it cannot be used."""
    if uri.startswith("memory://"):
        return LocalWindows()
    try:
        storage = storage_from_string(uri)
    except (ConfigurationError, ValueError, ImportError) as exc:
        raise RuntimeError(f"RATELIMIT_STORAGE_URI {uri!r} cannot be used: {exc}") from None
    if isinstance(storage, RedisStorage):
        return RedisWindows(storage)
    if not isinstance(storage, Storage):  # an asyncio storage (async+...): not for Flask
        raise RuntimeError(f"RATELIMIT_STORAGE_URI {uri!r} cannot be used: it is asynchronous")
    return StorageWindows(storage)


@dataclass(frozen=True)
class Verdict:
    """The limit reported in the headers, this request's count in it and its window end."""

    item: RateLimitItem
    count: int
    reset: float

    @property
    def breached(self) -> bool:
        return self.count > self.item.amount


class ApiRateLimit:
    """Apply API_RATE_LIMIT per rep and endpoint to one blueprint."""

    def __init__(
        self,
        limit: str,
        windows: Windows,
        key_func: Callable[[], str],
        *,
        prefix: str = "",
        headers: bool = True,
        enabled: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        try:
            items = parse_many(limit)
        except ValueError as exc:
            raise RuntimeError(f"API_RATE_LIMIT {limit!r} is not a rate limit: {exc}") from None
        # Smallest window first: with several limits, its numbers are the most useful hint.
        self.items: list[RateLimitItem] = sorted(items)
        self.windows = windows
        self.key_func = key_func
        self.prefix = prefix
        self.headers = headers
        self.enabled = enabled
        self._clock = clock
        self._local = LocalWindows(clock)
        self._store_down_until = 0.0

    def _hit(self, key: str, expiry: int) -> tuple[int, float]:
        if self._clock() >= self._store_down_until:
            try:
                return self.windows.hit(key, expiry)
            except Exception as exc:  # noqa: BLE001 - any store failure: limit locally instead
                log.warning(
                    "rate limit store unreachable (%s); limiting per process for %.0f s",
                    exc,
                    RETRY_STORE_SECONDS,
                )
                self._store_down_until = self._clock() + RETRY_STORE_SECONDS
        return self._local.hit(key, expiry)

    def check(self) -> Verdict | None:
        """Count this request against every limit; raise 429 on the first one exceeded."""
        if not self.enabled or not request.endpoint:
            return None
        ident = self.key_func()
        first: Verdict | None = None
        for item in self.items:
            key = item.key_for(*([self.prefix] if self.prefix else []), ident, request.endpoint)
            count, reset = self._hit(key, item.get_expiry())
            verdict = Verdict(item, count, reset)
            if verdict.breached:
                request.environ["stepback.rate_limit"] = verdict
                log.info("rate limit %s exceeded by %s at %s", item, ident, request.endpoint)
                raise ApiError(429, LIMIT_MESSAGE)
            first = first or verdict
        request.environ["stepback.rate_limit"] = first
        return first

    def add_headers(self, resp: Response) -> Response:
        """X-RateLimit-Limit/-Remaining/-Reset, and Retry-After on a 429."""
        verdict: Verdict | None = request.environ.get("stepback.rate_limit")
        if verdict is None:
            return resp
        reset_at = int(verdict.reset + 1)
        if self.headers:
            resp.headers["X-RateLimit-Limit"] = str(verdict.item.amount)
            resp.headers["X-RateLimit-Remaining"] = str(max(0, verdict.item.amount - verdict.count))
            resp.headers["X-RateLimit-Reset"] = str(reset_at)
        if verdict.breached:
            resp.headers["Retry-After"] = str(max(1, int(reset_at - self._clock())))
        return resp


class LookupGate:
    """Count token-info lookups per caller address, in the API limiter's storage."""

    def __init__(self, limit: str, limiter: ApiRateLimit) -> None:
        try:
            self.items: list[RateLimitItem] = sorted(parse_many(limit))
        except ValueError as exc:
            raise RuntimeError(f"TOKEN_LOOKUP_LIMIT {limit!r} is not a rate limit: {exc}") from None
        self.limiter = limiter

    def admit(self, address: str) -> None:
        """Count one lookup from `address`; 429 (with Retry-After) once over the limit."""
        if not self.limiter.enabled:
            return
        for item in self.items:
            key = item.key_for(
                *([self.limiter.prefix] if self.limiter.prefix else []), "lookup", address
            )
            count, reset = self.limiter._hit(key, item.get_expiry())
            verdict = Verdict(item, count, reset)
            if verdict.breached:
                request.environ["stepback.rate_limit"] = verdict
                log.info("token lookup limit %s exceeded by %s", item, address)
                raise ApiError(429, LOOKUP_MESSAGE, reason="too_many_lookups")


def init_rate_limit(app: Flask, bp: Blueprint, key_func: Callable[[], str]) -> ApiRateLimit:
    """Limit every endpoint of `bp` as configured in `app` (config read once, at start-up)."""
    config: Any = app.config
    storage = str(config.get("RATELIMIT_STORAGE_URI") or "memory://")
    limiter = ApiRateLimit(
        str(config.get("API_RATE_LIMIT") or DEFAULT_LIMIT),
        windows_for(storage),
        key_func,
        prefix=str(config.get("RATELIMIT_KEY_PREFIX", "stepback-api") or ""),
        headers=bool(config.get("RATELIMIT_HEADERS_ENABLED", True)),
        enabled=bool(config.get("RATELIMIT_ENABLED", True)),
    )

    lookup = str(config.get("TOKEN_LOOKUP_LIMIT") or DEFAULT_LOOKUP_LIMIT)
    app.extensions["stepback_lookup_gate"] = LookupGate(lookup, limiter)

    # App-level hooks (a blueprint is shared by every app built in this process).
    @app.before_request
    def _rate_limit() -> None:
        if request.blueprint == bp.name:
            limiter.check()

    @app.after_request
    def _rate_limit_headers(resp: Response) -> Response:
        if request.blueprint == bp.name:
            return limiter.add_headers(resp)
        return resp

    return limiter
