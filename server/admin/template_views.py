"""Play templates per team (or org-wide), edited with a live preview.

Wording layers per variant: a team's rows over the org-wide rows over the built-in defaults,
the same layering `server.services.templates.templates_for` reads when a rep composes.
A blank variant hides the inherited one. Only text that differs from what would be
inherited is stored, so later improvements to the defaults still reach untouched variants.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, flash, jsonify, redirect, request, url_for
from sqlalchemy import select

from server import clock
from server.admin.common import NOT_FOUND, admin, audit, bp, db, org, page, scoped, teams_of_org
from server.admin.forms import has_control
from server.engine.pressure import check_pressure
from server.errors import ApiError
from server.plays import (
    DEFAULT_TEMPLATES,
    PLAYS,
    PlayInfo,
    check_template,
    context_for,
    render_play,
)
from server.store.models import Team, Template

MAX_VARIANTS = 4
SAMPLE_NAME = "Dana Whitfield"
SAMPLE_EMAIL = "dana.whitfield@globex-corp.com"
SAMPLE_SUBJECT = "Re: Pilot for the support team"


def _play(play: str) -> PlayInfo:
    info = PLAYS.get(play)
    if info is None:
        raise ApiError(404, NOT_FOUND)
    return info


def _rows(team_id: int | None, play: str) -> dict[int, Template]:
    query = select(Template).where(Template.org_id == org().id, Template.play == play)
    query = query.where(
        Template.team_id == team_id if team_id is not None else Template.team_id.is_(None)
    )
    return {row.variant: row for row in db().scalars(query)}


def _inherited(team_id: int | None, play: str) -> dict[int, str]:
    """What a scope shows before it changes anything: defaults, plus org rows for a team."""
    layers = dict(enumerate(DEFAULT_TEMPLATES.get(play, ())))
    if team_id is not None:
        layers.update({i: row.body for i, row in _rows(None, play).items()})
    return layers


def _slots(own: dict[int, Template], inherited: dict[int, str]) -> int:
    used = [*own, *inherited]
    return min(MAX_VARIANTS, max(used, default=-1) + 2)


def _current(team_id: int | None, play: str) -> list[str]:
    own, inherited = _rows(team_id, play), _inherited(team_id, play)
    return [
        own[i].body if i in own else inherited.get(i, "") for i in range(_slots(own, inherited))
    ]


def _sample_slot(play: str, tz: str) -> datetime:
    """A believable proposed date: three weekdays out at 10:00 (the cold file: 90 days)."""
    local = clock.now().astimezone(ZoneInfo(tz)).date()
    if play == "cold_file":
        local += timedelta(days=90)
    else:
        left = 3
        while left:
            local += timedelta(days=1)
            left -= local.weekday() < 5
    while local.weekday() >= 5:
        local += timedelta(days=1)
    return datetime.combine(local, time(10), tzinfo=ZoneInfo(tz))


def preview(play: str, body: str) -> dict[str, Any]:
    """Render `body` for a sample prospect with the real renderer, or list its problems."""
    problems = check_template(body)
    result: dict[str, Any] = {"play": play, "text": "", "problems": problems, "pressure": []}
    if problems or not body.strip():
        return result
    tz = org().timezone or "UTC"
    ctx = context_for(
        SAMPLE_NAME, SAMPLE_EMAIL, admin().name or "Your name", SAMPLE_SUBJECT, None, "en", tz
    )
    rendered = render_play(play, replace(ctx, proposed_at=_sample_slot(play, tz)), {play: (body,)})
    result["text"] = rendered[0].text
    result["pressure"] = [
        {"text": f.text, "why": f.why, "suggestion": f.suggestion} for f in check_pressure(body)
    ]
    return result


def _scope(team_id: int | None) -> tuple[Team | None, str]:
    if team_id is None:
        return None, "org-wide"
    team = scoped(Team, team_id)
    return team, f"team {team.name}"


def _edit_page(
    team: Team | None, info: PlayInfo, texts: list[str], errors: dict[str, str], status: int
) -> tuple[str, int]:
    previews = [preview(info.id, text) for text in texts]
    customised = bool(_rows(team.id if team else None, info.id))
    return page(
        "admin/template_edit.html",
        status,
        team=team,
        play=info,
        texts=texts,
        previews=previews,
        errors=errors,
        customised=customised,
        sample_name=SAMPLE_NAME,
        sample_email=SAMPLE_EMAIL,
    )


@bp.get("/templates")
def templates_index() -> tuple[str, int]:
    """Which plays each scope customises."""
    custom: dict[tuple[int | None, str], int] = {}
    for row in db().scalars(select(Template).where(Template.org_id == org().id)):
        key = (row.team_id, row.play)
        custom[key] = custom.get(key, 0) + 1
    return page(
        "admin/templates.html", plays=list(PLAYS.values()), teams=teams_of_org(), custom=custom
    )


@bp.get("/templates/org/<play>")
def template_org_edit(play: str) -> tuple[str, int]:
    """Edit the org-wide wording of a play."""
    return _edit(None, play)


@bp.get("/teams/<int:team_id>/templates/<play>")
def template_team_edit(team_id: int, play: str) -> tuple[str, int]:
    """Edit one team's wording of a play."""
    return _edit(team_id, play)


