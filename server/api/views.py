"""The rep's JSON API (/api/v1). Docstrings after '---' are the OpenAPI operations."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from marshmallow import Schema, ValidationError

from server import clock
from server.api import schemas as s
from server.api.identity import current_rep, token_info
from server.engine.model import Person
from server.engine.pressure import check_pressure
from server.errors import ApiError
from server.services.day import rep_day
from server.services.getbacks import (
    cancel_getback,
    due_getbacks_with_threads,
    list_getbacks,
    record_play,
    schedule_getback,
    update_getback,
)
from server.services.guidance_cache import entry_for, rep_stamp
from server.services.scan import scan_user
from server.store.db import get_db, get_session
from server.store.models import GetBack, User
from server.store.settings import rep_settings, threshold_days

bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")
# Database ids are 32-bit integers; larger ones cannot exist (and would overflow SQLite).
MAX_ID = 2**31 - 1
RETRY_VERIFIER_SECONDS = 10
# Guidance bodies up to this size are remembered after loading (a panel body is ~100 bytes).
MAX_MEMO_BODY = 4096
# Schema instances are reusable across requests (no per-call state); building them costs time.
GETBACK_CREATE = s.GetBackCreateSchema()
GETBACK_LIST = s.GetBackListSchema()
GETBACK_OUT = s.GetBackOutSchema()
GETBACK_PATCH = s.GetBackPatchSchema()
GETBACK_QUERY = s.GetBackQuerySchema()
GUIDANCE_IN = s.GuidanceInSchema()
GUIDANCE_OUT = s.GuidanceOutSchema()
DAY_OUT = s.DayOutSchema()
DAY_QUERY = s.DayQuerySchema()
ME_OUT = s.MeSchema()
PLAY_EVENT_OUT = s.PlayEventOutSchema()
PLAY_INSERTED_IN = s.PlayInsertedInSchema()
PRESSURE_IN = s.PressureInSchema()
PRESSURE_OUT = s.PressureOutSchema()
PROSPECT_PAGE = s.ProspectPageSchema()
PROSPECTS_QUERY = s.ProspectsQuerySchema()


def _json_body(schema: Schema) -> dict[str, Any]:
    if request.mimetype != "application/json":
        raise ApiError(400, "Send the body as JSON with 'Content-Type: application/json'.")
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "The request body is not valid JSON.")
    return _load(schema, data)


def _load(schema: Schema, data: Any) -> dict[str, Any]:
    try:
        return schema.load(data)
    except ValidationError as err:
        messages = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
        raise ApiError(422, "Some fields are invalid.", fields=messages) from None


class _BodyMemo:
    """Loaded guidance bodies by their exact bytes (the panel repeats the same few often)."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._data: OrderedDict[bytes, dict[str, Any]] = OrderedDict()

    def get(self, raw: bytes) -> dict[str, Any] | None:
        with self._lock:
            found = self._data.get(raw)
            if found is not None:
                self._data.move_to_end(raw)
            return found

    def put(self, raw: bytes, loaded: dict[str, Any]) -> None:
        with self._lock:
            self._data[raw] = loaded
            while len(self._data) > self.size:
                self._data.popitem(last=False)


_guidance_bodies = _BodyMemo()


def _guidance_body() -> dict[str, Any]:
    """`_json_body(GUIDANCE_IN)`, reusing the result for a body seen before (read-only!)."""
    if request.mimetype != "application/json":
        return _json_body(GUIDANCE_IN)  # the usual 400
    raw = request.get_data(cache=True)
    if len(raw) > MAX_MEMO_BODY:
        return _json_body(GUIDANCE_IN)
    loaded = _guidance_bodies.get(raw)
    if loaded is None:
        loaded = _json_body(GUIDANCE_IN)
        _guidance_bodies.put(raw, loaded)
    return loaded


def _query(schema: Schema) -> dict[str, Any]:
    return _load(schema, request.args.to_dict())


def _out(schema: Schema, obj: Any, status: int = 200) -> Response:
    resp = jsonify(schema.dump(obj))
    resp.status_code = status
    return resp


