"""The rep's JSON API for the browser extension: /api/v1/... plus /api/openapi.json."""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter
from limits.errors import ConfigurationError

from server.api.identity import rate_limit_key

LIMIT_MESSAGE = "Too many requests; wait for the time in Retry-After, then try again."


def _limit() -> str:
    return str(current_app.config.get("API_RATE_LIMIT") or "120 per minute")


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

    storage = app.config.get("RATELIMIT_STORAGE_URI") or "memory://"
    limiter = Limiter(
        rate_limit_key,
        storage_uri=storage,
        # If the limit store (Redis) is down, keep serving with per-process limits.
        swallow_errors=True,
        in_memory_fallback_enabled=True,
    )
    limiter.limit(_limit, error_message=LIMIT_MESSAGE)(bp)
    try:
        limiter.init_app(app)
    except ConfigurationError as exc:
        raise RuntimeError(f"RATELIMIT_STORAGE_URI {storage!r} cannot be used: {exc}") from None
    app.extensions["stepback_api_limiter"] = limiter
    app.register_blueprint(bp)
    init_docs(app)
