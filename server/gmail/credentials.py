"""Credentials to read a rep's Gmail while the rep is away (offline access).

Two ways in:
- the rep's one-time consent (/connect): a refresh token, stored encrypted, turned into
  `google.oauth2.credentials.Credentials` that refresh themselves at GOOGLE_TOKEN_URL;
- Workspace domain-wide delegation: the org's service-account key (stored encrypted) acting
  for the rep's address with `with_subject`.

A grant Google refuses for good (revoked, expired, delegation withdrawn, a key we can no
longer decrypt) raises ReconnectNeeded; callers mark the mailbox "reconnect_needed" and move
on. Token-endpoint hiccups raise AuthUnavailable and change nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading

import google.auth.exceptions
import google.auth.transport.requests
from flask import Flask
from google.auth.credentials import Credentials
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account
from sqlalchemy import update
from sqlalchemy.orm import Session

from server.gmail.client import METADATA_SCOPE
from server.store.crypto import SecretBoxError, secret_box
from server.store.models import Mailbox

log = logging.getLogger(__name__)

RECONNECT = "reconnect_needed"
# Google answers these (HTTP 400/401) when a grant is gone for good.
FINAL_ERRORS = frozenset(
    {"invalid_grant", "unauthorized_client", "invalid_client", "access_denied", "invalid_scope"}
)


class ReconnectNeeded(Exception):
    """The mailbox's grant is unusable until the rep (or the admin) reconnects it."""


class AuthUnavailable(Exception):
    """Google's token endpoint could not be reached or failed; try again later."""


_cache_lock = threading.Lock()
# (mailbox id, fingerprint of the stored secret) -> credentials; a reconnect changes the
# fingerprint, so a stale access token is never reused for a new grant.
_cache: dict[tuple[int, str], Credentials] = {}
MAX_CACHED = 5000


def _fingerprint(*parts: bytes | str | None) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else (part or b""))
        digest.update(b"\0")
    return digest.hexdigest()


def build_credentials(app: Flask, mailbox: Mailbox) -> Credentials:
    """Unrefreshed credentials for the mailbox; ReconnectNeeded when there is no usable grant."""
    org = mailbox.user.org if mailbox.user is not None else None
    dwd_on = bool(org is not None and org.dwd_enabled)
    if mailbox.auth_kind == "dwd" or (not mailbox.refresh_token_enc and dwd_on):
        return _delegated(app, mailbox)
    if mailbox.refresh_token_enc:
        try:
            refresh_token = secret_box(app).decrypt(mailbox.refresh_token_enc)
        except SecretBoxError as exc:
            raise ReconnectNeeded(
                "the stored grant cannot be decrypted with the configured keys"
            ) from exc
        config = app.config
        if not config.get("GOOGLE_CLIENT_ID") or not config.get("GOOGLE_CLIENT_SECRET"):
            # Google refreshes a web client's tokens only with its id and secret.
            raise AuthUnavailable("GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET must be configured")
        return user_credentials.Credentials(
            token=None,
            refresh_token=refresh_token,
            token_uri=str(config["GOOGLE_TOKEN_URL"]),
            client_id=str(config.get("GOOGLE_CLIENT_ID") or ""),
            client_secret=str(config["GOOGLE_CLIENT_SECRET"]),
            scopes=[METADATA_SCOPE],
        )
    if mailbox.auth_kind == "none" and app.config.get("GMAIL_API_ENDPOINT"):
        # The demo and local runs read the emulator, which takes any bearer token.
        return user_credentials.Credentials(token="local-emulator")  # noqa: S106
    raise ReconnectNeeded("this mailbox has never been connected")


def has_grant(app: Flask, mailbox: Mailbox) -> bool:
    """Whether the mailbox has something to sign in with (without checking it still works)."""
    if mailbox.refresh_token_enc:
        return True
    org = mailbox.user.org if mailbox.user is not None else None
    if mailbox.auth_kind == "dwd" or (org is not None and org.dwd_enabled):
        return bool(org is not None and org.dwd_enabled and org.dwd_key_enc)
    return mailbox.auth_kind == "none" and bool(app.config.get("GMAIL_API_ENDPOINT"))


