"""`stepback demo` seeds a team, not one rep; the fresh-machine set-up pieces are in place."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from server.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_demo_seeds_three_reps_on_two_teams_with_their_own_mailboxes(
    capsys: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "demo"
    try:
        main(["demo", "--no-serve", "--instance", str(folder), "--threads", "60"])
    except SystemExit as done:
        assert done.code in (0, None)
    out = capsys.readouterr().out
    # The table printed is still the first rep's.
    assert "Silent prospects and replies owed for Alex Rivera <alex@northwind-demo.com>" in out
    assert re.search(r"^Silent prospects \([1-9]\d*\)$", out, re.M)
    assert "Jordan Kim <jordan@northwind-demo.com>" in out
    engine = create_engine(f"sqlite:///{folder / 'demo.sqlite3'}")
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT u.email, t.name, t.threshold_days, COUNT(s.id) FROM users u "
                "JOIN teams t ON t.id = u.team_id JOIN mailboxes m ON m.user_id = u.id "
                "LEFT JOIN thread_states s ON s.mailbox_id = m.id "
                "WHERE u.role = 'rep' GROUP BY u.email, t.name, t.threshold_days"
            )
        ).all()
        silent = dict(
            conn.execute(
                text(
                    "SELECT m.email, COUNT(s.id) FROM mailboxes m JOIN thread_states s "
                    "ON s.mailbox_id = m.id WHERE s.kind IS NOT NULL GROUP BY m.email"
                )
            ).all()
        )
    engine.dispose()
    assert len(rows) >= 3
    assert len({team for _, team, _, _ in rows}) >= 2
    assert len({threshold for _, _, threshold, _ in rows}) >= 2
    for email, _team, _threshold, threads in rows:
        assert threads > 0, f"{email} has no synced threads"
        assert silent.get(email, 0) > 0, f"{email} has no silent-prospect candidates"


def test_demo_lists_which_sign_in_sees_what() -> None:
    from server.cli.demo import DEMO_SIGN_INS
    from server.demo import DEMO_ADMIN, DEMO_REP, DEMO_TEAM_REPS

    listed = {email for email, _ in DEMO_SIGN_INS}
    assert {DEMO_ADMIN, DEMO_REP, *(e for e, _, _ in DEMO_TEAM_REPS)} <= listed


def test_other_reps_mailboxes_never_name_alex() -> None:
    from datetime import UTC, datetime

    from server.gmail.demo_mailbox import build_demo_mailbox, build_rep_mailbox

    now = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    jordan = build_rep_mailbox(now, "jordan@northwind-demo.com", "Jordan Kim", 11, 40)
    dumped = json.dumps(jordan)
    assert jordan["emailAddress"] == "jordan@northwind-demo.com"
    assert "alex" not in dumped.lower()
    alex_ids = {t["id"] for t in build_demo_mailbox(now, threads=40)["threads"]}
    assert alex_ids != {t["id"] for t in jordan["threads"]}


def test_every_runtime_import_is_a_declared_dependency() -> None:
    """Modules the server imports at run time come from the standard library, `server`, or
    a package `pip install -e .` installs (not only the test extras)."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=\[ ;]", d, maxsplit=1)[0].lower() for d in declared}
    # Import name -> the distribution that provides it (direct or through a declared one).
    provided_by = {
        "flask": "flask", "werkzeug": "flask", "click": "flask", "markupsafe": "flask",
        "jinja2": "flask", "itsdangerous": "flask",
        "sqlalchemy": "sqlalchemy", "alembic": "alembic",
        "marshmallow": "marshmallow", "apispec": "apispec", "yaml": "pyyaml",
        "googleapiclient": "google-api-python-client", "httplib2": "google-api-python-client",
        "google": "google-auth", "google_auth_httplib2": "google-auth-httplib2",
        "google_auth_oauthlib": "google-auth-oauthlib", "requests": "requests",
        "cryptography": "cryptography", "holidays": "holidays", "babel": "babel",
        "limits": "limits", "redis": "redis", "tzdata": "tzdata", "psycopg": "psycopg",
        "gunicorn": "gunicorn",
    }
    import sys

    stdlib = set(sys.stdlib_module_names)
    found: set[str] = set()
    for path in (ROOT / "server").rglob("*.py"):
        source = path.read_text()
        for match in re.finditer(r"^\s*(?:from (\w+)[\w.]* import |import (\w+))", source, re.M):
            found.add(match.group(1) or match.group(2))
    unknown = sorted(
        name for name in found
        if name not in stdlib and name != "server" and name != "__future__"
        and provided_by.get(name) not in names
    )
    assert not unknown, f"imported at run time but not a runtime dependency: {unknown}"


def test_set_up_installs_each_missing_system_package_alone() -> None:
    script = (ROOT / "scripts" / "test.sh").read_text()
    installs = re.findall(r"apt-get install -y[^\n]*", script)
    assert installs and all('"$package"' in line for line in installs)
    assert "nodejs npm" not in script and "chromium nodejs" not in script
    assert '[ -x /usr/bin/chromium ] || install_missing chromium' in script
    assert "command -v node >/dev/null || install_missing nodejs" in script
    assert "command -v npm >/dev/null || install_missing npm" in script
    syntax = subprocess.run(["bash", "-n", str(ROOT / "scripts" / "test.sh")], check=False)
    assert syntax.returncode == 0


def test_ci_proves_the_demo_with_runtime_dependencies_only() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'pip install -q -e .\n' in ci and "[test]" not in ci
    assert "demo --no-serve" in ci and "Silent prospects" in ci
    assert (ROOT / "LICENSE").read_text().lstrip().startswith("Apache License")
