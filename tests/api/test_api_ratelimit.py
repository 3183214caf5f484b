"""Per-rep rate limiting (flask-limiter): 429 with Retry-After, keyed by the verified rep."""

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
