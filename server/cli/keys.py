"""`stepback keys new | rotate`: encryption keys for the secrets stored at rest.

Rotation, step by step: `stepback keys new` prints a fresh key; put it FIRST in
ENCRYPTION_KEYS (keep the old keys after it) and deploy; run `stepback keys rotate` to
re-encrypt every stored secret with it; then the old keys can be dropped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from cryptography.fernet import Fernet
from sqlalchemy import select

from server.cli.common import CliError, make_app
from server.store.crypto import SecretBox, SecretBoxError, secret_box
from server.store.db import get_db
from server.store.models import Mailbox, Org

# The CLI's own Gmail grant (`stepback connect`) lives in the instance folder.
INSTANCE_SECRET_FILES = ("gmail_token.enc",)


@dataclass
class RotationReport:
    rotated: int = 0
    unreadable: list[str] = field(default_factory=list)


def key_id(key: str) -> str:
    """A short, non-secret fingerprint to tell keys apart in output."""
    return hashlib.sha256(key.strip().encode()).hexdigest()[:12]


def rotate_all(app: Any, *, dry_run: bool = False) -> RotationReport:
    """Re-encrypt every stored secret with the newest key, in one transaction.

    If any secret cannot be decrypted with the configured keys, nothing is written.
    """
    box: SecretBox = secret_box(app)
    report = RotationReport()
    with get_db(app).session() as session:
        for mailbox in session.scalars(
            select(Mailbox).where(Mailbox.refresh_token_enc.is_not(None)).with_for_update()
        ):
            _rotate(box, mailbox, "refresh_token_enc", f"mailbox {mailbox.email}", report)
        for org in session.scalars(
            select(Org).where(Org.dwd_key_enc.is_not(None)).with_for_update()
        ):
            _rotate(box, org, "dwd_key_enc", f"org {org.slug} delegation key", report)
        files = _rotate_files(app, box, report)
        if report.unreadable or dry_run:
            session.rollback()
            return report
        session.commit()
    for path, data in files:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        tmp.chmod(0o600)
        tmp.replace(path)
    return report


def _rotate(box: SecretBox, row: Any, column: str, label: str, report: RotationReport) -> None:
    try:
        setattr(row, column, box.rotate(getattr(row, column)))
        report.rotated += 1
    except SecretBoxError:
        report.unreadable.append(label)


def _rotate_files(app: Any, box: SecretBox, report: RotationReport) -> list[tuple[Path, bytes]]:
    out: list[tuple[Path, bytes]] = []
    for name in INSTANCE_SECRET_FILES:
        path = Path(app.instance_path) / name
        if not path.exists():
            continue
        try:
            out.append((path, box.rotate(path.read_bytes())))
            report.rotated += 1
        except SecretBoxError:
            report.unreadable.append(str(path))
    return out


@click.group()
def keys() -> None:
    """Manage the keys that encrypt stored grants and service-account keys."""


@keys.command("new")
def new_key() -> None:
    """Print a fresh encryption key (put it first in ENCRYPTION_KEYS)."""
    click.echo(Fernet.generate_key().decode())


@keys.command("rotate")
@click.option("--dry-run", is_flag=True, help="Check that every secret can be re-encrypted.")
def rotate(dry_run: bool) -> None:
    """Re-encrypt every stored secret with the first key of ENCRYPTION_KEYS."""
    app = make_app()
    from server.store.crypto import load_keys

    newest = load_keys(app)[0]
    try:
        report = rotate_all(app, dry_run=dry_run)
    except ValueError as exc:
        raise CliError(f"the configured encryption keys are not valid: {exc}") from exc
    finally:
        get_db(app).dispose()
    if report.unreadable:
        listed = ", ".join(report.unreadable[:5])
        more = f" and {len(report.unreadable) - 5} more" if len(report.unreadable) > 5 else ""
        raise CliError(
            f"{len(report.unreadable)} secrets cannot be decrypted with the configured keys "
            f"({listed}{more}); nothing was changed. Add the key they were written with to "
            "ENCRYPTION_KEYS and run again.",
            exit_code=1,
        )
    verb = "can be re-encrypted" if dry_run else "re-encrypted"
    click.echo(f"{report.rotated} secrets {verb} with key {key_id(newest)}")


COMMANDS = [keys]
