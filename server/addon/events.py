"""Read the event object Google posts to an add-on endpoint (Workspace HTTP runtime).

Only the fields stepback uses are read; everything is type-checked so a malformed
event becomes a clear 400 instead of an exception deep in a view.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from server.engine.model import check_timezone
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
MAX_SCOPES = 50
MAX_SCOPE_CHARS = 300
# proto3 JSON writes int64 as a decimal string; only ASCII digits are digits here.
_INT64 = re.compile(r"-?[0-9]{1,16}")
# UTC offsets in use run from -12:00 to +14:00; anything past a day is not an offset.
MAX_OFFSET_MS = 26 * 3600 * 1000
# A date-only pick carries no time of day; the get-back lands at this local hour.
DATE_ONLY_HOUR = 10
# Picked moments outside these years cannot be a get-back date (and some cannot even be
# shown in every zone: year 1 at UTC-5 is before datetime's range).
MIN_PICK = datetime(2000, 1, 1, tzinfo=UTC)
MAX_PICK = datetime(2200, 1, 1, tzinfo=UTC)


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
    # authorizationEventObject.authorizedScopes: what the user granted (granular consent);
    # None when Google sent no list (a deployment that has not opted in).
    authorized_scopes: tuple[str, ...] | None = None

    def param(self, name: str, default: str = "") -> str:
        """Return an action parameter (as sent back by Google), or `default`."""
        return self.parameters.get(name, default)

    def string_input(self, name: str) -> str | None:
        """The first value of a text/selection widget from formInputs, if any.

        Google's shape: formInputs.<name>.stringInputs.value is a list of strings
        (Workspace add-ons event objects, "Form inputs"). Any other shape is a 400.
        """
        entry = self.form_inputs.get(name)
        if entry is None:
            return None
        if not isinstance(entry, Mapping):
            raise bad_event(f"formInputs.{name} must be an object")
        inputs = entry.get("stringInputs")
        if inputs is None:
            return None
        if not isinstance(inputs, Mapping):
            raise bad_event(f"formInputs.{name}.stringInputs must be an object")
        values = inputs.get("value")
        if values is None or values == []:
            return None
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise bad_event(f"formInputs.{name}.stringInputs.value must hold strings")
        if len(values[0]) > MAX_PARAM_CHARS:
            raise bad_event(f"formInputs.{name} is too long")
        return values[0]

    def datetime_input(self, name: str, timezone: str) -> datetime | None:
        """The moment picked in a dateTimePicker, as aware UTC; None without a date.

        Google's DateTimeInput carries msSinceEpoch, hasDate and hasTime; a DATE_ONLY
        picker answers with dateInput.msSinceEpoch. A value without a time of day is
        "a calendar date at 00:00:00 UTC" (google.apps.card.v1 DateTimePicker,
        valueMsEpoch), so it is read as that calendar date at DATE_ONLY_HOUR in the
        user's `timezone`, never as midnight UTC. proto3 JSON leaves false booleans out,
        so once either flag is present a missing one means false; a value with neither
        flag (older clients) is read as a full date and time.
        """
        entry = self.form_inputs.get(name)
        if not isinstance(entry, Mapping):
            return None
        picked = entry.get("dateTimeInput")
        date_only = False
        if picked is None and "dateInput" in entry:
            picked, date_only = entry.get("dateInput"), True
        if not isinstance(picked, Mapping) or "msSinceEpoch" not in picked:
            return None
        has_date = picked.get("hasDate")
        has_time = picked.get("hasTime")
        for flag, value in (("hasDate", has_date), ("hasTime", has_time)):
            if value is not None and not isinstance(value, bool):
                raise bad_event(f"formInputs.{name}.{flag} must be true or false")
        if not date_only and (has_date is not None or has_time is not None):
            if not has_date:
                return None  # a time without a day is no get-back date
            date_only = not has_time
        moment = _epoch_ms(picked["msSinceEpoch"], f"formInputs.{name}.msSinceEpoch")
        if not MIN_PICK <= moment < MAX_PICK:
            # A person picked it: a notification, not a 400 (see views._action).
            raise ApiError(422, "Invalid input.",
                           fields={name: ["Pick a date within the next two years."]})
        if date_only:
            day = moment.date()  # the calendar date, taken in UTC as Google sends it
            local = datetime.combine(day, time(DATE_ONLY_HOUR), tzinfo=ZoneInfo(timezone))
            moment = local.astimezone(UTC)
        return moment


def _epoch_ms(raw: Any, where: str) -> datetime:
    """Milliseconds since the epoch (a number or proto3's int64 string) as aware UTC."""
    if isinstance(raw, str) and _INT64.fullmatch(raw.strip()):
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise bad_event(f"{where} must be a number")
    if isinstance(raw, float) and not math.isfinite(raw):
        raise bad_event(f"{where} must be a finite number")
    try:
        return datetime.fromtimestamp(raw / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise bad_event(f"{where} is out of range") from exc


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
            # One check for every zone id: "America" or "Etc" are folders, not zones.
            check_timezone(name)
        except ValueError:
            name = None  # an unknown zone falls back to the rep's own setting
    offset = tz.get("offset")
    if offset is None:
        return name, None
    if isinstance(offset, bool) or not isinstance(offset, int | float):
        raise bad_event("commonEventObject.timeZone.offset must be a number")
    if isinstance(offset, float) and not math.isfinite(offset):
        # Python's JSON reader accepts NaN and Infinity; Google never sends them.
        raise bad_event("commonEventObject.timeZone.offset must be a finite number")
    if abs(offset) > MAX_OFFSET_MS:
        return name, None  # not a real offset; nothing depends on it
    return name, int(offset)


def _scopes(auth: Mapping[str, Any]) -> tuple[str, ...] | None:
    """authorizationEventObject.authorizedScopes: a list of scope strings, or None."""
    scopes = auth.get("authorizedScopes")
    if scopes is None:
        return None
    where = "authorizationEventObject.authorizedScopes"
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise bad_event(f"{where} must be a list of strings")
    if len(scopes) > MAX_SCOPES or any(len(s) > MAX_SCOPE_CHARS for s in scopes):
        raise bad_event(f"{where} is too long")
    return tuple(s.strip() for s in scopes if s.strip())


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
        authorized_scopes=_scopes(auth),
    )
