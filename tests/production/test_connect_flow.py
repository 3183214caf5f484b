"""The rep's one-time consent: authorization code + PKCE, offline access, metadata scope."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from deploy.local_google import LocalGoogle
from server.gmail.client import METADATA_SCOPE
from server.gmail.emulator import GmailEmulator
from server.store.crypto import secret_box
from server.store.db import get_db
from server.store.models import AuditLog, Mailbox, Org, User
from tests.production.conftest import REP, TOPIC

REDIRECT = "https://stepback.test/connect/callback"


@pytest.fixture
def invited(app: Any) -> int:
    """A rep an admin has added, not connected yet."""
    with get_db(app).session() as s:
        org = Org(slug="acme", name="Acme", internal_domains=["acme.test"], day_mode="calendar")
        s.add(org)
        s.flush()
        user = User(org_id=org.id, email=REP, name="Rita Rep")
        s.add(user)
        s.flush()
        return user.id


def begin(client: Any, email: str = "") -> dict[str, str]:
    """GET /connect/start; return the query Google's consent screen receives."""
    resp = client.get("/connect/start", query_string={"email": email} if email else {})
    assert resp.status_code == 302
    url = urlsplit(resp.headers["Location"])
    return {k: v[0] for k, v in parse_qs(url.query).items()}


def consent(google: LocalGoogle, params: dict[str, str], email: str = REP, **kw: Any) -> str:
    """The person clicks Allow at Google."""
    return google.grant_code(
        email,
        redirect_uri=params["redirect_uri"],
        code_challenge=params["code_challenge"],
        nonce=params["nonce"],
        **kw,
    )


def back(client: Any, **query: str) -> Any:
    return client.get("/connect/callback", query_string=query)


def test_the_start_page_explains_and_links_to_google(client: Any, invited: int) -> None:
    resp = client.get("/connect/?email=rita@acme.test")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "headers and labels" in page and "never reads message bodies" in page
    assert 'href="/connect/start?email=rita@acme.test"' in page


def test_start_asks_google_for_offline_metadata_access_with_pkce(
    client: Any, google: LocalGoogle, invited: int
) -> None:
    params = begin(client, REP)
    assert params["client_id"] == google.client_id
    assert params["redirect_uri"] == REDIRECT
    assert params["response_type"] == "code"
    assert params["access_type"] == "offline" and params["prompt"] == "consent"
    assert set(params["scope"].split()) == {"openid", "email", METADATA_SCOPE}
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) == 43
    assert params["login_hint"] == REP
    assert len(params["state"]) >= 20 and len(params["nonce"]) >= 20


def test_a_full_connection_stores_the_grant_encrypted_and_syncs(
    app: Any, client: Any, google: LocalGoogle, mail: GmailEmulator, invited: int
) -> None:
    params = begin(client)
    code = consent(google, params)
    resp = back(client, code=code, state=params["state"])
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert "rita@acme.test is connected" in resp.get_data(as_text=True)
    assert resp.headers["Cache-Control"] == "no-store"
    with get_db(app).session() as s:
        mb = s.scalar(select(Mailbox).where(Mailbox.user_id == invited))
        assert mb is not None and mb.auth_kind == "oauth"
        assert mb.refresh_token_enc is not None
        token = secret_box(app).decrypt(mb.refresh_token_enc)
        assert token.startswith("1//local-") and token.encode() not in mb.refresh_token_enc
        assert METADATA_SCOPE in mb.granted_scopes.split()
        # The first sync ran (inline in tests) through the new grant, and the watch started.
        assert mb.status == "ok" and mb.threads_synced == 12
        assert mb.watch_expiration is not None
        audit = s.scalar(select(AuditLog).where(AuditLog.action == "mailbox.connect"))
        assert audit is not None and audit.actor_email == REP
        assert token not in str(audit.before) + str(audit.after)
    assert mail.watch_topic == TOPIC


def test_reconnecting_replaces_a_dead_grant(
    app: Any, client: Any, google: LocalGoogle, mail: GmailEmulator, invited: int
) -> None:
    first = begin(client)
    back(client, code=consent(google, first), state=first["state"])
    with get_db(app).session() as s:
        mb = s.scalar(select(Mailbox))
        old = secret_box(app).decrypt(mb.refresh_token_enc)
        mb.status = "reconnect_needed"
    google.revoke(old)
    second = begin(client)
    assert back(client, code=consent(google, second), state=second["state"]).status_code == 200
    with get_db(app).session() as s:
        mb = s.scalar(select(Mailbox))
        assert mb.status == "ok" and mb.last_error is None
        assert secret_box(app).decrypt(mb.refresh_token_enc) != old
        assert s.query(Mailbox).count() == 1


