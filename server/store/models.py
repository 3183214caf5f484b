"""SQLAlchemy 2 models. Multi-org from the start: every row hangs off an org."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Store aware datetimes; always hand back aware UTC (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Org(Base):
    __tablename__ = "orgs"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    internal_domains: Mapped[list[Any]] = mapped_column(default=list)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # "business" counts Mon–Fri (minus holidays), "calendar" counts every day.
    day_mode: Mapped[str] = mapped_column(String(16), default="business")
    holiday_country: Mapped[str | None] = mapped_column(String(8))
    holiday_subdiv: Mapped[str | None] = mapped_column(String(16))
    default_threshold_days: Mapped[int] = mapped_column(Integer, default=5)
    # How far back silence counts and the first sync reads (issue 17's age horizon).
    default_horizon_days: Mapped[int] = mapped_column(Integer, default=180)
    reply_target_hours: Mapped[float] = mapped_column(Float, default=24.0)
    # Workspace domain-wide delegation: service account email and key (encrypted).
    dwd_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    dwd_service_account: Mapped[str | None] = mapped_column(String(320))
    dwd_key_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    teams: Mapped[list[Team]] = relationship(back_populates="org", cascade="all, delete-orphan")
    users: Mapped[list[User]] = relationship(back_populates="org", cascade="all, delete-orphan")


class Team(Base):
    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    # None: the org's default threshold applies.
    threshold_days: Mapped[int | None] = mapped_column(Integer)
    reply_target_hours: Mapped[float | None] = mapped_column(Float)
    horizon_days: Mapped[int | None] = mapped_column(Integer)  # None: the org's default
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    org: Mapped[Org] = relationship(back_populates="teams")
    members: Mapped[list[User]] = relationship(back_populates="team")


class User(Base):
    """A person of an org: a rep, an admin, or both (admins may also sell)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), index=True
    )
    # One identity belongs to one org: the lowercased Google account address.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16), default="rep")  # "rep" | "admin"
    aliases: Mapped[list[Any]] = mapped_column(default=list)
    threshold_override_days: Mapped[int | None] = mapped_column(Integer)
    locale: Mapped[str] = mapped_column(String(16), default="en")
    timezone: Mapped[str | None] = mapped_column(String(64))
    # Hash for the demo's local sign-in only (werkzeug.security); None for real users.
    local_password_hash: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    org: Mapped[Org] = relationship(back_populates="users")
    team: Mapped[Team | None] = relationship(back_populates="members")
    mailbox: Mapped[Mailbox | None] = relationship(back_populates="user", uselist=False)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class Mailbox(Base):
    """A rep's connected Gmail account and the sync bookkeeping for it."""

    __tablename__ = "mailboxes"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    # "new" | "syncing" | "ok" | "error" | "reconnect_needed"
    status: Mapped[str] = mapped_column(String(24), default="new")
    auth_kind: Mapped[str] = mapped_column(String(16), default="oauth")  # "oauth" | "dwd" | "none"
    refresh_token_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    granted_scopes: Mapped[str] = mapped_column(Text, default="")
    history_id: Mapped[str | None] = mapped_column(String(32))
    # Resumable full sync: where the listing stopped and which threads are done.
    full_sync_state: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    last_sync_at: Mapped[datetime | None] = mapped_column()
    last_full_sync_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    threads_synced: Mapped[int] = mapped_column(Integer, default=0)
    messages_skipped: Mapped[int] = mapped_column(Integer, default=0)
    watch_expiration: Mapped[datetime | None] = mapped_column()
    last_push_at: Mapped[datetime | None] = mapped_column()
    # Threads a sync could not fetch yet (Gmail kept refusing): retried until stored or 404.
    pending_threads: Mapped[list[Any]] = mapped_column(default=list)
    pending_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_retry_at: Mapped[datetime | None] = mapped_column()
    # An admin's one-off "read back to this date" for the next full sync.
    sync_since: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="mailbox")


