"""Verify the Google OAuth access token the extension sends as `Authorization: Bearer ...`.

The token is checked with Google's token-info endpoint (config GOOGLE_TOKENINFO_URL) through
google-auth's transport. Positive answers are cached briefly, keyed by a SHA-256 of the token
(the raw token is never kept, logged or put in a URL); rejections are cached only a few seconds.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import google.auth.exceptions
import google.auth.transport.requests
from flask import Flask, current_app

EMAIL_SCOPES = frozenset({"email", "https://www.googleapis.com/auth/userinfo.email"})
TIMEOUT_SECONDS = 5
# Rejections are remembered this long at most, so a flood of one bad token stays cheap
# while a fixed problem (e.g. a freshly granted scope) clears up almost at once.
NEGATIVE_CACHE_SECONDS = 5.0
MAX_CACHE_ENTRIES = 4096
MAX_TOKEN_LENGTH = 4096


class TokenError(Exception):
    """The token was refused: `status` 401 for the caller, 503 when Google is unreachable."""

    def __init__(self, message: str, reason: str, status: int = 401) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class TokenInfo:
    """What a verified token tells us about the person."""

    email: str
    audience: str
    scopes: frozenset[str]
    expires_at: float


@dataclass
class _Entry:
    until: float
    info: TokenInfo | None
    error: TokenError | None


def _int(value: Any) -> int | None:
    # Google sends numbers as strings ("3599"); tolerate real numbers too.
    if isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def token_key(token: str) -> str:
    """The cache key of a token: a SHA-256 digest, never the token itself."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_claims(data: Mapping[str, Any], client_id: str, now: float) -> TokenInfo:
    """Turn a token-info answer into TokenInfo, or raise TokenError saying what is wrong."""
    audiences = {str(data.get(k, "")) for k in ("aud", "azp", "audience", "issued_to")}
    if not client_id or client_id not in audiences:
        raise TokenError("This token was issued to another application.", "wrong_audience")
    scopes = frozenset(str(data.get("scope", "")).split())
    if not scopes & EMAIL_SCOPES:
        raise TokenError("The token lacks the email scope; sign in again.", "missing_scope")
    expires_in = _int(data.get("expires_in"))
    exp = _int(data.get("exp"))
    if expires_in is not None:
        expires_at = now + expires_in
    elif exp is not None:
        expires_at = float(exp)
    else:
        raise TokenError("The token has no expiry; sign in again.", "invalid_token")
    if expires_at <= now or (exp is not None and exp <= now):
        raise TokenError("The token has expired; sign in again.", "expired_token")
    email = str(data.get("email", "")).strip().lower()
    if not email or "@" not in email:
        raise TokenError("The token carries no email address.", "missing_scope")
    if not (_truthy(data.get("email_verified")) or _truthy(data.get("verified_email"))):
        raise TokenError("The Google account's email address is not verified.", "unverified_email")
    audience = str(data.get("aud") or data.get("azp") or client_id)
    return TokenInfo(email=email, audience=audience, scopes=scopes, expires_at=expires_at)


class TokenVerifier:
    """Ask the token-info endpoint about access tokens, with a small thread-safe cache."""

    def __init__(
        self,
        tokeninfo_url: str,
        client_id: str,
        cache_seconds: float = 300,
        *,
        max_entries: int = MAX_CACHE_ENTRIES,
        request: Callable[..., Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tokeninfo_url = tokeninfo_url
        self.client_id = client_id
        self.cache_seconds = max(0.0, float(cache_seconds))
        self.max_entries = max_entries
        self._request = request or google.auth.transport.requests.Request()
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, _Entry] = OrderedDict()
        self.lookups = 0  # calls to the endpoint (tests and the benchmark read it)

    def verify(self, token: str) -> TokenInfo:
        """Return the verified TokenInfo for `token` or raise TokenError."""
        if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii() or " " in token:
            raise TokenError("The bearer token is malformed.", "invalid_token")
        key = token_key(token)
        now = self._clock()
        cached = self._cached(key, now)
        if cached is not None:
            if cached.error is not None:
                raise cached.error
            assert cached.info is not None
            return cached.info
        try:
            info = check_claims(self._ask(token), self.client_id, now)
        except TokenError as exc:
            if exc.status == 401:
                self._store(
                    key, _Entry(now + min(NEGATIVE_CACHE_SECONDS, self.cache_seconds), None, exc)
                )
            raise
        # Never trust a token past its own expiry, however long the cache setting.
        self._store(key, _Entry(min(now + self.cache_seconds, info.expires_at), info, None))
        return info

    def knows(self, token: str) -> bool:
        """True when an answer for `token` is cached (verifying it needs no outbound call)."""
        return self._cached(token_key(token), self._clock()) is not None

    def _cached(self, key: str, now: float) -> _Entry | None:
        with self._lock:
            entry = self._cache.get(key)
            if entry is None:
                return None
            if entry.until <= now:
                del self._cache[key]
                return None
            self._cache.move_to_end(key)
            return entry

    def _store(self, key: str, entry: _Entry) -> None:
        if entry.until <= self._clock():
            return
        with self._lock:
            self._cache[key] = entry
            self._cache.move_to_end(key)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)

    def clear(self) -> None:
        """Forget every cached answer."""
        with self._lock:
            self._cache.clear()

    def _ask(self, token: str) -> Mapping[str, Any]:
        # POST keeps the token out of URLs (and so out of proxy and debug logs).
        self.lookups += 1
        body = urlencode({"access_token": token})
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        try:
            response = self._request(
                url=self.tokeninfo_url,
                method="POST",
                body=body,
                headers=headers,
                timeout=TIMEOUT_SECONDS,
            )
        except google.auth.exceptions.TransportError:
            raise TokenError(
                "Google sign-in could not be checked right now; try again shortly.",
                "verifier_unavailable",
                503,
            ) from None
        status = int(getattr(response, "status", 0))
        if 400 <= status < 500:
            raise TokenError("The token is not valid; sign in again.", "invalid_token")
        if status != 200:
            raise TokenError(
                "Google sign-in could not be checked right now; try again shortly.",
                "verifier_unavailable",
                503,
            )
        try:
            data = json.loads(response.data)
        except (TypeError, ValueError):
            data = None
        if not isinstance(data, dict):
            raise TokenError(
                "Google's token check answered in an unexpected way.", "verifier_unavailable", 503
            )
        return data


_verifier_lock = threading.Lock()


def verifier_for(app: Flask | None = None) -> TokenVerifier:
    """The app's verifier, created on first use from GOOGLE_TOKENINFO_URL / GOOGLE_CLIENT_ID."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    with _verifier_lock:
        verifier = app.extensions.get("stepback_token_verifier")
        if verifier is None:
            verifier = TokenVerifier(
                app.config["GOOGLE_TOKENINFO_URL"],
                app.config["GOOGLE_CLIENT_ID"],
                float(app.config.get("TOKEN_CACHE_SECONDS", 300)),
            )
            app.extensions["stepback_token_verifier"] = verifier
    return verifier


def bearer_token(header_value: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not header_value:
        return None
    scheme, _, token = header_value.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None
