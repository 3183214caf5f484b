"""Checks every add-on answer must pass: Google's card definitions, Google's limits, the
documented envelope shapes, and buttons that point at endpoints which exist."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from google.apps.card_v1 import Card
from sqlalchemy import select
from werkzeug.exceptions import MethodNotAllowed, NotFound

from server.addon.cards import MAX_SECTIONS, MAX_WIDGETS
from server.demo import DEMO_REP
from server.store.db import get_db
from server.store.models import ThreadState, User
from tests.addon.stand_in import BASE_URL

# The documented envelope shapes, from Google's JSON schemas for HTTP add-ons
# ("Build a Google Workspace add-on using HTTP endpoints": renderAction, navigation,
# notification, hostAppActionMarkup, gmailClientActionMarkup, updateDraftActionMarkup).
NAVIGATION_KEYS = {"popToRoot", "pop", "popToCard", "pushCard", "updateCard"}
ACTION_KEYS = {"navigations", "link", "notification"}
RENDER_ACTION_KEYS = {"action", "hostAppAction", "schema"}
GMAIL_ACTION_KEYS = {"updateDraftActionMarkup", "openCreatedDraftActionMarkup"}
UPDATE_DRAFT_KEYS = {"updateBody", "updateToRecipients", "updateCcRecipients",
                     "updateBccRecipients", "updateSubject"}
UPDATE_BODY_TYPES = {"IN_PLACE_INSERT", "INSERT_AT_START", "INSERT_AT_END"}
CONTENT_TYPES = {"TEXT", "MUTABLE_HTML", "IMMUTABLE_HTML"}


def _keys(obj: Any, allowed: set[str], where: str) -> Mapping[str, Any]:
    assert isinstance(obj, Mapping), f"{where} must be an object"
    extra = set(obj) - allowed
    assert not extra, f"{where} has undocumented keys {sorted(extra)}"
    return obj


def widgets_of(card: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [w for s in card.get("sections") or [] for w in s.get("widgets") or []]


def _walk(obj: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(obj, Mapping):
        yield obj
        for value in obj.values():
            yield from _walk(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _walk(value)


def action_urls(card: Mapping[str, Any]) -> list[str]:
    """Every action function URL in the card (buttons, pickers, card actions...)."""
    urls = []
    for node in _walk(card):
        action = node.get("action") if "action" in node else None
        if isinstance(action, Mapping) and "function" in action:
            urls.append(str(action["function"]))
    return urls


def check_card(app: Any, card: Mapping[str, Any]) -> Card:
    """Validate with Google's own card definitions, limits and existing endpoints."""
    parsed = Card.from_json(json.dumps(card), ignore_unknown_fields=False)
    sections = card.get("sections") or []
    assert 0 < len(sections) <= MAX_SECTIONS
    assert all(s.get("widgets") for s in sections), "a section without widgets"
    assert len(widgets_of(card)) <= MAX_WIDGETS
    # Plain-text places (header, section headers, buttons) hold only our own words, so
    # they never need markup characters; data goes to escaped formatted-text fields.
    plain = [card["header"].get("title", ""), card["header"].get("subtitle", "")]
    plain += [s.get("header", "") for s in sections]
    plain += [n["text"] for n in _walk(card) if "onClick" in n and "text" in n]
    for value in plain:
        assert not set("<>&") & set(value), f"markup characters in a plain field: {value!r}"
    adapter = app.url_map.bind("stepback.test", url_scheme="https")
    for url in action_urls(card):
        assert url.startswith(BASE_URL + "/addon/"), url
        path = url[len(BASE_URL):]
        try:
            adapter.match(path, method="POST")
        except (NotFound, MethodNotAllowed) as exc:
            raise AssertionError(f"button points at a missing endpoint: {url}") from exc
    return parsed


