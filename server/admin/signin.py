"""Sign-in pages: Google (OIDC with PKCE), the demo's local sign-in, and sign-out."""

from __future__ import annotations

import hmac

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select
from werkzeug.security import check_password_hash

from server import clock
from server.admin.common import page_headers
from server.auth import join, oidc
from server.auth.session import check_csrf, current_user, safe_next, sign_in, sign_out
from server.errors import ApiError
from server.store.db import get_session
from server.store.limits import clip
from server.store.models import AuditLog, Org, User

bp = Blueprint("auth", __name__, url_prefix="/auth")
bp.after_request(page_headers)

PENDING_KEY = "oidc_pending"
UNKNOWN_ACCOUNT = (
    "{email} is not registered with stepback. Ask an admin of your organisation to add you "
    "on the People page, then sign in again."
)
BAD_PASSWORD = "Unknown email address or wrong password."  # noqa: S105 - a message, not a secret


def _landing(user: User) -> str:
    return url_for("admin.dashboard") if user.is_admin else url_for("web.index")


def _signin_page(
    error: str = "", status: int = 200, *, notice: str = "", next_url: str | None = None
) -> tuple[str, int]:
    return (
        render_template(
            "admin/signin.html",
            error=error,
            notice=notice,
            next_url=next_url if next_url is not None else safe_next(request.args.get("next"), ""),
            google_ready=bool(current_app.config.get("GOOGLE_CLIENT_ID")),
            demo_login=bool(current_app.config.get("DEMO_LOGIN")),
            user=current_user(),
        ),
        status,
    )


def _redirect_uri() -> str:
    base = str(current_app.config.get("PUBLIC_BASE_URL") or request.host_url).rstrip("/")
    return base + url_for("auth.callback")


@bp.get("/signin")
def signin() -> tuple[str, int]:
    """Offer the ways to sign in."""
    return _signin_page()


@bp.get("/google")
def google_start() -> Response:
    """Send the browser to Google with a fresh state, nonce and PKCE challenge."""
    client_id = current_app.config.get("GOOGLE_CLIENT_ID")
    if not client_id:
        raise ApiError(503, "Google sign-in is not set up on this server (GOOGLE_CLIENT_ID).")
    pending = oidc.new_pending(safe_next(request.args.get("next"), ""))
    session[PENDING_KEY] = pending.to_dict()
    target = oidc.authorization_url(
        str(current_app.config["GOOGLE_AUTH_URL"]),
        client_id=str(client_id),
        redirect_uri=_redirect_uri(),
        pending=pending,
    )
    return redirect(target)  # type: ignore[return-value]


@bp.get("/callback")
def callback() -> Response | tuple[str, int]:
    """Finish the Google sign-in: check state, trade the code, verify the ID token."""
    pending = oidc.PendingLogin.from_dict(session.pop(PENDING_KEY, None))
    if request.args.get("error"):
        reason = request.args.get("error", "")[:60]
        return _signin_page(f"Google sign-in did not complete ({reason}). Try again.", 400)
    if pending is None:
        return _signin_page("This sign-in attempt expired or was already used. Start again.", 400)
    if not oidc.state_matches(pending, request.args.get("state")):
        return _signin_page("The sign-in answer does not match this browser. Start again.", 400)
    code = request.args.get("code", "")
    if not code:
        return _signin_page("Google sent no sign-in code. Start again.", 400)
    config = current_app.config
    try:
        token = oidc.exchange_code(
            str(config["GOOGLE_TOKEN_URL"]),
            code=code,
            verifier=pending.verifier,
            redirect_uri=_redirect_uri(),
            client_id=str(config["GOOGLE_CLIENT_ID"]),
            client_secret=str(config.get("GOOGLE_CLIENT_SECRET") or ""),
        )
        identity = oidc.verify_identity(
            token,
            client_id=str(config["GOOGLE_CLIENT_ID"]),
            certs_url=str(config["GOOGLE_CERTS_URL"]),
            nonce=pending.nonce,
        )
    except oidc.OidcError as exc:
        return _signin_page(str(exc), 400)
    user = get_session().scalar(select(User).where(User.email == identity.email))
    if user is None:
        join_token = join.token_of_next(pending.next_url)
        if join_token is None:
            return _signin_page(UNKNOWN_ACCOUNT.format(email=identity.email), 403)
        user, problem = _accept_join(join_token, identity)
        if user is None:
            return _signin_page(problem, 403)
        sign_in(user, "google")
        return redirect(_landing(user))  # type: ignore[return-value]
    sign_in(user, "google")
    return redirect(safe_next(pending.next_url, _landing(user)))  # type: ignore[return-value]


