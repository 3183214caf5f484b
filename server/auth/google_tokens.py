"""Verify Google-signed ID tokens (OIDC JWTs) with google-auth, caching Google's certificates.

Used for every token Google itself signs for us: the Workspace add-on's system and user ID
tokens, Pub/Sub push and Cloud Scheduler OIDC tokens. `verify_token` checks the signature
against GOOGLE_CERTS_URL, the expiry and the audience; we add the issuer, and callers add
the expected (verified) email.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import google.auth.exceptions
import google.auth.transport
import google.auth.transport.requests
from flask import Flask
from google.oauth2 import id_token as google_id_token

GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
CLOCK_SKEW_SECONDS = 30
MAX_TOKEN_LENGTH = 8192
# Google's certificate answers say how long they may be kept (Cache-Control max-age).
DEFAULT_CERTS_SECONDS = 300
MAX_CERTS_SECONDS = 3600
# After a failed check, at most one forced re-fetch this often (a rotated key), so a
# flood of forged tokens cannot turn into a flood of certificate downloads.
REFETCH_INTERVAL_SECONDS = 30


class GoogleTokenError(Exception):
    """The token was refused; the message says why without echoing the token."""


@dataclass(frozen=True)
class _Cached:
    response: Any
    expires: float


class CachingCertsRequest(google.auth.transport.Request):
    """A google-auth transport that keeps GET answers of the certificate URL for a while.

    Pub/Sub may push hundreds of times a second; fetching Google's certificates for each
    call would add a round trip and could get us throttled.
    """

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
    """The app's certificate-caching transport (one per app, shared by every verifier)."""
    transport = app.extensions.get("stepback_google_certs")
    if transport is None:
        transport = CachingCertsRequest()
        app.extensions["stepback_google_certs"] = transport
    assert isinstance(transport, CachingCertsRequest)
    return transport


def verify_google_token(
    token: str, audience: str, *, certs_url: str, transport: CachingCertsRequest
) -> Mapping[str, Any]:
    """Return the claims of a Google-signed token for `audience`.

    Raises GoogleTokenError when refused, google.auth.exceptions.TransportError when the
    certificates cannot be fetched (the caller answers 503).
    """
    if not audience:
        raise GoogleTokenError("no audience is configured for this endpoint")
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise GoogleTokenError("the token is malformed")
    for attempt in (1, 2):
        try:
            claims = google_id_token.verify_token(
                token,
                transport,
                audience=audience,
                certs_url=certs_url,
                clock_skew_in_seconds=CLOCK_SKEW_SECONDS,
            )
        except google.auth.exceptions.TransportError:
            raise
        except (ValueError, TypeError, google.auth.exceptions.GoogleAuthError) as exc:
            if attempt == 1 and "ertificate for key id" in str(exc) and transport.forget():
                continue
            raise GoogleTokenError("the token could not be verified") from exc
        if not isinstance(claims, Mapping):
            raise GoogleTokenError("the token could not be verified")
        if claims.get("iss") not in GOOGLE_ISSUERS:
            raise GoogleTokenError("the token was not issued by Google")
        return claims
    raise GoogleTokenError("the token could not be verified")  # pragma: no cover


def require_account(claims: Mapping[str, Any], expected: str) -> str:
    """Check the token names `expected` (a service account) with a verified address."""
    want = expected.strip().lower()
    if not want:
        raise GoogleTokenError("no service account is configured for this endpoint")
    email = str(claims.get("email") or "").strip().lower()
    if not hmac.compare_digest(email.encode(), want.encode()):
        raise GoogleTokenError("the token belongs to another service account")
    if claims.get("email_verified") is not True:
        raise GoogleTokenError("the token's email address is not verified")
    return email
