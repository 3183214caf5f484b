"""Read and validate submitted form fields; each problem becomes a message for its field."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from functools import lru_cache
from zoneinfo import available_timezones

import holidays
from babel import Locale

from server.store import limits

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}$")
MAX_DOMAINS = 50
# Row ids are 32-bit integers in PostgreSQL; anything larger cannot name a row.
MAX_ID = 2**31 - 1


def has_control(text: str) -> bool:
    """Tell whether `text` holds a control character other than tab or new line.

    Control characters have no place in a setting, and PostgreSQL refuses NUL outright; the
    rule is the one the API uses (server.store.limits), so every surface answers alike.
    """
    return limits.has_control(text)


def parse_id(text: str | None) -> int | None:
    """A row id typed into a form or URL, or None when it cannot be one."""
    value = (text or "").strip()
    if not value.isascii() or not value.isdigit() or len(value) > 10:
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


@lru_cache(maxsize=1)
def time_zones() -> frozenset[str]:
    """Every IANA zone name this machine knows."""
    return frozenset(available_timezones())


@lru_cache(maxsize=1)
def holiday_countries() -> dict[str, tuple[str, ...]]:
    """Two-letter country code -> subdivision codes the holidays library supports."""
    supported = holidays.list_supported_countries()
    # The library also answers to three-letter aliases; keep one canonical spelling.
    return {code: tuple(subs) for code, subs in sorted(supported.items()) if len(code) == 2}


def country_name(code: str) -> str:
    """English country name for a code, the code itself when Babel has none."""
    return str(Locale("en").territories.get(code, code))


def domain_problem(domain: str) -> str | None:
    """Return why `domain` is not a plain domain name, or None when it is one."""
    if len(domain) > 253:
        return "is too long"
    labels = domain.split(".")
    if len(labels) < 2:
        return "needs a dot, like example.com"
    if not all(_LABEL.match(label) for label in labels):
        return "may only hold letters, digits, hyphens and dots"
    if not _TLD.match(labels[-1]):
        return "does not end in a valid top-level domain"
    return None


def normalise_domain(raw: str) -> str:
    """Lowercase, drop a leading @, and turn an international name into its ASCII form."""
    text = raw.strip().lstrip("@").strip().rstrip(".").lower()
    if text and not text.isascii():
        try:
            text = text.encode("idna").decode("ascii")
        except UnicodeError:
            return raw.strip()
    return text


def email_problem(address: str) -> str | None:
    """Return why `address` is not a usable email address, or None."""
    local, at, domain = address.rpartition("@")
    if not at or not _EMAIL_LOCAL.match(local) or ".." in local:
        return "is not an email address"
    problem = domain_problem(domain)
    return f"has a domain that {problem}" if problem else None


class Form:
    """Wrap submitted values; parsing methods record an error per field instead of raising."""

    def __init__(self, data: Mapping[str, str]) -> None:
        self.data = data
        self.errors: dict[str, str] = {}

    @property
    def ok(self) -> bool:
        return not self.errors

    def raw(self, name: str) -> str:
        value = self.data.get(name, "")
        return value if isinstance(value, str) else ""

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def text(self, name: str, *, label: str, max_len: int, required: bool = False) -> str:
        value = " ".join(self.raw(name).split())
        if has_control(value):
            self.fail(name, f"{label} contains invisible control characters; remove them.")
            return ""
        if required and not value:
            self.fail(name, f"{label} is required.")
        elif len(value) > max_len:
            self.fail(name, f"{label} can be at most {max_len} characters.")
        return value

    def whole(
        self, name: str, *, label: str, low: int, high: int, unit: str, required: bool = True
    ) -> int | None:
        """A whole number in [low, high]; blank gives None when not required."""
        text = self.raw(name).strip()
        if not text:
            if required:
                self.fail(
                    name, f"{label} is required: a whole number of {unit} from {low} to {high}."
                )
            return None
        if not re.fullmatch(r"[+-]?\d{1,9}", text):
            self.fail(name, f"{label} must be a whole number of {unit} from {low} to {high}.")
            return None
        value = int(text)
        if value < low:
            self.fail(name, f"{label} must be at least {low} {unit}; {value} is too low.")
        elif value > high:
            self.fail(name, f"{label} can be at most {high} {unit}; {value} is too high.")
        else:
            return value
        return None

    def choice(self, name: str, *, label: str, options: Mapping[str, str]) -> str | None:
        value = self.raw(name).strip()
        if value not in options:
            self.fail(name, f"Choose one of the offered {label} options.")
            return None
        return value

    def domains(self, name: str) -> list[str]:
        """A list of domains separated by commas, spaces or new lines."""
        found: list[str] = []
        for part in re.split(r"[\s,;]+", self.raw(name)):
            if not part.strip():
                continue
            domain = normalise_domain(part)
            problem = domain_problem(domain)
            if problem:
                self.fail(name, f"'{part.strip()[:80]}' {problem}.")
                return []
            if domain not in found:
                found.append(domain)
        if len(found) > MAX_DOMAINS:
            self.fail(name, f"List at most {MAX_DOMAINS} domains.")
            return []
        return found

    def timezone(self, name: str) -> str | None:
        value = self.raw(name).strip()
        if value in time_zones():
            return value
        if not value:
            self.fail(name, "Time zone is required, for example America/New_York.")
            return None
        close = difflib.get_close_matches(value, sorted(time_zones()), n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]}?" if close else ""
        self.fail(name, f"'{value[:64]}' is not an IANA time zone name.{hint}")
        return None

    def holiday(self, country_field: str, subdiv_field: str) -> tuple[str | None, str | None]:
        """A country code the holidays library knows (blank: none) and an optional subdivision."""
        country = self.raw(country_field).strip().upper()
        subdiv = self.raw(subdiv_field).strip().upper()
        if not country:
            if subdiv:
                self.fail(subdiv_field, "Pick a holiday country before a region.")
            return None, None
        known = holiday_countries()
        if country not in known:
            self.fail(
                country_field, f"'{country[:8]}' is not a country the holiday calendar knows."
            )
            return None, None
        if not subdiv:
            return country, None
        subdivisions = {s.upper(): s for s in known[country]}
        if subdiv not in subdivisions:
            hint = ", ".join(sorted(subdivisions)[:12]) or "none"
            self.fail(
                subdiv_field, f"'{subdiv[:16]}' is not a region of {country} (known: {hint}…)."
            )
            return country, None
        return country, subdivisions[subdiv]

    def email(self, name: str, *, label: str = "Email") -> str | None:
        value = self.raw(name).strip().lower()
        if not value:
            self.fail(name, f"{label} is required.")
            return None
        if has_control(value):
            self.fail(name, f"{label} contains invisible control characters; remove them.")
            return None
        if len(value) > limits.EMAIL:
            self.fail(name, f"{label} can be at most {limits.EMAIL} characters.")
            return None
        problem = email_problem(value)
        if problem:
            self.fail(name, f"'{value[:80]}' {problem}.")
            return None
        return value
