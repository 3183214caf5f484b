"""Fixtures for the add-on tests: test signing keys served like Google's certificates,
an app configured for the add-on, and a helper that posts signed events."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from server.demo import DEMO_REP
from tests.addon.stand_in import (
    ADDON_CLIENT_ID,
    KID,
    SERVICE_ACCOUNT,
    CertServer,
    Event,
    KeyPair,
    Tokens,
    make_key,
)


@pytest.fixture(scope="session")
def google_key() -> KeyPair:
    return make_key()


@pytest.fixture(scope="session")
def forger_key() -> KeyPair:
    """A key Google never published (forged tokens are signed with it)."""
    return make_key("someone else")


@pytest.fixture
def certs(google_key: KeyPair) -> Iterator[CertServer]:
    server = CertServer({KID: google_key.cert_pem.decode()})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def tokens(google_key: KeyPair) -> Tokens:
    return Tokens(google_key)


@pytest.fixture
def app_config(app_config: dict[str, Any], certs: CertServer) -> dict[str, Any]:
    """The shared test mapping plus what the add-on needs."""
    return {
        **app_config,
        "ADDON_SERVICE_ACCOUNT": SERVICE_ACCOUNT,
        "ADDON_CLIENT_ID": ADDON_CLIENT_ID,
        "GOOGLE_CERTS_URL": certs.url,
    }


@dataclass
class Addon:
    """Post signed add-on events to the test app."""

    client: Any
    tokens: Tokens

    def event(self, email: str = DEMO_REP, **kw: Any) -> Event:
        return Event(user_token=self.tokens.user(email), **kw)

    def post(self, path: str, event: Event | dict[str, Any] | None = None, *,
             system_token: str | None = None, header: bool = True, **kw: Any) -> Any:
        body = event.body() if isinstance(event, Event) else event
        if body is None:
            body = self.event().body()
        token = self.tokens.system(path) if system_token is None else system_token
        headers = {"Authorization": f"Bearer {token}"} if header and token else {}
        return self.client.post(path, json=body, headers=headers, **kw)


@pytest.fixture
def addon(client: Any, tokens: Tokens) -> Addon:
    return Addon(client, tokens)


@pytest.fixture
def gmail_app(app: Any, synced_demo: Any) -> Any:
    """The app with the demo mailbox synced and Gmail pointed at the emulator."""
    app.config["GMAIL_API_ENDPOINT"] = synced_demo.emulator.url
    return app

