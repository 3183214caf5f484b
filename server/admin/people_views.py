"""People of the org: invite a rep by email, move them, set a per-rep threshold or role."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, flash, redirect, request, url_for
from sqlalchemy import Text, cast, func, select

from server.admin.common import (
    admin,
    audit,
    bp,
    changes,
    db,
    org,
    page,
    people_of_org,
    scoped,
    teams_of_org,
    user_label,
)
from server.admin.forms import Form, parse_id
from server.auth.join import PATH_PREFIX, JoinLink, make_token
from server.auth.session import end_sessions
from server.store.models import Org, Team, User
from server.store.settings import threshold_days

ROLES = {"rep": "Rep", "admin": "Admin (can change these settings)"}
# The same words whatever the reason, so the page never tells whether an address is in use
# by another organisation (or that such an organisation exists).
CANNOT_ADD = (
    "{email} can't be added to this organisation. If it is right, ask the person to sign in "
    "to stepback with it, or contact support."
)


def email_domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


def domain_is_ours(domain: str) -> bool:
    """May this org add people of `domain` (one of its internal domains)?

    Any org can list any domain, so listing alone would let org 1 list org 2's domain and
    squat its people. A domain another org lists too is ours only when one of our admins
    has an address in it (they proved it by signing in with Google).
    """
    # Domains are [a-z0-9.-] (forms.domain_problem), so they hold no LIKE wildcards.
    others = db().scalars(
        select(Org.internal_domains).where(
            Org.id != org().id, cast(Org.internal_domains, Text).like(f'%"{domain}"%')
        )
    )
    if not any(domain in {str(d).lower() for d in listed or []} for listed in others):
        return True
    own_admins = select(func.count(User.id)).where(
        User.org_id == org().id, User.role == "admin", func.lower(User.email).like(f"%@{domain}")
    )
    return int(db().scalar(own_admins) or 0) > 0


def person_values(user: User) -> dict[str, Any]:
    return {
        "name": user.name,
        "team": user.team.name if user.team is not None else None,
        "threshold_override_days": user.threshold_override_days,
        "role": user.role,
    }


def _team_choice(form: Form, field: str) -> Team | None:
    """A team of this org picked in a select ('' means no team)."""
    raw = form.raw(field).strip()
    if not raw:
        return None
    wanted = parse_id(raw)
    if wanted is None:
        form.fail(field, "Choose one of the listed teams.")
        return None
    team = db().scalar(select(Team).where(Team.id == wanted, Team.org_id == org().id))
    if team is None:
        form.fail(field, "Choose one of the listed teams.")
    return team


def _people_page(
    values: dict[str, str], errors: dict[str, str], status: int, join_url: str = ""
) -> tuple[str, int]:
    people = people_of_org()
    return page(
        "admin/people.html",
        status,
        people=people,
        teams=teams_of_org(),
        roles=ROLES,
        values=values,
        errors=errors,
        thresholds={u.id: threshold_days(u) for u in people},
        join_url=join_url,
    )


@bp.get("/people")
def people() -> tuple[str, int]:
    """Everyone in the org, with the threshold in force for each."""
    return _people_page({"email": "", "name": "", "team_id": ""}, {}, 200)


@bp.post("/people")
def person_invite() -> Response | tuple[str, int]:
    """Add a rep by email; they can then sign in with that Google account."""
    form = Form(request.form)
    email = form.email("email")
    name = form.text("name", label="Name", max_len=200)
    team = _team_choice(form, "team_id")
    if email:
        domains = sorted({str(d).lower() for d in org().internal_domains or []})
        existing = db().scalar(select(User).where(func.lower(User.email) == email))
        if existing is not None and existing.org_id == org().id:
            form.fail("email", f"{email} is already a member of this organisation.")
        elif email_domain(email) not in domains:
            # An org adds only its own people: an address of another org's domain would make
            # that person (and their mailbox) visible to this org's admins.
            listed = ", ".join(domains) or "none yet; set them on the Organisation page"
            form.fail(
                "email",
                f"Only addresses in your organisation's internal domains ({listed}) can be "
                "added here.",
            )
        elif existing is not None or not domain_is_ours(email_domain(email)):
            # Addresses are unique across stepback; say nothing about where it is used.
            form.fail("email", CANNOT_ADD.format(email=email))
    if not form.ok:
        typed = {k: form.raw(k) for k in ("email", "name", "team_id")}
        return _people_page(typed, form.errors, 400)
    person = User(
        org_id=org().id, email=str(email), name=name, role="rep", team_id=team.id if team else None
    )
    db().add(person)
    db().flush()
    audit("user.invite", user_label(person), None, person_values(person))
    db().commit()
    flash(f"{email} added. They can now sign in with Google.")
    return redirect(url_for("admin.people"))  # type: ignore[return-value]


@bp.post("/people/join-link")
def person_join_link() -> tuple[str, int]:
    """A join link for an address outside the org's domains; the person accepts it by
    signing in with Google as that address (server.auth.join)."""
    form = Form(request.form)
    email = form.email("join_email")
    if email:
        domains = {str(d).lower() for d in org().internal_domains or []}
        existing = db().scalar(
            select(User).where(func.lower(User.email) == email, User.org_id == org().id)
        )
        if existing is not None:
            form.fail("join_email", f"{email} is already a member of this organisation.")
        elif email_domain(email) in domains:
            form.fail("join_email", "That address is in your own domains: add it directly above.")
    if not form.ok or email is None:
        typed = {"email": "", "name": "", "team_id": "", "join_email": form.raw("join_email")}
        return _people_page(typed, form.errors, 400)
    # Whether the address is in use anywhere is not looked at here (that would tell); the
    # person's own sign-in decides when they accept.
    token = make_token(JoinLink(org().id, email, admin().id))
    audit("user.join_link", email, None, {"email": email, "valid_days": 7})
    db().commit()
    url = str(current_app.config.get("PUBLIC_BASE_URL") or "").rstrip("/") + PATH_PREFIX + token
    return _people_page({"email": "", "name": "", "team_id": ""}, {}, 200, join_url=url)


def _typed(person: User) -> dict[str, str]:
    override = person.threshold_override_days
    return {
        "name": person.name,
        "team_id": "" if person.team_id is None else str(person.team_id),
        "threshold_override_days": "" if override is None else str(override),
        "role": person.role,
    }


def _person_page(
    person: User, values: dict[str, str], errors: dict[str, str], status: int
) -> tuple[str, int]:
    return page(
        "admin/person.html",
        status,
        person=person,
        teams=teams_of_org(),
        roles=ROLES,
        values=values,
        errors=errors,
        in_force=threshold_days(person),
    )


@bp.get("/people/<int:user_id>")
def person_detail(user_id: int) -> tuple[str, int]:
    """One person's team, threshold override and role."""
    person = scoped(User, user_id)
    return _person_page(person, _typed(person), {}, 200)


