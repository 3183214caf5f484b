"""Migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from server.store.db import MIGRATIONS, Database, alembic_config
from server.store.models import Base
from tests.production.conftest import scratch_pg


def schema_diff(db: Database) -> list[Any]:
    """What autogenerate would still have to do to reach the models (empty = in step)."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def shape(db: Database) -> dict[str, set[str]]:
    found = inspect(db.engine)
    return {t: {c["name"] for c in found.get_columns(t)} for t in found.get_table_names()}


def test_there_is_one_migration_head() -> None:
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(scripts.get_heads()) == 1
    assert (MIGRATIONS / "versions").is_dir()


def test_sqlite_upgrade_matches_the_models(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    try:
        db.upgrade()
        assert schema_diff(db) == []
        db.upgrade()  # running it again is a no-op
        assert schema_diff(db) == []
        assert set(shape(db)) == set(Base.metadata.tables) | {"alembic_version"}
    finally:
        db.dispose()


@pytest.mark.postgres
def test_postgres_upgrade_on_a_fresh_database_matches_the_models(
    pg_url: str, tmp_path: Path
) -> None:
    with scratch_pg(pg_url, "migrate") as url:
        pg = Database(url)
        lite = Database(f"sqlite:///{tmp_path / 'twin.sqlite3'}")
        try:
            pg.upgrade()
            assert schema_diff(pg) == []
            lite.upgrade()
            # Both databases end up with the same tables and columns.
            assert shape(pg) == shape(lite)
        finally:
            pg.dispose()
            lite.dispose()
