"""Fixtures for the browser tests: the real app with the synced demo mailbox served on
127.0.0.1, a token-info stand-in, and Chromium running the unpacked extension."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.tokeninfo_standin import TokenInfoStandIn
from tests.conftest import CHROMIUM_ARGS
from tests.extension.harness import Browser, Recorder, Served, copy_extension, launch, serve

CLIENT_ID = "stepback-test-client.apps.googleusercontent.com"
REP_EMAIL = "alex@northwind-demo.com"


@pytest.fixture(scope="session")
def tokeninfo() -> Iterator[TokenInfoStandIn]:
    standin = TokenInfoStandIn(CLIENT_ID).start()
    yield standin
    standin.stop()


@pytest.fixture
def app_config(app_config: dict[str, Any], tokeninfo: TokenInfoStandIn) -> dict[str, Any]:
    return {
        **app_config,
        "GOOGLE_CLIENT_ID": CLIENT_ID,
        "GOOGLE_TOKENINFO_URL": tokeninfo.url,
        "API_RATE_LIMIT": "10000 per minute",
        "RATELIMIT_STORAGE_URI": "memory://",
    }


@pytest.fixture
def rep_token(tokeninfo: TokenInfoStandIn, request: pytest.FixtureRequest) -> str:
    """A token the stand-in knows as the demo rep (unique per test)."""
    return tokeninfo.register(f"ext-{request.node.name}-{id(request)}", REP_EMAIL)


@pytest.fixture
def recorder(app: Any) -> Recorder:
    """Every request the backend receives (method, path, body)."""
    return Recorder(app)


@pytest.fixture
def backend(recorder: Recorder, synced_demo: Any) -> Iterator[Served]:
    """The real app, demo mailbox synced, served over HTTP on a free loopback port."""
    served = serve(recorder)
    yield served
    served.stop()


@pytest.fixture(scope="session")
def extension_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_extension(tmp_path_factory.mktemp("ext"))


@pytest.fixture
def browser(chromium_path: str, extension_dir: Path, tmp_path: Path) -> Iterator[Browser]:
    """Chromium with the extension, in New York time like the demo rep."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = launch(
            playwright,
            chromium_path,
            extension_dir,
            tmp_path / "profile",
            list(CHROMIUM_ARGS),
            locale="en-US",
            timezone_id="America/New_York",
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield launched
        finally:
            launched.context.close()
