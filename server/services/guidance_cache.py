"""Reuse the database part of guidance between requests while nothing it reads has changed.

Each request first reads one *stamp* for the rep: the settings fields guidance depends on
(rep, team, org, mailbox) plus counts, highest ids and newest update times of the rep's
stored threads, the rep's get-backs, the org's templates and the org's audit log. The cached
`GuidanceBasis` of a request is reused only while that stamp is unchanged (and for at most
GUIDANCE_CACHE_SECONDS, default 300; 0 turns the cache off), so a synced message, a get-back,
a settings or template change shows in the very next answer.

The clock's part is computed from the cached basis: exactly, for each request
(`CacheEntry.guidance`), or shared by all requests within one second when the answers at
both ends of that second agree (`CacheEntry.answer`; see there why that is exact too).
Rendered plays and dumped answers are memoised by their full inputs and outputs.

The stamp is read before anything else, so an answer computed from data newer than its stamp
can only be stored under a stamp no later request will see again.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from flask import Flask, current_app
from sqlalchemy import Engine, Select, Text, bindparam, cast, func, select
from sqlalchemy.orm import Session

from server.plays import PlayContext, RenderedPlay
from server.services.guidance import (
    Guidance,
    GuidanceBasis,
    TemplateSource,
    finish_guidance,
    gather_basis,
    render_plays,
    resolve_view,
)
from server.services.templates import templates_for
from server.store.models import (
    AuditLog,
    GetBack,
    Mailbox,
    Org,
    Team,
    Template,
    ThreadState,
    User,
)

DEFAULT_MAX_AGE = 300.0
# Each entry holds a thread's facts and a few dumped answers (some kB): about 10 MB at most.
MAX_ENTRIES = 1024
# Derived results kept per cached basis (views, rendered plays, dumped answers per second).
MAX_MEMO = 64
T = TypeVar("T")


def _stats(model: Any, where: Any) -> list[Any]:
    """Row count, highest id and newest update of the rows `where` selects (one subquery each)."""
    out = [
        select(func.count()).select_from(model).where(where).scalar_subquery(),
        select(func.max(model.id)).where(where).scalar_subquery(),
    ]
    if hasattr(model, "updated_at"):
        out.append(select(func.max(model.updated_at)).where(where).scalar_subquery())
    return out


def _stamp_query() -> Select[*tuple[Any, ...]]:
    # JSON columns are read as their text and times as the driver gives them: the stamp is only
    # compared for equality, so no type conversion is needed.
    return (
        select(
            User.id,
            User.org_id,
            User.team_id,
            User.email,
            User.name,
            cast(User.aliases, Text),
            User.threshold_override_days,
            User.locale,
            User.timezone,
            Team.threshold_days,
            Team.reply_target_hours,
            cast(Org.internal_domains, Text),
            Org.timezone,
            Org.day_mode,
            Org.holiday_country,
            Org.holiday_subdiv,
            Org.default_threshold_days,
            Org.reply_target_hours,
            Mailbox.id,
            Mailbox.email,
            Mailbox.history_id,
            Mailbox.last_sync_at,
            *_stats(ThreadState, ThreadState.mailbox_id == Mailbox.id),
            *_stats(GetBack, GetBack.user_id == User.id),
            *_stats(Template, Template.org_id == User.org_id),
            *_stats(AuditLog, AuditLog.org_id == User.org_id),
        )
        .select_from(User)
        .join(Org, Org.id == User.org_id)
        .outerjoin(Team, Team.id == User.team_id)
        .outerjoin(Mailbox, Mailbox.user_id == User.id)
        .where(User.email == bindparam("email"))
    )


STAMP_QUERY = _stamp_query()
_compiled_lock = threading.Lock()
_compiled: dict[tuple[str, str, str], tuple[str, tuple[str, ...] | None]] = {}


def _stamp_sql(engine: Engine) -> tuple[str, tuple[str, ...] | None]:
    """The stamp query's SQL for this engine's dialect, and its parameter order if positional."""
    dialect = engine.dialect
    key = (dialect.name, str(dialect.driver), str(dialect.paramstyle))
    with _compiled_lock:
        found = _compiled.get(key)
        if found is None:
            compiled = STAMP_QUERY.compile(dialect=dialect)
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            found = _compiled[key] = (compiled.string, order)
    return found


@dataclass(frozen=True)
class RepStamp:
    """Who the rep is and the version of everything guidance reads for them."""

    user_id: int
    org_id: int
    team_id: int | None
    version: tuple[Hashable, ...]


def rep_stamp(engine: Engine, email: str) -> RepStamp | None:
    """One query: the rep with this email and their data version; None if there is no such user.

    Runs on a pooled DBAPI connection of its own: it is the whole database work of a cache
    hit, and the ORM session and result machinery would cost more than the query itself.
    """
    sql, order = _stamp_sql(engine)
    values = {"email": email}
    params: Any = tuple(values[name] for name in order) if order is not None else values
    conn = engine.raw_connection()
    try:
        cursor = conn.cursor()
        try:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        finally:
            cursor.close()
    finally:
        conn.close()
    if row is None:
        return None
    return RepStamp(int(row[0]), int(row[1]), row[2], tuple(row))


class CacheEntry:
    """A cached basis, the templates in force with it, and small memos of derived results."""

    __slots__ = ("version", "born", "basis", "templates", "_memo")

    def __init__(
        self,
        version: tuple[Hashable, ...],
        born: float,
        basis: GuidanceBasis,
        templates: Mapping[str, Sequence[str]],
    ) -> None:
        self.version = version
        self.born = born
        self.basis = basis
        self.templates = templates
        self._memo: dict[Hashable, Any] = {}

    def memo(self, key: Hashable, build: Callable[[], T]) -> T:
        """The value built for `key` before, else build and keep it (a few dozen at most)."""
        try:
            return self._memo[key]
        except KeyError:
            pass
        value = build()
        if len(self._memo) >= MAX_MEMO:
            self._memo.clear()
        self._memo[key] = value
        return value

    def render(
        self,
        play_ids: Sequence[str],
        ctx: PlayContext,
        templates: TemplateSource,
        proposed_at: datetime,
        revisit_at: datetime,
    ) -> list[RenderedPlay]:
        """Rendered plays, memoised by every input (the templates are fixed per entry)."""
        key = ("render", tuple(play_ids), ctx, proposed_at, revisit_at)
        plays = self.memo(
            key, lambda: tuple(render_plays(play_ids, ctx, templates, proposed_at, revisit_at))
        )
        return list(plays)

    def guidance(
        self,
        *,
        now: datetime,
        locale: str | None = None,
        timezone: str | None = None,
        proposed_at: datetime | None = None,
    ) -> Guidance:
        """The guidance at `now` for this basis (no database access)."""
        settings = self.basis.settings
        tz, loc = self.memo(
            ("view", locale, timezone, proposed_at is not None and proposed_at.tzinfo is None),
            lambda: resolve_view(settings, locale, timezone, proposed_at),
        )
        fixed = self.templates
        return finish_guidance(
            self.basis,
            now=now,
            tz=tz,
            loc=loc,
            proposed_at=proposed_at,
            templates=lambda: fixed,
            render=self.render,
        )

    def answer(
        self,
        dump: Callable[[Guidance], bytes],
        kind: Hashable,
        *,
        now: datetime,
        locale: str | None = None,
        timezone: str | None = None,
        proposed_at: datetime | None = None,
    ) -> bytes:
        """`dump` of the guidance at `now`, shared by every request in the same second.

        `kind` names the dump (answers of different dumps are kept apart). Guidance depends
        on the clock only through values that never go back as time passes (day counts,
        local dates, whether a date has passed, rounded hours), so when the answers at the
        first and the last microsecond of a second are equal, the answer is the same all
        through that second. Otherwise (a day or a due date turns over inside it) each
        request in that second is answered for its own exact time.
        """

        def at(moment: datetime) -> Guidance:
            return self.guidance(
                now=moment, locale=locale, timezone=timezone, proposed_at=proposed_at
            )

        def dumped(g: Guidance) -> bytes:
            return self.memo(("dump", kind, fingerprint(g)), lambda: dump(g))

        second = int(now.timestamp() // 1)

        def whole_second() -> bytes | None:
            start = datetime.fromtimestamp(second, UTC)
            first, last = at(start), at(start + timedelta(microseconds=999_999))
            return dumped(first) if fingerprint(first) == fingerprint(last) else None

        key = ("answer", kind, locale, timezone, proposed_at, second)
        shared = self.memo(key, whole_second)
        return shared if shared is not None else dumped(at(now))


class GuidanceCache:
    """Thread-safe LRU of guidance bases keyed by (rep id, request), checked against a stamp."""

    def __init__(
        self,
        max_age: float = DEFAULT_MAX_AGE,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_age = max(0.0, float(max_age))
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._data: OrderedDict[Hashable, CacheEntry] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, version: tuple[Hashable, ...]) -> CacheEntry | None:
        """The entry for `key` if it was stored under `version` and is not too old."""
        with self._lock:
            entry = self._data.get(key)
            if (
                entry is None
                or entry.version != version
                or self._clock() - entry.born >= self.max_age
            ):
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return entry

    def put(
        self,
        key: Hashable,
        version: tuple[Hashable, ...],
        basis: GuidanceBasis,
        templates: Mapping[str, Sequence[str]],
    ) -> CacheEntry:
        """Store a fresh entry (it replaces any older one for the same key)."""
        entry = CacheEntry(version, self._clock(), basis, templates)
        if self.max_age <= 0:
            return entry
        with self._lock:
            self._data[key] = entry
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)
            # Drop expired entries from the cold end too, so idle reps do not hold memory.
            while self._data:
                oldest = next(iter(self._data.values()))
                if entry.born - oldest.born < self.max_age:
                    break
                self._data.popitem(last=False)
        return entry

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


_cache_lock = threading.Lock()


def guidance_cache(app: Flask | None = None) -> GuidanceCache:
    """The app's cache, created on first use (max age from GUIDANCE_CACHE_SECONDS)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    with _cache_lock:
        cache = app.extensions.get("stepback_guidance_cache")
        if cache is None:
            cache = GuidanceCache(float(app.config.get("GUIDANCE_CACHE_SECONDS", DEFAULT_MAX_AGE)))
            app.extensions["stepback_guidance_cache"] = cache
    return cache


