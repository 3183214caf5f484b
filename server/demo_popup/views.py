"""The /demo/popup page, the extension files it loads, and its demo-rep API twin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, jsonify, render_template, request
from marshmallow import Schema, ValidationError

from server import clock
from server.api import schemas as s
from server.auth.session import check_csrf, csrf_token
from server.demo_panel.views import (
    EXTENSION_DIR,
    NO_EXTENSION,
    _demo_rep,
    guard_demo_blueprint,
    serve_file,
)
from server.errors import ApiError
from server.services.day import rep_day
from server.services.getbacks import cancel_getback, update_getback
from server.store.db import get_session

bp = Blueprint("demo_popup", __name__, url_prefix="/demo/popup", template_folder="templates")

STATIC_DIR = Path(__file__).resolve().parent / "static"
# Only what the popup imports; nothing else of the extension (or the disk) is reachable.
EXTENSION_FILES = frozenset(
    {
        "popup/day_view.js",
        "popup/popup.css",
        "src/api.js",
        "src/gmail_adapter.js",
    }
)
STATIC_FILES = frozenset({"demo_popup.js", "demo_popup.css"})
MAX_ID = 2**31 - 1


guard_demo_blueprint(bp, "/demo/popup/api/")


@bp.get("")
def page() -> Response:
    """A stand-in toolbar button with the real popup module under it."""
    rep = _demo_rep()
    ready = all((EXTENSION_DIR / name).is_file() for name in EXTENSION_FILES)
    html = render_template(
        "demo_popup/page.html",
        rep=rep,
        ready=ready,
        boot={"csrf": csrf_token()},
        problem="" if ready else NO_EXTENSION,
    )
    return Response(html, mimetype="text/html")


@bp.get("/ext/<path:name>")
def extension_file(name: str) -> Response:
    """One of the extension's popup modules, served as-is."""
    if name not in EXTENSION_FILES:
        abort(404, description="No such file.")
    return serve_file(EXTENSION_DIR / name, NO_EXTENSION)


@bp.get("/static/<name>")
def static_file(name: str) -> Response:
    if name not in STATIC_FILES:
        abort(404, description="No such file.")
    return serve_file(STATIC_DIR / name, "No such file.")


# ---------------------------------------------------------------- the API's twin


def _load(schema: Schema, data: Any) -> dict[str, Any]:
    try:
        return schema.load(data)
    except ValidationError as err:
        fields = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
        raise ApiError(422, "Some fields are invalid.", fields=fields) from None


def _own_id(getback_id: int) -> int:
    if not 1 <= getback_id <= MAX_ID:
        raise ApiError(404, "No such get-back.")
    return getback_id


@bp.get("/api/v1/day")
def day() -> Response:
    """GET /api/v1/day, as the demo rep."""
    query = _load(s.DayQuerySchema(), request.args.to_dict())
    result = rep_day(get_session(), _demo_rep(), clock.now(), silent_limit=query["silent_limit"])
    return jsonify(s.DayOutSchema().dump(result))


@bp.patch("/api/v1/getbacks/<int:getback_id>")
def patch_getback(getback_id: int) -> Response:
    """PATCH /api/v1/getbacks/<id>, as the demo rep (CSRF-checked)."""
    check_csrf()
    data = request.get_json(silent=True) if request.mimetype == "application/json" else None
    if data is None:
        raise ApiError(400, "Send the body as JSON with 'Content-Type: application/json'.")
    body = _load(s.GetBackPatchSchema(), data)
    session = get_session()
    row = update_getback(
        session, _demo_rep(), _own_id(getback_id), due_at=body["due_at"], note=body["note"]
    )
    session.commit()
    return jsonify(s.GetBackOutSchema().dump(row))


@bp.delete("/api/v1/getbacks/<int:getback_id>")
def delete_getback(getback_id: int) -> Response:
    """DELETE /api/v1/getbacks/<id>, as the demo rep (CSRF-checked)."""
    check_csrf()
    session = get_session()
    row = cancel_getback(session, _demo_rep(), _own_id(getback_id))
    session.commit()
    return jsonify(s.GetBackOutSchema().dump(row))
