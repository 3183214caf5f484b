"""`stepback demo`: the whole product on this machine, no Google account needed."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from server.cli.common import Progress

# Pages a newcomer may want to open, shown when the app has them.
DEMO_PAGES = (
    ("/", "start page"),
    ("/demo/panel", "try the compose panel without installing the extension"),
    ("/demo/popup", "the toolbar popup: get-backs due today, replies owed, who went quiet"),
    ("/demo/addon", "the Gmail add-on's cards, rendered as HTML"),
    ("/admin/", "admin settings: dashboard, per-rep chart and both teams' thresholds"),
    ("/api/openapi.json", "the JSON API's OpenAPI document"),
    ("/healthz", "health check"),
)


# Who sees what after signing in to the demo pages (password "demo" for every one of them).
DEMO_SIGN_INS = (
    ("morgan@northwind-demo.com", "admin of Northwind: the dashboard of all three reps, "
     "the Mid-market (5 business days) and Enterprise (8) team settings, templates"),
    ("alex@northwind-demo.com", "rep (Mid-market): his own threads; the table above and "
     "/demo/panel are his"),
    ("jordan@northwind-demo.com", "rep (Enterprise): his own threads only"),
    ("priya.natarajan@northwind-demo.com", "rep (Mid-market): her own threads only"),
    ("casey@contoso-demo.com", "admin of another org (Contoso): sees nothing of Northwind"),
)


def _free_port(host: str, wanted: int) -> int:
    """Return `wanted` if it is free, else any free port."""
    for port in (wanted, 0):
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise click.ClickException("no free TCP port on this machine")


def build_demo(instance: Path | None, threads: int, now: datetime, quiet: bool) -> dict[str, Any]:
    """Start the emulator, create a fresh demo database and sync the demo mailbox into it."""
    from google.oauth2.credentials import Credentials

    from server import create_app
    from server.demo import seed_demo
    from server.demo_day import seed_due_getbacks
    from server.gmail.client import GmailClient
    from server.gmail.demo_mailbox import build_demo_mailbox, build_rep_mailbox
    from server.gmail.emulator import GmailEmulator
    from server.gmail.sync import MailboxSync
    from server.store.db import get_db
    from server.store.models import User
    from server.store.settings import rep_settings

    mailbox = build_demo_mailbox(now, threads=threads)
    emu = GmailEmulator(mailbox)
    emu.start()
    probe = create_app({"DATABASE_URL": "sqlite://"})
    folder = instance or Path(probe.instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    db_file = folder / "demo.sqlite3"
    for stale in (db_file, Path(f"{db_file}-wal"), Path(f"{db_file}-shm")):
        stale.unlink(missing_ok=True)
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{db_file}",
            "GMAIL_API_ENDPOINT": emu.url,
            "DEMO_LOGIN": True,
            "SESSION_COOKIE_SECURE": False,
            "DEMO_NOW": now.isoformat(),
        }
    )
    db = get_db(app)
    db.upgrade()
    token = Credentials(token="demo-token")  # noqa: S106 - the emulator takes any token
    team: list[tuple[str, int]] = []
    with db.session() as session:
        ids = seed_demo(session)
        for user_id, email, name, seed in ids.reps:
            user = session.get(User, user_id)
            assert user is not None and user.mailbox is not None
            # Alex's mailbox is the one the app keeps serving; the others are synced once
            # from an emulator of their own so the team's pages have real data.
            if seed is None:
                rep_emu = emu
            else:
                rep_emu = GmailEmulator(build_rep_mailbox(now, email, name, seed, threads // 2))
                rep_emu.start()
            progress = Progress(quiet)
            try:
                with GmailClient(token, api_endpoint=rep_emu.url) as client:
                    result = MailboxSync(
                        session, user.mailbox, client, rep_settings(user).context,
                        progress=progress,
                    ).run()
            finally:
                progress.finish()
                if rep_emu is not emu:
                    rep_emu.stop()
            if seed is None:
                report = result
                seed_due_getbacks(session, user, now)  # the toolbar popup's get-backs due today
            team.append((f"{name} <{email}>", result.threads_stored))
    return {"app": app, "emulator": emu, "report": report, "rep_id": ids.rep_id, "team": team}


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5000, show_default=True)
@click.option("--threads", type=click.IntRange(20, 5000), default=200, show_default=True)
@click.option("--no-serve", is_flag=True, help="Print the table and exit (no web server).")
@click.option("--instance", type=click.Path(path_type=Path), help="Where the demo database goes.")
def demo(host: str, port: int, threads: int, no_serve: bool, instance: Path | None) -> None:
    """Sync a realistic demo mailbox through the Gmail emulator and show the silent prospects."""
    from server.engine.report import scan_to_table
    from server.services.scan import scan_user
    from server.store.db import get_db
    from server.store.models import User

    now = datetime.now(UTC)
    click.echo(
        f"stepback demo: building a {threads}-thread sales mailbox and a Gmail API emulator…"
    )
    built = build_demo(instance, threads, now, quiet=False)
    app, emu, report = built["app"], built["emulator"], built["report"]
    click.echo(
        f"synced {report.threads_stored} threads through google-api-python-client "
        f"({emu.quota_used} quota units, {emu.http_requests} HTTP requests to the emulator)"
    )
    others = ", ".join(f"{who}: {n} threads" for who, n in built["team"][1:])
    if others:
        click.echo(f"the rest of the demo team, each from a mailbox of their own: {others}")
    click.echo("")
    with get_db(app).session() as session:
        rep = session.get(User, built["rep_id"])
        assert rep is not None
        click.echo(f"Silent prospects and replies owed for {rep.name} <{rep.email}>:\n")
        click.echo(scan_to_table(scan_user(session, rep, now)))
    if no_serve:
        emu.stop()
        return
    port = _free_port(host, port)
    base = f"http://{host}:{port}"
    adapter = app.url_map.bind("localhost")
    click.echo("\nOpen in your browser:")
    for path, what in DEMO_PAGES:
        try:
            adapter.match(path, method="GET")
        except Exception:  # noqa: BLE001,S112 - a page some surface does not provide yet
            continue
        click.echo(f"  {base}{path}  — {what}")
    click.echo(f"  Gmail API emulator: {emu.url}")
    click.echo('\nSign in to the pages above (password "demo" for everyone):')
    for email, sees in DEMO_SIGN_INS:
        click.echo(f"  {email:<36} {sees}")
    click.echo("Press Ctrl-C to stop.")
    from werkzeug.serving import run_simple

    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        emu.stop()
