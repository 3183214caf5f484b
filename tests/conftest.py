"""Shared fixtures: a fresh database per test (SQLite, or PostgreSQL when configured),
the Gmail emulator with the demo mailbox, and browser/database requirements."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from server import create_app
from server.store.db import Database, get_db
from server.store.models import Base

# A Friday afternoon; the demo mailbox is built relative to it.
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
TEST_KEY = Fernet.generate_key().decode()
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_URL = os.environ.get("STEPBACK_TEST_DATABASE_URL", "")


def need(reason: str) -> None:
    """Skip with a clear reason outside CI; under CI a missing requirement is a failure."""
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is much faster)."""
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[Database | None]:
    """The PostgreSQL test database, migrated from scratch once per run; None when not set."""
    if not PG_URL:
        yield None
        return
    db = Database(PG_URL)
    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    db.upgrade()
    yield db
    db.dispose()


def _truncate(db: Database) -> None:
    names = ", ".join(f'"{t.name}"' for t in reversed(Base.metadata.sorted_tables))
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path, pg_database: Database | None) -> str:
    """A clean database for this test."""
    if pg_database is not None:
        _truncate(pg_database)
        return PG_URL
    path = tmp_path / "test.sqlite3"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict[str, Any]:
    """The test mapping handed to create_app; tests may tweak it before `app` is built."""
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "ENCRYPTION_KEYS": TEST_KEY,
        "FIXED_NOW": NOW.isoformat(),
        "GOOGLE_CLIENT_ID": "stepback-test-client.apps.googleusercontent.com",
        "PUBLIC_BASE_URL": "https://stepback.test",
    }


@pytest.fixture
def app(
    app_config: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """A fresh app on a clean database, its instance folder in tmp."""
    monkeypatch.setenv("STEPBACK_INSTANCE_PATH", str(tmp_path / "instance"))
    application = create_app(app_config)
    yield application
    get_db(application).dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def session(app: Any) -> Iterator[Any]:
    """A database session on the test app (committed on success)."""
    with get_db(app).session() as s:
        yield s


@pytest.fixture
def demo_ids(app: Any) -> Any:
    """The demo orgs, teams and users."""
    from server.demo import seed_demo

    with get_db(app).session() as s:
        return seed_demo(s)


@pytest.fixture
def demo_mailbox() -> dict[str, Any]:
    from server.gmail.demo_mailbox import build_demo_mailbox

    return build_demo_mailbox(NOW)


@pytest.fixture
def emulator(demo_mailbox: dict[str, Any]) -> Iterator[Any]:
    """The Gmail API emulator serving the demo mailbox."""
    from server.gmail.emulator import GmailEmulator

    emu = GmailEmulator(demo_mailbox)
    emu.start()
    yield emu
    emu.stop()


def fast_backoff() -> Any:
    """Retries without real waiting, so fault tests stay quick."""
    from server.gmail.client import Backoff

    return Backoff(attempts=6, base=0.001, cap=0.01)


_open_clients: list[Any] = []


def gmail_client(emulator: Any, token: str = "test-token") -> Any:
    """A production GmailClient pointed at the emulator (closed after the test)."""
    from google.oauth2.credentials import Credentials

    from server.gmail.client import GmailClient

    client = GmailClient(
        Credentials(token=token), api_endpoint=emulator.url, backoff=fast_backoff()
    )
    _open_clients.append(client)
    return client


@pytest.fixture(autouse=True)
def _close_gmail_clients() -> Iterator[None]:
    yield
    while _open_clients:
        _open_clients.pop().close()


@dataclass
class SyncedDemo:
    ids: Any
    emulator: Any
    report: Any


@pytest.fixture
def synced_demo(app: Any, demo_ids: Any, emulator: Any) -> SyncedDemo:
    """The demo rep's mailbox synced into the database through the real client."""
    from server.gmail.sync import MailboxSync
    from server.store.models import User
    from server.store.settings import rep_settings

    with get_db(app).session() as s:
        rep = s.get(User, demo_ids.rep_id)
        assert rep is not None and rep.mailbox is not None
        report = MailboxSync(
            s, rep.mailbox, gmail_client(emulator), rep_settings(rep).context
        ).run()
    return SyncedDemo(demo_ids, emulator, report)


@pytest.fixture
def chromium_path() -> str:
    """Debian's Chromium; skipped outside CI when missing, a failure under CI."""
    path = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if not path:
        need("Chromium is not installed (apt-get install -y chromium)")
    return str(path)


CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-gpu",
    "--no-first-run",
    "--disable-sync",
    *(["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
]


@pytest.fixture
def pg_url() -> str:
    """The PostgreSQL URL for tests that need PostgreSQL itself."""
    if not PG_URL:
        need("STEPBACK_TEST_DATABASE_URL is not set (PostgreSQL tests)")
    return PG_URL


SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def screenshot_dir(tmp_path: Path) -> Path:
    """docs/screenshots when STEPBACK_SCREENSHOTS=1 (to refresh the README's), else tmp."""
    folder = SCREENSHOTS if os.environ.get("STEPBACK_SCREENSHOTS") else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
