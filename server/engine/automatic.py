"""Tell machine-sent mail from people's answers, by the signatures in automatic_signatures.json.

Headers decide first (RFC 3834, RFC 3464/5965/8098 reports, null and robot senders, the vendor
headers of Exchange/Microsoft 365, Amazon SES and the rest). Localised subject phrases are a
second signal: "<phrase>: <original subject>" at the very start decides on its own (Apple's
"Auto Reply:" carries no marker header at all), but never after a reply prefix, so a person's
"Re: Automatic reply: ..." is an answer; a subject that is only a phrase ("Out of Office")
needs a header signal too. The rules are data; this module only reads them.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.utils import getaddresses
from functools import lru_cache
from pathlib import Path
from typing import Any

SIGNATURES_FILE = Path(__file__).with_name("automatic_signatures.json")

AUTO_REPLY = "auto_reply"
BOUNCE = "bounce"
REPORT = "report"
BULK = "bulk"
ROBOT = "robot"
CALENDAR = "calendar"

# Headers every message needs besides the markers the signatures name.
_BASE_HEADERS = ("From", "To", "Cc", "Subject", "Date", "Content-Type")


def _load() -> dict[str, Any]:
    with open(SIGNATURES_FILE, encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


_DATA = _load()


def _metadata_headers(data: Mapping[str, Any]) -> tuple[str, ...]:
    names: list[str] = list(_BASE_HEADERS)
    conditions = [c for sig in data["headers"] for c in sig["when"]]
    conditions += data["subjects"]["calendar"]["structural"]
    for condition in conditions:
        name = condition.get("header")
        if name and name.lower() not in {n.lower() for n in names}:
            names.append(name)
    return tuple(names)


# Every header the engine reads: the Gmail client asks for exactly these (`metadataHeaders`),
# and the sync keeps only these.
METADATA_HEADERS: tuple[str, ...] = _metadata_headers(_DATA)


@dataclass(frozen=True)
class _Condition:
    header: str | None
    match: re.Pattern[str] | None
    negate: re.Pattern[str] | None
    sender: str | None
    mime: re.Pattern[str] | None


@dataclass(frozen=True)
class Signature:
    """One vendor's marker: all conditions must hold."""

    id: str
    vendor: str
    kind: str
    weak: bool
    source: str
    when: tuple[_Condition, ...]

    @property
    def needs(self) -> tuple[str, ...]:
        """Header names that must be present (checked first: most mail has none of them)."""
        return tuple(c.header for c in self.when if c.header is not None)

    @property
    def needs_mime(self) -> bool:
        return any(c.mime is not None for c in self.when)


def _condition(raw: Mapping[str, Any]) -> _Condition:
    def rx(key: str) -> re.Pattern[str] | None:
        value = raw.get(key)
        return re.compile(value, re.IGNORECASE | re.DOTALL) if value else None

    header = raw.get("header")
    return _Condition(
        header=header.lower() if header else None,
        match=rx("match"),
        negate=rx("not"),
        sender=raw.get("from"),
        mime=rx("mime"),
    )


SIGNATURES: tuple[Signature, ...] = tuple(
    Signature(
        id=s["id"],
        vendor=s["vendor"],
        kind=s["kind"],
        weak=bool(s.get("weak")),
        source=s["source"],
        when=tuple(_condition(c) for c in s["when"]),
    )
    for s in _DATA["headers"]
)
# Most mail carries none of the marker headers: look only at the signatures whose first
# header is present (plus the few that test the sender or the MIME type).
_ORDER = {s.id: i for i, s in enumerate(SIGNATURES)}
_HEADERLESS = tuple((s, s.needs, s.needs_mime) for s in SIGNATURES if not s.needs)
_BY_HEADER: dict[str, list[tuple[Signature, tuple[str, ...], bool]]] = {}
for _signature in SIGNATURES:
    if _signature.needs:
        _BY_HEADER.setdefault(_signature.needs[0], []).append(
            (_signature, _signature.needs, _signature.needs_mime))
