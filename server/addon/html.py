"""Render add-on card JSON as HTML so a person can look at it without Gmail.

All text is escaped. Fields where Google accepts its small formatting subset keep only
<b>, <i>, <u>, <s> and <br> (no attributes); anything else is shown as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

from markupsafe import Markup, escape

ALLOWED_TAGS = frozenset({"b", "i", "u", "s", "br"})


class _Sanitiser(HTMLParser):
    """Keep text (escaped) and a handful of attribute-free formatting tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ALLOWED_TAGS:
            self.out.append(f"<{tag}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ALLOWED_TAGS:
            self.out.append(f"<{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if tag in ALLOWED_TAGS and tag != "br":
            self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.out.append(str(escape(data)))


def formatted(value: Any) -> Markup:
    """Render a formatted-text field safely."""
    parser = _Sanitiser()
    parser.feed(str(value or ""))
    parser.close()
    # Close tags left open so one field cannot bleed formatting into the next.
    text = "".join(parser.out)
    for tag in ("b", "i", "u", "s"):
        text += f"</{tag}>" * max(0, text.count(f"<{tag}>") - text.count(f"</{tag}>"))
    return Markup(text)  # noqa: S704 - built only from escaped text and fixed tags


def _button(b: Mapping[str, Any]) -> Markup:
    action = ((b.get("onClick") or {}).get("action") or {})
    target = str(action.get("function", ""))
    params = ", ".join(
        f"{p.get('key')}={p.get('value')}" for p in action.get("parameters") or []
    )
    title = f"POST {target}" + (f" ({params})" if params else "")
    css = "btn filled" if b.get("type") == "FILLED" else "btn"
    template = Markup('<button type="button" class="{}" title="{}" data-function="{}">{}</button>')
    return template.format(css, title, target, b.get("text", ""))


def _picker(p: Mapping[str, Any]) -> Markup:
    offset = timedelta(minutes=int(p.get("timezoneOffsetDate") or 0))
    moment = datetime.fromtimestamp(int(p.get("valueMsEpoch") or 0) / 1000, tz=UTC) + offset
    return Markup(
        '<label class="field">{}<input type="datetime-local" name="{}" value="{}"></label>'
    ).format(p.get("label", ""), p.get("name", ""), moment.strftime("%Y-%m-%dT%H:%M"))


def _selection(s: Mapping[str, Any]) -> Markup:
    options = Markup("").join(
        Markup('<option value="{}"{}>{}</option>').format(
            item.get("value", ""), Markup(" selected") if item.get("selected") else "",
            item.get("text", ""),
        )
        for item in s.get("items") or []
    )
    return Markup('<label class="field">{}<select name="{}">{}</select></label>').format(
        s.get("label", ""), s.get("name", ""), options
    )


def _text_input(t: Mapping[str, Any]) -> Markup:
    return Markup(
        '<label class="field">{}<input type="text" name="{}" value="{}" placeholder="{}"></label>'
    ).format(t.get("label", ""), t.get("name", ""), t.get("value", ""), t.get("hintText", ""))


def _decorated(d: Mapping[str, Any]) -> Markup:
    parts = [Markup('<div class="deco"><div class="deco-text">')]
    if d.get("topLabel"):
        parts.append(Markup('<div class="top">{}</div>').format(formatted(d["topLabel"])))
    parts.append(Markup('<div class="main">{}</div>').format(formatted(d.get("text"))))
    if d.get("bottomLabel"):
        parts.append(Markup('<div class="bottom">{}</div>').format(formatted(d["bottomLabel"])))
    parts.append(Markup("</div>"))
    if d.get("button"):
        parts.append(_button(d["button"]))
    parts.append(Markup("</div>"))
    return Markup("").join(parts)


def widget(w: Mapping[str, Any]) -> Markup:
    """One widget as HTML."""
    if "textParagraph" in w:
        return Markup('<p class="para">{}</p>').format(formatted(w["textParagraph"].get("text")))
    if "decoratedText" in w:
        return _decorated(w["decoratedText"])
    if "buttonList" in w:
        inner = Markup("").join(_button(b) for b in w["buttonList"].get("buttons") or [])
        return Markup('<div class="buttons">{}</div>').format(inner)
    if "dateTimePicker" in w:
        return _picker(w["dateTimePicker"])
    if "selectionInput" in w:
        return _selection(w["selectionInput"])
    if "textInput" in w:
        return _text_input(w["textInput"])
    if "divider" in w:
        return Markup("<hr>")
    kind = next(iter(w), "widget")
    return Markup('<div class="unknown">({})</div>').format(kind)


def card_html(card: Mapping[str, Any]) -> Markup:
    """A whole card as an HTML fragment."""
    header = card.get("header") or {}
    parts = [
        Markup('<section class="card"><header><div class="title">{}</div>').format(
            header.get("title", "")
        )
    ]
    if header.get("subtitle"):
        parts.append(Markup('<div class="subtitle">{}</div>').format(header["subtitle"]))
    parts.append(Markup("</header>"))
    for sec in card.get("sections") or []:
        parts.append(Markup('<div class="section">'))
        if sec.get("header"):
            parts.append(Markup('<h3>{}</h3>').format(formatted(sec["header"])))
        widgets = list(sec.get("widgets") or [])
        # Like Gmail: a collapsible section shows its first widgets and folds the rest.
        shown = int(sec.get("uncollapsibleWidgetsCount") or 0) if sec.get("collapsible") else \
            len(widgets)
        parts.extend(widget(w) for w in widgets[:shown])
        if widgets[shown:]:
            rest = Markup("").join(widget(w) for w in widgets[shown:])
            parts.append(Markup("<details><summary>Show {} more</summary>{}</details>").format(
                len(widgets) - shown, rest))
        parts.append(Markup("</div>"))
    parts.append(Markup("</section>"))
    return Markup("").join(parts)