@bp.after_request
def _api_headers(resp: Response) -> Response:
    if resp.status_code == 401:
        challenge = 'Bearer realm="stepback"'
        if request.headers.get("Authorization"):
            challenge += ', error="invalid_token"'
        resp.headers["WWW-Authenticate"] = challenge
    if resp.status_code == 503:
        resp.headers.setdefault("Retry-After", str(RETRY_VERIFIER_SECONDS))
    # Answers are personal: never let a shared cache keep them.
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@bp.get("/me")
def me() -> Response:
    """The signed-in rep and the settings in force.
    ---
    get:
      summary: The signed-in rep
      description: Email, name, org, team, and the silence threshold, day mode, time zone and
        locale in force (rep override, else team, else org).
      operationId: getMe
      tags: [rep]
      security: [{bearer: []}]
      responses:
        200: {description: The rep, content: {application/json: {schema: MeSchema}}}
        401: Unauthorized
        403: Forbidden
        429: TooManyRequests
        503: Unavailable
    """
    rep = current_rep()
    settings = rep_settings(rep)
    data = {
        "email": rep.email,
        "name": rep.name,
        "role": rep.role,
        "org": {"slug": rep.org.slug, "name": rep.org.name},
        "team": {"id": rep.team.id, "name": rep.team.name} if rep.team else None,
        "threshold_days": threshold_days(rep),
        "day_mode": "calendar" if settings.threshold.calendar_days else "business",
        "reply_target_hours": settings.reply_target_hours,
        "timezone": settings.timezone,
        "locale": settings.locale,
        "mailbox_status": rep.mailbox.status if rep.mailbox else None,
        "last_sync_at": rep.mailbox.last_sync_at if rep.mailbox else None,
    }
    return _out(ME_OUT, data)


def _item(kind: str, **values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "kind": kind,
        "thread_id": None,
        "subject": "",
        "prospect": None,
        "since": None,
        "days_silent": None,
        "business_days_silent": None,
        "unanswered_count": None,
        "hours_waiting": None,
        "warnings": [],
        "getback": None,
    }
    base.update(values)
    return base


def _due_items(rep: User, now: datetime) -> list[dict[str, Any]]:
    items = []
    for gb, row in due_getbacks_with_threads(get_session(), rep, now):
        email = gb.prospect_email or (row.prospect_email if row else None)
        name = (row.prospect_name or "") if row else ""
        items.append(
            _item(
                "due",
                thread_id=gb.gmail_thread_id,
                subject=row.subject if row else "",
                prospect=Person(email, name) if email else None,
                since=gb.due_at,
                getback=gb,
            )
        )
    return items


def _prospect_items(rep: User, kind: str | None) -> list[dict[str, Any]]:
    now = clock.now()
    items: list[dict[str, Any]] = []
    if kind in (None, "due"):
        items.extend(_due_items(rep, now))
    if kind == "due":
        return items
    result = scan_user(get_session(), rep, now)
    if kind in (None, "reply_owed"):
        for owed in result.reply_owed:
            f = owed.facts
            items.append(
                _item(
                    "reply_owed",
                    thread_id=f.thread_id,
                    subject=f.subject,
                    prospect=f.reply_owed_from,
                    since=f.reply_owed_since,
                    hours_waiting=round(owed.hours_waiting, 1),
                )
            )
    for verdict in result.silent:
        f = verdict.facts
        if kind in (None, "silent", f.kind):
            items.append(
                _item(
                    str(f.kind),
                    thread_id=f.thread_id,
                    subject=f.subject,
                    prospect=f.prospect,
                    since=f.silent_since,
                    days_silent=verdict.days_silent,
                    business_days_silent=verdict.business_days_silent,
                    unanswered_count=f.unanswered_count,
                    warnings=list(f.warnings),
                )
            )
    return items


@bp.get("/prospects")
def prospects() -> Response:
    """The rep's due get-backs, owed replies and silent prospects.
    ---
    get:
      summary: Silent prospects, owed replies and due get-backs
      description: Due get-backs come first, then threads where the prospect waits for a
        reply (longest waiting first), then silent prospects (most silent first). `kind`
        filters; `silent` means both went_silent and no_reply_yet.
      operationId: listProspects
      tags: [rep]
      security: [{bearer: []}]
      parameters:
      - in: query
        schema: ProspectsQuerySchema
      responses:
        200: {description: One page, content: {application/json: {schema: ProspectPageSchema}}}
        401: Unauthorized
        403: Forbidden
        422: Invalid
        429: TooManyRequests
        503: Unavailable
    """
    rep = current_rep()
    query = _query(PROSPECTS_QUERY)
    items = _prospect_items(rep, query.get("kind"))
    page, per_page = query["page"], query["per_page"]
    start = (page - 1) * per_page
    body = {
        "items": items[start : start + per_page],
        "page": page,
        "per_page": per_page,
        "total": len(items),
    }
    return _out(PROSPECT_PAGE, body)


