"""The access-token verifier against the local token-info stand-in."""

from __future__ import annotations

import threading
import time

import pytest

from server.auth.tokens import TokenError, TokenVerifier, bearer_token, check_claims, token_key
from tests.api.conftest import CLIENT_ID
from tests.api.tokeninfo_standin import TokenInfoStandIn


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def standin(tokeninfo: TokenInfoStandIn) -> TokenInfoStandIn:
    """The session's stand-in with a clean slate (each test uses its own verifier)."""
    tokeninfo.fail_with = None
    tokeninfo.tokens.clear()
    return tokeninfo


def verifier(standin: TokenInfoStandIn, **kw: object) -> TokenVerifier:
    return TokenVerifier(standin.url, CLIENT_ID, 300, **kw)  # type: ignore[arg-type]


def test_valid_token_gives_lowercased_email(standin: TokenInfoStandIn) -> None:
    standin.register("good", "Alex@Northwind-Demo.com")
    info = verifier(standin).verify("good")
    assert info.email == "alex@northwind-demo.com"
    assert "https://www.googleapis.com/auth/userinfo.email" in info.scopes


@pytest.mark.parametrize(
    "register, reason",
    [
        ({"expires_in": -5}, "invalid_token"),  # Google forgets expired tokens: 400
        ({"aud": "someone-else.apps.googleusercontent.com"}, "wrong_audience"),
        ({"scope": "openid https://www.googleapis.com/auth/gmail.metadata"}, "missing_scope"),
        ({"email_verified": False}, "unverified_email"),
    ],
)
def test_rejections(standin: TokenInfoStandIn, register: dict, reason: str) -> None:
    standin.register("tok", "alex@northwind-demo.com", **register)
    with pytest.raises(TokenError) as err:
        verifier(standin).verify("tok")
    assert err.value.status == 401 and err.value.reason == reason


def test_unknown_and_malformed_tokens(standin: TokenInfoStandIn) -> None:
    v = verifier(standin)
    for token in ("never-issued", "a b", "x" * 5000, "ünïcode"):
        with pytest.raises(TokenError) as err:
            v.verify(token)
        assert err.value.status == 401
    # Only the well-formed unknown token reached the endpoint.
    assert v.lookups == 1


def test_claims_checks_expiry_itself() -> None:
    now = 1_900_000_000.0
    base = {"aud": CLIENT_ID, "scope": "email", "email": "a@b.example", "email_verified": "true"}
    assert check_claims({**base, "expires_in": "60"}, CLIENT_ID, now).expires_at == now + 60
    for stale in (
        {"expires_in": "0"},
        {"exp": str(int(now) - 1)},
        {"expires_in": "30", "exp": "5"},
    ):
        with pytest.raises(TokenError) as err:
            check_claims({**base, **stale}, CLIENT_ID, now)
        assert err.value.reason == "expired_token"
    # An azp match is enough (aud may name another client of the same project).
    info = check_claims(
        {**base, "aud": "other", "azp": CLIENT_ID, "exp": str(int(now) + 9)}, CLIENT_ID, now
    )
    assert info.email == "a@b.example"
    with pytest.raises(TokenError):
        check_claims({**base, "expires_in": "60"}, "", now)  # no client id configured


def test_positive_answers_are_cached_until_the_cache_or_token_expires(
    standin: TokenInfoStandIn,
) -> None:
    clock = FakeClock()
    standin.register("short", "alex@northwind-demo.com", expires_in=100)
    v = verifier(standin, clock=clock)
    for _ in range(5):
        v.verify("short")
    assert v.lookups == 1
    clock.now += 101  # past the token's own expiry, well inside the 300 s cache
    with pytest.raises(TokenError):
        v.verify("short")
    assert v.lookups == 2


def test_cache_is_keyed_by_hash_and_bounded(standin: TokenInfoStandIn) -> None:
    v = verifier(standin, max_entries=3)
    for i in range(5):
        standin.register(f"raw-token-{i}", f"u{i}@x.example")
        v.verify(f"raw-token-{i}")
    keys = list(v._cache)
    assert len(keys) == 3
    assert keys == [token_key(f"raw-token-{i}") for i in (2, 3, 4)]
    assert not any("raw-token" in k for k in keys)


def test_failures_are_cached_only_briefly(standin: TokenInfoStandIn) -> None:
    clock = FakeClock()
    v = verifier(standin, clock=clock)
    for _ in range(3):
        with pytest.raises(TokenError):
            v.verify("late")
    assert v.lookups == 1
    standin.register("late", "alex@northwind-demo.com")
    clock.now += 6  # just past the negative cache
    assert v.verify("late").email == "alex@northwind-demo.com"


def test_endpoint_trouble_is_503_and_not_cached(standin: TokenInfoStandIn) -> None:
    standin.register("fine", "alex@northwind-demo.com")
    v = verifier(standin)
    standin.fail_with = 500
    with pytest.raises(TokenError) as err:
        v.verify("fine")
    assert err.value.status == 503
    standin.fail_with = None
    assert v.verify("fine").email == "alex@northwind-demo.com"
    unreachable = TokenVerifier("http://127.0.0.1:9/tokeninfo", CLIENT_ID)
    with pytest.raises(TokenError) as err:
        unreachable.verify("fine")
    assert err.value.status == 503


def test_concurrent_verification_is_consistent(standin: TokenInfoStandIn) -> None:
    for i in range(8):
        standin.register(f"c{i}", f"user{i}@x.example")
    v = verifier(standin, max_entries=4)  # small: forces evictions under contention
    errors: list[str] = []

    def work(n: int) -> None:
        for j in range(40):
            i = (n + j) % 8
            if v.verify(f"c{i}").email != f"user{i}@x.example":
                errors.append(f"c{i}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(v._cache) <= 4


def test_bearer_header_parsing() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("bearer   abc ") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer") is None
    assert bearer_token(None) is None
