"""Read headers of Gmail metadata messages without ever trusting their shape."""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.errors import HeaderParseError
from email.header import decode_header
from email.utils import getaddresses
from functools import lru_cache
from typing import Any

from .automatic import Verdict, auto_reply_marked, classify
from .model import Person

# RFC 5321 section 4.5.3.1: 64 octets of local part, 255 of domain, 320 in all (with "@").
MAX_LOCAL = 64
MAX_DOMAIN = 255
MAX_ADDRESS = 320
_BAD_ADDRESS_CHARS = re.compile(r"[\s<>()\[\],;:\"\\]")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]+")


Headers = Mapping[str, str]


def headers_of(message: Mapping[str, Any]) -> dict[str, str]:
    """Map lower-cased header names to their first value; odd entries are skipped."""
    payload = message.get("payload") if isinstance(message, Mapping) else None
    raw = payload.get("headers") if isinstance(payload, Mapping) else None
    found: dict[str, str] = {}
    if not isinstance(raw, list):
        return found
    for item in raw:
        if not isinstance(item, Mapping):
            continue
        name, value = item.get("name"), item.get("value")
        if isinstance(name, str):
            found.setdefault(name.strip().lower(), value if isinstance(value, str) else "")
    return found


def header(message: Mapping[str, Any], name: str) -> str | None:
    """Return the first value of header `name` (any letter case), or None."""
    return headers_of(message).get(name.lower())


# Charset labels mail clients write that Python's codecs do not know by that name: the "-i"
# (logical order) and "-e" (explicit) variants of ISO-8859-6/8 (RFC 1555, RFC 1556; Outlook
# writes iso-8859-8-i for Hebrew), and GB2312/GBK labels on text that is really GB18030 (the
# WHATWG Encoding Standard decodes all three as gb18030).
_CHARSET_ALIASES = {
    "iso-8859-8-i": "iso-8859-8", "iso-8859-8-e": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6", "iso-8859-6-e": "iso-8859-6",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030",
}


def _decode_chunk(chunk: bytes | str, charset: str | None) -> str:
    if isinstance(chunk, str):
        return chunk
    if charset:
        charset = _CHARSET_ALIASES.get(charset.strip().lower(), charset)
    try:
        return chunk.decode(charset or "raw-unicode-escape", errors="replace")
    except LookupError:  # an unknown charset name: keep what UTF-8 can read
        return chunk.decode("utf-8", errors="replace")


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words leniently and flatten control characters to spaces.

    A broken word (bad base64, unknown charset, undecodable bytes) never raises: what can be
    decoded is, the rest is kept as written or replaced by U+FFFD.
    """
    text = value if isinstance(value, str) else ""
    if "=?" in text:
        try:
            parts = decode_header(text)
            text = "".join(_decode_chunk(chunk, charset) for chunk, charset in parts)
            if len(parts) > 1 or isinstance(parts[0][0], bytes):
                # decode_header drops the spaces between plain and encoded parts when it
                # returns bytes; a display name reads fine with single spaces.
                text = re.sub(r"\s+", " ", text)
        except (HeaderParseError, LookupError, UnicodeError, ValueError, IndexError,
                AssertionError):
            text = value
    return _CONTROL_CHARS.sub(" ", text).strip()


def _valid_address(address: str) -> bool:
    if len(address) > MAX_ADDRESS:
        return False
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or "@" in local:
        return False
    if len(local) > MAX_LOCAL or len(domain) > MAX_DOMAIN:
        return False
    return not _BAD_ADDRESS_CHARS.search(address)


def _pairs(value: str) -> list[tuple[str, str]]:
    """getaddresses, but an entry it cannot read is no address rather than an error."""
    try:
        return getaddresses([value])
    except (TypeError, ValueError, IndexError, AttributeError, HeaderParseError):
        return []


def parse_addresses(value: str | None) -> list[Person]:
    """Parse an address-list header into people; skip anything that is not an address."""
    if not value or not isinstance(value, str):
        return []
    return list(_parse_cached(value))


@lru_cache(maxsize=4096)
def _parse_cached(value: str) -> tuple[Person, ...]:
    # The same few address strings repeat across a mailbox; parsing them is the slow part.
    people: list[Person] = []
    seen: set[str] = set()
    for name, address in _pairs(value):
        email = address.strip().lower()
        if not _valid_address(email) or email in seen:
            continue
        seen.add(email)
        people.append(Person(email=email, name=decode_words(name) if name else ""))
    return tuple(people)


def sender(message: Mapping[str, Any]) -> Person | None:
    """Return the first From address of a message, if it has a usable one."""
    return sender_in(headers_of(message))


def sender_in(headers: Headers) -> Person | None:
    """Return the first usable From address in prepared headers."""
    people = parse_addresses(headers.get("from"))
    return people[0] if people else None


def recipients(message: Mapping[str, Any]) -> tuple[list[Person], list[Person]]:
    """Return the To and Cc people of a message."""
    headers = headers_of(message)
    return parse_addresses(headers.get("to")), parse_addresses(headers.get("cc"))


def is_auto_response(message: Mapping[str, Any]) -> bool:
    """Tell whether a message's headers say an auto-responder generated it."""
    return auto_response_in(headers_of(message))


def auto_response_in(headers: Headers) -> bool:
    """Tell whether prepared headers mark an auto-responder message (any vendor's marker)."""
    return auto_reply_marked(headers)


def mime_type_of(message: Mapping[str, Any]) -> str:
    """The message's top MIME type as Gmail reports it in `payload.mimeType` ("" if absent)."""
    payload = message.get("payload") if isinstance(message, Mapping) else None
    mime = payload.get("mimeType") if isinstance(payload, Mapping) else None
    return mime if isinstance(mime, str) else ""


def part_types_of(message: Mapping[str, Any], limit: int = 50) -> tuple[str, ...]:
    """MIME types of the payload's parts, nested ones too (at most `limit`), if Gmail sent any."""
    found: list[str] = []
    payload = message.get("payload") if isinstance(message, Mapping) else None
    stack = list(payload.get("parts") or []) if isinstance(payload, Mapping) else []
    while stack and len(found) < limit:
        part = stack.pop()
        if not isinstance(part, Mapping):
            continue
        mime = part.get("mimeType")
        if isinstance(mime, str) and mime:
            found.append(mime)
        children = part.get("parts")
        if isinstance(children, list):
            stack.extend(children[:limit])
    return tuple(found)


def verdict_in(headers: Headers, mime: str = "", parts: tuple[str, ...] = ()) -> Verdict:
    """Who wrote a message (a person, or which kind of machine), from its prepared headers."""
    return classify(headers, mime, decode_words(headers.get("subject", "")), parts)


def is_automatic(message: Mapping[str, Any]) -> bool:
    """Tell whether a message was sent by a machine and so can never be an answer."""
    return verdict_in(headers_of(message), mime_type_of(message)).automatic


def automatic_in(headers: Headers, mime: str = "") -> bool:
    """Tell whether prepared headers mark a machine-sent message."""
    return verdict_in(headers, mime).automatic
