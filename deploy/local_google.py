"""A loopback stand-in for the Google endpoints stepback talks to (tests, local runs, benchmarks).

It serves, on 127.0.0.1 only:

- `GET  /oauth2/v1/certs`  the signing certificates as `{kid: PEM}` (what GOOGLE_CERTS_URL serves);
- `POST /tokeninfo`        token-info answers for access tokens it issued or was told about;
- `POST /token`            the OAuth token endpoint: authorization_code (with PKCE), refresh_token
                           and the JWT-bearer grant service accounts use for domain-wide delegation;
- `GET  /auth`             a consent screen that consents at once (for unattended local runs).

ID tokens (Pub/Sub and Scheduler OIDC tokens, sign-in ID tokens) are signed with a real RSA key
and a self-signed certificate, so the production code verifies them exactly as it verifies
Google's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt

ISSUER = "https://accounts.google.com"
METADATA_SCOPE = "https://www.googleapis.com/auth/gmail.metadata"
EMAIL_SCOPE = "https://www.googleapis.com/auth/userinfo.email"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class SigningKey:
    """An RSA key with a self-signed certificate, identified by a key id."""

    def __init__(self, kid: str | None = None) -> None:
        self.kid = kid or secrets.token_hex(8)
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stepback local google")])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30))
            .sign(self._key, hashes.SHA256())
        )
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        self.private_pem = self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        self._signer = crypt.RSASigner.from_string(self.private_pem, key_id=self.kid)

    def sign(self, claims: Mapping[str, Any]) -> str:
        """A compact JWT of `claims` signed with this key (header carries the kid)."""
        return jwt.encode(self._signer, dict(claims)).decode()


@dataclass
class AccessToken:
    email: str
    audience: str
    scopes: tuple[str, ...]
    expires_at: float
    verified: bool = True


@dataclass
class _Grant:
    """An authorization code waiting to be exchanged."""

    email: str
    scopes: tuple[str, ...]
    redirect_uri: str
    challenge: str
    nonce: str
    used: bool = False


@dataclass
class _State:
    client_id: str
    client_secret: str
    key: SigningKey
    tokens: dict[str, AccessToken] = field(default_factory=dict)
    refresh: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    codes: dict[str, _Grant] = field(default_factory=dict)
    service_accounts: dict[str, tuple[str, str]] = field(default_factory=dict)
    delegated: set[str] = field(default_factory=set)
    consent_account: str = ""
    token_requests: int = 0
    failures: list[int] = field(default_factory=list)


class LocalGoogle:
    """The stand-in server; thread-safe; use as a context manager or start()/stop()."""

    def __init__(
        self, client_id: str = "stepback-local.apps.googleusercontent.com", client_secret: str = ""
    ) -> None:
        self.state = _State(client_id, client_secret, SigningKey())
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.google = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def certs_url(self) -> str:
        return self.url + "/oauth2/v1/certs"

    @property
    def tokeninfo_url(self) -> str:
        return self.url + "/tokeninfo"

    @property
    def token_url(self) -> str:
        return self.url + "/token"

    @property
    def auth_url(self) -> str:
        return self.url + "/auth"

    @property
    def client_id(self) -> str:
        return self.state.client_id

    def config(self) -> dict[str, Any]:
        """The app configuration that points stepback at this stand-in."""
        return {
            "GOOGLE_CERTS_URL": self.certs_url,
            "GOOGLE_TOKENINFO_URL": self.tokeninfo_url,
            "GOOGLE_TOKEN_URL": self.token_url,
            "GOOGLE_AUTH_URL": self.auth_url,
            "GOOGLE_CLIENT_ID": self.state.client_id,
            "GOOGLE_CLIENT_SECRET": self.state.client_secret,
        }

    def start(self) -> LocalGoogle:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> LocalGoogle:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- ID tokens -------------------------------------------------------------------------

    def id_token(
        self,
        email: str,
        audience: str,
        *,
        lifetime: int = 3600,
        verified: bool = True,
        issuer: str = ISSUER,
        key: SigningKey | None = None,
        **extra: Any,
    ) -> str:
        """A Google-style OIDC ID token for `email` (a service account or a person)."""
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": audience,
            "azp": secrets.token_hex(10),
            "sub": hashlib.sha256(email.encode()).hexdigest()[:21],
            "email": email,
            "email_verified": verified,
            "iat": now,
            "exp": now + lifetime,
            **extra,
        }
        return (key or self.state.key).sign(claims)

    # -- access tokens ---------------------------------------------------------------------

    def add_access_token(
        self,
        email: str,
        *,
        token: str | None = None,
        audience: str | None = None,
        scopes: Iterable[str] = ("openid", EMAIL_SCOPE),
        lifetime: int = 3600,
        verified: bool = True,
    ) -> str:
        """Register an access token the tokeninfo endpoint will vouch for; returns it."""
        token = token or "ya29.local-" + secrets.token_urlsafe(24)
        with self._lock:
            self.state.tokens[token] = AccessToken(
                email.lower(),
                audience or self.state.client_id,
                tuple(scopes),
                time.time() + lifetime,
                verified,
            )
        return token

    def access_token_info(self, token: str) -> AccessToken | None:
        """What the stand-in knows about an access token, if it is live."""
        with self._lock:
            info = self.state.tokens.get(token)
        if info is None or info.expires_at <= time.time():
            return None
        return info

    def gmail_token_checker(self, token: str) -> bool:
        """For GmailEmulator(token_checker=...): only live tokens with the metadata scope."""
        info = self.access_token_info(token)
        return info is not None and METADATA_SCOPE in info.scopes

    # -- OAuth: consent, refresh tokens, delegation ----------------------------------------

    def grant_code(
        self,
        email: str,
        *,
        redirect_uri: str,
        code_challenge: str,
        scopes: Iterable[str] = ("openid", EMAIL_SCOPE, METADATA_SCOPE),
        nonce: str = "",
    ) -> str:
        """What Google does when the person clicks "Allow": mint an authorization code."""
        code = "4/local-" + secrets.token_urlsafe(16)
        with self._lock:
            self.state.codes[code] = _Grant(
                email.lower(), tuple(scopes), redirect_uri, code_challenge, nonce
            )
        return code

    def set_consent_account(self, email: str) -> None:
        """The account `/auth` consents as when no login_hint is given."""
        self.state.consent_account = email.lower()

    def add_refresh_token(self, email: str, scopes: Iterable[str] = (METADATA_SCOPE,)) -> str:
        """A refresh token as if the person had consented earlier."""
        token = "1//local-" + secrets.token_urlsafe(24)
        with self._lock:
            self.state.refresh[token] = (email.lower(), tuple(scopes))
        return token

    def revoke(self, refresh_token: str) -> None:
        """The person removed our access in their Google account settings."""
        with self._lock:
            self.state.refresh.pop(refresh_token, None)

    def service_account_key(self, email: str) -> dict[str, Any]:
        """A service-account JSON key (as Cloud IAM hands out) trusted for delegation."""
        key = SigningKey()
        with self._lock:
            self.state.service_accounts[email.lower()] = (key.kid, key.cert_pem)
        return {
            "type": "service_account",
            "project_id": "stepback-local",
            "private_key_id": key.kid,
            "private_key": key.private_pem,
            "client_email": email,
            "client_id": str(int(hashlib.sha256(email.encode()).hexdigest()[:15], 16)),
            "token_uri": self.token_url,
        }

    def allow_delegation(self, *subjects: str) -> None:
        """Let delegated service accounts act for these addresses (the Workspace admin's grant)."""
        with self._lock:
            self.state.delegated.update(s.lower() for s in subjects)

    def fail_next_token_requests(self, status: int, count: int = 1) -> None:
        """Answer the next `count` token requests with `status` (e.g. 503)."""
        with self._lock:
            self.state.failures.extend([status] * count)

    @property
    def token_requests(self) -> int:
        return self.state.token_requests

    # -- request handling ------------------------------------------------------------------

    def _issue(self, email: str, scopes: tuple[str, ...], lifetime: int = 3600) -> str:
        return self.add_access_token(email, scopes=scopes, lifetime=lifetime)

    def handle_token(self, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.state.token_requests += 1
            failure = self.state.failures.pop(0) if self.state.failures else None
        if failure is not None:
            return failure, {"error": "internal_failure", "error_description": "try again"}
        grant = form.get("grant_type", "")
        if grant == "authorization_code":
            return self._code_grant(form)
        if grant == "refresh_token":
            with self._lock:
                found = self.state.refresh.get(form.get("refresh_token", ""))
            if found is None or form.get("client_id") != self.state.client_id:
                return 400, _invalid_grant("Token has been expired or revoked.")
            email, scopes = found
            token = self._issue(email, scopes)
            return 200, {
                "access_token": token,
                "expires_in": 3599,
                "scope": " ".join(scopes),
                "token_type": "Bearer",
            }
        if grant == JWT_BEARER:
            return self._jwt_grant(form.get("assertion", ""))
        return 400, {"error": "unsupported_grant_type"}

    def _code_grant(self, form: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            pending = self.state.codes.get(form.get("code", ""))
            if pending is not None:
                used, pending.used = pending.used, True
        if pending is None or used:
            return 400, _invalid_grant("Malformed auth code.")
        if form.get("client_id") != self.state.client_id:
            return 401, {"error": "invalid_client"}
        if self.state.client_secret and form.get("client_secret") != self.state.client_secret:
            return 401, {"error": "invalid_client"}
        if form.get("redirect_uri") != pending.redirect_uri:
            return 400, {"error": "redirect_uri_mismatch"}
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != pending.challenge:
            return 400, _invalid_grant("Invalid code verifier.")
        token = self._issue(pending.email, pending.scopes)
        refresh = self.add_refresh_token(pending.email, pending.scopes)
        claims: dict[str, Any] = {"nonce": pending.nonce} if pending.nonce else {}
        return 200, {
            "access_token": token,
            "expires_in": 3599,
            "refresh_token": refresh,
            "scope": " ".join(pending.scopes),
            "token_type": "Bearer",
            "id_token": self.id_token(pending.email, self.state.client_id, **claims),
        }

    def _jwt_grant(self, assertion: str) -> tuple[int, dict[str, Any]]:
        try:
            unverified = jwt.decode(assertion, verify=False)
        except ValueError:
            return 400, _invalid_grant("Invalid JWT.")
        issuer = str(unverified.get("iss", "")).lower()
        with self._lock:
            known = self.state.service_accounts.get(issuer)
        if known is None:
            return 400, _invalid_grant("Invalid JWT Signature.")
        try:
            # google-auth addresses assertions to Google's token URL whatever token_uri is.
            audiences = [self.token_url, GOOGLE_TOKEN_URL]
            claims = jwt.decode(assertion, certs=dict([known]), audience=audiences)
        except ValueError:
            return 400, _invalid_grant("Invalid JWT Signature.")
        subject = str(claims.get("sub") or "").lower()
        with self._lock:
            allowed = subject in self.state.delegated
        if not subject or not allowed:
            return 401, {
                "error": "unauthorized_client",
                "error_description": "Client is unauthorized to retrieve access tokens.",
            }
        scopes = tuple(str(claims.get("scope", "")).split())
        token = self._issue(subject, scopes)
        return 200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}

    def handle_tokeninfo(self, token: str) -> tuple[int, dict[str, Any]]:
        info = self.access_token_info(token)
        if info is None:
            return 400, {"error": "invalid_token", "error_description": "Invalid Value"}
        remaining = int(info.expires_at - time.time())
        return 200, {
            "azp": info.audience,
            "aud": info.audience,
            "scope": " ".join(info.scopes),
            "exp": str(int(info.expires_at)),
            "expires_in": str(remaining),
            "email": info.email,
            "email_verified": "true" if info.verified else "false",
            "access_type": "online",
        }

    def handle_auth(self, query: Mapping[str, str]) -> tuple[int, str]:
        """Consent at once and send the browser back with a code (local runs only)."""
        email = query.get("login_hint") or self.state.consent_account
        redirect_uri = query.get("redirect_uri", "")
        if not email or not redirect_uri or query.get("client_id") != self.state.client_id:
            return 400, ""
        code = self.grant_code(
            email,
            redirect_uri=redirect_uri,
            code_challenge=query.get("code_challenge", ""),
            scopes=tuple(query.get("scope", "").split()),
            nonce=query.get("nonce", ""),
        )
        back = {"code": code, "state": query.get("state", "")}
        joiner = "&" if "?" in redirect_uri else "?"
        return 302, f"{redirect_uri}{joiner}{urlencode(back)}"


def _invalid_grant(description: str) -> dict[str, Any]:
    return {"error": "invalid_grant", "error_description": description}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def google(self) -> LocalGoogle:
        return self.server.google  # type: ignore[attr-defined,no-any-return]

    def _json(self, status: int, body: Mapping[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "public, max-age=300")
        self.end_headers()
        self.wfile.write(data)

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        return {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        split = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        if split.path == "/oauth2/v1/certs":
            key = self.google.state.key
            self._json(200, {key.kid: key.cert_pem})
        elif split.path == "/tokeninfo":
            self._json(*self.google.handle_tokeninfo(query.get("access_token", "")))
        elif split.path == "/auth":
            status, location = self.google.handle_auth(query)
            if status != 302:
                self._json(400, {"error": "invalid_request"})
                return
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._json(404, {"error": "not_found"})

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        split = urlsplit(self.path)
        form = self._form()
        if split.path == "/token":
            self._json(*self.google.handle_token(form))
        elif split.path == "/tokeninfo":
            self._json(*self.google.handle_tokeninfo(form.get("access_token", "")))
        else:
            self._json(404, {"error": "not_found"})

    def log_message(self, format: str, *args: Any) -> None:
        return None