@bp.post("/people/<int:user_id>")
def person_save(user_id: int) -> Response | tuple[str, int]:
    """Change a person's name, team, threshold override or role."""
    person = scoped(User, user_id)
    form = Form(request.form)
    name = form.text("name", label="Name", max_len=200)
    team = _team_choice(form, "team_id")
    override = form.whole(
        "threshold_override_days",
        label="Threshold override",
        low=1,
        high=365,
        unit="days",
        required=False,
    )
    role = form.choice("role", label="role", options=ROLES)
    if role == "rep" and person.role == "admin" and _admin_count() <= 1:
        form.fail("role", "This is the organisation's only admin; make someone else admin first.")
    if not form.ok:
        typed = {k: form.raw(k) for k in _typed(person)}
        return _person_page(person, typed, form.errors, 400)
    before = person_values(person)
    person.name = name
    person.team = team
    person.threshold_override_days = override
    person.role = str(role)
    old, new = changes(before, person_values(person))
    if new:
        audit("user.update", user_label(person), old, new)
    if "role" in new:
        # New rights need a new sign-in; lost rights must stop working now, not in 12 hours.
        end_sessions(db(), person.id)
    db().commit()
    flash("Saved." if new else "Nothing changed.")
    if person.id == admin().id and not person.is_admin:
        return redirect(url_for("web.index"))  # type: ignore[return-value]
    return redirect(url_for("admin.person_detail", user_id=person.id))  # type: ignore[return-value]


def _admin_count() -> int:
    query = select(func.count(User.id)).where(User.org_id == org().id, User.role == "admin")
    return int(db().scalar(query) or 0)
