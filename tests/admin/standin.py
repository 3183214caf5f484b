"""A local stand-in for Google's OAuth 2.0 / OpenID Connect endpoints, for sign-in tests.

It serves an account chooser (the authorization endpoint), a token endpoint that checks the
PKCE verifier and signs ID tokens with its own RSA key, and the certs endpoint publishing the
matching X.509 certificate as `{kid: PEM}` — the format google-auth's verify_token reads.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import google.auth.crypt
import google.auth.jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from flask import Flask, abort, jsonify, redirect, request
from markupsafe import escape
from werkzeug.serving import make_server

# The OAuth client id the sign-in tests give both the app and the stand-in.
CLIENT_ID = "stepback-test-client.apps.googleusercontent.com"


def make_key_and_cert(common_name: str) -> tuple[bytes, bytes]:
    """A fresh RSA key and a self-signed certificate for it, both PEM."""
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
        .not_valid_after(now + timedelta(days=2))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class GoogleStandIn:
    """Serve /auth, /token and /certs on 127.0.0.1 in a background thread."""

    def __init__(self, client_id: str, client_secret: str = "standin-secret") -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.kid = "standin-key-1"
        self.key_pem, self.cert_pem = make_key_and_cert("stand-in google")
        self.other_key_pem, _ = make_key_and_cert("someone else")
        self.codes: dict[str, dict[str, Any]] = {}
        self.auth_requests: list[dict[str, str]] = []
        self.token_requests: list[dict[str, str]] = []
        # Claims to change in the next ID tokens (e.g. {"aud": "other"}), and fault switches.
        self.claim_overrides: dict[str, Any] = {}
        self.sign_with_other_key = False
        self.token_status: int | None = None
        self.app = self._build()
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def auth_url(self) -> str:
        return self.url + "/o/oauth2/v2/auth"

    @property
    def token_url(self) -> str:
        return self.url + "/token"

    @property
    def certs_url(self) -> str:
        return self.url + "/oauth2/v1/certs"

    def start(self) -> GoogleStandIn:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

    def config(self) -> dict[str, str]:
        """App configuration pointing the product at this stand-in."""
        return {
            "GOOGLE_AUTH_URL": self.auth_url,
            "GOOGLE_TOKEN_URL": self.token_url,
            "GOOGLE_CERTS_URL": self.certs_url,
            "GOOGLE_CLIENT_ID": self.client_id,
            "GOOGLE_CLIENT_SECRET": self.client_secret,
        }

    def issue_code(self, params: dict[str, str], email: str) -> str:
        """What the consent step does: remember the request and hand out a one-time code."""
        code = secrets.token_urlsafe(16)
        self.codes[code] = {**params, "email": email}
        return code

    def id_token(self, email: str, nonce: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": "https://accounts.google.com",
            "azp": self.client_id,
            "aud": self.client_id,
            "sub": str(int(hashlib.sha256(email.encode()).hexdigest()[:12], 16)),
            "email": email,
            "email_verified": True,
            "name": email.split("@")[0].title(),
            "nonce": nonce,
            "iat": now,
            "exp": now + 3600,
        }
        claims.update(self.claim_overrides)
        key = self.other_key_pem if self.sign_with_other_key else self.key_pem
        signer = google.auth.crypt.RSASigner.from_string(key, key_id=self.kid)
        return google.auth.jwt.encode(signer, claims).decode()

    def _build(self) -> Flask:
        app = Flask("google-stand-in")

        @app.get("/o/oauth2/v2/auth")
        def authorize() -> Any:
            params = {
                k: request.args.get(k, "")
                for k in (
                    "response_type",
                    "client_id",
                    "redirect_uri",
                    "scope",
                    "state",
                    "nonce",
                    "code_challenge",
                    "code_challenge_method",
                )
            }
            self.auth_requests.append(params)
            if params["client_id"] != self.client_id or params["response_type"] != "code":
                abort(400)
            hidden = "".join(
                f'<input type="hidden" name="{k}" value="{escape(v)}">' for k, v in params.items()
            )
            return (
                "<!doctype html><title>Choose an account</title><h1>Stand-in Google</h1>"
                '<form method="post" action="/o/oauth2/v2/auth/approve">'
                f'{hidden}<label>Email <input name="email" id="identifier"></label>'
                '<button id="approve" type="submit">Continue</button></form>'
            )

        @app.post("/o/oauth2/v2/auth/approve")
        def approve() -> Any:
            params = {k: v for k, v in request.form.items() if k != "email"}
            code = self.issue_code(params, request.form["email"].strip().lower())
            query = urlencode({"code": code, "state": params["state"]})
            return redirect(f"{params['redirect_uri']}?{query}")

        @app.post("/token")
        def token() -> Any:
            form = dict(request.form.items())
            self.token_requests.append(form)
            if self.token_status is not None:
                return jsonify({"error": "server_error"}), self.token_status
            grant = self.codes.pop(form.get("code", ""), None)
            if grant is None or form.get("grant_type") != "authorization_code":
                return jsonify({"error": "invalid_grant"}), 400
            if (
                form.get("client_id") != self.client_id
                or form.get("client_secret") != self.client_secret
            ):
                return jsonify({"error": "invalid_client"}), 401
            if form.get("redirect_uri") != grant["redirect_uri"]:
                return jsonify({"error": "redirect_uri_mismatch"}), 400
            if grant.get("code_challenge_method") != "S256" or s256(
                form.get("code_verifier", "")
            ) != grant.get("code_challenge"):
                return jsonify({"error": "invalid_grant", "error_description": "PKCE"}), 400
            return jsonify(
                {
                    "access_token": "standin-access-" + secrets.token_urlsafe(8),
                    "expires_in": 3599,
                    "token_type": "Bearer",
                    "scope": grant.get("scope", ""),
                    "id_token": self.id_token(grant["email"], grant.get("nonce", "")),
                }
            )

        @app.get("/oauth2/v1/certs")
        def certs() -> Any:
            return jsonify({self.kid: self.cert_pem.decode()})

        return app
