"""Disconnecting a mailbox calls users.stop and parks it; pending retries and polls leave it."""

from __future__ import annotations

from typing import Any

from server.gmail.emulator import GmailEmulator
from server.gmail.jobs import disconnect_mailbox, sync_mailbox
from tests.production.conftest import Rep, mailbox


def test_disconnect_stops_push_and_forgets_the_grant(app: Any, rep: Rep,
                                                     mail: GmailEmulator) -> None:
    assert sync_mailbox(app, rep.mailbox_id).result == "synced"
    outcome = disconnect_mailbox(app, rep.mailbox_id)
    assert outcome.result == "disconnected"
    assert mail.stop_calls == 1  # users.stop reached Gmail with a live token
    row = mailbox(app, rep.mailbox_id)
    assert row.status == "disconnected" and row.refresh_token_enc is None
    assert row.watch_expiration is None
    # A later push or poll leaves the mailbox alone.
    assert sync_mailbox(app, rep.mailbox_id).result == "skipped"


def test_disconnect_still_parks_the_mailbox_when_users_stop_fails(
    app: Any, rep: Rep, mail: GmailEmulator
) -> None:
    mail.inject(500, count=10, path_contains="/stop")
    outcome = disconnect_mailbox(app, rep.mailbox_id)
    assert outcome.result == "stop_failed" and "users.stop failed" in outcome.detail
    assert mailbox(app, rep.mailbox_id).status == "disconnected"
