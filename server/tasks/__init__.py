"""Endpoints Cloud Scheduler calls: renew Gmail watches, poll quiet mailboxes, due get-backs."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the scheduler endpoints under /tasks/."""
    from server.tasks.views import bp

    app.register_blueprint(bp)
