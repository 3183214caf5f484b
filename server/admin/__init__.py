"""Admin web settings: sign-in, org and team settings, templates, mailboxes, dashboard, audit."""

from __future__ import annotations

from flask import Blueprint, Flask

from server.auth.session import CSRF_FIELD, csrf_token, current_user

assets = Blueprint(
    "admin_assets", __name__, static_folder="static", static_url_path="/assets/admin"
)


def init_app(app: Flask) -> None:
    """Register the admin pages, the sign-in pages and their static files."""
    from server.admin import (  # noqa: F401 - importing registers the views
        dashboard_views,
        mailbox_views,
        org_views,
        people_views,
        team_views,
        template_views,
    )
    from server.admin.common import bp
    from server.admin.signin import bp as signin_bp

    app.register_blueprint(bp)
    app.register_blueprint(signin_bp)
    app.register_blueprint(assets)

    @app.context_processor
    def _page_globals() -> dict[str, object]:
        return {"csrf_token": csrf_token, "csrf_field": CSRF_FIELD, "current_user": current_user}
