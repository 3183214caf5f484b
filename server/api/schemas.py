"""Marshmallow schemas of the rep API: input and output are separate classes on purpose."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from server.engine.model import check_timezone
from server.engine.report import iso_z
from server.plays import PLAYS
from server.services.getbacks import KINDS, SURFACES
from server.store import limits
from server.store.models import GetBack, User

PROSPECT_KINDS = ("silent", "went_silent", "no_reply_yet", "reply_owed", "due")
GUIDANCE_STATES = (
    "went_silent",
    "no_reply_yet",
    "reply_owed",
    "live",
    "cold",
    "scheduled",
    "unknown",
)
THREAD_ID = validate.Regexp(
    r"^[A-Za-z0-9_-]{1,64}$", error="Use a Gmail thread id (letters, digits)."
)
LOCALE = validate.Regexp(
    r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8}){0,3}$", error="Use a locale tag such as en-US or de."
)
TIMEZONE = validate.Regexp(
    r"^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$", error="Use an IANA time zone such as Europe/Berlin."
)
MAX_NOTE = 2000


def draft_recipients() -> fields.List:
    """The draft's To/Cc addresses, sent along so the server can refuse a thread id the draft
    is not about (the same limits as guidance's)."""
    return fields.List(
        fields.Str(validate=validate.Length(min=1, max=320)),
        load_default=list,
        validate=validate.Length(max=100),
        metadata={
            "description": "The draft's To/Cc addresses; a threadId of a stored thread none "
            "of them belongs to is not used."
        },
    )
MAX_PRESSURE_TEXT = 20_000
# Stored addresses: the database's own column lengths (server.store.limits), so SQLite and
# PostgreSQL refuse the same values with the same 422.
MAX_EMAIL = min(limits.column_length(GetBack.prospect_email), limits.column_length(User.email))
# Dates we accept at all, in UTC: wide enough for any real schedule, and far enough from
# datetime's own ends (year 1 and 9999) that converting an offset or adding days never
# overflows.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
NO_CONTROL = "Must not contain NUL or other control characters."
DATES = "between 2000-01-01 and 2200-01-01 UTC"


# The same rule as limits.has_control, as a pattern the OpenAPI document carries.
no_control = validate.Regexp(r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$", error=NO_CONTROL)


def known_zone(value: str) -> None:
    """Refuse names that are not loadable zones ("America" is a folder, not a zone)."""
    try:
        check_timezone(value)
    except ValueError:
        raise ValidationError(
            f"'{value[:64]}' is not an IANA time zone; use one such as Europe/Berlin."
        ) from None


class UtcDateTime(fields.AwareDateTime):
    """Read ISO 8601 with an explicit offset; write UTC with a trailing Z."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            utc = moment.astimezone(UTC)
        except (OverflowError, ValueError):
            # 0001-01-01T00:00:00+14:00 is a year before datetime's first one in UTC.
            raise ValidationError(f"Give a date {DATES}.") from None
        if not EARLIEST <= utc < LATEST:
            raise ValidationError(f"Give a date {DATES}.")
        return moment

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise ValidationError("Not a datetime.")
        return iso_z(value)


def _non_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


# ---------------------------------------------------------------- shared output pieces


class ErrorBodySchema(Schema):
    code = fields.Int(required=True)
    message = fields.Str(required=True)
    reason = fields.Str()
    field_errors = fields.Dict(
        data_key="fields", metadata={"description": "Per-field messages for invalid input."}
    )


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


class PersonSchema(Schema):
    email = fields.Str(required=True)
    name = fields.Str(required=True, metadata={"description": "Display name; plain data."})


class WarningSchema(Schema):
    code = fields.Str(required=True)
    message = fields.Str(required=True)
    count = fields.Int(allow_none=True)


class GetBackOutSchema(Schema):
    id = fields.Int(required=True)
    kind = fields.Str(required=True, validate=validate.OneOf(KINDS))
    thread_id = fields.Str(attribute="gmail_thread_id", data_key="threadId", allow_none=True)
    prospect_email = fields.Str(data_key="prospectEmail", allow_none=True)
    due_at = UtcDateTime(data_key="dueAt", required=True)
    note = fields.Str(required=True)
    status = fields.Str(required=True)
    created_at = UtcDateTime(data_key="createdAt", allow_none=True)


class GetBackListSchema(Schema):
    items = fields.List(fields.Nested(GetBackOutSchema), required=True)


# ---------------------------------------------------------------- /me


class OrgRefSchema(Schema):
    slug = fields.Str(required=True)
    name = fields.Str(required=True)


class TeamRefSchema(Schema):
    id = fields.Int(required=True)
    name = fields.Str(required=True)


class MeSchema(Schema):
    email = fields.Str(required=True)
    name = fields.Str(required=True)
    role = fields.Str(required=True)
    org = fields.Nested(OrgRefSchema, required=True)
    team = fields.Nested(TeamRefSchema, allow_none=True)
    threshold_days = fields.Int(data_key="thresholdDays", required=True)
    day_mode = fields.Str(
        data_key="dayMode", required=True, validate=validate.OneOf(("business", "calendar"))
    )
    reply_target_hours = fields.Float(data_key="replyTargetHours", required=True)
    timezone = fields.Str(required=True)
    locale = fields.Str(required=True)
    mailbox_status = fields.Str(data_key="mailboxStatus", allow_none=True)
    last_sync_at = UtcDateTime(data_key="lastSyncAt", allow_none=True)


# ---------------------------------------------------------------- /prospects


class ProspectsQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    kind = fields.Str(validate=validate.OneOf(PROSPECT_KINDS))
    page = fields.Int(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Int(load_default=25, validate=validate.Range(min=1, max=100))


class ProspectItemSchema(Schema):
    kind = fields.Str(
        required=True, validate=validate.OneOf(("went_silent", "no_reply_yet", "reply_owed", "due"))
    )
    thread_id = fields.Str(data_key="threadId", allow_none=True)
    subject = fields.Str(required=True)
    prospect = fields.Nested(PersonSchema, allow_none=True)
    since = UtcDateTime(
        allow_none=True, metadata={"description": "Silent since / waiting since / due at."}
    )
    days_silent = fields.Int(data_key="daysSilent", allow_none=True)
    business_days_silent = fields.Int(data_key="businessDaysSilent", allow_none=True)
    unanswered_count = fields.Int(data_key="unansweredCount", allow_none=True)
    hours_waiting = fields.Float(data_key="hoursWaiting", allow_none=True)
    warnings = fields.List(fields.Nested(WarningSchema), required=True)
    getback = fields.Nested(GetBackOutSchema, allow_none=True)


class ProspectPageSchema(Schema):
    items = fields.List(fields.Nested(ProspectItemSchema), required=True)
    page = fields.Int(required=True)
    per_page = fields.Int(required=True)
    total = fields.Int(required=True)


# ---------------------------------------------------------------- /guidance


class GuidanceInSchema(Schema):
    recipients = fields.List(
        fields.Str(
            validate=[validate.Length(min=1, max=limits.EMAIL), no_control],
            metadata={"description": f"No control characters. {NO_CONTROL}"},
        ),
        load_default=list,
        validate=validate.Length(max=100),
        metadata={
            "description": "Addresses on the draft (To and Cc); 'Name <addr>' is fine. "
            "An empty list needs a threadId (else 422)."
        },
    )
    thread_id = fields.Str(
        data_key="threadId",
        load_default=None,
        allow_none=True,
        validate=THREAD_ID,
        metadata={"description": "Required (not null) when no recipients are given: else 422."},
    )
    locale = fields.Str(load_default=None, allow_none=True, validate=LOCALE)
    timezone = fields.Str(
        load_default=None,
        allow_none=True,
        validate=[TIMEZONE, known_zone],
        metadata={
            "description": "An IANA zone name; unknown zones and folder names such as "
            "'America' or 'Etc' get 422."
        },
    )
    proposed_at = UtcDateTime(
        data_key="proposedAt",
        load_default=None,
        allow_none=True,
        metadata={
            "description": "Slot for the get-back play (with offset); default: 3 business days. "
            f"Dates outside {DATES} get 422."
        },
    )

    @validates_schema
    def _something_to_look_at(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("recipients") and not data.get("thread_id"):
            raise ValidationError("Give recipients or a threadId.", "recipients")


class RenderedPlaySchema(Schema):
    play = fields.Str(required=True)
    variant = fields.Int(required=True)
    title = fields.Str(required=True)
    text = fields.Str(
        required=True, metadata={"description": "Plain text; escape before use in HTML."}
    )
    insertable = fields.Bool(required=True)
    channel = fields.Function(lambda p: PLAYS[p.play].channel, required=True)


class GuidanceOutSchema(Schema):
    thread_id = fields.Str(data_key="threadId", allow_none=True)
    state = fields.Str(required=True, validate=validate.OneOf(GUIDANCE_STATES))
    prospect = fields.Nested(PersonSchema, allow_none=True)
    company = fields.Str(required=True)
    subject = fields.Str(required=True)
    sentence = fields.Str(required=True)
    silent = fields.Bool(required=True)
    nag = fields.Bool(required=True, metadata={"description": "False: show nothing pushy."})
    days_silent = fields.Int(data_key="daysSilent", allow_none=True)
    business_days_silent = fields.Int(data_key="businessDaysSilent", allow_none=True)
    unanswered_count = fields.Int(data_key="unansweredCount", required=True)
    threshold_days = fields.Int(data_key="thresholdDays", required=True)
    day_mode = fields.Function(
        lambda g: "calendar" if g.calendar_days else "business", data_key="dayMode", required=True
    )
    reply_owed_since = UtcDateTime(data_key="replyOwedSince", allow_none=True)
    warnings = fields.List(fields.Nested(WarningSchema), required=True)
    plays = fields.List(fields.Nested(RenderedPlaySchema), required=True)
    proposed_at = UtcDateTime(data_key="proposedAt", allow_none=True)
    revisit_at = UtcDateTime(data_key="revisitAt", allow_none=True)
    getback = fields.Nested(GetBackOutSchema, allow_none=True)


# ---------------------------------------------------------------- /pressure-check


class PressureInSchema(Schema):
    text = fields.Str(required=True, validate=validate.Length(max=MAX_PRESSURE_TEXT))


class FindingSchema(Schema):
    rule_id = fields.Str(data_key="ruleId", required=True)
    category = fields.Str(required=True)
    start = fields.Int(required=True, metadata={"description": "Code point offset."})
    end = fields.Int(required=True)
    text = fields.Str(required=True)
    why = fields.Str(required=True)
    suggestion = fields.Str(required=True)


class PressureOutSchema(Schema):
    findings = fields.List(fields.Nested(FindingSchema), required=True)


# ---------------------------------------------------------------- /getbacks


DUE_AT = (
    "ISO 8601 with a UTC offset; in the future and at most two years ahead "
    "(a past date, or one further ahead, gets 422)."
)
NOTE = (
    f"Plain text up to {MAX_NOTE} characters; new lines are fine, other control characters get 422."
)


class GetBackCreateSchema(Schema):
    thread_id = fields.Str(
        data_key="threadId",
        load_default=None,
        validate=THREAD_ID,
        metadata={"description": "Required when no prospectEmail is given (else 422)."},
    )
    prospect_email = fields.Email(
        data_key="prospectEmail",
        load_default=None,
        validate=validate.Length(max=MAX_EMAIL),
        metadata={"description": "Required when no threadId is given (else 422)."},
    )
    due_at = UtcDateTime(data_key="dueAt", required=True, metadata={"description": DUE_AT})
    note = fields.Str(
        load_default="",
        validate=[validate.Length(max=MAX_NOTE), no_control],
        metadata={"description": NOTE},
    )
    kind = fields.Str(load_default="getback", validate=validate.OneOf(KINDS))
    recipients = draft_recipients()

    @validates_schema
    def _who(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("thread_id") and not data.get("prospect_email"):
            raise ValidationError("Give a threadId or a prospectEmail.", "threadId")


class GetBackPatchSchema(Schema):
    """Give dueAt, note or both."""

    due_at = UtcDateTime(data_key="dueAt", load_default=None, metadata={"description": DUE_AT})
    note = fields.Str(
        load_default=None,
        validate=[validate.Length(max=MAX_NOTE), no_control],
        metadata={"description": NOTE},
    )

    @validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("due_at") is None and data.get("note") is None:
            raise ValidationError("Give dueAt or note to change.", "_schema")


class GetBackQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    due = fields.Bool(
        load_default=False, metadata={"description": "1: only those whose date has come."}
    )


# ---------------------------------------------------------------- /plays/inserted


class PlayInsertedInSchema(Schema):
    thread_id = fields.Str(data_key="threadId", load_default=None, validate=THREAD_ID)
    play = fields.Str(required=True, validate=validate.OneOf(tuple(PLAYS)))
    variant = fields.Int(
        required=True,
        strict=True,
        validate=validate.Range(min=0, max=99),
        metadata={
            "description": "Index of a variant the play has in the rep's templates; "
            "an index the play does not have gets 422."
        },
    )
    surface = fields.Str(load_default="extension", validate=validate.OneOf(SURFACES))
    recipients = draft_recipients()


class PlayEventOutSchema(Schema):
    id = fields.Int(required=True)
    thread_id = fields.Str(attribute="gmail_thread_id", data_key="threadId", allow_none=True)
    play = fields.Str(required=True)
    variant = fields.Int(required=True)
    surface = fields.Str(required=True)
    created_at = UtcDateTime(data_key="createdAt", required=True)


# ---------------------------------------------------------------- /day (the toolbar popup)


class DayQuerySchema(Schema):
    class Meta:
        unknown = EXCLUDE

    silent_limit = fields.Int(
        data_key="silentLimit",
        load_default=5,
        validate=validate.Range(min=0, max=50),
        metadata={"description": "How many silent prospects to list (the first few)."},
    )


class DayItemSchema(Schema):
    kind = fields.Str(
        required=True, validate=validate.OneOf(("due", "reply_owed", "went_silent", "no_reply_yet"))
    )
    thread_id = fields.Str(data_key="threadId", allow_none=True)
    subject = fields.Str(required=True)
    prospect = fields.Nested(PersonSchema, allow_none=True)
    sentence = fields.Str(required=True, metadata={"description": "Where things stand; plain."})
    detail = fields.Str(
        required=True, metadata={"description": "Agreed date and time, or how long it waited."}
    )
    since = UtcDateTime(
        allow_none=True, metadata={"description": "Due at / waiting since / silent since."}
    )
    hours_waiting = fields.Float(data_key="hoursWaiting", allow_none=True)
    days_silent = fields.Int(data_key="daysSilent", allow_none=True)
    business_days_silent = fields.Int(data_key="businessDaysSilent", allow_none=True)
    getback = fields.Nested(GetBackOutSchema, allow_none=True)
    week_later = UtcDateTime(
        data_key="weekLater",
        allow_none=True,
        metadata={"description": "The dueAt that 'a week later' moves a due get-back to."},
    )


class DayCountsSchema(Schema):
    badge = fields.Int(required=True, metadata={"description": "Due get-backs + owed replies."})
    due = fields.Int(required=True)
    reply_owed = fields.Int(data_key="replyOwed", required=True)
    silent = fields.Int(required=True)


class DayOutSchema(Schema):
    email = fields.Str(required=True, metadata={"description": "The rep's Gmail account."})
    timezone = fields.Str(required=True)
    locale = fields.Str(required=True)
    now = UtcDateTime(
        required=True, metadata={"description": "The server's time the day was judged at."}
    )
    due = fields.List(fields.Nested(DayItemSchema), required=True)
    reply_owed = fields.List(fields.Nested(DayItemSchema), data_key="replyOwed", required=True)
    silent = fields.List(fields.Nested(DayItemSchema), required=True)
    counts = fields.Nested(DayCountsSchema, required=True)
