"""Verify that an add-on request comes from Google and find the rep it is for.

Google signs every call with the deployment's system ID token (Authorization header and
authorizationEventObject.systemIdToken): audience = the endpoint URL that was called,
email = the add-on's service account. The user is named by the user ID token (audience
= the add-on's OAuth client). Both go through google-auth's `verify_token`.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from typing import Any

import google.auth.exceptions
from flask import Request, current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.addon.events import AddonEvent
from server.auth.google_tokens import GoogleTokenError, certs_transport, verify_google_token
from server.errors import ApiError
from server.store.models import User

log = logging.getLogger(__name__)


def unauthorized(message: str) -> ApiError:
    """A 401 whose message says what was wrong, never what the token contained."""
    return ApiError(401, message, reason="unauthorized")


def _verify(token: str, audience: str, what: str) -> Mapping[str, Any]:
    """Check signature, expiry, audience and issuer; 401 when refused, 503 without certs."""
    try:
        return verify_google_token(
            token,
            audience,
            certs_url=current_app.config["GOOGLE_CERTS_URL"],
            transport=certs_transport(current_app),
        )
    except google.auth.exceptions.TransportError as exc:
        log.warning("add-on: cannot fetch Google's certificates: %s", exc)
        raise ApiError(
            503, "Google's signing keys could not be fetched; try again shortly."
        ) from exc
    except GoogleTokenError as exc:
        if "issued by Google" in str(exc):
            raise unauthorized(f"The {what} was not issued by Google.") from exc
        raise unauthorized(f"The {what} could not be verified.") from exc


def called_url(request: Request) -> str:
    """The public URL Google called: PUBLIC_BASE_URL + path (+ query when there is one)."""
    base = str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/")
    url = base + request.path
    query = request.query_string.decode("latin-1")
    return f"{url}?{query}" if query else url


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer ...` header, None without such a header."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        return None
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("The Authorization header must be a Bearer token.")
    return token.strip()


def body_system_token(body: Any) -> str:
    """authorizationEventObject.systemIdToken of a decoded body, "" when absent or odd."""
    auth = body.get("authorizationEventObject") if isinstance(body, Mapping) else None
    token = auth.get("systemIdToken") if isinstance(auth, Mapping) else None
    return token.strip() if isinstance(token, str) else ""


def verify_google_request(request: Request, body_token: str = "") -> Mapping[str, Any]:
    """Verify the system ID token; return its claims or raise a 401 ApiError.

    The header is what httpOptions.authorizationHeader asks Google to send; the body's
    authorizationEventObject.systemIdToken is the fallback when there is no header.
    """
    expected = str(current_app.config.get("ADDON_SERVICE_ACCOUNT") or "").strip().lower()
    if not expected:
        # Without a configured service account no token can be trusted.
        raise unauthorized("The add-on is not configured (ADDON_SERVICE_ACCOUNT is empty).")
    token = bearer_token(request) or body_token
    if not token:
        raise unauthorized("Google's system ID token is missing.")
    claims = _verify(token, called_url(request), "system ID token")
    email = str(claims.get("email") or "").strip().lower()
    if not hmac.compare_digest(email.encode(), expected.encode()):
        raise unauthorized("The system ID token is not from this add-on's service account.")
    if claims.get("email_verified") is not True:
        raise unauthorized("The system ID token's email is not verified.")
    return claims


def user_audience() -> str:
    """The audience of user ID tokens: the add-on deployment's own OAuth client.

    Never the product's client: Google mints the user ID token for the deployment's
    client (`gcloud workspace-add-ons get-authorization`), so any other audience would
    refuse every user. The app refuses to start without it (see server.addon.init_app).
    """
    return str(current_app.config.get("ADDON_CLIENT_ID") or "").strip()


def verify_user(event: AddonEvent) -> str:
    """Verify the user ID token and return the user's lowercased, verified address."""
    if not event.user_id_token:
        raise unauthorized("The user ID token is missing (is the userinfo.email scope granted?).")
    audience = user_audience()
    if not audience:
        raise unauthorized("The add-on is not configured (ADDON_CLIENT_ID is empty).")
    claims = _verify(event.user_id_token, audience, "user ID token")
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise unauthorized("The user ID token carries no email address.")
    if claims.get("email_verified") is not True:
        raise unauthorized("The user's email address is not verified by Google.")
    return email.strip().lower()


def find_rep(session: Session, email: str) -> User | None:
    """The stepback user with this Google address, or None."""
    return session.scalar(select(User).where(func.lower(User.email) == email.lower()))
