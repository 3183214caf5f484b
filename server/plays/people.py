"""Derive friendly personalisation values (first name, company, subject) from metadata.

The results are plain data. Nothing here tries to clean up hostile-looking names: a display
name is kept as text and only ever inserted as text.
"""

from __future__ import annotations

import re

from server.engine.headers import decode_words

# Consumer mail providers: their domain says nothing about the prospect's company.
FREE_MAIL_DOMAINS: frozenset[str] = frozenset({
    "gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "rocketmail.com", "hotmail.com",
    "outlook.com", "live.com", "msn.com", "aol.com", "icloud.com", "me.com", "mac.com",
    "proton.me", "protonmail.com", "pm.me", "gmx.com", "gmx.net", "gmx.de", "web.de",
    "t-online.de", "mail.com", "mail.ru", "yandex.com", "yandex.ru", "zoho.com", "fastmail.com",
    "hey.com", "qq.com", "163.com", "126.com", "orange.fr", "free.fr", "laposte.net", "sfr.fr",
    "libero.it", "virgilio.it", "btinternet.com", "comcast.net", "verizon.net", "att.net",
    "tutanota.com", "hushmail.com",
})
# Providers with many country domains (yahoo.co.uk, hotmail.fr, ...).
_FREE_MAIL_NAMES = frozenset({"gmail", "yahoo", "hotmail", "outlook", "live", "gmx", "yandex"})
# Second-level labels under country codes that are not the organisation's own name.
_GENERIC_SECOND_LEVEL = frozenset({
    "co", "com", "org", "net", "ac", "gov", "edu", "ltd", "plc", "gob", "gouv", "ne", "or",
})
# Local parts that name a role, not a person.
_ROLE_LOCAL_PARTS = frozenset({
    "info", "sales", "support", "hello", "contact", "admin", "office", "team", "noreply",
    "no", "reply", "mail", "enquiries", "inquiries", "billing", "accounts", "help", "hr",
    "jobs", "marketing", "press", "service", "webmaster", "postmaster", "mailer",
})
_HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "herr",
                         "frau", "mme", "mlle", "sr", "sra", "srta", "dra"})
# What may follow a comma after a full name ("Jane Doe, PhD") instead of a first name.
_NAME_SUFFIXES = frozenset({"jr", "sr", "phd", "md", "mba", "esq", "cpa", "ii", "iii", "iv"})
_REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|wg|sv|vs|tr|rif|antw|doorst)(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_WS = re.compile(r"\s+")
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]")


def _decode(value: str) -> str:
    """Decode RFC 2047 encoded words if a raw header slipped through; never raises.

    A broken word such as "=?utf-8?b?A?=" (HeaderParseError) is kept as written.
    """
    if "=?" not in value:
        return value
    return decode_words(value)


def _tidy_case(word: str) -> str:
    if word.isupper() or word.islower():
        return "-".join(part[:1].upper() + part[1:].lower() for part in word.split("-"))
    return word


def _name_from_local_part(email: str) -> str:
    local = email.rsplit("@", 1)[0] if "@" in email else ""
    local = local.split("+", 1)[0]
    parts = [p for p in re.split(r"[._-]+", local) if p]
    # A single token such as "jsmith" may be initial + surname; no name beats a wrong one.
    if len(parts) < 2:
        return ""
    first = parts[0]
    if not first.isalpha() or len(first) < 2 or first.lower() in _ROLE_LOCAL_PARTS:
        return ""
    return _tidy_case(first)


def _unswap(left: str, right: str) -> str:
    """Read "Last, First" as "First"; keep "Jane Doe, PhD" or "Jane Doe, CFO" as the name."""
    if not left or not right:
        return left or right
    suffix = right.split(" ")[0].replace(".", "").lower()
    if " " in left and (suffix in _NAME_SUFFIXES or right.isupper()):
        return left
    return right


def first_name_from(person_name: str | None, email: str | None = None) -> str:
    """Guess the first name to greet someone with; "" when there is no safe guess."""
    name = _WS.sub(" ", _decode(person_name or "")).strip()
    name = name.strip("\"'“”‘’ ").strip()
    name = _WS.sub(" ", _PARENS.sub(" ", name)).strip()
    if "@" in name and " " not in name:
        name = ""  # the display name is just an address
    if name.count(",") == 1:
        name = _unswap(*(part.strip() for part in name.split(",")))
    words = [w for w in name.split(" ") if w]
    while words and words[0].rstrip(".").lower() in _HONORIFICS and len(words) > 1:
        words.pop(0)
    if words:
        first_word = words[0]
        # A lone initial ("J. Smith") is not something to greet someone with.
        if sum(ch.isalpha() for ch in first_word) > 1:
            return _tidy_case(first_word)
    return _name_from_local_part((email or "").strip())


def _registrable_label(domain: str) -> str:
    labels = [label for label in domain.split(".") if label]
    if len(labels) < 2:
        return labels[0] if labels else ""
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _GENERIC_SECOND_LEVEL:
        return labels[-3]
    return labels[-2]


def _decode_idna(label: str) -> str:
    if label.startswith("xn--"):
        try:
            return label.encode("ascii").decode("idna")
        except UnicodeError:
            return label
    return label


def company_from(domain: str | None) -> str:
    """Turn a domain (or an address) into a company name; "" for free-mail providers."""
    value = (domain or "").strip().lower().rstrip(".")
    if "@" in value:
        value = value.rsplit("@", 1)[1]
    if not value or value in FREE_MAIL_DOMAINS:
        return ""
    label = _registrable_label(value)
    if label in _FREE_MAIL_NAMES:
        return ""
    label = _decode_idna(label)
    words = [w for w in re.split(r"[-_]+", label) if w]
    out = []
    for word in words:
        # Short labels are usually initialisms ("ibm", "3m"); longer ones read as words.
        out.append(word.upper() if len(word) <= 3 else word[:1].upper() + word[1:])
    return " ".join(out)


def clean_subject(subject: str | None) -> str:
    """Strip reply/forward prefixes ("Re:", "Fwd:", "AW:" ...) and squeeze whitespace."""
    text = _WS.sub(" ", _decode(subject or "")).strip()
    return _REPLY_PREFIX.sub("", text).strip()
