"""Verify the OIDC tokens Google's own services attach to the calls they make to us.

Cloud Pub/Sub push deliveries and Cloud Scheduler jobs carry `Authorization: Bearer <JWT>`,
signed by Google for a service account we chose. We accept a call only when the token is
Google's (server.auth.google_tokens), for the expected audience, and names the expected,
verified service-account address.
"""

from __future__ import annotations

import logging

import google.auth.exceptions
from flask import Flask, Request, current_app

from server.auth.google_tokens import (
    CachingCertsRequest,
    GoogleTokenError,
    certs_transport,
    require_account,
    verify_google_token,
)
from server.errors import ApiError

log = logging.getLogger(__name__)


def certs_cache(app: Flask) -> CachingCertsRequest:
    """The app's shared certificate cache."""
    return certs_transport(app)


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
        claims = verify_google_token(
            token.strip(),
            audience,
            certs_url=str(app.config["GOOGLE_CERTS_URL"]),
            transport=certs_transport(app),
        )
        return require_account(claims, str(app.config.get(account_key) or ""))
    except GoogleTokenError as exc:
        log.warning("%s %s: refused OIDC token: %s", request.method, request.path, exc)
        raise ApiError(401, f"Token refused: {exc}.", reason="unauthorized") from None
    except google.auth.exceptions.TransportError:
        log.warning("cannot fetch Google's signing certificates")
        raise ApiError(
            503, "Google's signing keys could not be fetched; try again shortly."
        ) from None
