"""Connect a rep's Gmail for offline, metadata-only access.

`/connect/` explains what is asked; `/connect/start` sends the browser to Google with the
authorization-code flow (PKCE S256, state, nonce, `access_type=offline`, `prompt=consent` so
Google hands out a refresh token), and `/connect/callback` trades the code for tokens,
verifies the ID token, checks that the metadata permission was granted, and stores the
refresh token encrypted on the rep's mailbox. Only people an admin has added can connect.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlencode

import requests
from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import func, select

from server.auth.oidc import (
    OidcError,
    PendingLogin,
    code_challenge,
    new_pending,
    state_matches,
    verify_identity,
)
from server.gmail.client import METADATA_SCOPE
from server.gmail.credentials import forget_credentials
from server.gmail.jobs import renew_watch, sync_mailbox, sync_pool
from server.store.crypto import secret_box
from server.store.db import get_session
from server.store.models import AuditLog, Mailbox, User

log = logging.getLogger(__name__)

bp = Blueprint("connect", __name__, url_prefix="/connect", template_folder="templates")

# The pages may never be framed (a framed "Connect my Gmail" button invites clickjacking);
# they hold no script, and their only style is the inline sheet of the template.
CONNECT_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}


@bp.after_request
def _connect_headers(resp: Response) -> Response:
    for key, value in CONNECT_HEADERS.items():
        resp.headers.setdefault(key, value)
    resp.headers.setdefault("Cache-Control", "no-store")
    return resp


PENDING_KEY = "connect_pending"
SCOPES = ("openid", "email", METADATA_SCOPE)
# A consent screen left open longer than this must be started again.
PENDING_SECONDS = 15 * 60
TIMEOUT_SECONDS = 10


class ConnectError(Exception):
    """A step failed; the message is meant for the rep."""

    def __init__(self, message: str, status: int = 400, retry: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry = retry


def _page(kind: str, title: str, message: str = "", status: int = 200, **extra: Any) -> Response:
    html = render_template("connect/page.html", kind=kind, title=title, message=message, **extra)
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _redirect_uri() -> str:
    base = str(current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return base + url_for("connect.callback")


def _client_id() -> str:
    client_id = str(current_app.config.get("GOOGLE_CLIENT_ID") or "")
    if not client_id:
        raise ConnectError(
            "Connecting Gmail is not set up on this server yet (no OAuth client). "
            "Please tell your stepback admin.",
            status=503,
            retry=False,
        )
    return client_id


@bp.errorhandler(ConnectError)
def _connect_error(exc: ConnectError) -> Response:
    return _page("problem", "Gmail was not connected", exc.message, exc.status, retry=exc.retry)


@bp.get("/")
def start_page() -> Response:
    """Explain what connecting means, with one button."""
    _client_id()
    hint = _hint(request.args.get("email"))
    start_url = url_for("connect.start", email=hint) if hint else url_for("connect.start")
    return _page("start", "Connect your Gmail to stepback", start_url=start_url)


def _hint(value: str | None) -> str:
    text = (value or "").strip().lower()
    if not text or len(text) > 320 or "@" not in text or any(c.isspace() for c in text):
        return ""
    return text


@bp.get("/start")
def start() -> Any:
    """Send the browser to Google's consent screen."""
    client_id = _client_id()
    pending = new_pending(next_url="")
    session[PENDING_KEY] = {**pending.to_dict(), "at": time.time()}
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": _redirect_uri(),
        "scope": " ".join(SCOPES),
        "access_type": "offline",
        "prompt": "consent",
        "include_granted_scopes": "true",
        "state": pending.state,
        "nonce": pending.nonce,
        "code_challenge": code_challenge(pending.verifier),
        "code_challenge_method": "S256",
    }
    hint = _hint(request.args.get("email"))
    if hint:
        params["login_hint"] = hint
    auth_url = str(current_app.config["GOOGLE_AUTH_URL"])
    joiner = "&" if "?" in auth_url else "?"
    return redirect(f"{auth_url}{joiner}{urlencode(params)}")


def _pending() -> PendingLogin:
    raw = session.pop(PENDING_KEY, None)
    pending = PendingLogin.from_dict(
        {k: v for k, v in raw.items() if k != "at"} if isinstance(raw, dict) else None
    )
    started = raw.get("at") if isinstance(raw, dict) else None
    fresh = isinstance(started, int | float) and time.time() - started < PENDING_SECONDS
    if pending is None or not fresh:
        raise ConnectError(
            "This connection attempt has expired or was started in another browser. "
            "Start again from this browser."
        )
    return pending


