"""`POST /gmail/push`: Gmail change notifications delivered by a Cloud Pub/Sub push subscription.

Pub/Sub wants a quick 2xx, and redelivers on anything else. So the endpoint verifies the
OIDC token, decodes the notification, notes the push, and answers 204 at once; the
incremental sync then runs in a small bounded thread pool in this process
(PUSH_SYNC_MODE="background", the default) or, for tests and single-shot local runs,
inside the request (PUSH_SYNC_MODE="inline").

Deliveries are idempotent: a notification whose historyId is not newer than what we have
already synced changes nothing, a duplicate of a newer one just bumps the mailbox's sync
generation again (one worker holds the lease; it re-runs once, not twice), and anything a
full pool or a crash drops is caught up by the scheduler's poll (a push newer than the last
sync marks the mailbox as owing a sync).
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from sqlalchemy import func, select, update

from server.auth.oidc_verify import require_service_token
from server.auth.request_guard import loads as guarded_loads
from server.errors import ApiError
from server.gmail.jobs import PARKED, sync_mailbox, sync_pool
from server.gmail.sync import request_sync
from server.store.db import get_session
from server.store.models import Mailbox, utcnow

log = logging.getLogger(__name__)

bp = Blueprint("gmail_push", __name__, url_prefix="/gmail")

MAX_ENVELOPE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Notification:
    """The payload Gmail publishes: whose mailbox changed, and up to which historyId."""

    email: str
    history_id: int
    message_id: str


def bad_envelope(message: str) -> ApiError:
    return ApiError(400, f"Malformed Pub/Sub push: {message}", reason="bad_envelope")


def decode_envelope(body: Any) -> Notification:
    """Decode `{"message": {"data": base64(JSON{emailAddress, historyId})}, ...}` or raise 400."""
    if not isinstance(body, dict):
        raise bad_envelope("the body must be a JSON object")
    message = body.get("message")
    if not isinstance(message, dict):
        raise bad_envelope("'message' must be an object")
    data = message.get("data")
    if not isinstance(data, str) or not data.strip():
        raise bad_envelope("'message.data' must be a non-empty base64 string")
    try:
        # Pub/Sub sends standard base64; Gmail's guide calls it base64url. Accept both.
        text = data.strip().replace("-", "+").replace("_", "/")
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        payload = guarded_loads(raw.decode("utf-8"))  # depth-checked first
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad_envelope("'message.data' is not base64-encoded JSON") from None
    if not isinstance(payload, dict):
        raise bad_envelope("the notification must be a JSON object")
    email = payload.get("emailAddress")
    if not isinstance(email, str) or "@" not in email or len(email) > 320:
        raise bad_envelope("'emailAddress' is missing or not an address")
    history = payload.get("historyId")
    if isinstance(history, bool) or not isinstance(history, int | str):
        raise bad_envelope("'historyId' must be a number")
    try:
        history_id = int(str(history).strip())
    except ValueError:
        raise bad_envelope("'historyId' must be a number") from None
    if history_id <= 0:
        raise bad_envelope("'historyId' must be positive")
    message_id = message.get("messageId") or message.get("message_id") or ""
    return Notification(email.strip().lower(), history_id, str(message_id)[:100])


def _stored_history(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


@bp.post("/push")
def push() -> Response:
    """Accept a Gmail notification from Pub/Sub; 204 once it is safely noted."""
    require_service_token(
        request, audience_key="PUBSUB_AUDIENCE", account_key="PUBSUB_SERVICE_ACCOUNT"
    )
    if (request.content_length or 0) > MAX_ENVELOPE_BYTES:
        raise bad_envelope("the body is too large")
    body = request.get_json(silent=True)
    if body is None:
        raise bad_envelope("the body is not JSON")
    note = decode_envelope(body)
    session = get_session()
    mailbox = session.scalar(select(Mailbox).where(func.lower(Mailbox.email) == note.email))
    if mailbox is None or mailbox.status in PARKED:
        # Acknowledge: a retry would not make the mailbox appear or reconnect itself.
        log.info("push ignored: %s", "unknown mailbox" if mailbox is None else "needs reconnect")
        return Response(status=204)
    mailbox_id = mailbox.id
    if note.history_id <= _stored_history(mailbox.history_id) and not mailbox.full_sync_state:
        # Already synced past this point (a duplicate or a late, out-of-order delivery).
        # last_push_at stays as it is: a push newer than the last sync means "sync owed".
        return Response(status=204)
    session.execute(update(Mailbox).where(Mailbox.id == mailbox_id).values(last_push_at=utcnow()))
    session.commit()
    request_sync(session, mailbox_id)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config.get("PUSH_SYNC_MODE", "background") == "inline":
        outcome = sync_mailbox(app, mailbox_id)
        log.info("push for mailbox %s: %s %s", mailbox_id, outcome.result, outcome.detail)
    else:
        sync_pool(app).submit(mailbox_id)
    return Response(status=204)


def init_app(app: Flask) -> None:
    """Register the push endpoint."""
    app.register_blueprint(bp)
