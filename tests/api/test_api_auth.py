"""Authentication, authorisation and rate limiting of every endpoint."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Seeded, Tokens
from tests.api.tokeninfo_standin import TokenInfoStandIn

DUE = "2026-12-01T10:00:00-05:00"
ENDPOINTS = [
    ("get", "/me", None),
    ("get", "/prospects", None),
    ("post", "/guidance", {"recipients": ["bob@globex-corp.com"]}),
    ("post", "/pressure-check", {"text": "Hello"}),
    ("get", "/getbacks?due=1", None),
    ("post", "/getbacks", {"threadId": "t-silent", "dueAt": DUE}),
    ("patch", "/getbacks/1", {"note": "x"}),
    ("delete", "/getbacks/1", None),
    ("post", "/plays/inserted", {"play": "step_back", "variant": 0}),
]
IDS = [f"{m} {p}" for m, p, _ in ENDPOINTS]


@pytest.mark.parametrize("method, path, body", ENDPOINTS, ids=IDS)
def test_missing_token_is_401_with_challenge(
    client: Any, seeded: Seeded, method: str, path: str, body: Any
) -> None:
    resp = client.open("/api/v1" + path, method=method.upper(), json=body)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="stepback"'
    assert resp.get_json()["error"]["reason"] == "missing_token"


@pytest.mark.parametrize("method, path, body", ENDPOINTS, ids=IDS)
def test_unknown_google_account_is_403(api: Any, method: str, path: str, body: Any) -> None:
    resp = api(method, path, as_="stranger", json=body)
    assert resp.status_code == 403
    assert resp.get_json()["error"]["reason"] == "unknown_user"


@pytest.mark.parametrize(
    "register, reason",
    [
        ({"expires_in": -1}, "invalid_token"),
        ({"aud": "other.apps.googleusercontent.com"}, "wrong_audience"),
        ({"scope": "openid"}, "missing_scope"),
        ({"email_verified": False}, "unverified_email"),
    ],
)
def test_bad_tokens_are_401(
    client: Any, seeded: Seeded, tokeninfo: TokenInfoStandIn, register: dict, reason: str
) -> None:
    token = tokeninfo.register(f"bad-{reason}", "alex@northwind-demo.com", **register)
    resp = client.get("/api/v1/me", headers=Tokens.header(token))
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].endswith('error="invalid_token"')
    assert resp.get_json()["error"]["reason"] == reason


@pytest.mark.parametrize(
    "header", ["Bearer", "Basic YWxleDpkZW1v", "Bearer never-issued", "Bearer a\tb"]
)
def test_malformed_or_unknown_authorization_is_401(
    client: Any, seeded: Seeded, header: str
) -> None:
    resp = client.get("/api/v1/me", headers={"Authorization": header})
    assert resp.status_code == 401


def test_token_info_down_is_503_with_retry_after(
    client: Any, seeded: Seeded, tokens: Tokens, tokeninfo: TokenInfoStandIn
) -> None:
    tokeninfo.fail_with = 502
    resp = client.get("/api/v1/me", headers=Tokens.header(tokens.alex))
    assert resp.status_code == 503 and int(resp.headers["Retry-After"]) > 0
    tokeninfo.fail_with = None
    assert client.get("/api/v1/me", headers=Tokens.header(tokens.alex)).status_code == 200


def test_verification_is_cached_across_requests(
    client: Any, seeded: Seeded, tokens: Tokens, tokeninfo: TokenInfoStandIn
) -> None:
    before = tokeninfo.hits
    for _ in range(5):
        assert client.get("/api/v1/me", headers=Tokens.header(tokens.alex)).status_code == 200
    assert tokeninfo.hits - before == 1
