"""/demo/addon: the demo rep's add-on cards rendered as HTML (only with DEMO_LOGIN on)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app
from markupsafe import Markup, escape
from sqlalchemy import select

from server import clock
from server.addon import screens
from server.addon.html import card_html
from server.addon.views import homepage_body, make_screen
from server.demo import DEMO_REP
from server.services.guidance import compose_guidance
from server.services.scan import scan_user
from server.store.db import get_session
from server.store.models import User

bp = Blueprint("addon_demo", __name__)

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#eef1f0;
margin:0;padding:24px;color:#1f2d2a}
h1{font-size:20px;margin:0 0 4px}p.lead{margin:0 0 20px;color:#4a5a56;max-width:70em}
.grid{display:flex;flex-wrap:wrap;gap:20px;align-items:flex-start}
.panel{width:330px}.panel h2{font-size:13px;text-transform:uppercase;letter-spacing:.04em;
color:#4a5a56;margin:0 0 6px}
.card{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.15);overflow:hidden}
.card header{background:#2f6f5e;color:#fff;padding:12px 14px}
.card .title{font-weight:600;font-size:15px;overflow-wrap:anywhere}
.card .subtitle{font-size:12px;opacity:.85;margin-top:2px;overflow-wrap:anywhere}
.section{padding:10px 14px;border-top:1px solid #e3e8e6}
.section:first-of-type{border-top:0}
.section h3{font-size:12px;font-weight:600;color:#2f6f5e;margin:0 0 6px}
.para{font-size:13px;line-height:1.4;margin:4px 0;overflow-wrap:anywhere}
.deco{display:flex;gap:8px;align-items:center;padding:6px 0;border-bottom:1px dashed #eef1f0}
.deco-text{flex:1;min-width:0;font-size:13px;overflow-wrap:anywhere}
.deco .top,.deco .bottom{font-size:11px;color:#5c6b67}
.buttons{display:flex;flex-wrap:wrap;gap:6px;margin:6px 0}
.btn{font:inherit;font-size:12px;border:1px solid #2f6f5e;color:#2f6f5e;background:#fff;
border-radius:14px;padding:4px 10px;cursor:default}
.btn.filled{background:#2f6f5e;color:#fff}
.field{display:block;font-size:12px;color:#4a5a56;margin:8px 0}
.field input,.field select{display:block;width:100%;box-sizing:border-box;margin-top:3px;
font:inherit;font-size:13px;padding:5px}
hr{border:0;border-top:1px solid #e3e8e6}
details summary{font-size:12px;color:#2f6f5e;cursor:pointer;margin:6px 0}
"""


def _panel(title: str, card: dict[str, Any]) -> Markup:
    return Markup('<div class="panel"><h2>{}</h2>{}</div>').format(title, card_html(card))


def demo_cards() -> list[tuple[str, dict[str, Any]]]:
    """The demo rep's cards: homepage, an opened silent thread, a play, compose, a form."""
    session = get_session()
    user = session.scalar(select(User).where(User.email == DEMO_REP))
    if user is None:
        abort(404, description="The demo data is not loaded; run `stepback demo`.")
    screen = make_screen(user, None, clock.now())
    out: list[tuple[str, dict[str, Any]]] = [
        ("Homepage", homepage_body(user, screen, session))
    ]
    silent = scan_user(session, user, screen.now).silent
    if not silent:
        return out
    facts = silent[0].facts  # the scan lists the longest-silent prospect first
    email = facts.prospect.email if facts.prospect else ""
    g = compose_guidance(session, user, recipients=[email], thread_id=facts.thread_id,
                         now=screen.now, locale=screen.locale, timezone=screen.timezone)
    out.append(("A message from them is open", screens.message_card(screen, g)))
    first_play = next(iter(dict.fromkeys(p.play for p in g.plays)), None)
    if first_play is not None:
        out.append(("After “Show” on a play", screens.play_card(screen, g, first_play)))
    out.append(("Composing a reply to them", screens.compose_card(screen, g)))
    out.append(("“Schedule a get-back date”", screens.schedule_card(
        screen, kind="getback", thread_id=g.thread_id, prospect=email, origin="message")))
    return out


@bp.get("/demo/addon")
def page() -> Response:
    """All demo cards side by side, as a Gmail sidebar would show them."""
    if not current_app.config.get("DEMO_LOGIN"):
        abort(404)
    panels = Markup("").join(_panel(title, card) for title, card in demo_cards())
    html = Markup(
        "<!doctype html><html lang=en><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        "<title>stepback: Gmail add-on cards (demo)</title><style>{}</style>"
        "<h1>The Gmail add-on's cards for {}</h1>"
        "<p class=lead>These are the same card JSON documents the add-on sends to Gmail, drawn "
        "here as HTML. Buttons are inert on this page; hover one to see the endpoint it calls."
        "</p><div class=grid>{}</div></html>"
    ).format(Markup(STYLE), escape(DEMO_REP), panels)  # noqa: S704 - STYLE is our constant
    return Response(str(html), mimetype="text/html")
