"""Who is signed in to the web pages, and the CSRF token of their session.

The signed cookie (Secure, HttpOnly, SameSite=Lax come from config) names a server-side
session row by a random key; the row is what makes it valid, so deleting it ends the session
at once, even for a copied cookie. A row is granted for one org and role: removing the person,
demoting them or moving them to another org ends it. Signing in clears whatever the cookie
held before and issues a fresh key and CSRF token, so a session prepared by someone else can
never become a signed-in one (no fixation).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import timedelta
from urllib.parse import urlsplit

from flask import g, request, session
from sqlalchemy import delete
from sqlalchemy.orm import Session

from server.errors import ApiError
from server.store.db import get_session
from server.store.models import User, WebSession, utcnow

USER_KEY = "uid"
EMAIL_KEY = "email"
SIGNED_IN_AT_KEY = "at"
METHOD_KEY = "via"
SESSION_KEY = "sid"
CSRF_KEY = "csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# A signed-in session older than this must sign in again.
MAX_SESSION_SECONDS = 12 * 3600
CSRF_MESSAGE = (
    "This form's security token is missing or out of date. "
    "Reload the page and submit it again; nothing was changed."
)


def current_user() -> User | None:
    """Return the signed-in user of this request, or None."""
    if "stepback_user" in g:
        return g.stepback_user
    user = _load_user()
    g.stepback_user = user
    return user


def _load_user() -> User | None:
    uid = session.get(USER_KEY)
    if not isinstance(uid, int):
        return None
    signed_in_at = session.get(SIGNED_IN_AT_KEY)
    if (
        not isinstance(signed_in_at, int | float)
        or time.time() - signed_in_at > MAX_SESSION_SECONDS
    ):
        _forget_user()
        return None
    key = session.get(SESSION_KEY)
    db = get_session()
    row = db.get(WebSession, _digest(key)) if isinstance(key, str) and key else None
    user = db.get(User, uid) if row is not None else None
    # The address must still match: a deleted and re-created id is a different person.
    if (
        row is None
        or user is None
        or row.user_id != user.id
        or row.expires_at <= utcnow()
        or row.org_id != user.org_id
        or row.role != user.role
        or user.email != session.get(EMAIL_KEY)
    ):
        if row is not None:
            db.delete(row)
            db.commit()
        _forget_user()
        return None
    return user


def _digest(key: str) -> str:
    """The row id of a session key (a stolen database copy holds no usable cookie value)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _forget_user() -> None:
    for key in (USER_KEY, EMAIL_KEY, SIGNED_IN_AT_KEY, METHOD_KEY, SESSION_KEY):
        session.pop(key, None)


def sign_in(user: User, method: str) -> None:
    """Start a new session for `user`; everything the old cookie held is dropped."""
    end_current_session()
    db = get_session()
    now = utcnow()
    # Expired rows of this person are dropped here, so the table cannot grow without bound.
    db.execute(
        delete(WebSession).where(WebSession.user_id == user.id, WebSession.expires_at <= now)
    )
    key = secrets.token_urlsafe(32)
    db.add(
        WebSession(
            id=_digest(key),
            user_id=user.id,
            org_id=user.org_id,
            role=user.role,
            method=method[:16],
            created_at=now,
            expires_at=now + timedelta(seconds=MAX_SESSION_SECONDS),
        )
    )
    db.commit()
    session.clear()
    session.permanent = False
    session[USER_KEY] = user.id
    session[EMAIL_KEY] = user.email
    session[SIGNED_IN_AT_KEY] = int(time.time())
    session[METHOD_KEY] = method
    session[SESSION_KEY] = key
    session[CSRF_KEY] = secrets.token_urlsafe(32)
    g.stepback_user = user


def end_current_session() -> None:
    """Delete this cookie's session row, if it names one."""
    key = session.get(SESSION_KEY)
    if isinstance(key, str) and key:
        db = get_session()
        db.execute(delete(WebSession).where(WebSession.id == _digest(key)))
        db.commit()


def end_sessions(db: Session, user_id: int) -> int:
    """End every web session of one person at once (committed with the caller's change)."""
    result = db.execute(delete(WebSession).where(WebSession.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


def sign_out() -> None:
    """End the session entirely: the server-side row first, then the cookie."""
    end_current_session()
    session.clear()
    g.stepback_user = None


def csrf_token() -> str:
    """Return this session's CSRF token, creating it on first use."""
    token = session.get(CSRF_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_KEY] = token
    return token


def csrf_valid(submitted: str | None) -> bool:
    """Compare a submitted token with the session's, in constant time."""
    expected = session.get(CSRF_KEY)
    if not isinstance(expected, str) or not expected or not submitted:
        return False
    return hmac.compare_digest(expected.encode(), submitted.encode())


def check_csrf() -> None:
    """Refuse the request (400) unless it carries this session's CSRF token."""
    submitted = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
    if not csrf_valid(submitted):
        raise ApiError(400, CSRF_MESSAGE, reason="csrf")


def safe_next(target: str | None, default: str) -> str:
    """Return `target` only when it is a path on this site, so redirects cannot leave it."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(ch) < 32 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