def _detached(getback: GetBack | None) -> GetBack | None:
    # A session-free copy: the cached basis outlives the request's session.
    if getback is None:
        return None
    columns = GetBack.__table__.columns.keys()
    return GetBack(**{name: getattr(getback, name) for name in columns})


def entry_for(
    stamp: RepStamp,
    load: Callable[[], tuple[Session, User]],
    *,
    recipients: Sequence[str],
    thread_id: str | None,
    cache: GuidanceCache | None = None,
) -> CacheEntry:
    """The cache entry for this rep and request, read from the database only on a miss.

    `stamp` must have been read in this request before any other data. `load` gives a
    session and the rep's User (with org, team and mailbox); it is called only on a miss.
    """
    if cache is None:  # (an empty cache is falsy: it has a length)
        cache = guidance_cache()
    key = (stamp.user_id, thread_id, tuple(str(r) for r in recipients))
    entry = cache.get(key, stamp.version)
    if entry is None:
        session, user = load()
        basis = gather_basis(session, user, recipients=recipients, thread_id=thread_id)
        basis = replace(basis, getback=_detached(basis.getback))
        templates = templates_for(session, user.org_id, user.team_id)
        entry = cache.put(key, stamp.version, basis, templates)
    return entry


def cached_guidance(
    stamp: RepStamp,
    load: Callable[[], tuple[Session, User]],
    *,
    recipients: Sequence[str],
    thread_id: str | None,
    now: datetime,
    locale: str | None = None,
    timezone: str | None = None,
    proposed_at: datetime | None = None,
    cache: GuidanceCache | None = None,
) -> tuple[Guidance, CacheEntry]:
    """Same answer as `compose_guidance`, reading the database only when the stamp changed."""
    entry = entry_for(stamp, load, recipients=recipients, thread_id=thread_id, cache=cache)
    guidance = entry.guidance(now=now, locale=locale, timezone=timezone, proposed_at=proposed_at)
    return guidance, entry


def fingerprint(g: Guidance) -> Hashable:
    """Every field of a Guidance as one hashable value (equal fingerprints dump alike)."""
    gb = g.getback
    getback = (
        None
        if gb is None
        else (
            gb.id,
            gb.kind,
            gb.gmail_thread_id,
            gb.prospect_email,
            gb.due_at,
            gb.note,
            gb.status,
            gb.created_at,
        )
    )
    return (
        g.thread_id,
        g.state,
        g.prospect,
        g.company,
        g.sentence,
        g.silent,
        g.days_silent,
        g.business_days_silent,
        g.unanswered_count,
        g.threshold_days,
        tuple(g.warnings),
        tuple(g.plays),
        getback,
        g.nag,
        g.subject,
        g.calendar_days,
        g.proposed_at,
        g.revisit_at,
        g.reply_owed_since,
        tuple(g.suggested),
    )
