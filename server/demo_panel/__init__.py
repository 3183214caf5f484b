"""/demo/panel: try the compose panel in a browser without installing the extension.

Only served when DEMO_LOGIN is on (as `stepback demo` does). The page runs the extension's own
panel module on a stand-in compose box; its calls go to /demo/panel/api/v1/..., which act as
the seeded demo rep and answer exactly like the JSON API.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the try-it page and its endpoints."""
    from server.demo_panel.views import bp

    app.register_blueprint(bp)
