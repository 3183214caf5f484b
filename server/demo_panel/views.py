"""The /demo/panel page, the extension files it loads, and its demo-rep API twin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request
from marshmallow import Schema, ValidationError
from sqlalchemy import select

from server import clock
from server.api import schemas as s
from server.auth.session import check_csrf, csrf_token
from server.demo import DEMO_REP
from server.demo_panel.prospects import demo_prospects
from server.errors import ApiError
from server.services.getbacks import record_play, schedule_getback
from server.services.guidance import compose_guidance
from server.store.db import get_session
from server.store.models import User

bp = Blueprint("demo_panel", __name__, url_prefix="/demo/panel", template_folder="templates")

EXTENSION_DIR = Path(__file__).resolve().parents[2] / "extension"
STATIC_DIR = Path(__file__).resolve().parent / "static"
# Only what the panel imports; nothing else of the extension (or the disk) is reachable.
EXTENSION_FILES = frozenset({
    "src/panel.js", "src/panel_style.js", "src/gmail_adapter.js", "src/pressure.js",
    "src/api.js", "shared/pressure_rules.json", "shared/pressure_model.json",
})
STATIC_FILES = frozenset({"demo_panel.js", "demo_panel.css"})
MIMETYPES = {".js": "text/javascript", ".json": "application/json", ".css": "text/css"}
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
NOT_DEMO = "This page is only served by `stepback demo` (DEMO_LOGIN on)."
NO_DATA = "The demo data is not loaded; run `stepback demo`."
NO_EXTENSION = "This page needs stepback's source checkout (its extension/ folder)."


def guard_demo_blueprint(blueprint: Blueprint, api_prefix: str) -> None:
    """Serve `blueprint` only in the demo, with the page's headers; its API is never cached."""

    @blueprint.before_request
    def _demo_only() -> None:
        if not current_app.config.get("DEMO_LOGIN"):
            raise ApiError(404, NOT_DEMO)

    @blueprint.after_request
    def _headers(resp: Response) -> Response:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if resp.mimetype == "text/html":
            resp.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        if request.path.startswith(api_prefix):
            resp.headers["Cache-Control"] = "no-store"
        return resp


guard_demo_blueprint(bp, "/demo/panel/api/")


def _demo_rep() -> User:
    user = get_session().scalar(select(User).where(User.email == DEMO_REP))
    if user is None:
        raise ApiError(404, NO_DATA)
    return user


def serve_file(path: Path, missing: str) -> Response:
    """One file as-is (revalidated on each load), or 404 saying `missing`."""
    if not path.is_file():
        abort(404, description=missing)
    resp = Response(path.read_bytes(), mimetype=MIMETYPES.get(path.suffix, "text/plain"))
    resp.headers["Cache-Control"] = "no-cache"
    return resp


def _file(folder: Path, name: str) -> Response:
    return serve_file(folder / name, NO_EXTENSION if folder == EXTENSION_DIR else "No such file.")


@bp.get("")
def page() -> Response:
    """The stand-in compose box with the real panel module."""
    rep = _demo_rep()
    ready = all((EXTENSION_DIR / name).is_file() for name in EXTENSION_FILES)
    prospects = demo_prospects(get_session(), rep, clock.now()) if ready else []
    html = render_template(
        "demo_panel/page.html",
        rep=rep,
        ready=ready,
        prospects=prospects,
        boot={"csrf": csrf_token(), "prospects": prospects},
        problem="" if ready else NO_EXTENSION,
    )
    return Response(html, mimetype="text/html")


@bp.get("/ext/<path:name>")
def extension_file(name: str) -> Response:
    """One of the extension's panel modules, served as-is."""
    if name not in EXTENSION_FILES:
        abort(404, description="No such file.")
    return _file(EXTENSION_DIR, name)


@bp.get("/static/<name>")
def static_file(name: str) -> Response:
    if name not in STATIC_FILES:
        abort(404, description="No such file.")
    return _file(STATIC_DIR, name)


# ---------------------------------------------------------------- the API's twin


def _body(schema: Schema) -> dict[str, Any]:
    """Check the CSRF token, then load the JSON body with the API's own input schema."""
    check_csrf()
    data = request.get_json(silent=True) if request.mimetype == "application/json" else None
    if data is None:
        raise ApiError(400, "Send the body as JSON with 'Content-Type: application/json'.")
    try:
        return schema.load(data)
    except ValidationError as err:
        fields = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
        raise ApiError(422, "Some fields are invalid.", fields=fields) from None


def _out(schema: Schema, obj: Any, status: int = 200) -> Response:
    resp = jsonify(schema.dump(obj))
    resp.status_code = status
    return resp


@bp.post("/api/v1/guidance")
def guidance() -> Response:
    """POST /api/v1/guidance, as the demo rep."""
    body = _body(s.GuidanceInSchema())
    result = compose_guidance(
        get_session(),
        _demo_rep(),
        recipients=body["recipients"],
        thread_id=body["thread_id"],
        now=clock.now(),
        locale=body["locale"],
        timezone=body["timezone"],
        proposed_at=body["proposed_at"],
    )
    return _out(s.GuidanceOutSchema(), result)


@bp.post("/api/v1/getbacks")
def create_getback() -> Response:
    """POST /api/v1/getbacks, as the demo rep."""
    body = _body(s.GetBackCreateSchema())
    session = get_session()
    row = schedule_getback(
        session,
        _demo_rep(),
        thread_id=body["thread_id"],
        prospect_email=body["prospect_email"],
        due_at=body["due_at"],
        note=body["note"],
        kind=body["kind"],
        recipients=body["recipients"],
    )
    session.commit()
    return _out(s.GetBackOutSchema(), row, 201)


@bp.post("/api/v1/plays/inserted")
def play_inserted() -> Response:
    """POST /api/v1/plays/inserted, as the demo rep."""
    body = _body(s.PlayInsertedInSchema())
    session = get_session()
    event = record_play(
        session,
        _demo_rep(),
        thread_id=body["thread_id"],
        play=body["play"],
        variant=body["variant"],
        surface=body["surface"],
        recipients=body["recipients"],
    )
    session.commit()
    return _out(s.PlayEventOutSchema(), event, 201)
