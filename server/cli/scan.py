"""`stepback scan`: the silent prospects and reply-owed threads of one mailbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import click

from server.cli.common import CliError, parse_now
from server.engine.model import MailboxContext, ScanResult, Threshold, default_context
from server.engine.report import scan_to_json, scan_to_table
from server.engine.silence import scan as engine_scan

T = TypeVar("T")
# --now outside these years is a typo; staying far from datetime's own ends (years 1 and 9999)
# means no time zone offset or day count can overflow.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _now(value: str | None) -> datetime:
    """--now as an aware UTC moment within [EARLIEST, LATEST), or one clear CliError."""
    try:
        now = parse_now(value)
    except OverflowError:
        raise CliError(f"--now: {value!r} is out of range once converted to UTC") from None
    if not EARLIEST <= now < LATEST:
        raise CliError(f"--now: give a moment between 1970 and 9000, not {value!r}")
    return now


def _guarded(what: str, work: Callable[[], T]) -> T:
    """Run `work`; input that is too big or too deep for Python becomes one CliError line."""
    try:
        return work()
    except RecursionError:
        raise CliError(f"{what}: nested too deeply to read") from None
    except OverflowError:
        raise CliError(f"{what}: a date is out of range (check --now and --timezone)") from None
    except ValueError as exc:
        # e.g. Python's limit on integer digits (json.loads of a 5,000-digit number).
        reason = str(exc).split(";")[0][:200]
        raise CliError(f"{what}: cannot be used: {reason}") from None


DEFAULT_HORIZON_DAYS = 180  # the org default (orgs.default_horizon_days)


@click.command()
@click.option("--mailbox", "mailbox_path", type=click.Path(path_type=Path), help="Mailbox file.")
@click.option("--user", "user_email", help="A synced rep, under the org's settings.")
@click.option("--now", "now_text", help="The moment to judge silence at (ISO 8601; default: now).")
@click.option("--threshold", type=int, help="Silence threshold in days (default 5, or the org's).")
@click.option("--calendar-days", is_flag=True, help="Count calendar days instead of business days.")
@click.option("--internal-domain", "internal_domains", multiple=True, help="Org domain (repeat).")
@click.option("--timezone", "tz", help="The rep's IANA time zone (default UTC).")
@click.option("--holidays", "holiday_country", help="Skip this country's holidays (US…).")
@click.option("--reply-target-hours", type=float, default=None, help="List reply owed after this.")
@click.option(
    "--horizon-days",
    type=click.IntRange(1, 36500),
    default=None,
    help="Ignore runs of silence older than this (default 180, or the team's with --user).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["json", "table"]), default="table", show_default=True
)
def scan(
    mailbox_path: Path | None,
    user_email: str | None,
    now_text: str | None,
    threshold: int | None,
    calendar_days: bool,
    internal_domains: tuple[str, ...],
    tz: str | None,
    holiday_country: str | None,
    reply_target_hours: float | None,
    horizon_days: int | None,
    fmt: str,
) -> None:
    """List silent prospects (most silent first) and threads where a reply is owed."""
    now = _now(now_text)
    if threshold is not None and not 0 < threshold <= 365:
        raise CliError(f"--threshold: must be between 1 and 365 days, got {threshold}")
    if mailbox_path is not None:
        result = _scan_file(
            mailbox_path,
            now,
            threshold,
            calendar_days,
            internal_domains,
            tz,
            holiday_country,
            reply_target_hours,
            horizon_days or DEFAULT_HORIZON_DAYS,
        )
    else:
        result = _scan_stored(
            user_email,
            now,
            threshold,
            calendar_days,
            internal_domains,
            tz,
            reply_target_hours,
            horizon_days,
        )
    if fmt == "json":
        click.echo(json.dumps(scan_to_json(result), indent=2, ensure_ascii=False))
    else:
        click.echo(scan_to_table(result))


def _context(
    rep: str, domains: tuple[str, ...], tz: str | None, country: str | None
) -> MailboxContext:
    try:
        return default_context(
            rep, internal_domains=list(domains), timezone=tz or "UTC", holiday_country=country
        )
    except ValueError as exc:
        raise CliError(str(exc)) from exc


def _scan_file(
    path: Path,
    now: datetime,
    threshold: int | None,
    calendar_days: bool,
    domains: tuple[str, ...],
    tz: str | None,
    country: str | None,
    reply_target: float | None,
    horizon_days: int = 180,
) -> ScanResult:
    from server.gmail.mailbox_file import MailboxFileError, load_mailbox_file

    try:
        mailbox = _guarded(str(path), lambda: load_mailbox_file(path))
    except MailboxFileError as exc:
        raise CliError(str(exc)) from exc
    ctx = _context(str(mailbox["emailAddress"]), domains, tz, country)
    return _guarded(
        str(path),
        lambda: engine_scan(
            mailbox["threads"],
            ctx,
            now,
            Threshold(threshold if threshold is not None else 5, calendar_days),
            reply_target_hours=reply_target or 0,
            horizon_days=horizon_days,
        ),
    )


def _scan_stored(
    user_email: str | None,
    now: datetime,
    threshold: int | None,
    calendar_days: bool,
    domains: tuple[str, ...],
    tz: str | None,
    reply_target: float | None,
    horizon_days: int | None = None,
) -> ScanResult:
    """Scan a synced account from the database; without one, scan the demo mailbox."""
    from dataclasses import replace

    from sqlalchemy import select

    from server.cli.common import make_app
    from server.services.scan import scan_user
    from server.store.db import get_db
    from server.store.models import Mailbox, User
    from server.store.settings import rep_settings

    app = make_app()
    with get_db(app).session() as session:
        if user_email:
            user = session.scalar(select(User).where(User.email == user_email.strip().lower()))
            if user is None:
                raise CliError(f"--user: no rep {user_email!r} in this stepback database")
        else:
            mailbox = session.scalar(select(Mailbox).order_by(Mailbox.id))
            user = mailbox.user if mailbox is not None else None
        if user is None:
            return _scan_demo(
                now, threshold, calendar_days, domains, tz, reply_target, horizon_days
            )
        settings = rep_settings(user)
        if threshold is not None or calendar_days:
            days = threshold if threshold is not None else settings.threshold.days
            settings = replace(settings, threshold=Threshold(days, calendar_days))
        if domains or tz:
            ctx = default_context(
                user.email,
                aliases=sorted(settings.context.rep_addresses - {user.email}),
                internal_domains=list(domains) or sorted(settings.context.internal_domains),
                timezone=tz or settings.context.timezone,
                holiday_country=settings.context.holiday_country,
            )
            settings = replace(settings, context=ctx)
        if reply_target is not None:
            settings = replace(settings, reply_target_hours=reply_target)
        if horizon_days is not None:
            settings = replace(settings, horizon_days=horizon_days)
        return scan_user(session, user, now, settings)


def _scan_demo(
    now: datetime,
    threshold: int | None,
    calendar_days: bool,
    domains: tuple[str, ...],
    tz: str | None,
    reply_target: float | None,
    horizon_days: int | None = None,
) -> ScanResult:
    from server.gmail.demo_mailbox import build_demo_mailbox

    click.echo("No Gmail account is connected; scanning the built-in demo mailbox.", err=True)
    mailbox = build_demo_mailbox(now)
    ctx = _context(str(mailbox["emailAddress"]), domains, tz, None)
    return engine_scan(
        mailbox["threads"],
        ctx,
        now,
        Threshold(threshold if threshold is not None else 5, calendar_days),
        reply_target_hours=reply_target or 0,
        horizon_days=horizon_days or DEFAULT_HORIZON_DAYS,
    )
