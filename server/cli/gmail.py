"""`stepback connect | sync | export | emulator`: a rep's own Gmail account from the terminal."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.cli.common import CliError, CliFailure, Progress, make_app
from server.gmail.client import SCOPES, AuthRevoked, GmailClient, GmailError

TOKEN_FILE = "gmail_token.enc"  # noqa: S105 - a file name, not a secret


def _token_path(app: Any) -> Path:
    return Path(app.instance_path) / TOKEN_FILE


def gmail_endpoint(app: Any, emulator_url: str | None) -> str | None:
    """--emulator wins; else GMAIL_API_ENDPOINT from the configuration; else Google."""
    return emulator_url or app.config.get("GMAIL_API_ENDPOINT") or None


def local_credentials(app: Any, emulator_url: str | None) -> Any:
    """Credentials for the CLI: a placeholder for the emulator, else the stored grant."""
    from google.oauth2.credentials import Credentials

    if emulator_url:
        return Credentials(token="emulator-token")  # noqa: S106 - the emulator takes any token
    path = _token_path(app)
    if not path.exists():
        raise CliError(
            "no Gmail account is connected: run `stepback connect --client-secrets FILE` first, "
            "or pass --emulator URL"
        )
    from server.store.crypto import SecretBoxError, secret_box

    try:
        info = json.loads(secret_box(app).decrypt(path.read_bytes()))
    except (SecretBoxError, ValueError) as exc:
        raise CliError(f"{path}: the stored Gmail grant cannot be read; connect again") from exc
    return Credentials.from_authorized_user_info(info, scopes=list(SCOPES))


def local_user(session: Session, email: str) -> Any:
    """The org, rep and mailbox rows for a CLI-connected account (created on first use)."""
    from server.store.models import Mailbox, Org, User

    email = email.strip().lower()
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        domain = email.rpartition("@")[2]
        org = session.scalar(select(Org).where(Org.slug == f"local-{domain}"))
        if org is None:
            org = Org(slug=f"local-{domain}", name=domain, internal_domains=[domain])
            session.add(org)
            session.flush()
        user = User(org_id=org.id, email=email, name="", role="admin")
        session.add(user)
        session.flush()
    if user.mailbox is None:
        session.add(Mailbox(org_id=user.org_id, user_id=user.id, email=email, auth_kind="oauth"))
        session.flush()
        session.refresh(user)
    return user


def run_sync(
    app: Any,
    client: GmailClient,
    progress: Progress,
    *,
    since: datetime | None = None,
) -> tuple[Any, Any]:
    """Sync the client's account into the app's database; return (report, user email)."""
    from server.gmail.sync import MailboxSync
    from server.store.db import get_db
    from server.store.settings import rep_settings

    profile = client.profile()
    with get_db(app).session() as session:
        user = local_user(session, str(profile["emailAddress"]))
        session.commit()
        settings = rep_settings(user)
        report = MailboxSync(
            session,
            user.mailbox,
            client,
            settings.context,
            progress=progress,
            horizon_days=settings.horizon_days,
            since=since,
        ).run()
        return report, user.email


def _parse_since(value: str | None) -> datetime | None:
    if not value:
        return None
    from server.cli.common import parse_now

    try:
        return parse_now(value)
    except click.ClickException as exc:
        raise CliError(f"--since: {exc.message}") from exc


@click.command()
@click.option("--emulator", "emulator_url", help="Sync from a Gmail API emulator at this URL.")
@click.option("--quiet", is_flag=True, help="No progress output.")
@click.option("--since", "since_text", help="Read back to this date (default: the age horizon).")
@click.option("--once", is_flag=True, help="One pass, even if threads are still pending.")
@click.option("--rounds", type=click.IntRange(1, 1000), default=30, show_default=True,
              help="Passes at most while threads are pending or quota is short.")
def sync(
    emulator_url: str | None, quiet: bool, since_text: str | None, once: bool, rounds: int
) -> None:
    """Sync the connected Gmail account (metadata only) until nothing is pending.

    Full the first time (newest mail first, back to the age horizon), then incremental.
    Threads Gmail refuses for a while are kept and tried again; the command says "done"
    only when every thread is stored.
    """
    from server.gmail.jobs import make_client
    from server.gmail.pacing import Clock

    app = make_app()
    since = _parse_since(since_text)
    progress = Progress(quiet)
    clock = Clock()

    def waiting(seconds: float, why: str) -> None:
        if seconds >= 5:
            progress(f"waiting {seconds:.0f}s: {why}", 0, None)

    report: Any = None
    email = ""
    try:
        creds = local_credentials(app, emulator_url)
        for number in range(1 if once else rounds):
            client = make_client(
                app, creds, api_endpoint=gmail_endpoint(app, emulator_url), clock=clock,
                on_wait=waiting,
            )
            with client:
                try:
                    report, email = run_sync(app, client, progress, since=since)
                except GmailError as exc:
                    if isinstance(exc, AuthRevoked) or not exc.transient or once \
                            or number == rounds - 1:
                        raise
                    progress(f"Gmail is struggling ({exc}); trying again", number + 1, rounds)
                    clock.sleep(min(60.0, 5.0 * (number + 1)))
                    continue
            since = None  # only the first full sync reads deeper
            if report.done or once:
                break
            pause = _pause(report)
            progress(f"{report.pending} threads pending; next pass in {pause:.0f}s", number + 1,
                     rounds)
            clock.sleep(pause)
    except GmailError as exc:
        raise CliFailure(f"sync failed: {exc}") from exc
    finally:
        progress.finish()
    state = "done" if report.done else "not done yet"
    click.echo(
        f"{email}: {report.mode} sync {state}: {report.threads_stored} threads stored, "
        f"{report.messages_skipped} malformed messages skipped, {len(report.errors)} errors"
    )
    if not report.done:
        click.echo(_not_done(report))
    for error in report.errors[:10]:
        click.echo(f"  error: {error}", err=True)
    if not report.done:
        raise SystemExit(3)


def _pause(report: Any) -> float:
    """Seconds to wait before the next pass: until quota returns, at most a minute."""
    from server.store.models import utcnow

    if report.deferred_until is not None:
        return max(1.0, min(3600.0, (report.deferred_until - utcnow()).total_seconds()))
    return 5.0


def _not_done(report: Any) -> str:
    if report.deferred_until is not None:
        return (
            f"  the project's Gmail quota is spent; run `stepback sync` again after "
            f"{report.deferred_until:%Y-%m-%d %H:%M} UTC (nothing is lost)"
        )
    return (
        f"  {report.pending} threads are still pending (Gmail refused them for now); "
        "run `stepback sync` again to fetch them (nothing is lost)"
    )


@click.command()
@click.option("--out", "out_path", required=True, type=click.Path(path_type=Path))
@click.option("--emulator", "emulator_url", help="Export from a Gmail API emulator at this URL.")
@click.option("--all", "everything", is_flag=True, help="Every thread, not just yours.")
def export(out_path: Path, emulator_url: str | None, everything: bool) -> None:
    """Write the account's threads (metadata only) to a mailbox file."""
    from server.gmail.mailbox_file import MailboxFileError, save_mailbox_file

    app = make_app()
    creds = local_credentials(app, emulator_url)
    client = GmailClient(creds, api_endpoint=gmail_endpoint(app, emulator_url))
    progress = Progress()
    try:
        profile = client.profile()
        label_sets = [[]] if everything else [["SENT"], ["INBOX", "CATEGORY_PERSONAL"]]
        ids: list[str] = []
        for labels in label_sets:
            token: str | None = None
            while True:
                items, token = client.list_threads(labels, token)
                ids.extend(str(t["id"]) for t in items if t.get("id"))
                progress("listing threads", len(ids), None)
                if token is None:
                    break
        ids = list(dict.fromkeys(ids))
        threads: list[dict[str, Any]] = []
        for start in range(0, len(ids), 500):
            fetched = client.get_threads(ids[start : start + 500])
            threads.extend(t for t in fetched.values() if isinstance(t, dict))
            progress("fetching threads", len(threads), len(ids))
    except GmailError as exc:
        raise CliFailure(f"export failed: {exc}") from exc
    finally:
        progress.finish()
        client.close()
    threads, skipped = _drop_malformed(threads)
    mailbox = {
        "emailAddress": profile["emailAddress"],
        "historyId": str(profile.get("historyId", "")),
        "threads": threads,
    }
    try:
        save_mailbox_file(out_path, mailbox)
    except MailboxFileError as exc:
        raise CliFailure(f"export not written: {exc}") from exc
    except OSError as exc:
        raise CliError(f"{out_path}: cannot write: {exc.strerror or exc}") from exc
    click.echo(f"wrote {len(threads)} threads of {profile['emailAddress']} to {out_path}")
    for problem in skipped:
        click.echo(f"  skipped malformed message: {problem}", err=True)


