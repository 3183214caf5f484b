"""`stepback keys new | rotate`: every stored secret moves to the newest key, or nothing does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select

from server.cli import main
from server.store.crypto import SecretBox
from server.store.db import Database
from server.store.models import Mailbox, Org, User

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


@pytest.fixture
def stored(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Database]:
    """A database holding secrets written with OLD, and the CLI's environment."""
    instance = tmp_path / "instance"
    instance.mkdir()
    monkeypatch.setenv("STEPBACK_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("STEPBACK_DATABASE_URL", database_url)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    old = SecretBox([OLD])
    db = Database(database_url)
    with db.session() as s:
        org = Org(slug="acme", name="Acme", dwd_key_enc=old.encrypt(json.dumps({"k": "v"})))
        s.add(org)
        s.flush()
        for i in range(3):
            user = User(org_id=org.id, email=f"rep{i}@acme.test")
            s.add(user)
            s.flush()
            s.add(
                Mailbox(
                    org_id=org.id,
                    user_id=user.id,
                    email=user.email,
                    refresh_token_enc=old.encrypt(f"1//refresh-{i}"),
                )
            )
        user = User(org_id=org.id, email="nogrant@acme.test")
        s.add(user)
        s.flush()
        s.add(Mailbox(org_id=org.id, user_id=user.id, email=user.email))
    (instance / "gmail_token.enc").write_bytes(old.encrypt('{"refresh_token": "cli"}'))
    yield db
    db.dispose()


def secrets_in(db: Database) -> list[bytes]:
    with db.session() as s:
        tokens = [m.refresh_token_enc for m in s.scalars(select(Mailbox).order_by(Mailbox.id))]
        keys = [o.dwd_key_enc for o in s.scalars(select(Org))]
    return [t for t in tokens + keys if t is not None]


def test_keys_new_prints_a_usable_fernet_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "new"]) == 0
    key = capsys.readouterr().out.strip()
    assert Fernet(key.encode()).decrypt(Fernet(key.encode()).encrypt(b"x")) == b"x"
    assert main(["keys", "new"]) == 0
    assert capsys.readouterr().out.strip() != key


def test_rotate_moves_every_secret_to_the_newest_key(
    stored: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("STEPBACK_ENCRYPTION_KEYS", f"{NEW},{OLD}")
    assert main(["keys", "rotate"]) == 0
    out = capsys.readouterr().out
    assert "5 secrets re-encrypted" in out
    only_new = SecretBox([NEW])
    plain = [only_new.decrypt(t) for t in secrets_in(stored)]
    assert plain == ["1//refresh-0", "1//refresh-1", "1//refresh-2", '{"k": "v"}']
    cli_grant = tmp_path / "instance" / "gmail_token.enc"
    assert only_new.decrypt(cli_grant.read_bytes()) == '{"refresh_token": "cli"}'
    assert cli_grant.stat().st_mode & 0o777 == 0o600
    with pytest.raises(InvalidToken):
        Fernet(OLD.encode()).decrypt(secrets_in(stored)[0])


def test_dry_run_changes_nothing(
    stored: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = secrets_in(stored)
    monkeypatch.setenv("STEPBACK_ENCRYPTION_KEYS", f"{NEW},{OLD}")
    assert main(["keys", "rotate", "--dry-run"]) == 0
    assert "5 secrets can be re-encrypted" in capsys.readouterr().out
    assert secrets_in(stored) == before


def test_a_secret_no_key_can_read_aborts_without_changing_anything(
    stored: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = secrets_in(stored)
    # The old key was dropped too early: nothing may be half-rotated.
    monkeypatch.setenv("STEPBACK_ENCRYPTION_KEYS", NEW)
    assert main(["keys", "rotate"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("stepback: error: 5 secrets cannot be decrypted")
    assert "nothing was changed" in err and err.count("\n") == 1
    assert secrets_in(stored) == before


def test_an_invalid_key_setting_is_a_one_line_error(
    stored: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STEPBACK_ENCRYPTION_KEYS", "not-a-fernet-key")
    assert main(["keys", "rotate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("stepback: error: the configured encryption keys are not valid")


def test_rotation_is_repeatable(
    stored: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STEPBACK_ENCRYPTION_KEYS", f"{NEW},{OLD}")
    assert main(["keys", "rotate"]) == 0
    assert main(["keys", "rotate"]) == 0
    assert [SecretBox([NEW]).decrypt(t) for t in secrets_in(stored)][:1] == ["1//refresh-0"]