def _check_action(app: Any, action: Any, where: str) -> list[Mapping[str, Any]]:
    action = _keys(action, ACTION_KEYS, where)
    cards = []
    for i, nav in enumerate(action.get("navigations") or []):
        nav = _keys(nav, NAVIGATION_KEYS, f"{where}.navigations[{i}]")
        assert len(nav) == 1, "one navigation step per entry"
        for key in ("pushCard", "updateCard"):
            if key in nav:
                check_card(app, nav[key])
                cards.append(nav[key])
    if "notification" in action:
        note = _keys(action["notification"], {"text"}, f"{where}.notification")
        assert isinstance(note["text"], str) and note["text"].strip()
        assert "<" not in note["text"] or ">" not in note["text"], "notifications are plain text"
    return cards


def check_trigger_answer(app: Any, body: Any) -> Mapping[str, Any]:
    """A trigger answer: renderActions pushing exactly one card; returns that card."""
    body = _keys(body, RENDER_ACTION_KEYS, "answer")
    cards = _check_action(app, body["action"], "answer.action")
    assert len(cards) == 1 and "pushCard" in body["action"]["navigations"][0]
    return cards[0]


def check_action_answer(app: Any, body: Any) -> dict[str, Any]:
    """An action answer: {"renderActions": {...}}; returns notification text, cards, draft text."""
    body = _keys(body, {"renderActions", "stateChanged"}, "answer")
    render = _keys(body["renderActions"], RENDER_ACTION_KEYS, "renderActions")
    out: dict[str, Any] = {"notify": "", "cards": [], "draft": None, "navigations": []}
    if "action" in render:
        out["cards"] = _check_action(app, render["action"], "renderActions.action")
        out["notify"] = (render["action"].get("notification") or {}).get("text", "")
        out["navigations"] = [next(iter(n)) for n in render["action"].get("navigations") or []]
    if "hostAppAction" in render:
        host = _keys(render["hostAppAction"], {"gmailAction"}, "hostAppAction")
        gmail = _keys(host["gmailAction"], GMAIL_ACTION_KEYS, "gmailAction")
        update = _keys(gmail["updateDraftActionMarkup"], UPDATE_DRAFT_KEYS, "updateDraft")
        ub = _keys(update["updateBody"], {"insertContents", "type"}, "updateBody")
        assert ub["type"] in UPDATE_BODY_TYPES
        assert ub["insertContents"], "nothing to insert"
        for item in ub["insertContents"]:
            item = _keys(item, {"content", "contentType"}, "insertContent")
            assert item["contentType"] in CONTENT_TYPES and isinstance(item["content"], str)
        out["draft"] = ub["insertContents"][0]["content"]
    assert "action" in render or "hostAppAction" in render
    return out


def demo_threads(app: Any) -> list[ThreadState]:
    """The demo rep's stored threads."""
    with get_db(app).session() as s:
        rep = s.scalar(select(User).where(User.email == DEMO_REP))
        assert rep is not None and rep.mailbox is not None
        return list(s.scalars(select(ThreadState).where(ThreadState.mailbox_id == rep.mailbox.id)))


def all_text(card: Mapping[str, Any]) -> str:
    """Every string in a card, joined (to search for facts)."""
    return "\n".join(str(v) for node in _walk(card) for v in node.values() if isinstance(v, str))


def check_scope_request(body: Any) -> list[str] | None:
    """Google's granular-consent answer: {"requesting_google_scopes": {"scopes": [...]}} or
    {... {"all_scopes": true}} ("Build a Google Workspace add-on using HTTP endpoints",
    "Migrate to the granular permission flow"). Returns the scopes asked for, None for all.
    """
    from server.addon.deployment import OAUTH_SCOPES

    body = _keys(body, {"requesting_google_scopes"}, "answer")
    ask = _keys(body["requesting_google_scopes"], {"scopes", "all_scopes"},
                "requesting_google_scopes")
    assert len(ask) == 1, "either the scopes or all_scopes"
    if "all_scopes" in ask:
        assert ask["all_scopes"] is True
        return None
    scopes = ask["scopes"]
    assert isinstance(scopes, list) and scopes, "ask for at least one scope"
    assert len(set(scopes)) == len(scopes), "a scope asked for twice"
    assert set(scopes) <= set(OAUTH_SCOPES), "only scopes the deployment declares"
    return list(scopes)
