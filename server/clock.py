"""The current time, overridable by configuration so tests and demos are reproducible."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, has_app_context


def now() -> datetime:
    """Aware UTC now, or the app's FIXED_NOW (an ISO 8601 string or datetime) when set."""
    if has_app_context():
        fixed = current_app.config.get("FIXED_NOW")
        if fixed:
            moment = fixed if isinstance(fixed, datetime) else datetime.fromisoformat(str(fixed))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return moment.astimezone(UTC)
    return datetime.now(UTC)
