"""Fixtures for the admin tests: demo sign-in on, a known small mailbox synced for the rep."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from server.store.db import get_db
from tests.admin.helpers import small_mailbox
from tests.admin.standin import CLIENT_ID, GoogleStandIn


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """The shared test config, plus the demo's local sign-in over plain http."""
    return {**app_config, "DEMO_LOGIN": True, "SESSION_COOKIE_SECURE": False}


@pytest.fixture
def google() -> Iterator[GoogleStandIn]:
    """Google's sign-in stand-in, started for the test (modules that use it add its config)."""
    standin = GoogleStandIn(CLIENT_ID).start()
    yield standin
    standin.stop()


@dataclass
class Synced:
    ids: Any
    emulator: Any


@pytest.fixture
def synced(app: Any, demo_ids: Any) -> Iterator[Synced]:
    """The demo rep's small mailbox synced through the emulator and the real Gmail client."""
    from google.oauth2.credentials import Credentials

    from server import clock
    from server.gmail.client import Backoff, GmailClient
    from server.gmail.emulator import GmailEmulator
    from server.gmail.sync import MailboxSync
    from server.store.models import User
    from server.store.settings import rep_settings

    with app.app_context():
        now = clock.now()
    emu = GmailEmulator(small_mailbox(now)).start()
    try:
        client = GmailClient(
            Credentials(token="test-token"),
            api_endpoint=emu.url,
            backoff=Backoff(attempts=3, base=0.001, cap=0.01),
        )
        with client, get_db(app).session() as s:
            rep = s.get(User, demo_ids.rep_id)
            assert rep is not None and rep.mailbox is not None
            MailboxSync(s, rep.mailbox, client, rep_settings(rep).context).run()
        yield Synced(demo_ids, emu)
    finally:
        emu.stop()