@pytest.mark.parametrize(
    "tamper, status, words",
    [
        (lambda p, c: {"code": c, "state": "forged-state"}, 400, "does not belong"),
        (lambda p, c: {"state": p["state"]}, 400, "no sign-in code"),
        (lambda p, c: {"error": "access_denied", "state": p["state"]}, 403, "chose not to"),
        (lambda p, c: {"error": "server_error", "state": p["state"]}, 400, "did not complete"),
        (lambda p, c: {"code": "4/unknown", "state": p["state"]}, 400, "did not accept"),
    ],
)
def test_a_bad_callback_stores_nothing(
    app: Any, client: Any, google: LocalGoogle, invited: int, tamper: Any, status: int, words: str
) -> None:
    params = begin(client)
    code = consent(google, params)
    resp = back(client, **tamper(params, code))
    assert resp.status_code == status
    assert words in resp.get_data(as_text=True)
    with get_db(app).session() as s:
        assert s.query(Mailbox).count() == 0


def test_a_callback_without_a_started_flow_is_refused(client: Any, invited: int) -> None:
    resp = back(client, code="4/x", state="y")
    assert resp.status_code == 400
    assert "Start again" in resp.get_data(as_text=True)


def test_a_code_cannot_be_used_twice(
    app: Any, client: Any, google: LocalGoogle, invited: int
) -> None:
    params = begin(client)
    code = consent(google, params)
    assert back(client, code=code, state=params["state"]).status_code == 200
    # Replaying the same answer: our pending state is gone, and Google refuses the code.
    assert back(client, code=code, state=params["state"]).status_code == 400


def test_a_person_who_is_not_a_rep_is_refused(
    app: Any, client: Any, google: LocalGoogle, invited: int
) -> None:
    params = begin(client)
    code = consent(google, params, email="stranger@elsewhere.test")
    resp = back(client, code=code, state=params["state"])
    assert resp.status_code == 403
    assert "not a stepback user" in resp.get_data(as_text=True)
    with get_db(app).session() as s:
        assert s.query(Mailbox).count() == 0


def test_unticked_metadata_permission_is_refused(
    app: Any, client: Any, google: LocalGoogle, invited: int
) -> None:
    params = begin(client)
    code = consent(google, params, scopes=("openid", "email"))
    resp = back(client, code=code, state=params["state"])
    assert resp.status_code == 403
    assert "metadata was not granted" in resp.get_data(as_text=True)


def test_an_id_token_for_another_flow_is_refused(
    app: Any, client: Any, google: LocalGoogle, invited: int
) -> None:
    params = begin(client)
    code = google.grant_code(
        REP,
        redirect_uri=params["redirect_uri"],
        code_challenge=params["code_challenge"],
        nonce="some-other-nonce",
    )
    resp = back(client, code=code, state=params["state"])
    assert resp.status_code == 400
    with get_db(app).session() as s:
        assert s.query(Mailbox).count() == 0


def test_a_wrong_pkce_verifier_is_refused_by_google(
    app: Any, client: Any, google: LocalGoogle, invited: int
) -> None:
    params = begin(client)
    code = google.grant_code(
        REP, redirect_uri=params["redirect_uri"], code_challenge="x" * 43, nonce=params["nonce"]
    )
    assert back(client, code=code, state=params["state"]).status_code == 400


def test_token_endpoint_trouble_is_a_503_page(
    app: Any, client: Any, google: LocalGoogle, invited: int
) -> None:
    params = begin(client)
    code = consent(google, params)
    google.fail_next_token_requests(503)
    resp = back(client, code=code, state=params["state"])
    assert resp.status_code == 503
    assert "try again" in resp.get_data(as_text=True)


def test_without_an_oauth_client_connect_says_so(app: Any, client: Any) -> None:
    app.config["GOOGLE_CLIENT_ID"] = ""
    for path in ("/connect/", "/connect/start"):
        resp = client.get(path)
        assert resp.status_code == 503
        assert "not set up" in resp.get_data(as_text=True)