def _drop_malformed(threads: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Keep every well-formed message; name the ones Gmail sent broken."""
    from server.gmail.schemas import validate_message

    kept: list[dict[str, Any]] = []
    problems: list[str] = []
    for thread in threads:
        messages = []
        for raw in thread.get("messages") or []:
            message, error = validate_message(raw)
            if message is None:
                mid = raw.get("id", "?") if isinstance(raw, dict) else "?"
                problems.append(f"thread {thread.get('id')}: message {mid}: {error}")
            else:
                messages.append(raw)
        if messages:
            kept.append({**thread, "messages": messages})
    return kept, problems


@click.command()
@click.option("--client-secrets", "secrets_path", required=True, type=click.Path(path_type=Path))
@click.option("--no-browser", is_flag=True, help="Print the consent URL instead of opening it.")
def connect(secrets_path: Path, no_browser: bool) -> None:
    """Authorise your own Gmail account (gmail.metadata scope only) for the CLI."""
    from google_auth_oauthlib.flow import InstalledAppFlow

    from server.store.crypto import secret_box

    try:
        config = json.loads(secrets_path.read_text())
    except FileNotFoundError as exc:
        raise CliError(f"{secrets_path}: no such file") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise CliError(f"{secrets_path}: not a JSON client-secrets file") from exc
    if not isinstance(config, dict) or not isinstance(config.get("installed"), dict):
        raise CliError(
            f"{secrets_path}: expected an OAuth client of type 'Desktop app' "
            "(a JSON object with an 'installed' section)"
        )
    flow = InstalledAppFlow.from_client_config(config, scopes=list(SCOPES))
    creds = flow.run_local_server(port=0, open_browser=not no_browser)
    app = make_app()
    path = _token_path(app)
    path.write_bytes(secret_box(app).encrypt(creds.to_json()))
    path.chmod(0o600)
    with GmailClient(creds, api_endpoint=gmail_endpoint(app, None)) as client:
        email = client.profile()["emailAddress"]
    from server.store.db import get_db

    with get_db(app).session() as session:
        local_user(session, str(email))
    click.echo(f"connected {email} (gmail.metadata only); run `stepback sync` next")


@click.command()
@click.option("--mailbox", "mailbox_path", required=True, type=click.Path(path_type=Path))
@click.option("--port", type=int, default=8765, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--rate-limit", is_flag=True, help="Enforce the quota table's per-user budget.")
@click.option("--units-per-minute", type=click.IntRange(1, 10_000_000),
              help="Per-user budget in quota units a minute (turns the limit on).")
@click.option("--quota-status", type=click.Choice(["403", "429"]), default="403", show_default=True,
              help="How an overrun is answered (Google uses 403).")
@click.option("--quota-table", type=click.Choice(["may2026", "legacy"]), default="may2026",
              show_default=True, help="Method costs: projects since May 2026, or older ones.")
@click.option("--fail-rate", type=click.FloatRange(0.0, 0.99), default=0.0, show_default=True,
              help="Share of calls answered 503 (seeded).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --fail-rate.")
@click.option("--concurrency", type=click.IntRange(1, 1000),
              help="Per-user concurrent calls (batch parts count) before 429.")
@click.option("--window-seconds", type=click.FloatRange(0.5, 3600.0), default=60.0,
              show_default=True,
              help="Length of the quota window (shorter rehearses a bad day quickly).")
def emulator(
    mailbox_path: Path,
    port: int,
    host: str,
    rate_limit: bool,
    units_per_minute: int | None,
    quota_status: str,
    quota_table: str,
    fail_rate: float,
    seed: int,
    concurrency: int | None,
    window_seconds: float,
) -> None:
    """Serve a mailbox file over the Gmail REST API (metadata scope rules) on this machine."""
    from server.gmail.emulator import GmailEmulator
    from server.gmail.mailbox_file import MailboxFileError, load_mailbox_file

    try:
        mailbox = load_mailbox_file(mailbox_path)
    except MailboxFileError as exc:
        raise CliError(str(exc)) from exc
    emu = GmailEmulator(
        mailbox,
        host=host,
        port=port,
        enforce_rate_limit=rate_limit,
        rate_limit_units=units_per_minute,
        rate_window_seconds=window_seconds,
        quota_status=int(quota_status),
        quota_table=quota_table,
        fail_rate=fail_rate,
        seed=seed,
        concurrency_limit=concurrency,
    )
    try:
        url = emu.url  # binds the port
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    limits = ""
    if emu.enforce_rate_limit:
        limits = (
            f"; {emu.rate_limit_units} units per {window_seconds:g}s, overruns answered "
            f"{quota_status}"
        )
    if fail_rate:
        limits += f"; {fail_rate:.0%} of calls answered 503"
    click.echo(
        f"Gmail API emulator for {mailbox['emailAddress']} at {url}{limits} (Ctrl-C stops)",
        nl=True,
    )
    try:
        emu.serve_forever()
    except KeyboardInterrupt:
        pass
    answered = ", ".join(f"{code}: {n}" for code, n in sorted(emu.answers.items()))
    click.echo(f"served {emu.http_requests} HTTP requests, {emu.quota_used} quota units; "
               f"calls answered {answered or 'none'}")
