"""Add-on endpoints on the Workspace HTTP runtime: triggers answer with a card, action
callbacks with renderActions. Every request is verified before anything is read."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from server import clock
from server.addon import auth, consent, screens
from server.addon import cards as c
from server.addon.events import AddonEvent, bad_event, parse_event
from server.addon.gmail import AddonGmailError, MessageReader
from server.addon.logo import logo_png
from server.engine.calendar import as_utc
from server.errors import ApiError
from server.gmail.sync import compact_thread, store_thread
from server.plays import COLD_FILE_REASONS, PLAYS
from server.services.getbacks import (
    cancel_getback,
    list_getbacks,
    record_play,
    schedule_getback,
    update_getback,
)
from server.services.guidance import Guidance, compose_guidance
from server.services.scan import scan_user
from server.store.db import get_session
from server.store.models import GetBack, ThreadState, User
from server.store.settings import rep_settings

log = logging.getLogger(__name__)

bp = Blueprint("addon", __name__, url_prefix="/addon")

MAX_BODY_BYTES = 256 * 1024
GMAIL_TROUBLE = (
    "Gmail didn't let stepback read this message just now. Nothing was changed; "
    "close and reopen the message to try again."
)
DB_TROUBLE = "stepback couldn't reach its database just now. Nothing was changed; try again."
# Ids and numbers that travel in action parameters are ASCII: str.isdigit() would let
# "²" or Arabic-Indic digits through to int() (a 500), isalnum() any letter of any script.
_ASCII_NUMBER = re.compile(r"[0-9]{1,18}")
_ASCII_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class Call:
    """A verified add-on request: the event, the rep (None if unknown) and their view."""

    event: AddonEvent
    email: str
    user: User | None
    screen: screens.Screen | None


def public_url(endpoint: str) -> str:
    """The public URL of one of our endpoints (what Google will call and sign for)."""
    base = str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/")
    return base + url_for(endpoint)


def make_screen(user: User, event: AddonEvent | None, now: datetime) -> screens.Screen:
    """Locale and zone from the event when Gmail sent them, else the rep's own settings."""
    settings = rep_settings(user)
    locale = (event.locale if event else None) or settings.locale
    timezone = (event.timezone if event else None) or settings.timezone
    return screens.Screen(user=user, locale=locale, timezone=timezone, now=now, url=public_url)


