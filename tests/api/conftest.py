"""API fixtures: a token-info stand-in, reps with tokens, and Alex's hand-built mailbox."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.tokeninfo_standin import TokenInfoStandIn

CLIENT_ID = "stepback-test-client.apps.googleusercontent.com"


@pytest.fixture(scope="session")
def tokeninfo() -> Iterator[TokenInfoStandIn]:
    standin = TokenInfoStandIn(CLIENT_ID).start()
    yield standin
    standin.stop()


@pytest.fixture
def app_config(app_config: dict[str, Any], tokeninfo: TokenInfoStandIn) -> dict[str, Any]:
    tokeninfo.fail_with = None
    return {
        **app_config,
        "GOOGLE_CLIENT_ID": CLIENT_ID,
        "GOOGLE_TOKENINFO_URL": tokeninfo.url,
        "API_RATE_LIMIT": "1000 per minute",
        "RATELIMIT_STORAGE_URI": "memory://",
    }


@dataclass
class Tokens:
    alex: str
    jordan: str
    casey: str
    stranger: str

    @staticmethod
    def header(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def tokens(tokeninfo: TokenInfoStandIn, request: pytest.FixtureRequest) -> Tokens:
    """Fresh tokens for the demo users (unique per test so caches never leak between tests)."""
    tag = hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:16] + uuid.uuid4().hex
    return Tokens(
        alex=tokeninfo.register(f"alex-{tag}", "Alex@Northwind-Demo.com"),
        jordan=tokeninfo.register(f"jordan-{tag}", "jordan@northwind-demo.com"),
        casey=tokeninfo.register(f"casey-{tag}", "casey@contoso-demo.com"),
        stranger=tokeninfo.register(f"stranger-{tag}", "someone@elsewhere.example"),
    )


@dataclass
class Seeded:
    org_id: int
    other_org_id: int
    alex_id: int
    jordan_id: int
    casey_id: int


@pytest.fixture
def seeded(app: Any, demo_ids: Any) -> Seeded:
    """Demo users with hand-built mailboxes; the app context is closed again before requests."""
    from server.store.db import get_db
    from tests.services.mailboxes import seed_mailboxes

    with app.app_context(), get_db(app).session() as s:
        alex, jordan, casey = seed_mailboxes(s, demo_ids)
        return Seeded(alex.org_id, casey.org_id, alex.id, jordan.id, casey.id)


@pytest.fixture
def api(client: Any, tokens: Tokens, seeded: Seeded) -> Any:
    """Call the API as a rep: api("get", "/me", as_="alex", json=...)."""

    def call(method: str, path: str, *, as_: str = "alex", **kw: Any) -> Any:
        headers = {**Tokens.header(getattr(tokens, as_)), **kw.pop("headers", {})}
        return client.open("/api/v1" + path, method=method.upper(), headers=headers, **kw)

    return call
