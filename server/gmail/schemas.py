"""marshmallow schemas for the Gmail resources stepback reads (metadata format only).

Unknown fields are accepted and dropped: real API answers carry more than we use, and
anything body-like (`raw`, `body.data`) must never be kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.utils import getaddresses
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

ADDRESS_HEADERS = frozenset({"from", "to", "cc"})
_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"\\]+@[^@\s<>()\[\],;:\"\\]+")
_MAX_SHOWN = 80
_BARE_ROBOTS = frozenset({"mailer-daemon", "postmaster"})


class IntString(fields.Field):
    """A Gmail int64 sent as a string ("1700000000000"); also accepts a JSON integer."""

    default_error_messages = {"invalid": "Not a valid integer."}

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None,
                     **kwargs: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return str(value)
        if isinstance(value, str) and value.isascii() and value.isdigit():
            return value
        raise self.make_error("invalid")


def address_problem(value: str) -> str | None:
    """Return why an address-list header value is unusable, or None when it parses.

    A diagnostic only (for people looking at a file): nothing is refused because of it.
    """
    pairs = getaddresses([value])
    group_syntax = ":" in value and ";" in value  # e.g. "undisclosed-recipients:;"
    for _name, addr in pairs:
        if addr == "" and group_syntax:
            continue
        if addr.lower() in _BARE_ROBOTS:
            continue  # some mail servers sign bounces as a bare "MAILER-DAEMON"
        if not _ADDRESS.fullmatch(addr):
            shown = value if len(value) <= _MAX_SHOWN else value[:_MAX_SHOWN] + "…"
            return f"Not a valid address list: {shown!r}."
    return None


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class HeaderSchema(_Lenient):
    """One `{"name", "value"}` header."""

    name = fields.Str(required=True, validate=validate.Length(min=1))
    value = fields.Str(required=True)


class MessagePartSchema(_Lenient):
    """A message `payload` in metadata format: headers, no body."""

    partId = fields.Str()
    mimeType = fields.Str()
    filename = fields.Str()
    headers = fields.List(fields.Nested(HeaderSchema), load_default=list)
    parts = fields.List(fields.Nested(lambda: MessagePartSchema()))

    # No check of the address headers: Gmail's answers are the real world. A null sender
    # (`MAILER-DAEMON <>`), a group, an over-long or unparseable entry is "no usable address"
    # for the engine (server/engine/headers.py), never a reason to skip a message or refuse a
    # mailbox file.


class MessageSchema(_Lenient):
    """A Message resource as users.messages.get(format=metadata|minimal) returns it."""

    id = fields.Str(required=True, validate=validate.Length(min=1))
    threadId = fields.Str(required=True, validate=validate.Length(min=1))
    labelIds = fields.List(fields.Str(), load_default=list)
    snippet = fields.Str()
    historyId = IntString(required=True)
    internalDate = IntString(required=True)
    sizeEstimate = fields.Integer()
    payload = fields.Nested(MessagePartSchema)


class ThreadSchema(_Lenient):
    """A Thread resource as users.threads.get(format=metadata) returns it."""

    id = fields.Str(required=True, validate=validate.Length(min=1))
    snippet = fields.Str()
    historyId = IntString(required=True)
    messages = fields.List(fields.Nested(MessageSchema), required=True,
                           validate=validate.Length(min=1))

    @validates_schema
    def _messages_belong(self, data: dict[str, Any], **kwargs: Any) -> None:
        wrong = {i: {"threadId": [f"Does not match the thread id {data['id']}."]}
                 for i, msg in enumerate(data["messages"]) if msg["threadId"] != data["id"]}
        if wrong:
            raise ValidationError({"messages": wrong})


class MailboxFileSchema(_Lenient):
    """The mailbox file: `{"emailAddress", "historyId", "threads": [...]}`."""

    emailAddress = fields.Email(required=True)
    historyId = IntString(required=True)
    threads = fields.List(fields.Nested(ThreadSchema), required=True)

    @validates_schema
    def _ids_unique(self, data: dict[str, Any], **kwargs: Any) -> None:
        seen_threads: set[str] = set()
        seen_messages: set[str] = set()
        problems: dict[int, Any] = {}
        for t_index, thread in enumerate(data["threads"]):
            if thread["id"] in seen_threads:
                problems[t_index] = {"id": ["Duplicate thread id."]}
            seen_threads.add(thread["id"])
            for m_index, msg in enumerate(thread["messages"]):
                if msg["id"] in seen_messages:
                    entry = problems.setdefault(t_index, {}).setdefault("messages", {})
                    entry[m_index] = {"id": ["Duplicate message id."]}
                seen_messages.add(msg["id"])
        if problems:
            raise ValidationError({"threads": problems})


# ----- turning marshmallow's nested error dicts into one readable line ---------------------

_ENTITY_LISTS = {"threads": "thread", "messages": "message"}


def _label(kind: str, raw: Any, index: int) -> str:
    ident = raw.get("id") if isinstance(raw, Mapping) else None
    if isinstance(ident, str) and ident and ident.isprintable():
        return f"{kind} {ident}"
    return f"{kind} #{index + 1}"


def _walk(errors: Any, raw: Any, labels: list[str], path: str, out: list[str]) -> None:
    if isinstance(errors, list):
        for item in errors:
            if isinstance(item, str):
                out.append(": ".join([*labels, path, item] if path else [*labels, item]))
            else:
                _walk(item, raw, labels, path, out)
        return
    if not isinstance(errors, Mapping):
        out.append(": ".join([*labels, path, str(errors)] if path else [*labels, str(errors)]))
        return
    keys = sorted(errors, key=lambda k: (0, k, "") if isinstance(k, int) else (1, 0, str(k)))
    for key in keys:
        sub = errors[key]
        if key == "_schema":
            _walk(sub, raw, labels, path, out)
        elif isinstance(key, int):
            item = raw[key] if isinstance(raw, list) and 0 <= key < len(raw) else None
            kind = _ENTITY_LISTS.get(path)
            if kind:
                _walk(sub, item, [*labels, _label(kind, item, key)], "", out)
            else:
                _walk(sub, item, labels, f"{path}[{key}]", out)
        else:
            child = raw.get(key) if isinstance(raw, Mapping) else None
            _walk(sub, child, labels, f"{path}.{key}" if path else str(key), out)


def describe_errors(errors: Any, raw: Any) -> list[str]:
    """Flatten marshmallow errors into lines like `thread T: message M: internalDate: ...`."""
    out: list[str] = []
    _walk(errors, raw, [], "", out)
    return out


def summarise(errors: Any, raw: Any) -> str:
    """Return the first problem as one line, saying how many more there are."""
    lines = describe_errors(errors, raw) or ["Invalid data."]
    more = len(lines) - 1
    first = " ".join(lines[0].split())  # no newlines or tabs: one line, always
    return first + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


def _validate(schema: Schema, obj: Any) -> tuple[dict[str, Any] | None, str | None]:
    if not isinstance(obj, Mapping):
        return None, f"Expected a JSON object, got {type(obj).__name__}."
    try:
        return schema.load(obj), None
    except ValidationError as err:
        return None, summarise(err.messages, obj)


_MESSAGE = MessageSchema()
_THREAD = ThreadSchema()


def validate_message(obj: Any) -> tuple[dict[str, Any] | None, str | None]:
    """Validate one API Message: (clean message, None) or (None, one-line error)."""
    return _validate(_MESSAGE, obj)


def validate_thread(obj: Any) -> tuple[dict[str, Any] | None, str | None]:
    """Validate one API Thread: (clean thread, None) or (None, one-line error)."""
    return _validate(_THREAD, obj)
