"""The start page: what stepback is and links to every surface this server offers."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, render_template
from werkzeug.exceptions import HTTPException

from server.admin.common import page_headers

bp = Blueprint("web", __name__, template_folder="templates")
bp.after_request(page_headers)

# (path, title, what it is); shown only when some surface serves the path.
SURFACES = (
    (
        "/admin/",
        "Admin settings",
        "Teams, silence thresholds, play templates, mailboxes, dashboard.",
    ),
    ("/demo/panel", "Compose panel demo", "The panel the Chrome extension shows next to a draft."),
    ("/demo/addon", "Gmail add-on demo", "The add-on's cards, rendered as a web page."),
    ("/api/openapi.json", "JSON API", "The OpenAPI document of the extension's API."),
    ("/healthz", "Health check", "For load balancers and uptime checks."),
)


def available_surfaces() -> list[tuple[str, str, str]]:
    """The surfaces whose path this app actually serves."""
    adapter = current_app.url_map.bind("localhost")
    found = []
    for path, title, what in SURFACES:
        try:
            adapter.match(path, method="GET")
        except HTTPException:
            continue
        found.append((path, title, what))
    return found


@bp.get("/")
def index() -> str:
    """The start page."""
    return render_template(
        "web/index.html",
        surfaces=available_surfaces(),
        demo_login=bool(current_app.config.get("DEMO_LOGIN")),
    )


def init_app(app: Flask) -> None:
    """Register the start page."""
    app.register_blueprint(bp)
