"""Card JSON (google.apps.card.v1, camelCase) and the response envelopes Google expects.

Text widgets accept Google's small HTML subset, so every piece of data placed in them
goes through `esc()`: a prospect's display name is shown, never interpreted.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)

Json = dict[str, Any]

# Google: "A card supports up to 100 widgets across all sections" and "a card can hold no
# more than 100 card sections" (google.apps.card.v1 Card / Section reference; Workspace
# add-ons "Cards" guide). Widgets past the limit are ignored by Google, so we trim first.
MAX_WIDGETS = 100
MAX_SECTIONS = 100
# Our own cap on any one text, so a long subject or template cannot swamp the sidebar.
MAX_TEXT = 1500
# Our own cap on buttons per row; the sidebar is narrow (about 300 px on the web).
MAX_BUTTONS_PER_LIST = 6


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """Shorten `text` to `limit` characters, marking the cut with an ellipsis."""
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def esc(text: str, limit: int = MAX_TEXT) -> str:
    """Escape data for a formatted-text field (after clipping, so no entity is cut)."""
    return html.escape(clip(text, limit), quote=False)


def multiline(text: str, limit: int = MAX_TEXT) -> str:
    """Escape plain text and keep its line breaks as <br>."""
    return esc(text, limit).replace("\n", "<br>")


def button(
    label: str,
    function_url: str,
    params: Mapping[str, str] | None = None,
    *,
    filled: bool = False,
    disabled: bool = False,
) -> Json:
    """A text button whose click POSTs to `function_url` with `params`."""
    action: Json = {"function": function_url, "loadIndicator": "SPINNER"}
    if params:
        action["parameters"] = [{"key": k, "value": str(v)} for k, v in params.items()]
    out: Json = {"text": clip(label, 80), "onClick": {"action": action}}
    if filled:
        out["type"] = "FILLED"
    if disabled:
        out["disabled"] = True
    return out


def text(formatted: str) -> Json:
    """A paragraph; `formatted` must already be escaped (use esc / multiline)."""
    return {"textParagraph": {"text": formatted}}


def decorated(
    formatted: str,
    *,
    top: str = "",
    bottom: str = "",
    control: Json | None = None,
    icon: str | None = None,
) -> Json:
    """A decorated text; all strings must already be escaped."""
    body: Json = {"text": formatted, "wrapText": True}
    if top:
        body["topLabel"] = top
    if bottom:
        body["bottomLabel"] = bottom
    if icon:
        body["startIcon"] = {"knownIcon": icon}
    if control is not None:
        body["button"] = control
    return {"decoratedText": body}


def buttons(items: Sequence[Json]) -> list[Json]:
    """Button rows of at most MAX_BUTTONS_PER_LIST buttons."""
    step = MAX_BUTTONS_PER_LIST
    rows = [list(items[i : i + step]) for i in range(0, len(items), step)]
    return [{"buttonList": {"buttons": row}} for row in rows]


def datetime_picker(name: str, label: str, value: datetime, offset_minutes: int) -> Json:
    """A date-and-time picker shown in the user's zone (offset in minutes from UTC)."""
    return {
        "dateTimePicker": {
            "name": name,
            "label": clip(label, 120),
            "type": "DATE_AND_TIME",
            "valueMsEpoch": int(value.timestamp() * 1000),
            "timezoneOffsetDate": int(offset_minutes),
        }
    }


def text_input(name: str, label: str, value: str = "", hint: str = "") -> Json:
    """A one-line text field."""
    body: Json = {"name": name, "label": clip(label, 120), "type": "SINGLE_LINE"}
    if value:
        body["value"] = clip(value, 500)
    if hint:
        body["hintText"] = clip(hint, 200)
    return {"textInput": body}


def dropdown(name: str, label: str, items: Iterable[tuple[str, str]], selected: str = "") -> Json:
    """A drop-down list of (label, value) pairs."""
    return {
        "selectionInput": {
            "name": name,
            "label": clip(label, 120),
            "type": "DROPDOWN",
            "items": [
                {"text": clip(label_, 120), "value": value, "selected": value == selected}
                for label_, value in items
            ],
        }
    }


def divider() -> Json:
    return {"divider": {}}


def section(widgets: Sequence[Json], header: str = "", *, collapsible: bool = False,
            keep_open: int = 0) -> Json | None:
    """A section (None when empty: Google requires at least one widget per section)."""
    if not widgets:
        return None
    out: Json = {"widgets": list(widgets)}
    if header:
        out["header"] = header
    if collapsible and len(widgets) > keep_open:
        out["collapsible"] = True
        out["uncollapsibleWidgetsCount"] = keep_open
    return out


def card(title: str, sections: Iterable[Json | None], *, subtitle: str = "",
         name: str = "") -> Json:
    """A card with its sections, trimmed to Google's widget and section limits."""
    kept: list[Json] = []
    budget = MAX_WIDGETS
    for sec in sections:
        if sec is None or budget <= 0 or len(kept) >= MAX_SECTIONS:
            if sec is not None:
                log.info("card %r: dropping a section past Google's limits", name or title)
            continue
        widgets = sec["widgets"][:budget]
        budget -= len(widgets)
        trimmed = dict(sec, widgets=widgets)
        if trimmed.get("uncollapsibleWidgetsCount", 0) > len(widgets):
            trimmed["uncollapsibleWidgetsCount"] = len(widgets)
        kept.append(trimmed)
    header: Json = {"title": clip(title, 120)}
    if subtitle:
        header["subtitle"] = clip(subtitle, 200)
    out: Json = {"header": header, "sections": kept}
    if name:
        out["name"] = name
    return out


# --- response envelopes -------------------------------------------------------------


def push_card(body: Json) -> Json:
    """Answer to a trigger (homepage, message opened, compose): show this card."""
    return {"action": {"navigations": [{"pushCard": body}]}}


def render_actions(
    *,
    notify: str = "",
    push: Json | None = None,
    update: Json | None = None,
    pop: bool = False,
    pop_to_root: bool = False,
) -> Json:
    """Answer to an action callback: navigations and/or a notification."""
    navigations: list[Json] = []
    if pop_to_root:
        navigations.append({"popToRoot": True})
    if pop:
        navigations.append({"pop": True})
    if update is not None:
        navigations.append({"updateCard": update})
    if push is not None:
        navigations.append({"pushCard": push})
    action: Json = {}
    if navigations:
        action["navigations"] = navigations
    if notify:
        # Notifications are plain text (no HTML), so no escaping, only a length cap.
        action["notification"] = {"text": clip(notify, 300)}
    return {"renderActions": {"action": action}}


def insert_into_draft(content: str, *, notify: str = "") -> Json:
    """Answer to a compose action: insert plain text at the cursor of the open draft."""
    out: Json = {
        "renderActions": {
            "hostAppAction": {
                "gmailAction": {
                    "updateDraftActionMarkup": {
                        "updateBody": {
                            # TEXT: Gmail inserts it as text, so nothing in it is markup.
                            "insertContents": [{"content": content, "contentType": "TEXT"}],
                            "type": "IN_PLACE_INSERT",
                        }
                    }
                }
            }
        }
    }
    if notify:
        out["renderActions"]["action"] = {"notification": {"text": clip(notify, 300)}}
    return out