@bp.get("/day")
def day() -> Response:
    """The rep's day, for the extension's toolbar button and popup.
    ---
    get:
      summary: Get-backs due, replies owed past the reply target, silent prospects
      description: Due get-backs (soonest first, with the agreed date and time), then replies
        the rep owes past the team's reply target (longest waiting first), then the first
        `silentLimit` silent prospects past the threshold (most silent first). Each item has
        the one-line "where things stand". A thread with a due get-back is listed only there.
        `counts.badge` is due get-backs plus owed replies. All text is plain data.
      operationId: getDay
      tags: [rep]
      security: [{bearer: []}]
      parameters:
      - in: query
        schema: DayQuerySchema
      responses:
        200: {description: The day, content: {application/json: {schema: DayOutSchema}}}
        401: Unauthorized
        403: Forbidden
        422: Invalid
        429: TooManyRequests
        503: Unavailable
    """
    rep = current_rep()
    query = _query(DAY_QUERY)
    day_ = rep_day(get_session(), rep, clock.now(), silent_limit=query["silent_limit"])
    return _out(DAY_OUT, day_)


@bp.post("/guidance")
def guidance() -> Response:
    """Guidance for the prospect of a draft or thread.
    ---
    post:
      summary: Facts, warnings and plays for one prospect
      description: Finds the thread by id, or else the rep's newest stored thread whose
        prospect is one of the recipients. A threadId of a stored thread that no recipient
        (nor anyone at a recipient's outside domain) is on is not used; the recipients decide.
        `nag` false means the UI shows nothing pushy.
        All text is plain data; escape it before putting it into HTML.
      operationId: getGuidance
      tags: [rep]
      security: [{bearer: []}]
      requestBody:
        required: true
        content: {application/json: {schema: GuidanceInSchema}}
      responses:
        200: {description: Guidance, content: {application/json: {schema: GuidanceOutSchema}}}
        400: BadRequest
        413: TooLarge
        401: Unauthorized
        403: Forbidden
        422: Invalid
        429: TooManyRequests
        503: Unavailable
    """
    # One query tells who the rep is and whether anything guidance reads has changed.
    stamp = rep_stamp(get_db().engine, token_info().email)
    if stamp is None:
        current_rep()  # not a user of any org: the usual 403
        stamp = rep_stamp(get_db().engine, token_info().email)  # added in between
        if stamp is None:
            raise ApiError(403, "This Google account is not set up in stepback.")
    body = _guidance_body()
    entry = entry_for(
        stamp,
        lambda: (get_session(), current_rep()),
        recipients=body["recipients"],
        thread_id=body["thread_id"],
    )
    app = current_app
    payload = entry.answer(
        lambda g: jsonify(GUIDANCE_OUT.dump(g)).get_data(),
        ("api-v1", app.debug),
        now=clock.now(),
        locale=body["locale"],
        timezone=body["timezone"],
        proposed_at=body["proposed_at"],
    )
    return app.response_class(payload, mimetype=app.json.mimetype)  # type: ignore[attr-defined]


@bp.post("/pressure-check")
def pressure_check() -> Response:
    """Flag pushy phrasing in a draft; the text is neither stored nor logged.
    ---
    post:
      summary: Pressure check of a draft
      operationId: checkPressure
      tags: [rep]
      security: [{bearer: []}]
      requestBody:
        required: true
        content: {application/json: {schema: PressureInSchema}}
      responses:
        200: {description: Findings, content: {application/json: {schema: PressureOutSchema}}}
        400: BadRequest
        413: TooLarge
        401: Unauthorized
        403: Forbidden
        422: Invalid
        429: TooManyRequests
        503: Unavailable
    """
    current_rep()
    body = _json_body(PRESSURE_IN)
    return _out(PRESSURE_OUT, {"findings": check_pressure(body["text"])})


def _own_id(getback_id: int) -> int:
    if not 1 <= getback_id <= MAX_ID:
        raise ApiError(404, "No such get-back.")
    return getback_id


@bp.get("/getbacks")
def getbacks() -> Response:
    """The rep's scheduled get-backs and cold-file entries.
    ---
    get:
      summary: List get-backs
      description: Active get-backs, soonest first; with `due=1` only those whose date has come.
      operationId: listGetbacks
      tags: [getbacks]
      security: [{bearer: []}]
      parameters:
      - in: query
        schema: GetBackQuerySchema
      responses:
        200: {description: Get-backs, content: {application/json: {schema: GetBackListSchema}}}
        401: Unauthorized
        403: Forbidden
        422: Invalid
        429: TooManyRequests
        503: Unavailable
    """
    rep = current_rep()
    query = _query(GETBACK_QUERY)
    items = list_getbacks(get_session(), rep, now=clock.now(), due_only=query["due"])
    return _out(GETBACK_LIST, {"items": items})


