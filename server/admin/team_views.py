"""Teams, their thresholds and members."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, request, url_for
from sqlalchemy import delete, func, select

from server.admin.common import (
    audit,
    bp,
    changes,
    db,
    org,
    page,
    people_of_org,
    scoped,
    team_label,
    teams_of_org,
    user_label,
)
from server.admin.forms import Form, parse_id
from server.plays import PLAYS
from server.store.models import Team, Template, User

MAX_REPLY_TARGET_HOURS = 720


def team_values(team: Team) -> dict[str, Any]:
    return {
        "name": team.name,
        "threshold_days": team.threshold_days,
        "reply_target_hours": team.reply_target_hours,
        "horizon_days": team.horizon_days,
    }


def _typed(team: Team | None) -> dict[str, str]:
    if team is None:
        return {"name": "", "threshold_days": "", "reply_target_hours": "", "horizon_days": ""}
    hours = team.reply_target_hours
    return {
        "name": team.name,
        "threshold_days": "" if team.threshold_days is None else str(team.threshold_days),
        "reply_target_hours": "" if hours is None else f"{hours:g}",
        "horizon_days": "" if team.horizon_days is None else str(team.horizon_days),
    }


def _name_taken(name: str, except_id: int | None) -> bool:
    query = select(Team.id).where(Team.org_id == org().id, func.lower(Team.name) == name.lower())
    if except_id is not None:
        query = query.where(Team.id != except_id)
    return db().scalar(query) is not None


def _read_team_form(form: Form, except_id: int | None) -> dict[str, Any]:
    name = form.text("name", label="Team name", max_len=120, required=True)
    if name and _name_taken(name, except_id):
        form.fail("name", f"There is already a team called '{name}'.")
    threshold = form.whole(
        "threshold_days", label="Threshold", low=1, high=365, unit="days", required=False
    )
    hours = form.whole(
        "reply_target_hours",
        label="Reply target",
        low=1,
        high=MAX_REPLY_TARGET_HOURS,
        unit="hours",
        required=False,
    )
    horizon = form.whole(
        "horizon_days", label="Age horizon", low=7, high=3650, unit="days", required=False
    )
    return {
        "name": name,
        "threshold_days": threshold,
        "reply_target_hours": None if hours is None else float(hours),
        "horizon_days": horizon,
    }


def _teams_page(new_values: dict[str, str], errors: dict[str, str], status: int) -> tuple[str, int]:
    counts = dict(
        db()
        .execute(
            select(User.team_id, func.count(User.id))
            .where(User.org_id == org().id)
            .group_by(User.team_id)
        )
        .all()
    )
    return page(
        "admin/teams.html",
        status,
        teams=teams_of_org(),
        counts=counts,
        values=new_values,
        errors=errors,
    )


@bp.get("/teams")
def teams() -> tuple[str, int]:
    """List the teams with their thresholds."""
    return _teams_page(_typed(None), {}, 200)


@bp.post("/teams")
def team_create() -> Response | tuple[str, int]:
    """Create a team."""
    form = Form(request.form)
    values = _read_team_form(form, None)
    if not form.ok:
        typed = {k: form.raw(k) for k in _typed(None)}
        return _teams_page(typed, form.errors, 400)
    team = Team(org_id=org().id, **values)
    db().add(team)
    db().flush()
    audit("team.create", team_label(team), None, team_values(team))
    db().commit()
    flash(f"Team {team.name} created.")
    return redirect(url_for("admin.team_detail", team_id=team.id))  # type: ignore[return-value]


def _team_page(
    team: Team, values: dict[str, str], errors: dict[str, str], status: int
) -> tuple[str, int]:
    members = [u for u in people_of_org() if u.team_id == team.id]
    others = [u for u in people_of_org() if u.team_id != team.id]
    return page(
        "admin/team.html",
        status,
        team=team,
        members=members,
        others=others,
        plays=list(PLAYS.values()),
        values=values,
        errors=errors,
    )


@bp.get("/teams/<int:team_id>")
def team_detail(team_id: int) -> tuple[str, int]:
    """One team: its settings and members."""
    team = scoped(Team, team_id)
    return _team_page(team, _typed(team), {}, 200)


@bp.post("/teams/<int:team_id>")
def team_save(team_id: int) -> Response | tuple[str, int]:
    """Rename a team or change its threshold and reply target."""
    team = scoped(Team, team_id)
    form = Form(request.form)
    values = _read_team_form(form, team.id)
    if not form.ok:
        typed = {k: form.raw(k) for k in _typed(None)}
        return _team_page(team, typed, form.errors, 400)
    before = team_values(team)
    for key, value in values.items():
        setattr(team, key, value)
    old, new = changes(before, team_values(team))
    if new:
        audit("team.update", team_label(team), old, new)
    db().commit()
    flash("Team saved." if new else "Nothing changed.")
    return redirect(url_for("admin.team_detail", team_id=team.id))  # type: ignore[return-value]


@bp.post("/teams/<int:team_id>/delete")
def team_delete(team_id: int) -> Response:
    """Delete a team; its members stay in the org without a team, its templates go."""
    team = scoped(Team, team_id)
    members = [u.email for u in team.members]
    for member in list(team.members):
        member.team_id = None
    removed = db().execute(
        delete(Template).where(Template.org_id == org().id, Template.team_id == team.id)
    )
    audit(
        "team.delete",
        team_label(team),
        {
            **team_values(team),
            "members": members,
            "custom_templates": int(getattr(removed, "rowcount", 0) or 0),
        },
        None,
    )
    db().delete(team)
    db().commit()
    flash(f"Team {team.name} deleted; its members now have no team.")
    return redirect(url_for("admin.teams"))  # type: ignore[return-value]


@bp.post("/teams/<int:team_id>/members")
def team_add_member(team_id: int) -> Response | tuple[str, int]:
    """Move a person of the org into this team."""
    team = scoped(Team, team_id)
    person_id = parse_id(request.form.get("user_id"))
    if person_id is None:
        return _team_page(team, _typed(team), {"user_id": "Choose a person to move."}, 400)
    person = scoped(User, person_id)
    old_team = person.team.name if person.team is not None else None
    if person.team_id != team.id:
        person.team_id = team.id
        audit("user.move", user_label(person), {"team": old_team}, {"team": team.name})
        db().commit()
        flash(f"{person.email} moved to {team.name}.")
    return redirect(url_for("admin.team_detail", team_id=team.id))  # type: ignore[return-value]
