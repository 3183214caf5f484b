"""The Gmail add-on on the Workspace HTTP runtime: verified endpoints answering with cards."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the add-on endpoints (/addon/...) and the demo page (/demo/addon)."""
    from server.addon import demo, views

    app.register_blueprint(views.bp)
    app.register_blueprint(demo.bp)
