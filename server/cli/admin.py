"""`stepback admin add`: bootstrap (or promote) an organisation's admin."""

from __future__ import annotations

import re
from typing import Any

import click
from sqlalchemy import func, select

from server.cli.common import CliError

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")


@click.group()
def admin() -> None:
    """Manage the admins who can open the web settings."""


@admin.command("add")
@click.argument("email")
@click.option("--org", "org_slug", required=True, help="The organisation's short name (slug).")
@click.option("--name", default="", help="The person's display name.")
@click.option("--create-org", is_flag=True, help="Create the organisation if it does not exist.")
def add(email: str, org_slug: str, name: str, create_org: bool) -> None:
    """Make EMAIL an admin of ORG (adding the person when new)."""
    from server.admin.forms import email_problem
    from server.cli.common import make_app
    from server.store.db import get_db

    address = email.strip().lower()
    problem = email_problem(address)
    if problem:
        raise CliError(f"EMAIL: '{email}' {problem}")
    slug = org_slug.strip().lower()
    if not _SLUG.match(slug):
        raise CliError(f"--org: '{org_slug}' is not a slug (lowercase letters, digits, hyphens)")
    app = make_app()
    try:
        _add(app, address, slug, name, create_org)
    finally:
        # Close pooled connections now rather than at interpreter exit.
        get_db(app).dispose()


def _add(app: Any, address: str, slug: str, name: str, create_org: bool) -> None:
    from server import clock
    from server.store.db import get_db
    from server.store.models import AuditLog, Org, User

    with app.app_context(), get_db(app).session() as session:
        org = session.scalar(select(Org).where(Org.slug == slug))
        if org is None and not create_org:
            raise CliError(f"--org: no organisation '{slug}'; add --create-org to create it")
        if org is None:
            domain = address.rpartition("@")[2]
            org = Org(slug=slug, name=slug, internal_domains=[domain])
            session.add(org)
            session.flush()
            click.echo(f"Created organisation {slug} (internal domain {domain}).")
        user = session.scalar(select(User).where(func.lower(User.email) == address))
        if user is not None and user.org_id != org.id:
            raise CliError(f"{address} already belongs to another organisation")
        before = None if user is None else {"role": user.role}
        if user is None:
            user = User(org_id=org.id, email=address, name=name.strip(), role="admin")
            session.add(user)
            action = "added as admin"
        else:
            user.role = "admin"
            if name.strip():
                user.name = name.strip()
            action = "is now an admin" if before != {"role": "admin"} else "was already an admin"
        session.flush()
        if before != {"role": "admin"}:
            session.add(
                AuditLog(
                    org_id=org.id,
                    actor_email="stepback admin add (command line)",
                    action="user.make_admin",
                    target=f"{address} (#{user.id})",
                    before=before,
                    after={"role": "admin"},
                    created_at=clock.now(),
                )
            )
        click.echo(f"{address} {action} of {slug}. They can sign in with Google at /auth/signin.")


COMMANDS = [admin]