JOIN_INVALID = "This join link is not valid any more. Ask your admin for a new one."


def _accept_join(token: str, identity: oidc.Identity) -> tuple[User | None, str]:
    """Add the signed-in person to the org of a join link made for their own address."""
    link = join.read_token(token)
    if link is None:
        return None, JOIN_INVALID
    if not hmac.compare_digest(identity.email.encode(), link.email.lower().encode()):
        return None, f"This join link is for {link.email}: sign in with that Google account."
    db = get_session()
    org = db.get(Org, link.org_id)
    inviter = db.get(User, link.admin_id)
    if org is None or inviter is None or not inviter.is_admin or inviter.org_id != org.id:
        return None, JOIN_INVALID
    user = User(org_id=org.id, email=identity.email, name=clip(User.name, identity.name) or "")
    db.add(user)
    db.flush()
    db.add(
        AuditLog(
            org_id=org.id,
            actor_email=identity.email,
            action="user.join",
            target=clip(AuditLog.target, f"{user.email} (#{user.id})") or "",
            before=None,
            after={"invited_by": inviter.email, "role": user.role},
            created_at=clock.now(),
        )
    )
    db.commit()
    return user, ""


@bp.get("/join/<token>")
def join_page(token: str) -> tuple[str, int]:
    """Explain a join link and offer the Google sign-in that accepts it."""
    link = join.read_token(token)
    if link is None:
        return _signin_page(JOIN_INVALID, 400, next_url="")
    notice = (
        f"You were invited to stepback as {link.email}. Sign in with Google as that address "
        "to accept; nobody is added until you do."
    )
    return _signin_page(notice=notice, next_url=join.PATH_PREFIX + token)


def _demo_enabled() -> None:
    if not current_app.config.get("DEMO_LOGIN"):
        abort(404)


@bp.get("/demo")
def demo_form() -> tuple[str, int]:
    """The demo's local sign-in form (only when DEMO_LOGIN is on)."""
    _demo_enabled()
    return render_template(
        "admin/demo_signin.html",
        email="",
        error="",
        next_url=safe_next(request.args.get("next"), ""),
    ), 200


@bp.post("/demo")
def demo_submit() -> Response | tuple[str, int]:
    """Check a seeded user's local password and sign them in."""
    _demo_enabled()
    check_csrf()
    email = request.form.get("email", "").strip().lower()[:320]
    password = request.form.get("password", "")
    next_url = safe_next(request.form.get("next"), "")
    known = bool(email) and "\x00" not in email
    user = get_session().scalar(select(User).where(User.email == email)) if known else None
    hashed = user.local_password_hash if user is not None else None
    if user is None or not hashed or not check_password_hash(hashed, password):
        page = render_template(
            "admin/demo_signin.html", email=email, error=BAD_PASSWORD, next_url=next_url
        )
        return page, 401
    sign_in(user, "demo")
    return redirect(safe_next(next_url, _landing(user)))  # type: ignore[return-value]


@bp.post("/signout")
def signout() -> Response:
    """End the session."""
    check_csrf()
    sign_out()
    return redirect(url_for("auth.signin", signed_out=1))  # type: ignore[return-value]