def exchange_code(code: str, verifier: str) -> dict[str, Any]:
    """Trade the authorization code (with the PKCE verifier) for tokens."""
    config = current_app.config
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": _redirect_uri(),
        "client_id": _client_id(),
    }
    if config.get("GOOGLE_CLIENT_SECRET"):
        form["client_secret"] = str(config["GOOGLE_CLIENT_SECRET"])
    try:
        resp = requests.post(str(config["GOOGLE_TOKEN_URL"]), data=form, timeout=TIMEOUT_SECONDS)
    except requests.RequestException:
        raise ConnectError("Google could not be reached; try again in a minute.", 503) from None
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code != 200 or not isinstance(body, dict):
        reason = body.get("error") if isinstance(body, dict) else resp.status_code
        if resp.status_code >= 500:
            raise ConnectError("Google had a problem finishing the connection; try again.", 503)
        raise ConnectError(f"Google did not accept the sign-in code ({reason}); start again.")
    return body


@bp.get("/callback")
def callback() -> Response:
    """Google sends the browser back here with a code (or an error)."""
    pending = _pending()
    if request.args.get("error"):
        if request.args.get("error") == "access_denied":
            raise ConnectError("You chose not to allow access, so nothing was stored.", 403)
        raise ConnectError("Google did not complete the connection; nothing was stored.")
    if not state_matches(pending, request.args.get("state")):
        raise ConnectError("This answer does not belong to the connection you started.")
    code = request.args.get("code") or ""
    if not code or len(code) > 2048:
        raise ConnectError("Google's answer held no sign-in code.")
    tokens = exchange_code(code, pending.verifier)
    id_token = tokens.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise ConnectError("Google's answer held no ID token; start again.")
    try:
        identity = verify_identity(
            id_token,
            client_id=_client_id(),
            certs_url=str(current_app.config["GOOGLE_CERTS_URL"]),
            nonce=pending.nonce,
        )
    except OidcError as exc:
        raise ConnectError(str(exc)) from None
    granted = set(str(tokens.get("scope") or "").split())
    if METADATA_SCOPE not in granted:
        raise ConnectError(
            "The permission to view message metadata was not granted. Start again and "
            "leave that box ticked; stepback cannot work without it.",
            403,
        )
    refresh_token = tokens.get("refresh_token")
    if not isinstance(refresh_token, str) or not refresh_token:
        raise ConnectError(
            "Google did not grant offline access. Remove stepback under "
            "'Third-party apps with account access' in your Google account, then start again."
        )
    mailbox_id = _store(identity.email, refresh_token, granted)
    _after_connect(mailbox_id)
    return _page(
        "done",
        "Gmail connected",
        f"{identity.email} is connected. stepback is reading your message headers now; "
        "your quiet prospects will show up in Gmail within a few minutes.",
    )


def _store(email: str, refresh_token: str, granted: set[str]) -> int:
    db = get_session()
    user = db.scalar(select(User).where(func.lower(User.email) == email))
    if user is None:
        raise ConnectError(
            f"{email} is not a stepback user yet. Ask your stepback admin to add you, "
            "then connect again.",
            403,
            retry=False,
        )
    mailbox = user.mailbox
    before = None
    if mailbox is None:
        mailbox = Mailbox(org_id=user.org_id, user_id=user.id, email=email)
        db.add(mailbox)
    else:
        before = {"status": mailbox.status, "authKind": mailbox.auth_kind}
    mailbox.email = email
    mailbox.auth_kind = "oauth"
    mailbox.refresh_token_enc = secret_box().encrypt(refresh_token)
    mailbox.granted_scopes = " ".join(sorted(granted))
    mailbox.status = "ok" if mailbox.history_id else "new"
    mailbox.last_error = None
    db.flush()
    db.add(
        AuditLog(
            org_id=user.org_id,
            actor_email=email,
            action="mailbox.connect",
            target=email,
            before=before,
            after={"status": mailbox.status, "authKind": "oauth"},
        )
    )
    db.commit()
    forget_credentials(mailbox.id)
    log.info("mailbox %s connected (offline access, metadata scope)", mailbox.id)
    return mailbox.id


def _after_connect(mailbox_id: int) -> None:
    """Start the Gmail watch and the first sync; failures are retried by the scheduler."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    topic = str(app.config.get("PUBSUB_TOPIC") or "")
    if topic:
        outcome = renew_watch(app, mailbox_id, topic)
        if outcome.result != "renewed":
            log.info("mailbox %s: watch not started yet: %s", mailbox_id, outcome.detail)
    if app.config.get("PUSH_SYNC_MODE", "background") == "inline":
        sync_mailbox(app, mailbox_id)
    else:
        sync_pool(app).submit(mailbox_id)