def _edit(team_id: int | None, play: str) -> tuple[str, int]:
    team, _ = _scope(team_id)
    info = _play(play)
    return _edit_page(team, info, _current(team_id, play), {}, 200)


@bp.post("/templates/org/<play>")
def template_org_save(play: str) -> Response | tuple[str, int]:
    """Save the org-wide wording of a play."""
    return _save(None, play)


@bp.post("/teams/<int:team_id>/templates/<play>")
def template_team_save(team_id: int, play: str) -> Response | tuple[str, int]:
    """Save one team's wording of a play."""
    return _save(team_id, play)


def _problems(text: str) -> str:
    if has_control(text):
        return "This variant contains invisible control characters; remove them."
    return "; ".join(check_template(text))


def _clean(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _save(team_id: int | None, play: str) -> Response | tuple[str, int]:
    team, label = _scope(team_id)
    info = _play(play)
    own, inherited = _rows(team_id, play), _inherited(team_id, play)
    typed = [_clean(request.form.get(f"variant_{i}", "")) for i in range(MAX_VARIANTS)]
    shown = max(_slots(own, inherited), max((i + 1 for i, t in enumerate(typed) if t), default=0))
    typed = typed[:shown]
    errors = {f"variant_{i}": _problems(t) for i, t in enumerate(typed)}
    errors = {k: v for k, v in errors.items() if v}
    if not any(typed):
        errors["variant_0"] = "Keep at least one variant: a play cannot be empty."
    if errors:
        return _edit_page(team, info, typed, errors, 400)
    before = _current(team_id, play)
    for i, text in enumerate(typed):
        row = own.get(i)
        if text == inherited.get(i, ""):
            if row is not None:
                db().delete(row)
        elif row is None:
            db().add(
                Template(
                    org_id=org().id,
                    team_id=team_id,
                    play=play,
                    variant=i,
                    body=text,
                    updated_by=admin().email,
                )
            )
        elif row.body != text:
            row.body, row.updated_by = text, admin().email
    db().flush()
    after = _current(team_id, play)
    if before != after:
        audit("template.update", f"{play} ({label})", _numbered(before), _numbered(after))
    db().commit()
    flash(f"{info.title}: wording for {label} saved." if before != after else "Nothing changed.")
    return redirect(_edit_url(team_id, play))  # type: ignore[return-value]


def _numbered(texts: list[str]) -> dict[str, str]:
    return {f"variant {i + 1}": t for i, t in enumerate(texts) if t}


def _edit_url(team_id: int | None, play: str) -> str:
    if team_id is None:
        return url_for("admin.template_org_edit", play=play)
    return url_for("admin.template_team_edit", team_id=team_id, play=play)


@bp.post("/templates/org/<play>/reset")
def template_org_reset(play: str) -> Response:
    """Drop the org-wide wording of a play (back to the built-in defaults)."""
    return _reset(None, play)


@bp.post("/teams/<int:team_id>/templates/<play>/reset")
def template_team_reset(team_id: int, play: str) -> Response:
    """Drop a team's wording of a play (back to the org-wide wording)."""
    return _reset(team_id, play)


def _reset(team_id: int | None, play: str) -> Response:
    _, label = _scope(team_id)
    _play(play)
    before = _current(team_id, play)
    for row in _rows(team_id, play).values():
        db().delete(row)
    db().flush()
    after = _current(team_id, play)
    if before != after:
        audit("template.reset", f"{play} ({label})", _numbered(before), _numbered(after))
    db().commit()
    flash("Back to the inherited wording.")
    return redirect(_edit_url(team_id, play))  # type: ignore[return-value]


@bp.post("/templates/preview")
def template_preview() -> Response:
    """Live preview for the editor: JSON {play, body} in, rendered text and problems out."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, "Send a JSON object with 'play' and 'body'.")
    play, body = data.get("play"), data.get("body")
    if not isinstance(play, str) or not isinstance(body, str):
        raise ApiError(400, "'play' and 'body' must both be strings.")
    _play(play)
    return jsonify(preview(play, body.replace("\r\n", "\n")))
