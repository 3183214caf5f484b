"""The API's fixed-window rate limit: headers, per-endpoint budgets, Redis keys, fallback."""

from __future__ import annotations

import logging
import socket
import uuid
from typing import Any

import pytest

from server.api.ratelimit import LocalWindows, windows_for
from tests.api.conftest import Seeded, Tokens
from tests.conftest import need


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "API_RATE_LIMIT": "3 per minute"}


def _limits(resp: Any) -> tuple[int, int, int]:
    h = resp.headers
    return int(h["X-RateLimit-Limit"]), int(h["X-RateLimit-Remaining"]), int(h["X-RateLimit-Reset"])


def test_headers_count_down_and_429_says_when(api: Any) -> None:
    answers = [api("get", "/me") for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    seen = [_limits(r) for r in answers]
    assert [s[:2] for s in seen] == [(3, 2), (3, 1), (3, 0), (3, 0)]
    assert len({s[2] for s in seen}) == 1  # one window, one reset time
    retry = int(answers[3].headers["Retry-After"])
    assert 0 < retry <= 61
    assert all("Retry-After" not in r.headers for r in answers[:3])


def test_each_endpoint_has_its_own_budget(api: Any) -> None:
    for _ in range(3):
        api("get", "/me")
    assert api("get", "/me").status_code == 429
    resp = api("get", "/getbacks")
    assert resp.status_code == 200 and _limits(resp)[1] == 2


def test_docs_are_not_limited(client: Any, seeded: Seeded) -> None:
    for _ in range(5):
        resp = client.get("/api/openapi.json")
        assert resp.status_code == 200 and "X-RateLimit-Limit" not in resp.headers


def test_several_limits_report_the_shortest_window(app_config: dict[str, Any], tokens: Tokens,
                                                   seeded: Seeded) -> None:
    from server import create_app
    from server.store.db import get_db

    app = create_app({**app_config, "API_RATE_LIMIT": "2 per hour; 5 per day"})
    try:
        client = app.test_client()
        first = client.get("/api/v1/me", headers=Tokens.header(tokens.alex))
        assert _limits(first)[:2] == (2, 1)
        client.get("/api/v1/me", headers=Tokens.header(tokens.alex))
        third = client.get("/api/v1/me", headers=Tokens.header(tokens.alex))
        assert third.status_code == 429 and _limits(third)[:2] == (2, 0)
        assert int(third.headers["Retry-After"]) > 60  # the hour's window, not the day's
    finally:
        get_db(app).dispose()


def test_disabled_limit_adds_nothing(app_config: dict[str, Any], tokens: Tokens,
                                     seeded: Seeded) -> None:
    from server import create_app
    from server.store.db import get_db

    app = create_app({**app_config, "RATELIMIT_ENABLED": False})
    try:
        client = app.test_client()
        answers = [client.get("/api/v1/me", headers=Tokens.header(tokens.alex)) for _ in range(5)]
        assert {r.status_code for r in answers} == {200}
        assert all("X-RateLimit-Limit" not in r.headers for r in answers)
    finally:
        get_db(app).dispose()


@pytest.mark.parametrize("limit", ["three per minute", "3 per fortnight"])
def test_unreadable_limit_is_a_clear_startup_error(app_config: dict[str, Any], limit: str) -> None:
    from server import create_app

    with pytest.raises(RuntimeError, match="API_RATE_LIMIT .* is not a rate limit"):
        create_app({**app_config, "API_RATE_LIMIT": limit})


def test_async_storage_is_refused() -> None:
    with pytest.raises(RuntimeError, match="cannot be used: it is asynchronous"):
        windows_for("async+memory://")


def test_local_windows_restart_after_expiry_and_stay_bounded() -> None:
    now = [1000.0]
    windows = LocalWindows(clock=lambda: now[0], max_keys=3)
    assert windows.hit("a", 60) == (1, 1060.0)
    now[0] += 30
    assert windows.hit("a", 60) == (2, 1060.0)
    now[0] += 30
    assert windows.hit("a", 60) == (1, 1120.0)  # a new window
    for key in ("b", "c", "d", "e"):
        windows.hit(key, 60)
    assert len(windows._data) <= 3


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def test_redis_keys_match_the_limits_library(app_config: dict[str, Any], tokens: Tokens,
                                             seeded: Seeded) -> None:
    """Counters live under the same keys flask-limiter used, so old and new instances share."""
    import redis

    from server import create_app
    from server.store.db import get_db

    if not _redis_up():
        need("Redis is not answering on 127.0.0.1:6379")
    prefix = f"stepback-test-{uuid.uuid4().hex}"
    app = create_app(
        {**app_config, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
         "RATELIMIT_KEY_PREFIX": prefix}
    )
    conn = redis.Redis.from_url("redis://127.0.0.1:6379")
    key = f"LIMITS:LIMITER/{prefix}/rep:alex@northwind-demo.com/api_v1.me/3/1/minute"
    try:
        client = app.test_client()
        assert client.get("/api/v1/me", headers=Tokens.header(tokens.alex)).status_code == 200
        assert conn.get(key) == b"1" and 0 < int(conn.ttl(key)) <= 60
        conn.set(key, 3, keepttl=True)  # as if another instance had spent the budget
        assert client.get("/api/v1/me", headers=Tokens.header(tokens.alex)).status_code == 429
        conn.persist(key)  # a counter that lost its expiry must not limit forever
        client.get("/api/v1/me", headers=Tokens.header(tokens.alex))
        assert 0 < int(conn.ttl(key)) <= 60
    finally:
        conn.delete(key)
        conn.close()
        get_db(app).dispose()


def test_unreachable_redis_falls_back_to_per_process_limits(
    app_config: dict[str, Any], tokens: Tokens, seeded: Seeded, caplog: Any
) -> None:
    from server import create_app
    from server.store.db import get_db

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app({**app_config, "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{port}"})
    try:
        client = app.test_client()
        with caplog.at_level(logging.WARNING, logger="server.api.ratelimit"):
            codes = [
                client.get("/api/v1/me", headers=Tokens.header(tokens.alex)).status_code
                for _ in range(4)
            ]
        assert codes == [200, 200, 200, 429]
        assert "rate limit store unreachable" in caplog.text
    finally:
        get_db(app).dispose()