@bp.post("/getbacks")
def create_getback() -> Response:
    """Schedule a get-back date (or park a prospect in the cold file).
    ---
    post:
      summary: Schedule a get-back
      description: The thread stays quiet in stepback until `dueAt`; then it is listed as due.
        `dueAt` must be in the future and within two years. A new date for the same thread
        replaces the earlier one.
      operationId: createGetback
      tags: [getbacks]
      security: [{bearer: []}]
      requestBody:
        required: true
        content: {application/json: {schema: GetBackCreateSchema}}
      responses:
        201: {description: Scheduled, content: {application/json: {schema: GetBackOutSchema}}}
        400: BadRequest
        413: TooLarge
        401: Unauthorized
        403: Forbidden
        422: Invalid
        429: TooManyRequests
        503: Unavailable
    """
    rep = current_rep()
    body = _json_body(GETBACK_CREATE)
    session = get_session()
    row = schedule_getback(
        session,
        rep,
        thread_id=body["thread_id"],
        prospect_email=body["prospect_email"],
        due_at=body["due_at"],
        note=body["note"],
        kind=body["kind"],
        # Never scheduled against a stored thread the draft's recipients are not on.
        recipients=body["recipients"],
    )
    session.commit()
    return _out(GETBACK_OUT, row, 201)


@bp.patch("/getbacks/<int:getback_id>")
def patch_getback(getback_id: int) -> Response:
    """Move a get-back or change its note.
    ---
    patch:
      summary: Change a get-back
      operationId: updateGetback
      tags: [getbacks]
      security: [{bearer: []}]
      parameters:
      - in: path
        name: getback_id
        required: true
        schema: {type: integer, minimum: 1, maximum: 2147483647}
      requestBody:
        required: true
        content: {application/json: {schema: GetBackPatchSchema}}
      responses:
        200: {description: Changed, content: {application/json: {schema: GetBackOutSchema}}}
        400: BadRequest
        413: TooLarge
        401: Unauthorized
        403: Forbidden
        404: NotFound
        409: Conflict
        422: Invalid
        429: TooManyRequests
        503: Unavailable
    """
    rep = current_rep()
    body = _json_body(GETBACK_PATCH)
    session = get_session()
    row = update_getback(
        session, rep, _own_id(getback_id), due_at=body["due_at"], note=body["note"]
    )
    session.commit()
    return _out(GETBACK_OUT, row)


@bp.delete("/getbacks/<int:getback_id>")
def delete_getback(getback_id: int) -> Response:
    """Cancel a get-back.
    ---
    delete:
      summary: Cancel a get-back
      description: The row is kept with status `cancelled` (nothing is lost); repeating is harmless.
      operationId: cancelGetback
      tags: [getbacks]
      security: [{bearer: []}]
      parameters:
      - in: path
        name: getback_id
        required: true
        schema: {type: integer, minimum: 1, maximum: 2147483647}
      responses:
        200: {description: Cancelled, content: {application/json: {schema: GetBackOutSchema}}}
        401: Unauthorized
        403: Forbidden
        404: NotFound
        409: Conflict
        429: TooManyRequests
        503: Unavailable
    """
    rep = current_rep()
    session = get_session()
    row: GetBack = cancel_getback(session, rep, _own_id(getback_id))
    session.commit()
    return _out(GETBACK_OUT, row)


@bp.post("/plays/inserted")
def play_inserted() -> Response:
    """Record that the rep inserted a play (for the admin's statistics).
    ---
    post:
      summary: Record an inserted play
      operationId: recordPlay
      tags: [plays]
      security: [{bearer: []}]
      requestBody:
        required: true
        content: {application/json: {schema: PlayInsertedInSchema}}
      responses:
        201: {description: Recorded, content: {application/json: {schema: PlayEventOutSchema}}}
        400: BadRequest
        413: TooLarge
        401: Unauthorized
        403: Forbidden
        422: Invalid
        429: TooManyRequests
        503: Unavailable
    """
    rep = current_rep()
    body = _json_body(PLAY_INSERTED_IN)
    session = get_session()
    event = record_play(
        session,
        rep,
        thread_id=body["thread_id"],
        play=body["play"],
        variant=body["variant"],
        surface=body["surface"],
        # A play goes into this draft: never counted on a thread the draft is not about.
        recipients=body["recipients"],
    )
    session.commit()
    return _out(PLAY_EVENT_OUT, event, 201)
