"""Verify the OIDC tokens Google's own services attach to the calls they make to us.

Cloud Pub/Sub push deliveries and Cloud Scheduler jobs carry `Authorization: Bearer <JWT>`,
signed by Google for a service account we chose. We accept a call only when google-auth's
`verify_token` checks the signature (against GOOGLE_CERTS_URL), expiry and audience, the
issuer is Google, and the token names the expected, verified service-account address.
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

from server.errors import ApiError

log = logging.getLogger(__name__)

GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
CLOCK_SKEW_SECONDS = 30
CERTS_TTL_SECONDS = 300.0
# A token naming an unknown key id may mean Google rotated its keys; re-fetch at most this often.
REFETCH_SECONDS = 30.0
MAX_TOKEN_LENGTH = 8192


class ServiceTokenError(Exception):
    """The token was refused; the message says why without echoing the token."""


@dataclass(frozen=True)
class _Cached:
    response: Any
    until: float


class CertsCache(google.auth.transport.Request):
    """A google-auth transport that remembers certificate answers for a few minutes.

    Pub/Sub may push hundreds of times a second; fetching Google's certificates on every
    push would add a round trip and could get us throttled.
    """

    def __init__(self, inner: google.auth.transport.Request | None = None) -> None:
        self._inner = inner or google.auth.transport.requests.Request()
        self._lock = threading.Lock()
        self._cache: dict[str, _Cached] = {}
        self._last_refetch = 0.0
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
            if hit is not None and hit.until > now:
                return hit.response
        response = self._inner(url, method="GET", headers=headers, timeout=timeout or 10)
        self.fetches += 1
        if response.status == 200:
            with self._lock:
                self._cache[url] = _Cached(response, now + CERTS_TTL_SECONDS)
        return response

    def refetch_allowed(self) -> bool:
        """Forget cached certificates, at most once per REFETCH_SECONDS."""
        with self._lock:
            now = time.monotonic()
            if now - self._last_refetch < REFETCH_SECONDS:
                return False
            self._last_refetch = now
            self._cache.clear()
            return True


def verify_service_token(
    token: str,
    *,
    audience: str,
    service_account: str,
    certs_url: str,
    transport: google.auth.transport.Request,
) -> Mapping[str, Any]:
    """Return the token's claims, or raise ServiceTokenError (or TransportError for 503)."""
    expected = service_account.strip().lower()
    if not expected:
        raise ServiceTokenError("no service account is configured for this endpoint")
    if not audience:
        raise ServiceTokenError("no audience is configured for this endpoint")
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise ServiceTokenError("the bearer token is malformed")
    claims: Mapping[str, Any] | None = None
    for attempt in (1, 2):
        try:
            claims = google_id_token.verify_token(
                token,
                transport,
                audience=audience,
                certs_url=certs_url,
                clock_skew_in_seconds=CLOCK_SKEW_SECONDS,
            )
            break
        except google.auth.exceptions.TransportError:
            raise
        except (ValueError, TypeError, google.auth.exceptions.GoogleAuthError) as exc:
            rotated = "ertificate for key id" in str(exc)
            if attempt == 1 and rotated and isinstance(transport, CertsCache):
                if transport.refetch_allowed():
                    continue
            raise ServiceTokenError("the token could not be verified") from exc
    if not isinstance(claims, Mapping):
        raise ServiceTokenError("the token could not be verified")
    if claims.get("iss") not in GOOGLE_ISSUERS:
        raise ServiceTokenError("the token was not issued by Google")
    email = str(claims.get("email") or "").strip().lower()
    if not hmac.compare_digest(email.encode(), expected.encode()):
        raise ServiceTokenError("the token belongs to another service account")
    if claims.get("email_verified") is not True:
        raise ServiceTokenError("the token's email address is not verified")
    return claims


def certs_cache(app: Flask) -> CertsCache:
    """The app's shared certificate cache."""
    cache = app.extensions.get("stepback_service_certs")
    if cache is None:
        cache = CertsCache()
        app.extensions["stepback_service_certs"] = cache
    return cache


def called_url(request: Request) -> str:
    """The public URL that was called (the default OIDC audience of Pub/Sub and Scheduler)."""
    base = str(current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/")
    return base + request.path


def require_service_token(request: Request, *, audience_key: str, account_key: str) -> str:
    """Check the caller's OIDC token against the configured audience and account.

    `audience_key` and `account_key` name config keys; an empty audience means the public
    URL of the endpoint (what Pub/Sub and Scheduler use when none is set). Returns the
    verified service-account address; raises ApiError 401 (bad token) or 503 (no certs).
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "A Google-signed OIDC bearer token is required.", reason="unauthorized")
    audience = str(app.config.get(audience_key) or "") or called_url(request)
    try:
        claims = verify_service_token(
            token.strip(),
            audience=audience,
            service_account=str(app.config.get(account_key) or ""),
            certs_url=str(app.config["GOOGLE_CERTS_URL"]),
            transport=certs_cache(app),
        )
    except ServiceTokenError as exc:
        log.warning("%s %s: refused OIDC token: %s", request.method, request.path, exc)
        raise ApiError(401, f"Token refused: {exc}.", reason="unauthorized") from None
    except google.auth.exceptions.TransportError:
        log.warning("cannot fetch Google's signing certificates")
        raise ApiError(
            503, "Google's signing keys could not be fetched; try again shortly."
        ) from None
    return str(claims["email"]).strip().lower()
