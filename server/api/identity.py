"""Who is calling: the verified Google token of this request, and the rep it belongs to."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from server.api.ratelimit import LookupGate
from server.auth.tokens import TokenError, TokenInfo, bearer_token, verifier_for
from server.errors import ApiError
from server.store.db import get_session
from server.store.models import User

MISSING = "Sign in with Google and send the access token as 'Authorization: Bearer <token>'."


def _memo() -> dict[str, Any]:
    # Kept in the WSGI environ: strictly one request (an app context can outlive a request).
    return request.environ.setdefault("stepback.api", {})


def token_info() -> TokenInfo:
    """Verify this request's bearer token once (the result is kept for the request)."""
    memo = _memo()
    if "info" in memo:
        return memo["info"]
    if "error" in memo:
        raise memo["error"]
    try:
        token = bearer_token(request.headers.get("Authorization"))
        if token is None:
            raise TokenError(MISSING, "missing_token")
        verifier = verifier_for()
        if not verifier.knows(token):
            # Counted before the outbound token-info call, so random tokens cannot make us
            # call Google (and wait up to its timeout) faster than this limit allows.
            lookup_gate().admit(request.remote_addr or "unknown")
        info = verifier.verify(token)
    except TokenError as exc:
        error = ApiError(exc.status, exc.message, reason=exc.reason)
        memo["error"] = error
        raise error from None
    memo["info"] = info
    return info


def lookup_gate() -> LookupGate:
    """The app's bound on token-info lookups per caller address."""
    gate: LookupGate = current_app.extensions["stepback_lookup_gate"]
    return gate


def rate_limit_key() -> str:
    """Rate-limit per verified rep; callers without a valid token share their address's bucket."""
    try:
        return "rep:" + token_info().email
    except ApiError:
        return "addr:" + (request.remote_addr or "unknown")


def current_rep() -> User:
    """The rep behind this request: 401 without a valid token, 403 if not a user of any org."""
    memo = _memo()
    if "rep" in memo:
        return memo["rep"]
    info = token_info()
    # One round trip for what every endpoint reads next (settings need org, team, mailbox).
    query = (
        select(User)
        .where(User.email == info.email)
        .options(joinedload(User.org), joinedload(User.team), joinedload(User.mailbox))
    )
    user = get_session().scalar(query)
    if user is None:
        raise ApiError(
            403,
            "This Google account is not set up in stepback; ask your admin to add you.",
            reason="unknown_user",
        )
    memo["rep"] = user
    return user
