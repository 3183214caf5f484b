"""Sign-in: Google OIDC (authorization code + PKCE S256 + state + nonce) against a local
stand-in, the demo's local form, session rotation, cookie flags and sign-out."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from server.auth.oidc import code_challenge
from server.store.db import get_db
from server.store.models import User
from tests.admin.helpers import ADMIN, REP, csrf_of, demo_sign_in, post
from tests.admin.standin import CLIENT_ID, GoogleStandIn


@pytest.fixture
def app_config(app_config: dict[str, Any], google: GoogleStandIn) -> dict[str, Any]:
    return {**app_config, **google.config()}


def start(client: Any, next_url: str = "") -> dict[str, str]:
    """Begin the Google sign-in; return the query the browser would carry to Google."""
    resp = client.get("/auth/google" + (f"?next={next_url}" if next_url else ""))
    assert resp.status_code == 302
    parts = urlsplit(resp.location)
    return {k: v[0] for k, v in parse_qs(parts.query).items()} | {"_base": parts.path}


def consent(client: Any, google: GoogleStandIn, email: str, next_url: str = "") -> Any:
    """The whole round trip: start, approve as `email` at the stand-in, come back."""
    query = start(client, next_url)
    code = google.issue_code(query, email)
    return client.get(f"/auth/callback?code={code}&state={query['state']}")


def signed_in_email(client: Any) -> str | None:
    with client.session_transaction() as sess:
        return sess.get("email")


def test_authorization_request_uses_pkce_state_and_nonce(
    client: Any, google: GoogleStandIn, demo_ids: Any
) -> None:
    query = start(client)
    assert query["_base"] == "/o/oauth2/v2/auth"
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENT_ID
    assert query["scope"].split() == ["openid", "email", "profile"]
    assert query["code_challenge_method"] == "S256"
    assert query["redirect_uri"] == "https://stepback.test/auth/callback"
    with client.session_transaction() as sess:
        pending = sess["oidc_pending"]
    assert len(pending["verifier"]) >= 43
    assert query["code_challenge"] == code_challenge(pending["verifier"])
    assert query["state"] == pending["state"] and query["nonce"] == pending["nonce"]
    # A second attempt gets fresh values.
    again = start(client)
    assert again["state"] != query["state"] and again["code_challenge"] != query["code_challenge"]


def test_google_sign_in_as_admin(client: Any, google: GoogleStandIn, demo_ids: Any) -> None:
    resp = consent(client, google, ADMIN, next_url="/admin/teams")
    assert resp.status_code == 302 and resp.location == "/admin/teams"
    assert signed_in_email(client) == ADMIN
    assert client.get("/admin/teams").status_code == 200
    sent = google.token_requests[-1]
    assert sent["grant_type"] == "authorization_code" and sent["code_verifier"]
    assert sent["redirect_uri"] == "https://stepback.test/auth/callback"


def test_google_sign_in_as_rep_lands_on_start_page(
    client: Any, google: GoogleStandIn, demo_ids: Any
) -> None:
    resp = consent(client, google, REP.upper())
    assert resp.status_code == 302 and resp.location == "/"
    assert signed_in_email(client) == REP
    assert client.get("/admin/").status_code == 403


def test_next_cannot_leave_the_site(client: Any, google: GoogleStandIn, demo_ids: Any) -> None:
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        resp = consent(client, google, ADMIN, next_url=evil)
        assert resp.location == "/admin/", evil


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"aud": "someone-else.apps.googleusercontent.com"}, "could not be verified"),
        ({"iss": "https://accounts.evil.example"}, "not issued by Google"),
        ({"nonce": "replayed-nonce"}, "does not belong to this sign-in"),
        ({"iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}, "could not be verified"),
        ({"email_verified": False}, "not verified"),
        ({"email": None}, "no email address"),
        ("other-key", "could not be verified"),
    ],
    ids=["audience", "issuer", "nonce", "expired", "unverified-email", "no-email", "wrong-key"],
)
def test_bad_id_tokens_are_refused(
    client: Any, google: GoogleStandIn, demo_ids: Any, change: Any, message: str
) -> None:
    if change == "other-key":
        google.sign_with_other_key = True
    else:
        google.claim_overrides = change
    resp = consent(client, google, ADMIN)
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    assert signed_in_email(client) is None
    assert client.get("/admin/").status_code == 302


def test_pkce_verifier_must_match(client: Any, google: GoogleStandIn, demo_ids: Any) -> None:
    query = start(client)
    with client.session_transaction() as sess:
        pending = dict(sess["oidc_pending"])
        pending["verifier"] = "x" * 50
        sess["oidc_pending"] = pending
    code = google.issue_code(query, ADMIN)
    resp = client.get(f"/auth/callback?code={code}&state={query['state']}")
    assert resp.status_code == 400
    assert "refused the sign-in code (invalid_grant)" in resp.get_data(as_text=True)
    assert signed_in_email(client) is None


def test_state_must_match_and_callbacks_are_single_use(
    client: Any, google: GoogleStandIn, demo_ids: Any
) -> None:
    query = start(client)
    code = google.issue_code(query, ADMIN)
    wrong = client.get(f"/auth/callback?code={code}&state=forged")
    assert wrong.status_code == 400 and "does not match" in wrong.get_data(as_text=True)
    # The attempt was used up by the forged answer: the real one cannot follow.
    late = client.get(f"/auth/callback?code={code}&state={query['state']}")
    assert late.status_code == 400 and "expired or was already used" in late.get_data(as_text=True)
    assert signed_in_email(client) is None


def test_denied_consent_and_token_endpoint_failure(
    client: Any, google: GoogleStandIn, demo_ids: Any
) -> None:
    query = start(client)
    resp = client.get(f"/auth/callback?error=access_denied&state={query['state']}")
    assert resp.status_code == 400 and "access_denied" in resp.get_data(as_text=True)
    google.token_status = 503
    resp = consent(client, google, ADMIN)
    assert resp.status_code == 400 and "server_error" in resp.get_data(as_text=True)
    assert signed_in_email(client) is None


def test_unreachable_token_endpoint(
    app: Any, client: Any, google: GoogleStandIn, demo_ids: Any
) -> None:
    app.config["GOOGLE_TOKEN_URL"] = "http://127.0.0.1:9/token"
    resp = consent(client, google, ADMIN)
    assert resp.status_code == 400
    assert "could not be reached" in resp.get_data(as_text=True)


def test_unknown_google_account_is_refused(
    client: Any, google: GoogleStandIn, demo_ids: Any
) -> None:
    resp = consent(client, google, "stranger@globex-corp.com")
    assert resp.status_code == 403
    assert "stranger@globex-corp.com is not registered" in resp.get_data(as_text=True)
    assert signed_in_email(client) is None


def test_google_not_configured(app: Any, client: Any) -> None:
    app.config["GOOGLE_CLIENT_ID"] = ""
    assert client.get("/auth/google").status_code == 503
    assert "Sign in with Google" not in client.get("/auth/signin").get_data(as_text=True)


def test_sign_in_rotates_the_session(client: Any, demo_ids: Any) -> None:
    before = csrf_of(client)
    with client.session_transaction() as sess:
        sess["planted"] = "by someone else"
    assert demo_sign_in(client, ADMIN).status_code == 302
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["csrf"] != before
        assert sess["email"] == ADMIN and sess["via"] == "demo"
    # The old token no longer works for changes.
    resp = client.post("/admin/org", data={"csrf_token": before, "name": "x"})
    assert resp.status_code == 400


def test_session_cookie_flags(app: Any, client: Any, demo_ids: Any) -> None:
    app.config["SESSION_COOKIE_SECURE"] = True
    csrf = csrf_of_https(client)
    resp = client.post(
        "/auth/demo",
        base_url="https://localhost",
        data={"email": ADMIN, "password": "demo", "csrf_token": csrf},
    )
    assert resp.status_code == 302
    cookie = resp.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def csrf_of_https(client: Any) -> str:
    import re

    page = client.get("/auth/signin", base_url="https://localhost").get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert match
    return match.group(1)


def test_sessions_expire(app: Any, client: Any, demo_ids: Any) -> None:
    assert demo_sign_in(client, ADMIN).status_code == 302
    with client.session_transaction() as sess:
        sess["at"] = sess["at"] - 13 * 3600
    assert client.get("/admin/").status_code == 302


def test_deleted_user_session_is_dropped(app: Any, client: Any, demo_ids: Any) -> None:
    assert demo_sign_in(client, ADMIN).status_code == 302
    with get_db(app).session() as s:
        admin = s.get(User, demo_ids.admin_id)
        s.delete(admin)
    assert client.get("/admin/").status_code == 302


def test_sign_out(client: Any, demo_ids: Any) -> None:
    assert demo_sign_in(client, ADMIN).status_code == 302
    assert client.post("/auth/signout").status_code == 400  # no CSRF token
    assert client.get("/admin/").status_code == 200
    resp = post(client, "/auth/signout")
    assert resp.status_code == 302 and resp.location.startswith("/auth/signin")
    assert client.get("/admin/").status_code == 302
    assert signed_in_email(client) is None


def test_demo_sign_in_checks_password_and_csrf(client: Any, demo_ids: Any) -> None:
    resp = demo_sign_in(client, ADMIN, password="wrong")
    assert resp.status_code == 401
    body = resp.get_data(as_text=True)
    assert "Unknown email address or wrong password" in body and ADMIN in body
    assert demo_sign_in(client, "nobody@northwind-demo.com").status_code == 401
    no_token = client.post("/auth/demo", data={"email": ADMIN, "password": "demo"})
    assert no_token.status_code == 400
    assert signed_in_email(client) is None


def test_demo_sign_in_needs_a_local_password(app: Any, client: Any, demo_ids: Any) -> None:
    with get_db(app).session() as s:
        admin = s.get(User, demo_ids.admin_id)
        assert admin is not None
        admin.local_password_hash = None
    assert demo_sign_in(client, ADMIN).status_code == 401


def test_demo_sign_in_is_off_unless_configured(app: Any, client: Any, demo_ids: Any) -> None:
    app.config["DEMO_LOGIN"] = False
    assert client.get("/auth/demo").status_code == 404
    resp = client.post(
        "/auth/demo", data={"email": ADMIN, "password": "demo", "csrf_token": csrf_of(client)}
    )
    assert resp.status_code == 404
    assert "Demo sign-in" not in client.get("/auth/signin").get_data(as_text=True)


def test_start_page_links_the_surfaces(client: Any, demo_ids: Any) -> None:
    body = client.get("/").get_data(as_text=True)
    assert 'href="/admin/"' in body and 'href="/healthz"' in body
    assert "Sign in" in body
    demo_sign_in(client, REP)
    body = client.get("/").get_data(as_text=True)
    assert REP in body and "Your admin manages the settings" in body
