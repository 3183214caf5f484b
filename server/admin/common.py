"""The admin blueprint, its guard (signed in, admin, CSRF) and helpers every view shares."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import (
    Blueprint,
    Response,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from server import clock
from server.admin.forms import MAX_ID
from server.auth.session import check_csrf, current_user
from server.errors import ApiError, wants_json
from server.store.db import get_session
from server.store.limits import clip
from server.store.models import AuditLog, Mailbox, Org, Team, User

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")

NOT_FOUND = "Not found in your organisation."
ADMINS_ONLY = "Only your organisation's admins can open the settings pages."

Scoped = TypeVar("Scoped", Team, User, Mailbox)

# Security headers for every server-rendered page: no inline script, no framing, no leaks
# of the OAuth code through Referer.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def page_headers(resp: Response) -> Response:
    """Add the page security headers (kept when a view set its own)."""
    for key, value in PAGE_HEADERS.items():
        resp.headers.setdefault(key, value)
    return resp


bp.after_request(page_headers)


@bp.before_request
def _guard() -> Response | None:
    """Every admin route: signed in, an admin, and a valid CSRF token on changes."""
    user = current_user()
    if user is None:
        if request.method in ("GET", "HEAD") and not request.is_json:
            target = request.full_path.rstrip("?")
            return redirect(url_for("auth.signin", next=target))  # type: ignore[return-value]
        raise ApiError(401, "Sign in first.")
    if not user.is_admin:
        if wants_json():
            raise ApiError(403, ADMINS_ONLY)
        return page_headers(
            make_response(render_template("admin/refused.html", message=ADMINS_ONLY), 403)
        )
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        check_csrf()
    g.admin = user
    return None


def admin() -> User:
    """The signed-in admin of this request."""
    return g.admin


def db() -> Session:
    return get_session()


def org() -> Org:
    """The admin's own organisation; every query starts from here."""
    return admin().org


def scoped(model: type[Scoped], object_id: int) -> Scoped:
    """Load a row of the admin's org, or 404 (other orgs' rows look like missing ones)."""
    if not 0 < object_id <= MAX_ID:
        raise ApiError(404, NOT_FOUND)
    row = db().scalar(select(model).where(model.id == object_id, model.org_id == admin().org_id))
    if row is None:
        raise ApiError(404, NOT_FOUND)
    return row


def teams_of_org() -> list[Team]:
    return list(db().scalars(select(Team).where(Team.org_id == admin().org_id).order_by(Team.name)))


def people_of_org() -> list[User]:
    return list(
        db().scalars(select(User).where(User.org_id == admin().org_id).order_by(User.email))
    )


def audit(
    action: str, target: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> None:
    """Add an audit row for a settings change (committed with the change itself)."""
    db().add(
        AuditLog(
            org_id=admin().org_id,
            actor_email=admin().email,
            action=action,
            # Labels embed names and addresses up to 320 characters; the column holds fewer.
            target=clip(AuditLog.target, target) or "",
            before=before,
            after=after,
            created_at=clock.now(),
        )
    )


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keep only the keys whose value changed."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """Render an admin page with the shared context."""
    context.setdefault("errors", {})
    return render_template(template, me=admin(), org=org(), **context), status


def team_label(team: Team) -> str:
    return f"team {team.name} (#{team.id})"


def user_label(user: User) -> str:
    return f"{user.email} (#{user.id})"
