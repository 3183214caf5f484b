"""/demo/popup: the extension's toolbar popup in a browser, without installing the extension.

Only served when DEMO_LOGIN is on (as `stepback demo` does). The page runs the popup's own
rendering module; its calls go to /demo/popup/api/v1/..., which act as the seeded demo rep
with the JSON API's schemas and services.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the page and its endpoints."""
    from server.demo_popup.views import bp

    app.register_blueprint(bp)
