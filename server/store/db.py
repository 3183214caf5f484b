"""Engine and sessions: one session per request, explicit scopes for CLI and jobs."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def normalise_url(url: str) -> str:
    """Accept the common postgres:// spellings and route them to psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Database:
    """Owns the engine and the session factory of one app."""

    def __init__(self, url: str, **engine_kw: Any) -> None:
        self.url = normalise_url(url)
        # Errors and their log lines show the SQL but never its values (notes, addresses).
        engine_kw.setdefault("hide_parameters", True)
        if self.url.startswith("sqlite"):
            engine_kw.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        else:
            engine_kw.setdefault("pool_pre_ping", True)
        self.engine: Engine = create_engine(self.url, **engine_kw)
        if self.url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        # An app dropped without dispose() (a short-lived CLI or test app) still closes its
        # pooled connections instead of leaving them to the garbage collector.
        weakref.finalize(self, self.engine.dispose)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Yield a session that commits on success and rolls back on error."""
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def upgrade(self) -> None:
        """Bring the schema to the newest migration."""
        from alembic import command

        with self.engine.begin() as conn:
            cfg = alembic_config(self.url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def alembic_config(url: str) -> Any:
    """Alembic configuration pointing at the packaged migrations."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def init_app(app: Flask) -> None:
    """Create the app's database handle and close the request session on teardown."""
    app.extensions["stepback_db"] = Database(app.config["DATABASE_URL"])
    app.teardown_appcontext(_close_session)


def get_db(app: Flask | None = None) -> Database:
    """Return the Database of the given (or current) app."""
    return (app or current_app).extensions["stepback_db"]


def get_session() -> Session:
    """Return this request's session, opening it on first use."""
    if "db_session" not in g:
        g.db_session = get_db().sessionmaker()
    return g.db_session


def _close_session(exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()
