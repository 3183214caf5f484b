"""`stepback admin add EMAIL --org ORG`: bootstrap and promote admins."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from server.cli import main as cli_main
from server.store.db import get_db
from server.store.models import AuditLog, Org, User


@pytest.fixture
def run(app: Any, capsys: Any, monkeypatch: Any) -> Any:
    """Run the CLI on the test app's database; return (exit code, stdout, stderr)."""
    monkeypatch.setenv("DATABASE_URL", app.config["DATABASE_URL"])

    def invoke(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli_main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    return invoke


def user(app: Any, email: str) -> User | None:
    with get_db(app).session() as s:
        return s.scalar(select(User).where(User.email == email))


def test_create_org_and_first_admin(app: Any, run: Any) -> None:
    code, out, _ = run(
        "admin",
        "add",
        "Founder@Acme-Widgets.com",
        "--org",
        "acme",
        "--name",
        "Fran Founder",
        "--create-org",
    )
    assert code == 0
    assert "Created organisation acme" in out and "founder@acme-widgets.com added as admin" in out
    with get_db(app).session() as s:
        org = s.scalar(select(Org).where(Org.slug == "acme"))
        assert org is not None and org.internal_domains == ["acme-widgets.com"]
        founder = s.scalar(select(User).where(User.email == "founder@acme-widgets.com"))
        assert founder is not None
        assert (founder.org_id, founder.role, founder.name) == (org.id, "admin", "Fran Founder")
        [entry] = s.scalars(select(AuditLog).where(AuditLog.org_id == org.id))
        assert entry.action == "user.make_admin" and entry.after == {"role": "admin"}


def test_promote_an_existing_rep(app: Any, run: Any, demo_ids: Any) -> None:
    code, out, _ = run("admin", "add", "alex@northwind-demo.com", "--org", "northwind-demo")
    assert code == 0 and "is now an admin" in out
    promoted = user(app, "alex@northwind-demo.com")
    assert promoted is not None and promoted.role == "admin" and promoted.name == "Alex Rivera"
    code, out, _ = run("admin", "add", "alex@northwind-demo.com", "--org", "northwind-demo")
    assert code == 0 and "was already an admin" in out
    with get_db(app).session() as s:
        assert len(list(s.scalars(select(AuditLog)))) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("casey@contoso-demo.com", "--org", "northwind-demo"), "already belongs to another"),
        (("new@acme.com", "--org", "acme"), "no organisation 'acme'; add --create-org"),
        (("not-an-email", "--org", "northwind-demo"), "is not an email address"),
        (("x@acme.com", "--org", "Acme Inc"), "is not a slug"),
    ],
)
def test_refusals(app: Any, run: Any, demo_ids: Any, argv: tuple[str, ...], message: str) -> None:
    code, _, err = run("admin", "add", *argv)
    assert code == 2
    assert err.startswith("stepback: error:") and message in err
    assert len(err.strip().splitlines()) == 1
    casey = user(app, "casey@contoso-demo.com")
    assert casey is not None and casey.org_id != demo_ids.org_id
