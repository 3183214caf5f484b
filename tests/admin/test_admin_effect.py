"""Admin changes take effect at once: compose guidance and `stepback scan --user` read the
thresholds and templates from the database on every call."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from server import clock
from server.cli import main as cli_main
from server.services.guidance import compose_guidance
from server.store.db import get_db
from server.store.models import Team, User
from tests.admin.helpers import ADMIN, REP, demo_sign_in, post

BOB = "bob@globex-corp.com"


@pytest.fixture
def admin_client(client: Any, synced: Any) -> Any:
    assert demo_sign_in(client, ADMIN).status_code == 302
    return client


def guidance(app: Any) -> Any:
    """Compose guidance for the rep writing to Bob, in a fresh session (nothing cached)."""
    with app.app_context(), get_db(app).session() as s:
        rep = s.scalar(select(User).where(User.email == REP))
        assert rep is not None
        return compose_guidance(s, rep, recipients=[BOB], thread_id=None, now=clock.now())


def scan_cli(app: Any, capsys: Any, monkeypatch: Any) -> dict[str, Any]:
    """Run `stepback scan --user REP --format json` on the app's database."""
    import server.cli.common

    monkeypatch.setenv("DATABASE_URL", app.config["DATABASE_URL"])
    made: list[Any] = []
    real_make_app = server.cli.common.make_app

    def make_app(overrides: Any = None) -> Any:
        made.append(real_make_app(overrides))
        return made[-1]

    # The command builds its own app; close its connection pool when it is done.
    monkeypatch.setattr(server.cli.common, "make_app", make_app)
    with app.app_context():
        now = clock.now().isoformat()
    capsys.readouterr()
    try:
        code = cli_main(["scan", "--user", REP, "--now", now, "--format", "json"])
    finally:
        for built in made:
            get_db(built).dispose()
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)  # type: ignore[no-any-return]


def silent_ids(report: dict[str, Any]) -> set[str]:
    return {item["threadId"] for item in report["silent"]}


def mid_id(app: Any) -> int:
    with get_db(app).session() as s:
        found = s.scalar(select(Team.id).where(Team.name == "Mid-market"))
        assert found is not None
        return int(found)


def test_team_threshold_reaches_guidance_and_scan(
    app: Any, admin_client: Any, capsys: Any, monkeypatch: Any
) -> None:
    before = guidance(app)
    assert before.thread_id == "t-globex"
    assert before.silent is True and before.threshold_days == 5
    waited = before.business_days_silent
    assert waited is not None and 5 <= waited < 30
    assert "t-globex" in silent_ids(scan_cli(app, capsys, monkeypatch))

    # Raise the team's threshold just past Bob's silence.
    resp = post(
        admin_client,
        f"/admin/teams/{mid_id(app)}",
        {"name": "Mid-market", "threshold_days": str(waited + 1)},
    )
    assert resp.status_code == 302
    after = guidance(app)
    assert after.threshold_days == waited + 1
    assert after.silent is False and after.nag is False
    assert "t-globex" not in silent_ids(scan_cli(app, capsys, monkeypatch))

    # Back to exactly his silence: silent again, no restart or cache flush needed.
    post(
        admin_client,
        f"/admin/teams/{mid_id(app)}",
        {"name": "Mid-market", "threshold_days": str(waited)},
    )
    assert guidance(app).silent is True
    assert "t-globex" in silent_ids(scan_cli(app, capsys, monkeypatch))


def test_rep_override_beats_the_team(
    app: Any, admin_client: Any, synced: Any, capsys: Any, monkeypatch: Any
) -> None:
    resp = post(
        admin_client,
        f"/admin/people/{synced.ids.rep_id}",
        {
            "name": "Alex Rivera",
            "team_id": str(mid_id(app)),
            "role": "rep",
            "threshold_override_days": "90",
        },
    )
    assert resp.status_code == 302
    assert guidance(app).threshold_days == 90
    assert silent_ids(scan_cli(app, capsys, monkeypatch)) == set()


def test_invalid_threshold_leaves_guidance_alone(app: Any, admin_client: Any) -> None:
    for bad in ("0", "400"):
        resp = post(
            admin_client,
            f"/admin/teams/{mid_id(app)}",
            {"name": "Mid-market", "threshold_days": bad},
        )
        assert resp.status_code == 400
    g = guidance(app)
    assert g.threshold_days == 5 and g.silent is True


def test_edited_template_reaches_the_panel_guidance(app: Any, admin_client: Any) -> None:
    before = guidance(app)
    offered = [p.play for p in before.plays]
    assert "step_back" in offered, offered
    text = "Hi {{first_name}}, if {{company}} has chosen another path, that is completely fine."
    url = f"/admin/teams/{mid_id(app)}/templates/step_back"
    assert post(admin_client, url, {"variant_0": text}).status_code == 302
    plays = [p for p in guidance(app).plays if p.play == "step_back"]
    assert (
        plays[0].text == "Hi Bob, if Globex Corp has chosen another path, that is completely fine."
    )
    # The variants the form left blank now hide the built-in ones.
    assert len(plays) == 1
