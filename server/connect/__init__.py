"""A rep's one-time consent for offline, metadata-only Gmail access (/connect/...)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the /connect pages."""
    from server.connect.views import bp

    app.register_blueprint(bp)
