"""Who is signed in to the web pages, and the CSRF token of their session.

Sessions live in Flask's signed cookie (Secure, HttpOnly, SameSite=Lax come from config).
Signing in clears whatever the cookie held before and issues a fresh CSRF token, so a
session prepared by someone else can never become a signed-in one (no fixation).
"""

from __future__ import annotations

import hmac
import secrets
import time
from urllib.parse import urlsplit

from flask import g, request, session

from server.errors import ApiError
from server.store.db import get_session
from server.store.models import User

USER_KEY = "uid"
EMAIL_KEY = "email"
SIGNED_IN_AT_KEY = "at"
METHOD_KEY = "via"
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
    user = get_session().get(User, uid)
    # The address must still match: a deleted and re-created id is a different person.
    if user is None or user.email != session.get(EMAIL_KEY):
        _forget_user()
        return None
    return user


def _forget_user() -> None:
    for key in (USER_KEY, EMAIL_KEY, SIGNED_IN_AT_KEY, METHOD_KEY):
        session.pop(key, None)


def sign_in(user: User, method: str) -> None:
    """Start a new session for `user`; everything the old cookie held is dropped."""
    session.clear()
    session.permanent = False
    session[USER_KEY] = user.id
    session[EMAIL_KEY] = user.email
    session[SIGNED_IN_AT_KEY] = int(time.time())
    session[METHOD_KEY] = method
    session[CSRF_KEY] = secrets.token_urlsafe(32)
    g.stepback_user = user


def sign_out() -> None:
    """End the session entirely."""
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