class ThreadState(Base):
    """Derived, body-free state of one Gmail thread, kept so the engine can re-run cheaply.

    `messages` holds each message's id, labels, internalDate and only the headers the
    engine reads (addresses, subject, automatic-mail markers). Never a body or snippet.
    """

    __tablename__ = "thread_states"
    __table_args__ = (
        UniqueConstraint("mailbox_id", "gmail_thread_id"),
        Index("ix_thread_states_candidates", "mailbox_id", "kind", "silent_since"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    gmail_thread_id: Mapped[str] = mapped_column(String(64))
    history_id: Mapped[str | None] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(Text, default="")
    messages: Mapped[list[Any]] = mapped_column(default=list)
    participants: Mapped[list[Any]] = mapped_column(default=list)
    kind: Mapped[str | None] = mapped_column(String(16))  # went_silent | no_reply_yet | None
    silent_since: Mapped[datetime | None] = mapped_column()
    unanswered_count: Mapped[int] = mapped_column(Integer, default=0)
    prospect_email: Mapped[str | None] = mapped_column(String(320), index=True)
    prospect_name: Mapped[str | None] = mapped_column(Text)
    reply_owed_since: Mapped[datetime | None] = mapped_column()
    last_message_at: Mapped[datetime | None] = mapped_column()
    last_answer_at: Mapped[datetime | None] = mapped_column()
    warnings: Mapped[list[Any]] = mapped_column(default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class GetBack(Base):
    """A scheduled get-back date, or a prospect parked in the cold file with a revisit date."""

    __tablename__ = "getbacks"
    __table_args__ = (Index("ix_getbacks_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    gmail_thread_id: Mapped[str | None] = mapped_column(String(64))
    prospect_email: Mapped[str | None] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(16), default="getback")  # getback | cold_file
    due_at: Mapped[datetime] = mapped_column()
    note: Mapped[str] = mapped_column(Text, default="")
    # scheduled → due (reminded) → done; or cancelled
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    reminded_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Template(Base):
    """An admin's wording for one play variant; team_id None is the org-wide wording."""

    __tablename__ = "templates"
    __table_args__ = (UniqueConstraint("org_id", "team_id", "play", "variant"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    play: Mapped[str] = mapped_column(String(40))
    variant: Mapped[int] = mapped_column(Integer, default=0)
    body: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(320), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PlayEvent(Base):
    """A play a rep inserted; `answered_at` is filled when the prospect answers afterwards."""

    __tablename__ = "play_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    gmail_thread_id: Mapped[str | None] = mapped_column(String(64))
    play: Mapped[str] = mapped_column(String(40))
    variant: Mapped[int] = mapped_column(Integer, default=0)
    surface: Mapped[str] = mapped_column(String(16), default="extension")  # extension | addon
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column()


class AuditLog(Base):
    """Who changed which setting, from what to what."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    actor_email: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(80))
    target: Mapped[str] = mapped_column(String(200), default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SyncLock(Base):
    """One row per mailbox taken FOR UPDATE while a worker syncs it (portable lock)."""

    __tablename__ = "sync_locks"

    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="CASCADE"), primary_key=True
    )
    holder: Mapped[str] = mapped_column(String(120), default="")
    acquired_at: Mapped[datetime | None] = mapped_column()
    generation: Mapped[int] = mapped_column(BigInteger, default=0)


class WebSession(Base):
    """A signed-in web session; the cookie holds only a random key whose SHA-256 is `id`.

    Deleting the row ends the session at once (sign-out, removal). The org and role it was
    granted for are kept, so a demotion or an org change ends it too, whoever made it.
    """

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class GmailQuota(Base):
    """Gmail quota units the whole deployment spent in one minute or one Pacific day."""

    __tablename__ = "gmail_quota"

    scope: Mapped[str] = mapped_column(String(8), primary_key=True)  # "minute" | "day"
    period: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    units: Mapped[int] = mapped_column(BigInteger, default=0)
