"""Partial responses: apply a `fields=` selector like `messages(id,threadId),nextPageToken`."""

from __future__ import annotations

import re
from typing import Any

from server.gmail.emulator.errors import bad_request

# A selection maps field names to a sub-selection; None keeps the whole value.
Selection = dict[str, "Selection | None"]
_NAME = re.compile(r"[A-Za-z0-9_*]+")


def parse_fields(text: str) -> Selection:
    """Parse a fields selector; a 400 error for bad syntax."""
    selection, pos = _parse_list(text, 0)
    if pos != len(text):
        raise _invalid(text)
    return selection


def _invalid(text: str) -> Exception:
    return bad_request(f"Invalid field selection {text!r}.", "invalidParameter")


def _parse_list(text: str, pos: int) -> tuple[Selection, int]:
    out: Selection = {}
    while True:
        names: list[str] = []
        while True:
            match = _NAME.match(text, pos)
            if match is None:
                raise _invalid(text)
            names.append(match.group())
            pos = match.end()
            if pos < len(text) and text[pos] == "/":
                pos += 1
                continue
            break
        sub: Selection | None = None
        if pos < len(text) and text[pos] == "(":
            sub, pos = _parse_list(text, pos + 1)
            if pos >= len(text) or text[pos] != ")":
                raise _invalid(text)
            pos += 1
        for name in reversed(names[1:]):
            sub = {name: sub}
        _merge(out, names[0], sub)
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        return out, pos


def _merge(out: Selection, name: str, sub: Selection | None) -> None:
    if name not in out:
        out[name] = sub
        return
    current = out[name]
    if current is None or sub is None:
        out[name] = None  # asking for the whole field wins over a narrower request
        return
    for key, value in sub.items():
        _merge(current, key, value)


def apply_fields(value: Any, selection: Selection | None) -> Any:
    """Keep only the selected parts of a JSON value."""
    if selection is None:
        return value
    if isinstance(value, list):
        return [apply_fields(item, selection) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if key in selection:
            out[key] = apply_fields(item, selection[key])
        elif "*" in selection:
            out[key] = apply_fields(item, selection["*"])
    return out
