"""Shared pieces of the CLI: errors, progress output, the app and local account."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import Any

import click


class CliError(click.ClickException):
    """A clear, one-line error for the user; exit code 2 (bad input) unless told otherwise."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            # click declares exit_code on the class; an instance may still need its own.
            self.exit_code = exit_code  # type: ignore[misc]


class CliFailure(CliError):
    """The input was fine but the work failed (Gmail unreachable, refused...): exit code 1."""

    exit_code = 1


def parse_now(value: str | None) -> datetime:
    """Parse an ISO 8601 moment (a bare date or a naive time counts as UTC)."""
    if not value:
        return datetime.now(UTC)
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise CliError(f"--now: not an ISO 8601 date or time: {value!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class Progress:
    """Progress on stderr: a live line on a terminal, a line every few seconds otherwise."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self._last = 0.0
        self._started = time.monotonic()

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        if self.quiet:
            return
        elapsed = time.monotonic() - self._started
        count = f"{done}/{total}" if total else f"{done}"
        line = f"  syncing: {phase}: {count} ({elapsed:.0f}s)"
        if self.tty:
            click.echo("\r" + line.ljust(78), nl=False, err=True)
        elif time.monotonic() - self._last >= 2 or (total and done >= total):
            click.echo(line, err=True)
            self._last = time.monotonic()

    def finish(self) -> None:
        if self.tty and not self.quiet:
            click.echo("", err=True)


_apps: list[Any] = []


def make_app(overrides: dict[str, Any] | None = None) -> Any:
    """Create the Flask app for a CLI command, with its database migrated.

    Its connection pool is closed by `close_apps()` when the command ends.
    """
    from server import create_app
    from server.store.db import get_db

    app = create_app(overrides)
    _apps.append(app)
    get_db(app).upgrade()
    return app


def close_apps() -> None:
    """Close the connection pools of the apps this command created."""
    from server.store.db import get_db

    while _apps:
        get_db(_apps.pop()).dispose()