def _delegated(app: Flask, mailbox: Mailbox) -> Credentials:
    org = mailbox.user.org
    if not org.dwd_enabled:
        raise ReconnectNeeded("domain-wide delegation is turned off for this organisation")
    if not org.dwd_key_enc:
        raise ReconnectNeeded("domain-wide delegation has no service-account key")
    try:
        info = json.loads(secret_box(app).decrypt(org.dwd_key_enc))
    except (SecretBoxError, ValueError) as exc:
        raise ReconnectNeeded("the stored service-account key cannot be read") from exc
    if not isinstance(info, dict):
        raise ReconnectNeeded("the stored service-account key cannot be read")
    # Signed assertions go only to the configured token endpoint, never to a URL taken
    # from an uploaded file.
    info = {**info, "token_uri": str(app.config["GOOGLE_TOKEN_URL"])}
    try:
        base = service_account.Credentials.from_service_account_info(
            info, scopes=[METADATA_SCOPE]
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ReconnectNeeded("the stored service-account key is not valid") from exc
    return base.with_subject(mailbox.email)


def _cache_key(mailbox: Mailbox) -> tuple[int, str]:
    org = mailbox.user.org if mailbox.user is not None else None
    secret = mailbox.refresh_token_enc
    if mailbox.auth_kind == "dwd" or (not secret and org is not None and org.dwd_enabled):
        secret = org.dwd_key_enc if org is not None else None
    return mailbox.id, _fingerprint(mailbox.auth_kind, mailbox.email, secret)


def fresh_credentials(app: Flask, mailbox: Mailbox) -> Credentials:
    """Credentials holding a live access token (refreshed, and reused while it lasts)."""
    key = _cache_key(mailbox)
    with _cache_lock:
        creds = _cache.get(key)
    if creds is None:
        creds = build_credentials(app, mailbox)
    if not creds.valid:
        try:
            creds.refresh(google.auth.transport.requests.Request())
        except google.auth.exceptions.RefreshError as exc:
            code = _error_code(exc)
            if code in FINAL_ERRORS:
                raise ReconnectNeeded(f"Google refused the grant ({code})") from exc
            raise AuthUnavailable(f"Google's token endpoint failed: {_short(exc)}") from exc
        except google.auth.exceptions.TransportError as exc:
            raise AuthUnavailable("Google's token endpoint could not be reached") from exc
    with _cache_lock:
        if len(_cache) >= MAX_CACHED:
            _cache.clear()
        _cache[key] = creds
    return creds


def forget_credentials(mailbox_id: int) -> None:
    """Drop cached tokens of a mailbox (after a reconnect or a refusal)."""
    with _cache_lock:
        for key in [k for k in _cache if k[0] == mailbox_id]:
            del _cache[key]


def _error_code(exc: google.auth.exceptions.RefreshError) -> str:
    for arg in exc.args[1:]:
        if isinstance(arg, dict) and isinstance(arg.get("error"), str):
            return str(arg["error"])
    text = str(exc.args[0]) if exc.args else ""
    head = text.split(":", 1)[0].strip()
    return head if head in FINAL_ERRORS else ""


def _short(exc: BaseException) -> str:
    text = str(exc.args[0]) if exc.args else type(exc).__name__
    return text[:200]


def mark_reconnect_needed(session: Session, mailbox_id: int, reason: str) -> None:
    """Flag the mailbox so the rep and admins see that it must be reconnected."""
    session.rollback()
    session.execute(
        update(Mailbox)
        .where(Mailbox.id == mailbox_id)
        .values(status=RECONNECT, last_error=f"Reconnect needed: {reason}"[:1000])
    )
    session.commit()
    forget_credentials(mailbox_id)
    log.info("mailbox %s needs reconnecting: %s", mailbox_id, reason)

