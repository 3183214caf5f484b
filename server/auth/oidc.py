"""Sign in with Google: the OpenID Connect authorization-code flow with PKCE (S256).

The endpoints are configuration (GOOGLE_AUTH_URL, GOOGLE_TOKEN_URL, GOOGLE_CERTS_URL), so
tests and local runs can point them at a stand-in. The ID token is verified with google-auth.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

import google.auth.exceptions
import google.auth.transport.requests
import requests
from google.oauth2 import id_token as google_id_token

GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
SCOPES = "openid email profile"
TIMEOUT_SECONDS = 10
# Tolerate small clock differences between us and the token issuer.
CLOCK_SKEW_SECONDS = 30


class OidcError(Exception):
    """A sign-in step failed; the message is safe to show to the person signing in."""


@dataclass(frozen=True)
class PendingLogin:
    """What we remember between sending the browser to Google and its return."""

    state: str
    nonce: str
    verifier: str
    next_url: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> PendingLogin | None:
        if not isinstance(data, dict):
            return None
        try:
            values = {k: data[k] for k in ("state", "nonce", "verifier", "next_url")}
        except KeyError:
            return None
        if not all(isinstance(v, str) for v in values.values()):
            return None
        return cls(**values)


@dataclass(frozen=True)
class Identity:
    """The verified facts of an ID token we rely on."""

    email: str
    name: str
    subject: str
    hosted_domain: str


def new_pending(next_url: str) -> PendingLogin:
    """Fresh state, nonce and PKCE verifier (43+ URL-safe characters, as RFC 7636 asks)."""
    return PendingLogin(
        state=secrets.token_urlsafe(24),
        nonce=secrets.token_urlsafe(24),
        verifier=secrets.token_urlsafe(48),
        next_url=next_url,
    )


def code_challenge(verifier: str) -> str:
    """The S256 challenge: unpadded base64url of the verifier's SHA-256."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorization_url(
    auth_url: str, *, client_id: str, redirect_uri: str, pending: PendingLogin
) -> str:
    """The address to send the browser to."""
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": SCOPES,
        "state": pending.state,
        "nonce": pending.nonce,
        "code_challenge": code_challenge(pending.verifier),
        "code_challenge_method": "S256",
        "prompt": "select_account",
    }
    separator = "&" if "?" in auth_url else "?"
    return f"{auth_url}{separator}{urlencode(params)}"


def state_matches(pending: PendingLogin, returned: str | None) -> bool:
    """Compare the returned state with ours in constant time."""
    return bool(returned) and hmac.compare_digest(pending.state.encode(), str(returned).encode())


def exchange_code(
    token_url: str,
    *,
    code: str,
    verifier: str,
    redirect_uri: str,
    client_id: str,
    client_secret: str,
) -> str:
    """Trade the authorization code (plus PKCE verifier) for an ID token."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": redirect_uri,
        "client_id": client_id,
    }
    if client_secret:
        form["client_secret"] = client_secret
    try:
        resp = requests.post(token_url, data=form, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise OidcError("Google's token endpoint could not be reached; try again.") from exc
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if resp.status_code != 200:
        reason = body.get("error") if isinstance(body, dict) else None
        raise OidcError(f"Google refused the sign-in code ({reason or resp.status_code}).")
    token = body.get("id_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise OidcError("Google's answer held no ID token.")
    return token


def verify_identity(token: str, *, client_id: str, certs_url: str, nonce: str) -> Identity:
    """Verify signature, audience, expiry, issuer and nonce; return the signed-in address."""
    try:
        claims = google_id_token.verify_token(
            token,
            google.auth.transport.requests.Request(),
            audience=client_id,
            certs_url=certs_url,
            clock_skew_in_seconds=CLOCK_SKEW_SECONDS,
        )
    except (ValueError, google.auth.exceptions.GoogleAuthError) as exc:
        raise OidcError("The ID token from Google could not be verified.") from exc
    if claims.get("iss") not in GOOGLE_ISSUERS:
        raise OidcError("The ID token was not issued by Google.")
    returned_nonce = claims.get("nonce")
    if not isinstance(returned_nonce, str) or not hmac.compare_digest(
        returned_nonce.encode(), nonce.encode()
    ):
        raise OidcError("The ID token does not belong to this sign-in attempt.")
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise OidcError("The ID token carries no email address.")
    if claims.get("email_verified") is not True:
        raise OidcError("Google has not verified this account's email address.")
    return Identity(
        email=email.strip().lower(),
        name=str(claims.get("name") or ""),
        subject=str(claims.get("sub") or ""),
        hosted_domain=str(claims.get("hd") or ""),
    )
