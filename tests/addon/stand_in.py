"""Local stand-ins for Google in add-on tests: signing keys, a certificate endpoint, tokens,
event objects, and a recording proxy in front of the Gmail emulator."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt

from server.addon.deployment import OAUTH_SCOPES

BASE_URL = "https://stepback.test"
SERVICE_ACCOUNT = "service-424242@gcp-sa-gsuiteaddons.iam.gserviceaccount.com"
ADDON_CLIENT_ID = "117000000000000000001"
KID = "stepback-test-key-1"


@dataclass(frozen=True)
class KeyPair:
    private_pem: bytes
    cert_pem: bytes


def make_key(common_name: str = "stepback test signer") -> KeyPair:
    """An RSA key and a self-signed X.509 certificate for it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return KeyPair(private, cert.public_bytes(serialization.Encoding.PEM))


@dataclass
class CertServer:
    """Serves `{kid: PEM}` like Google's v1 certs endpoint; can be told to fail."""

    certs: dict[str, str]
    url: str = ""
    hits: int = 0
    fail_with: int | None = None
    _server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                owner.hits += 1
                if owner.fail_with:
                    self.send_response(owner.fail_with)
                    self.end_headers()
                    return
                body = json.dumps(owner.certs).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", "public, max-age=600")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_port}/oauth2/v1/certs"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@dataclass
class Tokens:
    """Mint Google-style ID tokens signed with a test key."""

    key: KeyPair
    kid: str = KID

    def sign(self, claims: Mapping[str, Any], key: KeyPair | None = None) -> str:
        signer = crypt.RSASigner.from_string((key or self.key).private_pem, key_id=self.kid)
        return jwt.encode(signer, dict(claims)).decode()

    def _base(self, aud: str, email: str, lifetime: int) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": "https://accounts.google.com",
            "aud": aud,
            "sub": "1" + hashlib.sha256(email.encode()).hexdigest()[:15],
            "email": email,
            "email_verified": True,
            "iat": now,
            "exp": now + lifetime,
        }

    def system(self, path: str, *, key: KeyPair | None = None, **overrides: Any) -> str:
        claims = self._base(BASE_URL + path, SERVICE_ACCOUNT, 3600)
        claims.update(overrides)
        return self.sign(claims, key)

    def user(self, email: str, *, key: KeyPair | None = None, **overrides: Any) -> str:
        claims = self._base(ADDON_CLIENT_ID, email, 3600)
        claims.update(overrides)
        return self.sign(claims, key)


@dataclass
class Event:
    """Builder of a Workspace add-on event object as Google posts it."""

    user_token: str
    message_id: str | None = None
    thread_id: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    form: dict[str, Any] = field(default_factory=dict)
    recipients: list[str] = field(default_factory=list)
    locale: str = "en-US"
    timezone: str = "America/New_York"
    oauth_token: str = "ya29.test-user-token"
    gmail_token: str = "gmail-message-token-123"
    system_token: str = ""
    # authorizationEventObject.authorizedScopes: what the user granted on Google's granular
    # consent screen (default: everything the deployment asks for); None leaves it out.
    scopes: list[str] | None = field(default_factory=lambda: list(OAUTH_SCOPES))

    def body(self) -> dict[str, Any]:
        common: dict[str, Any] = {
            "hostApp": "GMAIL",
            "platform": "WEB",
            "userLocale": self.locale,
            "timeZone": {"id": self.timezone, "offset": -18000000},
        }
        if self.params:
            common["parameters"] = dict(self.params)
        if self.form:
            common["formInputs"] = dict(self.form)
        auth: dict[str, Any] = {"userOAuthToken": self.oauth_token}
        if self.user_token:
            # Google sends the user ID token only with the userinfo.email grant.
            auth["userIdToken"] = self.user_token
        if self.scopes is not None:
            auth["authorizedScopes"] = list(self.scopes)
        if self.system_token:
            auth["systemIdToken"] = self.system_token
        gmail: dict[str, Any] = {"accessToken": self.gmail_token}
        if self.message_id:
            gmail["messageId"] = self.message_id
        if self.thread_id:
            gmail["threadId"] = self.thread_id
        if self.recipients:
            gmail["toRecipients"] = list(self.recipients)
        return {"commonEventObject": common, "authorizationEventObject": auth, "gmail": gmail}


def picked(moment: datetime, *, has_time: bool = True) -> dict[str, Any]:
    """formInputs value of a dateTimePicker set to `moment`, as Google posts it: int64 as a
    string, and false booleans left out (proto3 JSON)."""
    value: dict[str, Any] = {"msSinceEpoch": str(int(moment.timestamp() * 1000)),
                             "hasDate": True}
    if has_time:
        value["hasTime"] = True
    return {"dateTimeInput": value}


def typed(value: str) -> dict[str, Any]:
    """formInputs value of a text or selection widget."""
    return {"stringInputs": {"value": [value]}}


@dataclass
class RecordingProxy:
    """Forwards GET requests to the Gmail emulator and remembers the headers it saw."""

    target: str
    seen: list[dict[str, str]] = field(default_factory=list)
    url: str = ""
    # Path fragments answered with 403 instead of being forwarded: the per-message grant
    # (gmail.addons.current.message.metadata) covers the open message only, so we model
    # Google refusing the rest of the thread (the harsher case), with Google's error body
    # for a token lacking the scope (AIP-193 errors, reason ACCESS_TOKEN_SCOPE_INSUFFICIENT).
    refuse: tuple[str, ...] = ()
    _server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                owner.seen.append({k.lower(): v for k, v in self.headers.items()}
                                  | {":path": self.path})
                if any(part in self.path for part in owner.refuse):
                    body = json.dumps({"error": {
                        "code": 403, "status": "PERMISSION_DENIED",
                        "message": "Request had insufficient authentication scopes.",
                        "errors": [{"message": "Insufficient Permission", "domain": "global",
                                    "reason": "insufficientPermissions"}],
                        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                     "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                                     "domain": "googleapis.com"}]}}).encode()
                    self.send_response(403)
                    self.send_header("Content-Type", "application/json; charset=UTF-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                forward = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                req = urllib.request.Request(owner.target.rstrip("/") + self.path,
                                             headers=forward)
                try:
                    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
                        status, body = resp.status, resp.read()
                        ctype = resp.headers.get("Content-Type", "application/json")
                except urllib.error.HTTPError as exc:
                    status, body = exc.code, exc.read()
                    ctype = exc.headers.get("Content-Type", "application/json")
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_port}/"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@contextmanager
def recording_proxy(target: str, refuse: tuple[str, ...] = ()) -> Iterator[RecordingProxy]:
    proxy = RecordingProxy(target, refuse=refuse)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
