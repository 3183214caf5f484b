"""Length limits of stored values, in one place, read from the models themselves.

Validation (API schemas, forms, add-on events) and the storage boundary (sync writes of Gmail
data) both use these, so SQLite and PostgreSQL answer the same way: SQLite ignores VARCHAR
lengths, PostgreSQL refuses longer values, and neither may ever see a value past its column.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import InstrumentedAttribute

EMAIL = 320  # RFC 5321: 64 local part + @ + 255 domain
TEXT = 10_000  # our cap for unbounded Text columns holding Gmail-derived text (subject, names)
HEADER = 4_000  # one stored header value inside a thread's JSON (Gmail allows far longer)

# C0/C1 control characters other than tab/newline, and NUL (PostgreSQL refuses NUL in text).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def column_length(attribute: InstrumentedAttribute[Any]) -> int:
    """The VARCHAR length of a mapped column, or TEXT for an unbounded one."""
    column_type = attribute.property.columns[0].type
    length = getattr(column_type, "length", None) if isinstance(column_type, String) else None
    return int(length) if length else TEXT


def clean_text(value: str, limit: int, *, single_line: bool = True) -> str:
    """Remove NUL/control characters (newlines too when `single_line`) and cut to `limit`.

    For data that comes from the world (Gmail headers): it is kept, bounded, never refused.
    """
    text = _CONTROL.sub("", value)
    if single_line:
        text = text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    text = unicodedata.normalize("NFC", text)
    return text[:limit]


def has_control(value: str) -> bool:
    """True when `value` holds NUL or another control character (for refusing user input)."""
    return bool(_CONTROL.search(value))


def clip(attribute: InstrumentedAttribute[Any], value: str | None) -> str | None:
    """`clean_text` to the column's own length; None stays None."""
    if value is None:
        return None
    return clean_text(value, column_length(attribute))
