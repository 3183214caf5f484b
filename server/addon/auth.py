"""Verify that an add-on request comes from Google and find the rep it is for.

Google signs every call with the deployment's system ID token (Authorization header and
authorizationEventObject.systemIdToken): audience = the endpoint URL that was called,
email = the add-on's service account. The user is named by the user ID token (audience
= the add-on's OAuth client). Both go through google-auth's `verify_token`.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import google.auth.exceptions
import google.auth.transport
import google.auth.transport.requests
from flask import Flask, Request, current_app
from google.oauth2 import id_token as google_id_token
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.addon.events import AddonEvent
from server.errors import ApiError
from server.store.models import User

log = logging.getLogger(__name__)

GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
CLOCK_SKEW_SECONDS = 30
# Google's certificate answers say how long they may be kept (Cache-Control max-age).
DEFAULT_CERTS_SECONDS = 300
MAX_CERTS_SECONDS = 3600
# After a failed check, at most one forced re-fetch this often (a rotated key), so a
# flood of forged tokens cannot turn into a flood of certificate downloads.
REFETCH_INTERVAL_SECONDS = 30


def unauthorized(message: str) -> ApiError:
    """A 401 whose message says what was wrong, never what the token contained."""
    return ApiError(401, message, reason="unauthorized")


@dataclass(frozen=True)
class _Cached:
    response: Any
    expires: float


class CachingCertsRequest(google.auth.transport.Request):
    """A google-auth transport that keeps GET answers of the certificate URL for a while."""

    def __init__(self, inner: google.auth.transport.Request | None = None) -> None:
        self._inner = inner or google.auth.transport.requests.Request()
        self._lock = threading.Lock()
        self._cache: dict[str, _Cached] = {}
        self._last_forced = 0.0
        self.fetches = 0

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        if method != "GET" or body is not None:
            return self._inner(url, method=method, body=body, headers=headers, timeout=timeout)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(url)
            if hit is not None and hit.expires > now:
                return hit.response
        try:
            response = self._inner(url, method="GET", headers=headers, timeout=timeout or 10)
        finally:
            # Fetches are rare (the answer is cached), so keep no idle connection around.
            session = getattr(self._inner, "session", None)
            if session is not None:
                session.close()
        self.fetches += 1
        if response.status == 200:
            with self._lock:
                self._cache[url] = _Cached(response, now + _max_age(response.headers))
        return response

    def forget(self) -> bool:
        """Drop cached certificates (a key may have rotated); False if done too recently."""
        with self._lock:
            now = time.monotonic()
            if now - self._last_forced < REFETCH_INTERVAL_SECONDS:
                return False
            self._last_forced = now
            self._cache.clear()
            return True


def _max_age(headers: Mapping[str, str] | None) -> float:
    value = ""
    for key, text in (headers or {}).items():
        if key.lower() == "cache-control":
            value = text
    for part in value.split(","):
        name, _, number = part.strip().partition("=")
        if name.lower() == "max-age" and number.strip().isdigit():
            return float(min(int(number.strip()), MAX_CERTS_SECONDS))
    return float(DEFAULT_CERTS_SECONDS)


def certs_transport(app: Flask) -> CachingCertsRequest:
    """The app's certificate-caching transport (one per app, shared by all requests)."""
    transport = app.extensions.get("stepback_addon_certs")
    if transport is None:
        transport = CachingCertsRequest()
        app.extensions["stepback_addon_certs"] = transport
    assert isinstance(transport, CachingCertsRequest)
    return transport


def _verify(token: str, audience: str, what: str) -> Mapping[str, Any]:
    """Check signature, expiry and audience with google-auth; retry once after a key rotation."""
    transport = certs_transport(current_app)
    certs_url = current_app.config["GOOGLE_CERTS_URL"]
    for attempt in (1, 2):
        try:
            claims = google_id_token.verify_token(
                token,
                transport,
                audience=audience,
                certs_url=certs_url,
                clock_skew_in_seconds=CLOCK_SKEW_SECONDS,
            )
        except google.auth.exceptions.TransportError as exc:
            log.warning("add-on: cannot fetch Google's certificates: %s", exc)
            raise ApiError(
                503, "Google's signing keys could not be fetched; try again shortly."
            ) from exc
        except (ValueError, TypeError, google.auth.exceptions.GoogleAuthError) as exc:
            if attempt == 1 and "ertificate for key id" in str(exc) and transport.forget():
                continue
            raise unauthorized(f"The {what} could not be verified.") from exc
        if not isinstance(claims, Mapping):
            raise unauthorized(f"The {what} could not be verified.")
        if claims.get("iss") not in GOOGLE_ISSUERS:
            raise unauthorized(f"The {what} was not issued by Google.")
        return claims
    raise unauthorized(f"The {what} could not be verified.")  # pragma: no cover


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
    """The audience of user ID tokens: the add-on's OAuth client (else the product client)."""
    config = current_app.config
    return str(config.get("ADDON_CLIENT_ID") or config.get("GOOGLE_CLIENT_ID") or "")


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
