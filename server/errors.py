"""One error shape for every surface: JSON for machine callers, a short HTML page for people."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

JSON_PREFIXES = ("/api/", "/addon/", "/gmail/", "/tasks/")


class ApiError(Exception):
    """An error with an HTTP status and a message meant for the caller."""

    def __init__(
        self, status: int, message: str, *, fields: dict[str, Any] | None = None, reason: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields
        self.reason = reason


def error_body(
    status: int, message: str, fields: dict[str, Any] | None = None, reason: str = ""
) -> dict[str, Any]:
    """Build the JSON error document every endpoint uses."""
    body: dict[str, Any] = {"code": status, "message": message}
    if reason:
        body["reason"] = reason
    if fields:
        body["fields"] = fields
    return {"error": body}


def wants_json() -> bool:
    """Answer in JSON for API-style paths or when the client prefers JSON."""
    if request.path.startswith(JSON_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json"


def _respond(status: int, message: str, fields: dict[str, Any] | None, reason: str) -> Response:
    if wants_json():
        resp = jsonify(error_body(status, message, fields, reason))
    else:
        html = (
            "<!doctype html><meta charset=utf-8><title>stepback: error</title>"
            f"<main><h1>{status}</h1><p>{escape(message)}</p></main>"
        )
        resp = Response(html, mimetype="text/html")
    resp.status_code = status
    return resp


def _database_unreachable(exc: Exception) -> bool:
    """True for lost or refused database connections (not for bad SQL or constraint errors)."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError) and "lock" not in str(exc.orig).lower()


def init_app(app: Flask) -> None:
    """Install handlers so no error leaves the service as a bare traceback page."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return _respond(exc.status, exc.message, exc.fields, exc.reason)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        message = exc.description or exc.name
        resp = _respond(status, message, None, "")
        for key, value in exc.get_headers():
            if key.lower() in ("retry-after", "allow", "www-authenticate"):
                resp.headers[key] = value
        return resp

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        if isinstance(exc, HTTPException):
            return _http_error(exc)
        if _database_unreachable(exc):
            # A restart or failover: nothing was written; the caller should simply retry.
            log.warning("database unavailable on %s %s: %s", request.method, request.path, exc)
            resp = _respond(503, "The database is briefly unavailable; please retry.", None, "")
            resp.headers["Retry-After"] = "5"
            return resp
        log.exception("unhandled error on %s %s", request.method, request.path)
        message = "Something went wrong on our side; nothing was changed."
        return _respond(InternalServerError.code, message, None, "")