_PRIORITY = {kind: i for i, kind in enumerate(_DATA["kinds_by_priority"])}
_ROBOTS = frozenset(_DATA["robot_local_parts"])
_ROBOT_NAMES = frozenset(_DATA.get("robot_display_names", []))
_COURIER_NULL = re.compile(r"<\s*@\s*>\s*$")
_NULL_FROM = re.compile(r"^\s*(\"[^\"]*\"|[^<>\"]*)?\s*<\s*>\s*$")


def _phrases_rx(phrases: list[str], tail: str) -> re.Pattern[str] | None:
    cleaned = sorted({_fold(p) for p in phrases if p.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    return re.compile("^(?:" + "|".join(re.escape(p) for p in cleaned) + ")" + tail)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(text.split())


@dataclass(frozen=True)
class _Family:
    name: str
    prefixes: re.Pattern[str] | None
    whole: re.Pattern[str] | None
    patterns: tuple[re.Pattern[str], ...]
    bracketed: re.Pattern[str] | None  # "[<prefix phrase>] <subject>"
    whole_marked: re.Pattern[str] | None  # everyday words: only name the kind of marked mail
    whole_decisive: re.Pattern[str] | None  # whole subjects only machines write
    prefixes_marked: re.Pattern[str] | None  # "<phrase>: ..." needing a header signal too
    robot_words: re.Pattern[str] | None  # searched anywhere, only for robot/null senders


def _words_rx(words: list[str]) -> re.Pattern[str] | None:
    return re.compile("|".join(f"(?:{w})" for w in words)) if words else None


def _family(name: str, raw: Mapping[str, Any]) -> _Family:
    prefixes = [p for values in raw.get("prefixes", {}).values() for p in values]
    return _Family(
        name=name,
        # NFKC has already turned a full-width colon into ":".
        prefixes=_phrases_rx(prefixes, r"\s*:"),
        whole=_phrases_rx(list(raw.get("whole", [])), r"\s*[.!]?$"),
        patterns=tuple(re.compile(p, re.IGNORECASE) for p in raw.get("patterns", [])),
        bracketed=_phrases_rx(prefixes, r"\s*\]") if "bracketed_about" in raw else None,
        whole_marked=_phrases_rx(list(raw.get("whole_marked", [])), r"\s*[.!]?$"),
        whole_decisive=_phrases_rx(list(raw.get("whole_decisive", [])), r"\s*[.!:]?$"),
        prefixes_marked=_phrases_rx(list(raw.get("prefixes_marked", [])), r"\s*:"),
        robot_words=_words_rx([_fold(w) for w in raw.get("robot_words", [])]),
    )


_FAMILIES = tuple(
    _family(name, _DATA["subjects"][name]) for name in (AUTO_REPLY, BOUNCE, CALENDAR)
)
_REPLY_PREFIX = re.compile(
    "^(?:" + "|".join(re.escape(_fold(w)) for w in _DATA["reply_prefixes"]["words"])
    + r")\s*(?:\[\d+\]|\(\d+\))?\s*:"
)
# Tags gateways put in front of a subject: "[EXTERNAL]", "*EXT*", "[SPAM?]".
_LEADING_TAGS = re.compile(r"^(?:\[[^\]]{0,40}\]\s*|\*{1,3}[^*]{0,30}\*{1,3}\s*)+")
_CALENDAR = _DATA["subjects"]["calendar"]
_CALENDAR_STRUCTURE = tuple(_condition(c) for c in _CALENDAR["structural"])
_GOOGLE_CALENDAR_SHAPE = re.compile(_CALENDAR["google_shape"])
_REPLY_METHOD = re.compile(r"text/calendar.*method\s*=\s*\"?reply", re.IGNORECASE | re.DOTALL)


def subject_signal(subject: str) -> tuple[str | None, bool]:
    """(family, decisive) of a decoded subject; (None, False) when it says nothing or is a reply.

    `decisive` is True for the "<phrase>: ..." and sentence shapes, False for a bare phrase.
    """
    folded = _fold(subject)
    for family in _FAMILIES:
        # "[Automatyczna odpowiedź] test": the tag is the machine's phrase, not a gateway's.
        if family.bracketed is not None and folded.startswith("[") \
                and family.bracketed.match(folded[1:].lstrip()):
            return family.name, True
    text = _LEADING_TAGS.sub("", folded).strip()
    if not text or _REPLY_PREFIX.match(text):
        return None, False
    for family in _FAMILIES:
        if family.prefixes is not None and family.prefixes.match(text):
            return family.name, True
        if any(p.match(text) for p in family.patterns):
            return family.name, True
        if family.whole_decisive is not None and family.whole_decisive.match(text):
            return family.name, True
    for family in _FAMILIES:
        if family.whole is not None and family.whole.match(text):
            return family.name, False
        if family.prefixes_marked is not None and family.prefixes_marked.match(text):
            return family.name, False
    return None, False


def _from_kind(raw: str | None) -> str | None:
    """'null' for a null sender, 'robot' for a robot address, else None."""
    if raw is None:
        return None
    return _from_kind_of(raw)


@lru_cache(maxsize=4096)
def _from_kind_of(raw: str) -> str | None:
    # The same few From values repeat across a mailbox; parsing them is the slow part.
    if not raw.strip() or _NULL_FROM.match(raw) or _COURIER_NULL.search(raw):
        return "null"  # Courier writes its DSN sender as "Courier mail server at host <@>"
    if "@" not in raw and _fold(raw).strip('"').strip() in _ROBOT_NAMES:
        return "robot"  # "Mail Delivery System" with no address at all
    try:
        pairs = getaddresses([raw])
    except (TypeError, ValueError, IndexError):
        pairs = []
    for _, address in pairs:
        address = address.strip().lower()
        local = (address.rpartition("@")[0] or address).strip('"')
        if local.split("+", 1)[0] in _ROBOTS:
            return "robot"
    return None


def _holds(condition: _Condition, headers: Mapping[str, str], mimes: tuple[str, ...]) -> bool:
    if condition.sender is not None:
        return _from_kind(headers.get("from")) == condition.sender
    if condition.mime is not None:
        return any(condition.mime.search(m) for m in mimes)
    if condition.header is None or condition.header not in headers:
        return False
    value = headers[condition.header]
    if condition.match is not None and not condition.match.search(value):
        return False
    return not (condition.negate is not None and condition.negate.search(value))


def _mimes(headers: Mapping[str, str], mime: str) -> tuple[str, ...]:
    return tuple(m for m in (mime, headers.get("content-type", "")) if m)


@dataclass(frozen=True)
class Verdict:
    """What kind of sender wrote a message: None for a person."""

    kind: str | None
    signatures: tuple[str, ...] = ()

    @property
    def automatic(self) -> bool:
        return self.kind is not None and self.kind != CALENDAR


PERSON = Verdict(None)


def matching_signatures(headers: Mapping[str, str], mime: str = "") -> list[Signature]:
    """The header signatures that hold for prepared (lower-cased) headers."""
    mimes = _mimes(headers, mime)
    candidates = list(_HEADERLESS)
    for name in headers.keys() & _BY_HEADER.keys():
        candidates.extend(_BY_HEADER[name])
    found = []
    for signature, needs, needs_mime in candidates:
        if needs_mime and not mimes:
            continue
        if not all(name in headers for name in needs):
            continue
        if all(_holds(c, headers, mimes) for c in signature.when):
            found.append(signature)
    found.sort(key=lambda s: _ORDER[s.id])
    return found


def _is_calendar(headers: Mapping[str, str], mime: str, subject: str, family: str | None,
                 parts: tuple[str, ...]) -> bool:
    mimes = _mimes(headers, mime)
    if any(_REPLY_METHOD.search(m) for m in mimes):
        return True
    if family != CALENDAR:
        return False
    if any(_holds(c, headers, mimes + parts) for c in _CALENDAR_STRUCTURE):
        return True
    return bool(_GOOGLE_CALENDAR_SHAPE.search(subject))


def classify(
    headers: Mapping[str, str],
    mime: str = "",
    subject: str | None = None,
    parts: tuple[str, ...] = (),
) -> Verdict:
    """Judge one inbound message from its lower-cased headers, its payload MIME type and the
    MIME types of its parts (when Gmail lists them)."""
    subject = headers.get("subject", "") if subject is None else subject
    family, decisive = subject_signal(subject)
    hits = matching_signatures(headers, mime)
    strong = [s for s in hits if not s.weak]
    kinds = {s.kind for s in strong}
    if not kinds & {BOUNCE, REPORT} and _is_calendar(headers, mime, subject, family, parts):
        return Verdict(CALENDAR, tuple(s.id for s in strong))
    if family == CALENDAR:
        family = None
    if strong:
        if family is None and kinds <= {ROBOT, BULK, BOUNCE} \
                and {s.id for s in strong if s.kind == BOUNCE} <= _NULL_ONLY:
            family = _kind_hint(headers, subject, {s.id for s in strong})
        elif family is None and BOUNCE not in kinds and _robot_bounce(headers, subject):
            # postmaster's "email bounce notification" with Auto-Submitted: auto-replied
            # (sisimai set-of-emails maildir/not/rb-issue-368-bug.eml) is a bounce.
            family = BOUNCE
        if family == AUTO_REPLY and {s.id for s in strong if s.kind == BOUNCE} <= _NULL_ONLY:
            # A null From alone says "no replies", not "bounce": vacation programs send
            # From: <> too (Mail::Audit::Vacation); its out-of-office subject names it.
            kinds.discard(BOUNCE)
        if family is not None:
            kinds.add(family)
        kind = min(kinds, key=lambda k: _PRIORITY.get(k, len(_PRIORITY)))
        if kind == BOUNCE and "x-failed-recipients" not in headers and _delivered(subject):
            kind = REPORT
        return Verdict(kind, tuple(s.id for s in strong))
    if family is not None and (decisive or hits):
        ids = tuple(s.id for s in hits) + (f"subject:{family}",)
        return Verdict(family, ids)
    return PERSON


_AUTO_FAMILY = next(f for f in _FAMILIES if f.name == AUTO_REPLY)
_BOUNCE_FAMILY = next(f for f in _FAMILIES if f.name == BOUNCE)
_LISTS = frozenset({"list-id", "list-unsubscribe"})
_NULL_ONLY = frozenset({"null-sender"})
_VACATION_PRECEDENCE = re.compile(r"^\s*(junk|auto[_-]?reply)\s*$", re.IGNORECASE)


_DELIVERED = tuple(re.compile(p) for p in _DATA["subjects"]["bounce"].get("delivered_patterns", []))


def _delivered(subject: str) -> bool:
    """A delivery report saying the mail arrived (Exchange's "Delivered:", "(Success)")."""
    text = _LEADING_TAGS.sub("", _fold(subject)).strip()
    return any(p.match(text) for p in _DELIVERED)


def _robot_bounce(headers: Mapping[str, str], subject: str) -> bool:
    """A robot or null sender whose subject speaks of delivery."""
    if _from_kind(headers.get("from")) is None or _BOUNCE_FAMILY.robot_words is None:
        return False
    return bool(_BOUNCE_FAMILY.robot_words.search(_LEADING_TAGS.sub("", _fold(subject))))


def _kind_hint(headers: Mapping[str, str], subject: str, ids: set[str]) -> str | None:
    """Name the kind of mail strong headers marked only as robot or bulk mail.

    A robot or null sender whose subject speaks of delivery is a bounce (Notes' "Undeliverable
    message"). A person's address with a null return path (RFC 3834 section 3.3 sends
    responses there) or Precedence: junk (BSD vacation(1)), and no list headers, is their
    auto-responder; so is marked mail whose whole subject is "Vacation" or "Away".
    """
    text = _LEADING_TAGS.sub("", _fold(subject)).strip()
    robot = _from_kind(headers.get("from")) is not None
    if (robot or "robot-return-path" in ids) and _BOUNCE_FAMILY.robot_words is not None \
            and _BOUNCE_FAMILY.robot_words.search(text):
        return BOUNCE
    if ids & _LISTS:
        return None
    if _AUTO_FAMILY.whole_marked is not None and _AUTO_FAMILY.whole_marked.match(text):
        return AUTO_REPLY
    if robot:
        return None
    if "null-return-path" in ids or _VACATION_PRECEDENCE.match(headers.get("precedence", "")):
        return AUTO_REPLY
    return None


_AUTO_SUBMITTED = frozenset({"rfc3834-auto-submitted-replied", "rfc3834-auto-submitted-other"})


def auto_reply_marked(headers: Mapping[str, str]) -> bool:
    """True when the headers themselves mark machine-written mail of the rep's own: any
    Auto-Submitted other than "no", or an auto-responder's marker (their vacation reply)."""
    return any(s.kind == AUTO_REPLY or s.id in _AUTO_SUBMITTED
               for s in matching_signatures(headers) if not s.weak)


# ----- the return date an out-of-office subject gives ---------------------------------------

_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january", "janvier", "januar", "enero", "gennaio", "janeiro", "januari"),
            ("feb", "february", "février", "fevrier", "februar", "febrero", "febbraio"),
            ("mar", "march", "mars", "märz", "marz", "marzo", "março", "maart"),
            ("apr", "april", "avril", "abril", "aprile"),
            ("may", "mai", "mayo", "maggio", "maio", "mei"),
            ("jun", "june", "juin", "juni", "junio", "giugno", "junho"),
            ("jul", "july", "juillet", "juli", "julio", "luglio", "julho"),
            ("aug", "august", "août", "aout", "agosto", "augustus"),
            ("sep", "sept", "september", "septembre", "septiembre", "settembre", "setembro"),
            ("oct", "october", "octobre", "oktober", "octubre", "ottobre", "outubro"),
            ("nov", "november", "novembre", "noviembre", "novembro"),
            ("dec", "december", "décembre", "decembre", "dezember", "diciembre", "dicembre",
             "dezembro"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = "(" + "|".join(sorted(map(re.escape, _MONTHS), key=len, reverse=True)) + r")\.?"
_UNTIL = (
    r"(?:until|till|til|through|thru|back(?: on)?|return(?:ing)?(?: on)?|returns(?: on)?|"
    r"bis(?: zum| einschließlich)?|zurück am|jusqu'?au|jusqu'?à|de retour le|retour le|"
    r"hasta el|hasta|fino al|até|tot en met|tot)"
)
_DAY_MONTH = re.compile(_UNTIL + r"\s+(?:\w+,?\s+)?(\d{1,2})(?:st|nd|rd|th)?\.?\s+" + _MONTH
                        + r"(?:,?\s+(\d{4}))?", re.IGNORECASE)
_MONTH_DAY = re.compile(_UNTIL + r"\s+(?:\w+,?\s+)?" + _MONTH
                        + r"\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?", re.IGNORECASE)
_NUMERIC = re.compile(
    _UNTIL + r"\s+(?:\w+,?\s+)?(\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}(?:[./]\d{2,4})?)",
    re.IGNORECASE,
)


def _make(year: int | None, month: int, day: int, seen: date) -> date | None:
    try:
        found = date(year or seen.year, month, day)
    except ValueError:
        return None
    if year is None and found < seen - timedelta(days=7):
        try:
            found = date(seen.year + 1, month, day)  # "until Jan 4" written in December
        except ValueError:
            return None
    return found


def _numeric(text: str, seen: date) -> date | None:
    if "-" in text:
        y, m, d = (int(p) for p in text.split("-"))
        return _make(y, m, d, seen)
    parts = [int(p) for p in re.split(r"[./]", text)]
    year = parts[2] if len(parts) == 3 else None
    if year is not None and year < 100:
        year += 2000
    first, second = parts[0], parts[1]
    if "." in text or first > 12:
        day, month = first, second  # "8.12." and "31/12" read day first
    else:
        month, day = first, second  # "12/08" read the US way, as Outlook in en-US writes it
    return _make(year, month, day, seen)


@lru_cache(maxsize=1024)
def return_date(subject: str, seen_at: datetime) -> date | None:
    """The return date an out-of-office subject names ("until Dec 8", "back on 12/08"), if any."""
    seen = seen_at.date()
    text = _fold(subject)
    match = _DAY_MONTH.search(text)
    if match:
        return _make(int(match.group(3)) if match.group(3) else None,
                     _MONTHS[match.group(2).lower()], int(match.group(1)), seen)
    match = _MONTH_DAY.search(text)
    if match:
        return _make(int(match.group(3)) if match.group(3) else None,
                     _MONTHS[match.group(1).lower()], int(match.group(2)), seen)
    match = _NUMERIC.search(text)
    if match:
        return _numeric(match.group(1), seen)
    return None
