"""Read the event object Google posts to an add-on endpoint (Workspace HTTP runtime).

Only the fields stepback uses are read; everything is type-checked so a malformed
event becomes a clear 400 instead of an exception deep in a view.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.errors import ApiError

# Gmail hands add-ons legacy ids ("msg-f:<decimal>"); the REST API wants the hex form.
_LEGACY_ID = re.compile(r"(?:msg|thread)-f:(\d{1,20})")
_HEX_ID = re.compile(r"[0-9A-Fa-f]{1,32}")
# Other id spellings are passed to Gmail as they are (it answers 400/404 for ones it does
# not know, which ends as a friendly card); only characters no id has are refused.
_PLAUSIBLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9:_-]{0,63}")
_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,3}")
MAX_TOKEN_CHARS = 8192
MAX_PARAM_CHARS = 2000
MAX_RECIPIENTS = 100


def bad_event(message: str) -> ApiError:
    """A 400 for an event object that does not have the documented shape."""
    return ApiError(400, f"Malformed add-on event: {message}", reason="malformed_event")


@dataclass(frozen=True)
class AddonEvent:
    """The parts of a Workspace add-on event object stepback reads."""

    host_app: str = ""
    platform: str = ""
    locale: str | None = None
    timezone: str | None = None
    tz_offset_ms: int | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    form_inputs: dict[str, Any] = field(default_factory=dict)
    user_oauth_token: str = ""
    user_id_token: str = ""
    system_id_token: str = ""
    message_id: str | None = None
    thread_id: str | None = None
    gmail_access_token: str = ""
    recipients: tuple[str, ...] = ()

    def param(self, name: str, default: str = "") -> str:
        """Return an action parameter (as sent back by Google), or `default`."""
        return self.parameters.get(name, default)

    def string_input(self, name: str) -> str | None:
        """The first value of a text/selection widget from formInputs, if any."""
        entry = self.form_inputs.get(name)
        if not isinstance(entry, Mapping):
            return None
        values = (entry.get("stringInputs") or {}).get("value")
        if not isinstance(values, list) or not values:
            return None
        first = values[0]
        if not isinstance(first, str):
            raise bad_event(f"formInputs.{name}.stringInputs.value must hold strings")
        return first

    def datetime_input(self, name: str) -> datetime | None:
        """The moment picked in a dateTimePicker, as aware UTC; None when not filled in."""
        entry = self.form_inputs.get(name)
        if not isinstance(entry, Mapping):
            return None
        picked = entry.get("dateTimeInput") or entry.get("dateInput")
        if not isinstance(picked, Mapping) or "msSinceEpoch" not in picked:
            return None
        raw = picked["msSinceEpoch"]
        # proto3 JSON sends int64 as a string; accept both spellings.
        if isinstance(raw, str) and re.fullmatch(r"-?\d{1,16}", raw):
            raw = int(raw)
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise bad_event(f"formInputs.{name}.msSinceEpoch must be a number")
        try:
            return datetime.fromtimestamp(raw / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise bad_event(f"formInputs.{name}.msSinceEpoch is out of range") from exc


def _obj(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise bad_event(f"{where} must be an object")
    return value


def _text(obj: Mapping[str, Any], key: str, where: str, limit: int = MAX_PARAM_CHARS) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise bad_event(f"{where}.{key} must be a string")
    if len(value) > limit:
        raise bad_event(f"{where}.{key} is too long")
    return value


def gmail_id(value: str, where: str) -> str | None:
    """Return Gmail's REST id for an event id ("msg-f:123" → hex), None when empty."""
    text = value.strip()
    if not text:
        return None
    legacy = _LEGACY_ID.fullmatch(text)
    if legacy:
        return format(int(legacy.group(1)), "x")
    if _HEX_ID.fullmatch(text):
        return text.lower()
    if _PLAUSIBLE_ID.fullmatch(text):
        return text
    raise bad_event(f"{where} is not a Gmail id")


def _timezone(common: Mapping[str, Any]) -> tuple[str | None, int | None]:
    tz = _obj(common.get("timeZone"), "commonEventObject.timeZone")
    name = _text(tz, "id", "commonEventObject.timeZone", 64).strip() or None
    if name is not None:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            name = None  # an unknown zone falls back to the rep's own setting
    offset = tz.get("offset")
    if offset is not None and (isinstance(offset, bool) or not isinstance(offset, int | float)):
        raise bad_event("commonEventObject.timeZone.offset must be a number")
    return name, int(offset) if offset is not None else None


def _parameters(common: Mapping[str, Any]) -> dict[str, str]:
    params = _obj(common.get("parameters"), "commonEventObject.parameters")
    out: dict[str, str] = {}
    for key, value in params.items():
        if not isinstance(value, str) or len(value) > MAX_PARAM_CHARS:
            raise bad_event(f"commonEventObject.parameters.{key} must be a short string")
        out[str(key)] = value
    return out


def _recipients(gmail: Mapping[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    for key in ("toRecipients", "ccRecipients", "bccRecipients"):
        values = gmail.get(key)
        if values is None:
            continue
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise bad_event(f"gmail.{key} must be a list of addresses")
        found.extend(v.strip().lower() for v in values if v.strip())
    if len(found) > MAX_RECIPIENTS:
        raise bad_event("too many recipients")
    return tuple(dict.fromkeys(found))


def parse_event(body: Any) -> AddonEvent:
    """Validate a decoded JSON body and return the event; raise a 400 ApiError if malformed."""
    if not isinstance(body, Mapping):
        raise bad_event("the body must be a JSON object")
    common = _obj(body.get("commonEventObject"), "commonEventObject")
    auth = _obj(body.get("authorizationEventObject"), "authorizationEventObject")
    gmail = _obj(body.get("gmail"), "gmail")
    form_inputs = _obj(common.get("formInputs"), "commonEventObject.formInputs")
    locale = _text(common, "userLocale", "commonEventObject", 35).strip() or None
    if locale is not None and not _LOCALE.fullmatch(locale):
        locale = None
    tz_name, tz_offset = _timezone(common)
    where = "authorizationEventObject"
    return AddonEvent(
        host_app=_text(common, "hostApp", "commonEventObject", 40),
        platform=_text(common, "platform", "commonEventObject", 40),
        locale=locale,
        timezone=tz_name,
        tz_offset_ms=tz_offset,
        parameters=_parameters(common),
        form_inputs=dict(form_inputs),
        # Google's docs spell the key both userOAuthToken and userOauthToken.
        user_oauth_token=_text(auth, "userOAuthToken", where, MAX_TOKEN_CHARS)
        or _text(auth, "userOauthToken", where, MAX_TOKEN_CHARS),
        user_id_token=_text(auth, "userIdToken", where, MAX_TOKEN_CHARS),
        system_id_token=_text(auth, "systemIdToken", where, MAX_TOKEN_CHARS),
        message_id=gmail_id(_text(gmail, "messageId", "gmail", 64), "gmail.messageId"),
        thread_id=gmail_id(_text(gmail, "threadId", "gmail", 64), "gmail.threadId"),
        gmail_access_token=_text(gmail, "accessToken", "gmail", MAX_TOKEN_CHARS),
        recipients=_recipients(gmail),
    )
