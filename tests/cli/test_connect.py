"""`stepback connect`: Google's installed-app OAuth flow against a local stand-in.

The flow is google-auth-oauthlib's own; the stand-in plays Google's token endpoint (checking
the PKCE verifier) and a fake browser follows the consent URL back to the local redirect.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import urllib.parse
import urllib.request
import webbrowser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from server.cli import main
from server.gmail.client import METADATA_SCOPE, SCOPES


class TokenEndpoint(BaseHTTPRequestHandler):
    """Answers the authorization-code exchange like Google's token endpoint."""

    challenges: dict[str, str] = {}
    exchanges: list[dict[str, str]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length", "0"))
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        type(self).exchanges.append(form)
        verifier = form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
        expected = self.challenges.get(form.get("code", ""))
        if expected is None or expected != digest.decode():
            self._send(400, {"error": "invalid_grant"})
            return
        self._send(
            200,
            {
                "access_token": "access-from-stand-in",
                "refresh_token": "refresh-from-stand-in",
                "expires_in": 3599,
                "token_type": "Bearer",
                "scope": " ".join(SCOPES),
            },
        )

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        return None


class FakeBrowser:
    """Consents at once: redirects to the flow's local server with a code."""

    seen: list[dict[str, str]] = []

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        type(self).seen.append(query)
        TokenEndpoint.challenges["code-123"] = query.get("code_challenge", "")
        target = f"{query['redirect_uri']}?code=code-123&state={query['state']}"

        def follow() -> None:
            urllib.request.urlopen(target, timeout=10).read()  # noqa: S310 - loopback only

        threading.Thread(target=follow, daemon=True).start()
        return True


@pytest.fixture
def token_server() -> Any:
    server = ThreadingHTTPServer(("127.0.0.1", 0), TokenEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/token"
    server.shutdown()
    server.server_close()


def test_connect_stores_an_encrypted_grant_and_sync_uses_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    token_server: str,
    emulator: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    instance = tmp_path / "instance"
    monkeypatch.setenv("STEPBACK_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("STEPBACK_GMAIL_API_ENDPOINT", emulator.url)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    # oauthlib insists on https for the token endpoint; the stand-in is plain loopback http.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    monkeypatch.setattr(webbrowser, "get", lambda *a, **k: FakeBrowser())
    secrets = tmp_path / "client_secret.json"
    secrets.write_text(
        json.dumps(
            {
                "installed": {
                    "client_id": "desktop-client.apps.googleusercontent.com",
                    "client_secret": "desktop-secret",
                    "auth_uri": "http://127.0.0.1:9/consent",
                    "token_uri": token_server,
                    "redirect_uris": ["http://localhost"],
                }
            }
        )
    )
    assert main(["connect", "--client-secrets", str(secrets)]) == 0
    out = capsys.readouterr().out
    assert "connected alex@northwind-demo.com" in out

    consent = FakeBrowser.seen[-1]
    assert set(consent["scope"].split()) == set(SCOPES)
    assert METADATA_SCOPE in consent["scope"] and "readonly" not in consent["scope"]
    assert consent["code_challenge_method"] == "S256"

    stored = (instance / "gmail_token.enc").read_bytes()
    assert b"refresh-from-stand-in" not in stored and b"access-from-stand-in" not in stored
    assert (instance / "gmail_token.enc").stat().st_mode & 0o077 == 0

    # From now on the emulator accepts only the token Google's stand-in issued.
    emulator.token_checker = lambda token: token == "access-from-stand-in"
    assert main(["sync", "--quiet"]) == 0
    assert "full sync done" in capsys.readouterr().out
