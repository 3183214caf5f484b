"""Build the OpenAPI 3 document from the marshmallow schemas and the views' docstrings."""

from __future__ import annotations

from typing import Any

from apispec import APISpec, yaml_utils
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, Response, current_app, jsonify

import server
from server.api import schemas, views

docs_bp = Blueprint("api_docs", __name__, url_prefix="/api")

ERRORS = {
    "BadRequest": (
        400,
        "Malformed JSON, wrong content type, or a body nested deeper than 32 levels "
        "(`reason` body_too_deep; refused before it is parsed).",
    ),
    "TooLarge": (413, "The body is over the size limit (1 MiB by default); nothing was read."),
    "Unauthorized": (401, "Missing, invalid or expired Google access token."),
    "Forbidden": (403, "A valid Google account that is not a user of any org."),
    "NotFound": (404, "No such object among the rep's own."),
    "Conflict": (409, "The object can no longer be changed."),
    "Invalid": (422, "Invalid input; `error.fields` holds per-field messages."),
    "TooManyRequests": (
        429,
        "Rate limit reached, or too many unknown tokens from this address (`reason` "
        "too_many_lookups, counted before Google is asked); retry after `Retry-After` seconds.",
    ),
    "Unavailable": (503, "Google's token check could not be reached."),
}
ROUTES = (
    ("/api/v1/me", views.me),
    ("/api/v1/prospects", views.prospects),
    ("/api/v1/day", views.day),
    ("/api/v1/guidance", views.guidance),
    ("/api/v1/pressure-check", views.pressure_check),
    ("/api/v1/getbacks", views.getbacks),
    ("/api/v1/getbacks", views.create_getback),
    ("/api/v1/getbacks/{getback_id}", views.patch_getback),
    ("/api/v1/getbacks/{getback_id}", views.delete_getback),
    ("/api/v1/plays/inserted", views.play_inserted),
)


def _error_response(name: str, status: int, description: str) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": "ErrorSchema"}},
    }
    if status == 401:
        response["headers"] = {
            "WWW-Authenticate": {"description": "Bearer challenge.", "schema": {"type": "string"}}
        }
    if status in (429, 503):  # 413 carries no Retry-After: a smaller body is the fix
        response["headers"] = {
            "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "string"}}
        }
    return response


def build_spec() -> dict[str, Any]:
    """Return the OpenAPI document of the rep API as a dict."""
    spec = APISpec(
        title="stepback rep API",
        version=server.__version__,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "JSON API for the stepback browser extension. Every call carries "
            "the rep's Google OAuth access token as a bearer token."
        },
    )
    spec.components.security_scheme(
        "bearer",
        {
            "type": "http",
            "scheme": "bearer",
            "description": "A Google OAuth 2.0 access token with the email scope.",
        },
    )
    spec.components.schema("Error", schema=schemas.ErrorSchema)
    for name, (status, description) in ERRORS.items():
        spec.components.response(name, _error_response(name, status, description))
    merged: dict[str, dict[str, Any]] = {}
    for path, view in ROUTES:
        merged.setdefault(path, {}).update(
            yaml_utils.load_operations_from_docstring(view.__doc__ or "")
        )
    for path, operations in merged.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@docs_bp.get("/openapi.json")
def openapi_json() -> Response:
    """Serve the generated OpenAPI document (built once per app)."""
    cached = current_app.extensions.get("stepback_openapi")
    if cached is None:
        cached = build_spec()
        current_app.extensions["stepback_openapi"] = cached
    resp = jsonify(cached)
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp


def init_docs(app: Flask) -> None:
    """Register the document route."""
    app.register_blueprint(docs_bp)
