"""Per-rep rate limiting: 429 with Retry-After, keyed by the verified rep."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Seeded
from tests.api.test_api_auth import ENDPOINTS, IDS


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "API_RATE_LIMIT": "3 per minute"}


@pytest.mark.parametrize("method, path, body", ENDPOINTS, ids=IDS)
def test_rate_limit_is_429_per_rep(api: Any, method: str, path: str, body: Any) -> None:
    statuses = [api(method, path, json=body).status_code for _ in range(3)]
    assert 429 not in statuses
    resp = api(method, path, json=body)
    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"]) > 0
    assert resp.get_json()["error"]["code"] == 429
    # The limit is per rep: Jordan still gets through.
    assert api("get", "/me", as_="jordan").status_code == 200


def test_retry_after_only_on_limited_responses(api: Any) -> None:
    assert "Retry-After" not in api("get", "/me").headers


def test_anonymous_callers_share_their_address_bucket(client: Any, seeded: Seeded) -> None:
    codes = [client.get("/api/v1/me").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def _redis_up() -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


def test_redis_storage_is_shared_between_instances(
    app_config: dict[str, Any],
    tokens: Any,
    seeded: Seeded,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    """Two app instances on one Redis share each rep's budget (as on Cloud Run)."""
    import uuid

    from server import create_app
    from tests.api.conftest import Tokens
    from tests.conftest import need

    if not _redis_up():
        need("Redis is not answering on 127.0.0.1:6379")
    config = {
        **app_config,
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
        "RATELIMIT_KEY_PREFIX": f"stepback-test-{uuid.uuid4().hex}",
    }
    first = create_app(config).test_client()
    second = create_app(config).test_client()
    alex = Tokens.header(tokens.alex)
    codes = [c.get("/api/v1/me", headers=alex).status_code for c in (first, second, first)]
    assert codes == [200, 200, 200]
    assert second.get("/api/v1/me", headers=alex).status_code == 429
    assert first.get("/api/v1/me", headers=Tokens.header(tokens.jordan)).status_code == 200


def test_unusable_storage_is_a_clear_startup_error(app_config: dict[str, Any]) -> None:
    from server import create_app

    with pytest.raises(RuntimeError, match="RATELIMIT_STORAGE_URI 'nosuch://x' cannot be used"):
        create_app({**app_config, "RATELIMIT_STORAGE_URI": "nosuch://x"})
