"""`stepback db`: database maintenance."""

from __future__ import annotations

import click

from server.cli.common import make_app


@click.group()
def db() -> None:
    """Manage the database schema."""


@db.command()
def upgrade() -> None:
    """Apply every pending migration (SQLite by default, DATABASE_URL for PostgreSQL)."""
    app = make_app()
    click.echo(f"database is up to date: {_safe_url(app.config['DATABASE_URL'])}")


def _safe_url(url: str) -> str:
    """Hide a password in a database URL before printing it."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
