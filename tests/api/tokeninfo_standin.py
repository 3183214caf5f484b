"""A local stand-in for Google's token-info endpoint: answers like Google for registered tokens."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

EMAIL_SCOPE = "https://www.googleapis.com/auth/userinfo.email"


class TokenInfoStandIn:
    """A threaded HTTP server on 127.0.0.1; register tokens, point GOOGLE_TOKENINFO_URL here."""

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        self.tokens: dict[str, dict[str, Any]] = {}
        self.hits = 0
        self.fail_with: int | None = None  # answer every call with this status (5xx tests)
        self._lock = threading.Lock()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                return

            def _answer(self, token: str | None) -> None:
                with standin._lock:
                    standin.hits += 1
                    failing = standin.fail_with
                    claims = standin.tokens.get(token or "")
                if failing:
                    self._send(failing, {"error": "backend_error"})
                elif claims is None:
                    self._send(
                        400, {"error": "invalid_token", "error_description": "Invalid Value"}
                    )
                elif claims["exp"] <= time.time():
                    # Google no longer knows an expired access token.
                    self._send(
                        400,
                        {"error": "invalid_token", "error_description": "Token expired or revoked"},
                    )
                else:
                    self._send(200, standin._render(claims))

            def do_GET(self) -> None:  # noqa: N802
                query = parse_qs(urlsplit(self.path).query)
                self._answer(next(iter(query.get("access_token") or []), None))

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                self._answer(next(iter(form.get("access_token") or []), None))

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/tokeninfo"

    def start(self) -> TokenInfoStandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def register(
        self,
        token: str,
        email: str,
        *,
        expires_in: int = 3600,
        aud: str | None = None,
        scope: str = f"openid {EMAIL_SCOPE}",
        email_verified: bool = True,
    ) -> str:
        """Make `token` known; negative `expires_in` makes an expired token."""
        with self._lock:
            self.tokens[token] = {
                "email": email,
                "aud": aud or self.client_id,
                "scope": scope,
                "exp": int(time.time()) + expires_in,
                "email_verified": email_verified,
            }
        return token

    @staticmethod
    def _render(claims: dict[str, Any]) -> dict[str, Any]:
        # Google sends numbers and booleans as strings.
        remaining = claims["exp"] - int(time.time())
        return {
            "azp": claims["aud"],
            "aud": claims["aud"],
            "sub": "1" + str(abs(hash(claims["email"])))[:20],
            "scope": claims["scope"],
            "exp": str(claims["exp"]),
            "expires_in": str(max(remaining, 0)),
            "email": claims["email"],
            "email_verified": "true" if claims["email_verified"] else "false",
            "access_type": "online",
        }
