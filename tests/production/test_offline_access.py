"""Offline access: refresh tokens and domain-wide delegation; a dead grant never crashes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import update

from deploy.local_google import LocalGoogle
from server.gmail.credentials import (
    AuthUnavailable,
    ReconnectNeeded,
    build_credentials,
    forget_credentials,
    fresh_credentials,
    has_grant,
)
from server.gmail.emulator import GmailEmulator
from server.gmail.jobs import sync_mailbox
from server.store.crypto import SecretBox, secret_box
from server.store.db import get_db
from server.store.models import Mailbox, Org, User
from tests.production.conftest import REP, Rep, answer, envelope, mailbox, push

DWD_ACCOUNT = "stepback-dwd@acme-prod.iam.gserviceaccount.com"


def test_a_refresh_token_reads_gmail_and_its_access_token_is_reused(
    app: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep
) -> None:
    assert sync_mailbox(app, rep.mailbox_id).result == "synced"
    assert google.token_requests == 1
    answer(mail, 1)
    assert sync_mailbox(app, rep.mailbox_id).result == "synced"
    # The access token lives an hour: the second sync did not ask Google again.
    assert google.token_requests == 1
    assert mailbox(app, rep.mailbox_id).threads_synced == 12


def test_the_emulator_really_refuses_tokens_it_was_not_given(
    app: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep
) -> None:
    # Guard for every test here: without a refreshed token Gmail answers 401.
    assert not google.gmail_token_checker("made-up-token")
    with get_db(app).session() as s:
        creds = fresh_credentials(app, s.get(Mailbox, rep.mailbox_id))
    assert google.gmail_token_checker(creds.token)


def test_a_revoked_grant_marks_reconnect_needed_and_never_raises(
    app: Any, client: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep
) -> None:
    google.revoke(rep.refresh_token)
    outcome = sync_mailbox(app, rep.mailbox_id)
    assert outcome.result == "reconnect_needed"
    assert "invalid_grant" in outcome.detail
    mb = mailbox(app, rep.mailbox_id)
    assert mb.status == "reconnect_needed"
    assert mb.last_error is not None and mb.last_error.startswith("Reconnect needed")
    assert len(mail.requests) == 0
    # Later pushes for it are acknowledged without touching Gmail or Google.
    before = google.token_requests
    assert push(client, google, envelope(REP, 999999)).status_code == 204
    assert google.token_requests == before and len(mail.requests) == 0
    assert sync_mailbox(app, rep.mailbox_id).result == "skipped"


def test_a_token_revoked_mid_way_is_caught_from_gmails_401(
    app: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep
) -> None:
    assert sync_mailbox(app, rep.mailbox_id).result == "synced"
    # Google still hands out the cached access token, but Gmail now refuses it.
    mail.token_checker = lambda token: False
    answer(mail, 2)
    outcome = sync_mailbox(app, rep.mailbox_id)
    assert outcome.result == "reconnect_needed"
    assert mailbox(app, rep.mailbox_id).status == "reconnect_needed"


def test_a_failing_token_endpoint_is_transient_not_a_reconnect(
    app: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep
) -> None:
    google.fail_next_token_requests(503, count=10)
    outcome = sync_mailbox(app, rep.mailbox_id)
    assert outcome.result == "error"
    mb = mailbox(app, rep.mailbox_id)
    assert mb.status != "reconnect_needed"
    assert "token endpoint" in (mb.last_error or "")
    google.state.failures.clear()
    assert sync_mailbox(app, rep.mailbox_id).result == "synced"


def test_an_unreachable_token_endpoint_is_transient(
    app: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep
) -> None:
    app.config["GOOGLE_TOKEN_URL"] = "http://127.0.0.1:9/token"
    assert sync_mailbox(app, rep.mailbox_id).result == "error"
    assert mailbox(app, rep.mailbox_id).status != "reconnect_needed"


def test_a_grant_encrypted_with_an_unknown_key_needs_reconnecting(
    app: Any, google: LocalGoogle, mail: GmailEmulator, rep: Rep
) -> None:
    stranger = SecretBox([Fernet.generate_key().decode()]).encrypt(rep.refresh_token)
    with get_db(app).session() as s:
        s.execute(
            update(Mailbox).where(Mailbox.id == rep.mailbox_id).values(refresh_token_enc=stranger)
        )
    forget_credentials(rep.mailbox_id)
    outcome = sync_mailbox(app, rep.mailbox_id)
    assert outcome.result == "reconnect_needed"
    assert "decrypted" in outcome.detail


def test_the_refresh_token_is_stored_encrypted(app: Any, rep: Rep) -> None:
    stored = mailbox(app, rep.mailbox_id).refresh_token_enc
    assert stored is not None and rep.refresh_token.encode() not in stored
    assert secret_box(app).decrypt(stored) == rep.refresh_token


def test_missing_client_secret_is_reported_not_a_reconnect(
    app: Any, google: LocalGoogle, rep: Rep
) -> None:
    app.config["GOOGLE_CLIENT_SECRET"] = ""
    with get_db(app).session() as s:
        with pytest.raises(AuthUnavailable, match="GOOGLE_CLIENT_SECRET"):
            build_credentials(app, s.get(Mailbox, rep.mailbox_id))
    assert sync_mailbox(app, rep.mailbox_id).result == "error"
    assert mailbox(app, rep.mailbox_id).status != "reconnect_needed"


# -- domain-wide delegation --------------------------------------------------------------------


def _dwd_rep(app: Any, google: LocalGoogle, *, enabled: bool = True) -> int:
    key = google.service_account_key(DWD_ACCOUNT)
    # A key pointing its token_uri elsewhere must not make us send assertions there.
    key["token_uri"] = "http://127.0.0.1:9/steal"
    with get_db(app).session() as s:
        org = Org(
            slug="acme",
            name="Acme",
            internal_domains=["acme.test"],
            dwd_enabled=enabled,
            dwd_service_account=DWD_ACCOUNT,
            dwd_key_enc=secret_box(app).encrypt(json.dumps(key)),
        )
        s.add(org)
        s.flush()
        user = User(org_id=org.id, email=REP, name="Rita")
        s.add(user)
        s.flush()
        mb = Mailbox(org_id=org.id, user_id=user.id, email=REP, auth_kind="dwd")
        s.add(mb)
        s.flush()
        return mb.id


def test_delegation_reads_the_reps_gmail_as_the_rep(
    app: Any, google: LocalGoogle, mail: GmailEmulator
) -> None:
    mailbox_id = _dwd_rep(app, google)
    google.allow_delegation(REP)
    outcome = sync_mailbox(app, mailbox_id)
    assert outcome.result == "synced" and outcome.threads_stored == 12
    with get_db(app).session() as s:
        creds = fresh_credentials(app, s.get(Mailbox, mailbox_id))
    info = google.access_token_info(creds.token)
    assert info is not None and info.email == REP
    assert info.scopes == ("https://www.googleapis.com/auth/gmail.metadata",)


def test_delegation_not_granted_by_the_workspace_admin_needs_reconnecting(
    app: Any, google: LocalGoogle, mail: GmailEmulator
) -> None:
    mailbox_id = _dwd_rep(app, google)
    outcome = sync_mailbox(app, mailbox_id)
    assert outcome.result == "reconnect_needed"
    assert "unauthorized_client" in outcome.detail
    assert mailbox(app, mailbox_id).status == "reconnect_needed"


def test_delegation_turned_off_needs_reconnecting(
    app: Any, google: LocalGoogle, mail: GmailEmulator
) -> None:
    mailbox_id = _dwd_rep(app, google, enabled=False)
    google.allow_delegation(REP)
    with get_db(app).session() as s:
        mb = s.get(Mailbox, mailbox_id)
        assert not has_grant(app, mb)
        with pytest.raises(ReconnectNeeded, match="turned off"):
            build_credentials(app, mb)
    assert sync_mailbox(app, mailbox_id).result == "reconnect_needed"


def test_a_never_connected_mailbox_has_no_grant(app: Any) -> None:
    with get_db(app).session() as s:
        org = Org(slug="o", name="O", internal_domains=["o.test"])
        s.add(org)
        s.flush()
        user = User(org_id=org.id, email="x@o.test")
        s.add(user)
        s.flush()
        mb = Mailbox(org_id=org.id, user_id=user.id, email=user.email, auth_kind="oauth")
        s.add(mb)
        s.flush()
        assert not has_grant(app, mb)
        with pytest.raises(ReconnectNeeded, match="never been connected"):
            build_credentials(app, mb)
