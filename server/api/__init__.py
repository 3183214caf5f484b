"""The rep's JSON API for the browser extension: /api/v1/... plus /api/openapi.json."""

from __future__ import annotations

from flask import Flask, Response, request

from server.api.identity import rate_limit_key
from server.api.ratelimit import LIMIT_MESSAGE, init_rate_limit

__all__ = ["LIMIT_MESSAGE", "init_app"]


def init_app(app: Flask) -> None:
    """Register the API blueprints and the per-rep rate limit."""
    from server.api.openapi import init_docs
    from server.api.views import bp

    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "stepback-api")

    # Registered before the limiter so it runs after the limiter has added its headers.
    @app.after_request
    def _retry_after_only_when_limited(resp: Response) -> Response:
        if request.path.startswith("/api/") and resp.status_code not in (429, 503):
            resp.headers.pop("Retry-After", None)
        return resp

    app.extensions["stepback_api_limiter"] = init_rate_limit(app, bp, rate_limit_key)
    app.register_blueprint(bp)
    init_docs(app)