def _read_event() -> AddonEvent:
    """Verify Google's token first (header when sent), then read the event."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise bad_event("the body is too large")
    header_sent = bool(request.headers.get("Authorization"))
    if header_sent:
        auth.verify_google_request(request)
    body = request.get_json(silent=True, force=True)
    if not header_sent:
        # Only the body can carry the token; nothing else in it is looked at before.
        auth.verify_google_request(request, auth.body_system_token(body))
    if body is None:
        raise bad_event("the body is not JSON")
    return parse_event(body)


def _scope_answer(event: AddonEvent, entry_point: str) -> Response | None:
    """Google's consent request when the user has not granted what this entry point needs.

    Checked before the user ID token: without the email scope there is no such token,
    and the right answer is to ask for the scope, not a 401.
    """
    missing = consent.missing(event.authorized_scopes, entry_point)
    if not missing:
        return None
    log.info("add-on: %s asks for scopes the user has not granted: %s", entry_point,
             " ".join(missing))
    return jsonify(consent.scope_request(missing, event.authorized_scopes))


def _with_rep(call: Call, session: Session) -> Call:
    """Look the verified address up (inside the views' error handling)."""
    user = auth.find_rep(session, call.email)
    if user is None:
        return call
    return Call(call.event, call.email, user, make_screen(user, call.event, clock.now()))


def _trigger(view: Callable[[Call, Session], dict[str, Any]]) -> Callable[[], Response]:
    """Wrap a trigger view: verify, answer unknown users and failures with a friendly card."""

    @functools.wraps(view)
    def wrapper() -> Response:
        event = _read_event()
        ask = _scope_answer(event, view.__name__)
        if ask is not None:
            return ask
        call = Call(event, auth.verify_user(event), None, None)
        session = get_session()
        try:
            call = _with_rep(call, session)
            if call.user is None:
                return jsonify(c.push_card(screens.unknown_user_card(call.email)))
            return jsonify(view(call, session))
        except AddonGmailError as exc:
            log.info("add-on: Gmail read failed for a rep: %s", exc)
            session.rollback()
            return jsonify(c.push_card(screens.notice_card("stepback", GMAIL_TROUBLE)))
        except SQLAlchemyError:
            log.exception("add-on: database error in %s", view.__name__)
            session.rollback()
            return jsonify(c.push_card(screens.notice_card("stepback", DB_TROUBLE)))

    return wrapper


def _action(view: Callable[[Call, Session], dict[str, Any]]) -> Callable[[], Response]:
    """Wrap an action callback: failures and refusals become a notification."""

    @functools.wraps(view)
    def wrapper() -> Response:
        event = _read_event()
        ask = _scope_answer(event, view.__name__)
        if ask is not None:
            return ask
        call = Call(event, auth.verify_user(event), None, None)
        session = get_session()
        try:
            call = _with_rep(call, session)
            if call.user is None:
                text = f"{call.email} is not set up in stepback yet."
                return jsonify(c.render_actions(notify=text))
            return jsonify(view(call, session))
        except ApiError as exc:
            if exc.status >= 500 or exc.status in (400, 401):
                raise
            session.rollback()
            return jsonify(c.render_actions(notify=_refusal(exc)))
        except AddonGmailError:
            session.rollback()
            return jsonify(c.render_actions(notify=GMAIL_TROUBLE))
        except SQLAlchemyError:
            log.exception("add-on: database error in %s", view.__name__)
            session.rollback()
            return jsonify(c.render_actions(notify=DB_TROUBLE))

    return wrapper


def _refusal(exc: ApiError) -> str:
    """A service's 4xx as one line for a notification (field messages first)."""
    for messages in (exc.fields or {}).values():
        if messages:
            return str(messages[0] if isinstance(messages, list) else messages)
    return exc.message


def _guidance(call: Call, session: Session, *, thread_id: str | None,
              recipients: list[str], proposed_at: datetime | None = None) -> Guidance:
    assert call.user is not None and call.screen is not None
    return compose_guidance(
        session,
        call.user,
        recipients=recipients,
        thread_id=thread_id,
        now=call.screen.now,
        locale=call.screen.locale,
        timezone=call.screen.timezone,
        proposed_at=proposed_at,
    )


def _screen(call: Call) -> screens.Screen:
    assert call.screen is not None
    return call.screen


# --- triggers ---------------------------------------------------------------------------


def homepage_body(user: User, screen: screens.Screen, session: Session) -> dict[str, Any]:
    """The homepage card for `user` (also used to refresh it after a quick action)."""
    settings = rep_settings(user)
    scan = scan_user(session, user, screen.now, settings)
    active = list_getbacks(session, user, now=screen.now)
    due = [gb for gb in active if as_utc(gb.due_at) <= as_utc(screen.now)]
    upcoming = [gb for gb in active if as_utc(gb.due_at) > as_utc(screen.now)]
    return screens.homepage_card(screen, scan, due, upcoming, settings.threshold.calendar_days)


@bp.post("/homepage")
@_trigger
def homepage(call: Call, session: Session) -> dict[str, Any]:
    """Homepage trigger: silent prospects, due get-backs and quick actions."""
    assert call.user is not None
    return c.push_card(homepage_body(call.user, _screen(call), session))


def _refresh_thread(call: Call, session: Session) -> str:
    """Read the opened message and bring the rep's stored state of its thread up to date.

    The metadata grant covers the open message; threads.get may be refused for the rest
    of the thread. Either way the message just read is merged in before anything is
    judged, so a reply that came in after the last sync is never ignored.
    """
    event, user = call.event, call.user
    assert user is not None
    if not event.message_id:
        raise bad_event("gmail.messageId is missing")
    if not event.gmail_access_token or not event.user_oauth_token:
        raise bad_event("the Gmail access tokens are missing")
    endpoint = current_app.config["GMAIL_API_ENDPOINT"]
    with MessageReader(event.user_oauth_token, event.gmail_access_token, endpoint) as reader:
        opened = reader.message(event.message_id)
        mailbox = user.mailbox
        if mailbox is None:
            return opened.thread_id
        row = session.scalar(
            select(ThreadState).where(
                ThreadState.org_id == user.org_id,
                ThreadState.mailbox_id == mailbox.id,
                ThreadState.gmail_thread_id == opened.thread_id,
            )
        )
        stored = [m for m in (row.messages if row is not None else []) if isinstance(m, dict)]
        if _already_stored(stored, opened.resource):
            return opened.thread_id
        from_store = False
        try:
            thread = reader.thread(opened.thread_id)
        except AddonGmailError as exc:
            # Keep what the sync stored, plus the message Gmail did let us read. The
            # stored historyId stays: the rest of the thread was not read, so the next
            # sync must still see it as unread.
            log.info("add-on: thread not readable, merging the open message: %s", exc)
            from_store = True
            history = (row.history_id if row is not None else "") or ""
            # Stored copies are compact (no per-message historyId); the message schema
            # asks for one, so they carry the thread's, which compact_thread drops again.
            thread = {"id": opened.thread_id, "historyId": history,
                      "messages": [{"historyId": history or "0", **m} for m in stored]}
    merged = _with_message(thread, opened.resource)
    if from_store:
        kept = {m["id"] for m in compact_thread(merged)[0]["messages"]}
        if {m.get("id") for m in stored} - kept:
            # Never let a merge drop what the sync stored; judge from the stored state.
            log.warning("add-on: merging would drop stored messages; kept the stored thread")
            return opened.thread_id
    store_thread(session, mailbox, merged, rep_settings(user).context, now=clock.now())
    session.commit()
    return opened.thread_id


def _already_stored(stored: list[dict[str, Any]], resource: dict[str, Any]) -> bool:
    """True when the stored thread holds this message with the same labels."""
    labels = sorted(str(x) for x in resource.get("labelIds") or [])
    return any(m.get("id") == resource.get("id")
               and sorted(str(x) for x in m.get("labelIds") or []) == labels
               for m in stored)


def _with_message(thread: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
    """`thread` with the freshly read message in place of any older copy of it."""
    messages = [m for m in thread.get("messages") or []
                if not (isinstance(m, dict) and m.get("id") == resource.get("id"))]
    if resource.get("id"):
        messages.append(resource)
    return {**thread, "messages": messages}


@bp.post("/message")
@_trigger
def message(call: Call, session: Session) -> dict[str, Any]:
    """Contextual trigger (a message was opened): this thread's facts and next steps."""
    thread_id = _refresh_thread(call, session)
    g = _guidance(call, session, thread_id=thread_id, recipients=[])
    return c.push_card(screens.message_card(_screen(call), g))


@bp.post("/compose")
@_trigger
def compose(call: Call, session: Session) -> dict[str, Any]:
    """Compose trigger: plays for the draft's recipients, ready to insert."""
    g = _guidance(call, session, thread_id=call.event.thread_id,
                  recipients=list(call.event.recipients))
    return c.push_card(screens.compose_card(_screen(call), g))


# --- action callbacks -------------------------------------------------------------------


def _origin_card(call: Call, session: Session, origin: str, thread: str | None,
                 prospect: str | None) -> dict[str, Any] | None:
    """Rebuild the card an action came from, so it shows the change."""
    assert call.user is not None
    screen = _screen(call)
    recipients = [prospect] if prospect else list(call.event.recipients)
    if origin == "home":
        return homepage_body(call.user, screen, session)
    if origin == "message" and (thread or prospect):
        return screens.message_card(screen, _guidance(call, session, thread_id=thread,
                                                      recipients=recipients))
    if origin == "compose":
        return screens.compose_card(screen, _guidance(call, session, thread_id=thread,
                                                      recipients=recipients))
    return None


def _thread_param(call: Call) -> str | None:
    value = call.event.param("thread").strip()
    if not value:
        return None
    if not _ASCII_ID.fullmatch(value):
        raise bad_event("the thread parameter is not a Gmail id")
    return value


def _prospect_param(call: Call) -> str | None:
    value = call.event.param("prospect").strip().lower()
    if value and ("@" not in value or len(value) > 320):
        raise bad_event("the prospect parameter is not an address")
    return value or None


def _kind_param(call: Call) -> str:
    kind = call.event.param("kind", "getback")
    if kind not in ("getback", "cold_file"):
        raise bad_event("the kind parameter must be getback or cold_file")
    return kind


def _origin_param(call: Call) -> str:
    origin = call.event.param("origin", "message")
    return origin if origin in ("home", "message", "compose") else "message"


@bp.post("/actions/show-play")
@_action
def show_play(call: Call, session: Session) -> dict[str, Any]:
    """Push a card with every variant of one play, to read before replying."""
    play_id = call.event.param("play")
    if play_id not in PLAYS:
        raise bad_event("unknown play")
    thread, prospect = _thread_param(call), _prospect_param(call)
    g = _guidance(call, session, thread_id=thread, recipients=[prospect] if prospect else [])
    if play_id not in {p.play for p in g.plays}:
        return c.render_actions(notify="That play no longer fits this thread.")
    return c.render_actions(push=screens.play_card(_screen(call), g, play_id))


@bp.post("/actions/insert-play")
@_action
def insert_play(call: Call, session: Session) -> dict[str, Any]:
    """Insert a play's text into the open draft (a get-back play also saves its date)."""
    assert call.user is not None
    play_id = call.event.param("play")
    variant_text = call.event.param("variant", "0")
    if play_id not in PLAYS or not _ASCII_NUMBER.fullmatch(variant_text):
        raise bad_event("unknown play or variant")
    variant = int(variant_text)
    thread, prospect = _thread_param(call), _prospect_param(call)
    recipients = [prospect] if prospect else list(call.event.recipients)
    proposed = (call.event.datetime_input("proposed_at", _screen(call).timezone)
                if play_id == "getback_date" else None)
    if play_id == "getback_date" and proposed is None:
        return c.render_actions(notify="Pick a date and time for the get-back first.")
    # The text is rendered again here from ids only; nothing the client sent is inserted.
    g = _guidance(call, session, thread_id=thread, recipients=recipients, proposed_at=proposed)
    chosen = next((p for p in g.plays if p.play == play_id and p.variant == variant), None)
    if chosen is None or not chosen.insertable:
        return c.render_actions(notify="That play no longer fits this thread.")
    notify = ""
    if play_id == "getback_date" and proposed is not None:
        schedule_getback(session, call.user, thread_id=g.thread_id,
                         prospect_email=g.prospect.email if g.prospect else prospect,
                         due_at=proposed, kind="getback")
        notify = (f"Get-back date saved for {_screen(call).when(proposed)}; "
                  "stepback stays quiet on this thread until then.")
    record_play(session, call.user, thread_id=g.thread_id, play=play_id, variant=variant,
                surface="addon")
    session.commit()
    return c.insert_into_draft(chosen.text, notify=notify)


@bp.post("/actions/schedule-form")
@_action
def schedule_form(call: Call, session: Session) -> dict[str, Any]:
    """Push the get-back (or cold-file) form."""
    card = screens.schedule_card(
        _screen(call), kind=_kind_param(call), thread_id=_thread_param(call),
        prospect=_prospect_param(call), origin=_origin_param(call),
    )
    return c.render_actions(push=card)


@bp.post("/actions/schedule")
@_action
def schedule(call: Call, session: Session) -> dict[str, Any]:
    """Save the get-back date (or cold-file revisit) from the form."""
    assert call.user is not None
    kind, thread, prospect = _kind_param(call), _thread_param(call), _prospect_param(call)
    due = call.event.datetime_input("due_at", _screen(call).timezone)
    if due is None:
        return c.render_actions(notify="Pick a date and time first.")
    note = (call.event.string_input("note") or "").strip()[:500]
    if kind == "cold_file":
        reason = COLD_FILE_REASONS.get(call.event.string_input("reason") or "", "")
        note = f"{reason}: {note}" if reason and note else (reason or note)
    saved = schedule_getback(session, call.user, thread_id=thread, prospect_email=prospect,
                             due_at=due, note=note, kind=kind)
    session.commit()
    screen = _screen(call)
    if kind == "cold_file":
        text = f"Parked in the cold file until {screen.day(saved.due_at, year=True)}."
    else:
        text = (f"Get-back date saved for {screen.when(saved.due_at)}; "
                "stepback stays quiet on this thread until then.")
    refreshed = _origin_card(call, session, _origin_param(call), thread, prospect)
    return c.render_actions(notify=text, pop=True, update=refreshed)


def _getback_param(call: Call) -> int:
    value = call.event.param("getback")
    if not _ASCII_NUMBER.fullmatch(value):
        raise bad_event("the getback parameter must be a number")
    return int(value)


@bp.post("/actions/getback-move")
@_action
def getback_move(call: Call, session: Session) -> dict[str, Any]:
    """Move a get-back date a week later (from now, if it is already past)."""
    assert call.user is not None
    gb_id = _getback_param(call)
    row = session.get(GetBack, gb_id)
    # The service checks ownership again; this read only picks the new date.
    base = as_utc(row.due_at) if row is not None and row.user_id == call.user.id else None
    now = _screen(call).now
    new_due = max(base or now, now) + timedelta(days=7)
    moved = update_getback(session, call.user, gb_id, due_at=new_due)
    session.commit()
    refreshed = _origin_card(call, session, _origin_param(call), _thread_param(call), None)
    return c.render_actions(notify=f"Moved to {_screen(call).when(moved.due_at)}.",
                            update=refreshed)


@bp.post("/actions/getback-cancel")
@_action
def getback_cancel(call: Call, session: Session) -> dict[str, Any]:
    """Cancel a get-back date or cold-file entry."""
    assert call.user is not None
    cancel_getback(session, call.user, _getback_param(call))
    session.commit()
    refreshed = _origin_card(call, session, _origin_param(call), _thread_param(call), None)
    return c.render_actions(notify="Cancelled.", update=refreshed)


@bp.get("/logo.png")
def logo() -> Response:
    """The add-on's toolbar logo (drawn in code, so no binary file is needed)."""
    resp = Response(logo_png(), mimetype="image/png")
    resp.headers["Cache-Control"] = "public, max-age=86400"
    return resp
