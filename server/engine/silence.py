"""Find silent prospects and owed replies in Gmail thread metadata (DESIGN section 2)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .automatic import AUTO_REPLY, BOUNCE, CALENDAR, return_date
from .calendar import as_utc, business_days_between, days_between
from .headers import (
    auto_response_in,
    decode_words,
    headers_of,
    mime_type_of,
    parse_addresses,
    part_types_of,
    sender_in,
    verdict_in,
)
from .model import (
    NO_REPLY_YET,
    WENT_SILENT,
    AwayNote,
    MailboxContext,
    Person,
    ReplyOwedVerdict,
    ScanResult,
    SilentVerdict,
    ThreadFacts,
    Threshold,
    Warning,
)
from .report import scan_to_json, scan_to_table
from .warnings import (
    away_warning,
    bounce_warning,
    chasing_warning,
    single_contact_warning,
    with_time_warnings,
)

__all__ = [
    "analyze_thread",
    "domain_sender_index",
    "reply_owed_verdict",
    "scan",
    "scan_to_json",
    "scan_to_table",
    "silence_verdict",
]

# Drafts are never mail that happened. Trash still counts (the rep binned a "not interested",
# which is an answer); Spam counts only from the prospect's side (see considered_messages).
IGNORED_LABELS = frozenset({"DRAFT"})
SPAM = "SPAM"
TRASH = "TRASH"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Roles a considered message can play.
OURS = "ours"  # SENT by the rep (any alias), written by a person
ANSWER = "answer"  # inbound, from an external address, not automatic
INTERNAL = "internal"  # inbound from a colleague or the rep, or without a usable sender
AUTO = "auto"  # automatic inbound, or the rep's own auto-responder
CALENDARED = "calendar"  # a meeting response: ends a silence, never owes a reply


@dataclass(frozen=True)
class _Message:
    id: str
    millis: int
    role: str
    sender: Person | None
    external_to: tuple[Person, ...]
    external_cc: tuple[Person, ...]
    subject: str
    auto_kind: str | None = None  # which machine wrote an AUTO message (automatic.py kinds)
    failed: tuple[str, ...] = ()  # addresses a bounce names (X-Failed-Recipients)
    spam: bool = False
    trash: bool = False

    @property
    def at(self) -> datetime:
        return _to_datetime(self.millis)


def _to_datetime(millis: int) -> datetime:
    try:
        return _EPOCH + timedelta(milliseconds=millis)
    except OverflowError:
        return _EPOCH


def _millis(message: Mapping[str, Any]) -> int:
    raw = message.get("internalDate")
    if isinstance(raw, bool):
        return 0
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        return int(raw) if raw == raw and abs(raw) < 1e17 else 0
    if isinstance(raw, str):
        try:
            return int(raw.strip())
        except ValueError:
            return 0
    return 0


def _labels(message: Mapping[str, Any]) -> frozenset[str]:
    raw = message.get("labelIds")
    if not isinstance(raw, list):
        return frozenset()
    return frozenset(label for label in raw if isinstance(label, str))


def _read_message(message: Mapping[str, Any], ctx: MailboxContext) -> _Message:
    labels = _labels(message)
    headers = headers_of(message)
    frm = sender_in(headers)
    to, cc = parse_addresses(headers.get("to")), parse_addresses(headers.get("cc"))
    subject = decode_words(headers.get("subject", ""))
    auto_kind: str | None = None
    failed: tuple[str, ...] = ()
    if "SENT" in labels:
        role = AUTO if auto_response_in(headers) else OURS
        auto_kind = AUTO_REPLY if role == AUTO else None
    else:
        verdict = verdict_in(headers, mime_type_of(message), part_types_of(message))
        if verdict.automatic:
            role, auto_kind = AUTO, verdict.kind
            if verdict.kind == BOUNCE:
                failed = tuple(p.email for p in parse_addresses(headers.get("x-failed-recipients")))
        elif frm is not None and ctx.is_internal(frm.email):
            role = INTERNAL
        elif verdict.kind == CALENDAR and frm is not None:
            role = CALENDARED
        elif frm is not None:
            role = ANSWER
        else:
            role = INTERNAL
    raw_id = message.get("id")
    return _Message(
        id=raw_id if isinstance(raw_id, str) else "",
        millis=_millis(message),
        role=role,
        sender=frm,
        external_to=tuple(p for p in to if not ctx.is_internal(p.email)),
        external_cc=tuple(p for p in cc if not ctx.is_internal(p.email)),
        subject=subject,
        auto_kind=auto_kind,
        failed=failed,
        spam=SPAM in labels,
        trash=TRASH in labels,
    )


def _messages(thread: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    raw = thread.get("messages") if isinstance(thread, Mapping) else None
    if not isinstance(raw, list):
        return []
    return [m for m in raw if isinstance(m, Mapping) and not (_labels(m) & IGNORED_LABELS)]


def considered_messages(thread: Mapping[str, Any], ctx: MailboxContext) -> list[_Message]:
    """Return the thread's messages that count, oldest first (internalDate, then id).

    Mail in Spam counts only when it comes from a domain the rep wrote to in this thread
    (Gmail's filter misjudged the prospect); other Spam is not part of the conversation.
    """
    read = [_read_message(m, ctx) for m in _messages(thread)]
    # Only an answer survives the Trash: mail the rep sent and then binned (or a colleague's, or
    # a robot's) is not part of the conversation, and Gmail's threads.list leaves a thread that
    # is wholly in the Trash out of a sync, so counting it would differ between file and sync.
    read = [m for m in read if not m.trash or m.role in (ANSWER, CALENDARED)]
    if any(m.spam for m in read):
        ours = {_domain(p.email) for m in read if m.role == OURS and not m.spam
                for p in (*m.external_to, *m.external_cc)}
        read = [m for m in read
                if not m.spam or (m.role != OURS and m.sender is not None
                                  and _domain(m.sender.email) in ours)]
    read.sort(key=lambda m: (m.millis, m.id))
    return read


def _thread_id(thread: Mapping[str, Any]) -> str:
    raw = thread.get("id") if isinstance(thread, Mapping) else None
    if isinstance(raw, str) and raw:
        return raw
    for message in _messages(thread) or []:
        tid = message.get("threadId")
        if isinstance(tid, str) and tid:
            return tid
    return ""


def _domain(email: str) -> str:
    return email.rpartition("@")[2]


def _named(person: Person, messages: list[_Message]) -> Person:
    """Fill in a missing display name from elsewhere in the thread (their own From first)."""
    if person.name:
        return person
    seen = [m.sender for m in messages if m.sender]
    seen += [p for m in messages for p in (*m.external_to, *m.external_cc)]
    for other in seen:
        if other.email == person.email and other.name:
            return Person(email=person.email, name=other.name)
    return person


def _reply_gaps(messages: list[_Message]) -> list[timedelta]:
    """Time from the first of each run of our messages to the answer that ended it."""
    gaps: list[timedelta] = []
    run_start: datetime | None = None
    for message in messages:
        if message.role == OURS and (message.external_to or message.external_cc):
            if run_start is None:
                run_start = message.at
        elif message.role == ANSWER and run_start is not None:
            gaps.append(message.at - run_start)
            run_start = None
    return gaps


def analyze_thread(
    thread: Mapping[str, Any],
    ctx: MailboxContext,
    domain_senders: Mapping[str, frozenset[str]] | None = None,
    *,
    now: datetime | None = None,
) -> ThreadFacts:
    """Work out who owes whom in one thread; pass `now` to add time-based warnings too."""
    facts = _facts(_thread_id(thread), considered_messages(thread, ctx), domain_senders)
    return with_time_warnings(facts, now) if now is not None else facts


def _facts(
    thread_id: str,
    messages: list[_Message],
    domain_senders: Mapping[str, frozenset[str]] | None,
) -> ThreadFacts:
    # A calendar response ends a silence like an answer does (but never owes a reply).
    answers = [i for i, m in enumerate(messages) if m.role in (ANSWER, CALENDARED)]
    after = answers[-1] + 1 if answers else 0
    run = [m for m in messages[after:] if m.role == OURS and (m.external_to or m.external_cc)]
    external_senders = tuple(
        sorted({m.sender.email for m in messages if m.role == ANSWER and m.sender})
    )
    since_answer = messages[after:]
    bounces = [m for m in since_answer if m.role == AUTO and m.auto_kind == BOUNCE]
    dead = {email for m in bounces for email in m.failed}

    kind: str | None = None
    prospect: Person | None = None
    if run:
        kind = WENT_SILENT if answers else NO_REPLY_YET
        newest = run[-1]
        recipients = newest.external_to or newest.external_cc
        # Never point the rep at an address that bounced when a live recipient is there.
        live = [p for p in (*newest.external_to, *newest.external_cc) if p.email not in dead]
        prospect = _named((live or list(recipients))[0], messages)
    prospect_domain = _domain(prospect.email) if prospect else None
    away = _away(since_answer, prospect_domain) if run else None

    # Reply owed: the newest message written by a person is an answer from outside.
    owed_since: datetime | None = None
    owed_from: Person | None = None
    people = [m for m in messages if m.role not in (AUTO, CALENDARED)]
    if people and people[-1].role == ANSWER:
        owed_since = people[-1].at
        owed_from = _named(people[-1].sender, messages) if people[-1].sender else None

    warnings: list[Warning] = []
    chase = chasing_warning(len(run))
    if chase:
        warnings.append(chase)
    if run and bounces:
        addressed = {p.email for m in run for p in (*m.external_to, *m.external_cc)}
        warnings.append(bounce_warning(sorted(dead & addressed) or sorted(dead),
                                       prospect, len(addressed)))
    if away is not None:
        warnings.append(away_warning(away))
    if prospect_domain:
        senders = set(external_senders)
        if domain_senders is not None:
            senders |= domain_senders.get(prospect_domain, frozenset())
        single = single_contact_warning(prospect_domain, senders)
        if single:
            warnings.append(single)

    gaps = _reply_gaps(messages)
    return ThreadFacts(
        thread_id=thread_id,
        subject=next((m.subject for m in messages if m.subject), ""),
        kind=kind,
        silent_since=run[0].at if run else None,
        unanswered_count=len(run),
        prospect=prospect,
        prospect_domain=prospect_domain,
        reply_owed_since=owed_since,
        reply_owed_from=owed_from,
        last_message_at=messages[-1].at if messages else None,
        last_answer_at=messages[answers[-1]].at if answers else None,
        answer_count=len(answers),
        external_senders=external_senders,
        message_count=len(messages),
        warnings=tuple(warnings),
        longest_reply_gap=max(gaps) if gaps else None,
        away=away,
        bounced=tuple(sorted(dead)),
    )


def _away(messages: list[_Message], prospect_domain: str | None) -> AwayNote | None:
    """The newest out-of-office from the prospect's side among `messages`, as a fact."""
    for message in reversed(messages):
        if message.role != AUTO or message.auto_kind != AUTO_REPLY or message.sender is None:
            continue
        if prospect_domain and _domain(message.sender.email) != prospect_domain:
            continue
        return AwayNote(
            seen_at=message.at,
            email=message.sender.email,
            until=return_date(message.subject, message.at),
        )
    return None


def _index(read: Iterable[list[_Message]]) -> dict[str, frozenset[str]]:
    index: dict[str, set[str]] = {}
    for messages in read:
        for message in messages:
            if message.role == ANSWER and message.sender:
                index.setdefault(_domain(message.sender.email), set()).add(message.sender.email)
    return {domain: frozenset(people) for domain, people in index.items()}


def domain_sender_index(
    threads: Iterable[Mapping[str, Any]], ctx: MailboxContext
) -> dict[str, frozenset[str]]:
    """Map each external domain to the distinct people there who ever wrote to the rep."""
    return _index(considered_messages(thread, ctx) for thread in threads)


def silence_verdict(
    facts: ThreadFacts,
    now: datetime,
    threshold: Threshold,
    ctx: MailboxContext,
    getback_until: datetime | None = None,
) -> SilentVerdict | None:
    """Judge a candidate at `now`; None when not a candidate or a get-back date is still ahead."""
    if not facts.candidate or facts.silent_since is None:
        return None
    if getback_until is not None and as_utc(getback_until) > as_utc(now):
        return None
    days = days_between(facts.silent_since, now)
    business = business_days_between(
        facts.silent_since, now, ctx.timezone, ctx.holiday_country, ctx.holiday_subdiv
    )
    measured = days if threshold.calendar_days else business
    return SilentVerdict(
        facts=with_time_warnings(facts, now),
        days_silent=days,
        business_days_silent=business,
        silent=measured >= threshold.days,
    )


def _past_horizon(facts: ThreadFacts, now: datetime, horizon_days: int | None) -> bool:
    """The unanswered run began before the age horizon."""
    if not horizon_days or facts.silent_since is None:
        return False
    return as_utc(facts.silent_since) < as_utc(now) - timedelta(days=horizon_days)


def reply_owed_verdict(
    facts: ThreadFacts, now: datetime, reply_target_hours: float = 0
) -> ReplyOwedVerdict | None:
    """Report an owed reply once the prospect has waited at least the target."""
    if facts.reply_owed_since is None:
        return None
    hours = (as_utc(now) - facts.reply_owed_since).total_seconds() / 3600
    if hours < reply_target_hours:
        return None
    return ReplyOwedVerdict(facts=facts, hours_waiting=hours)


def scan(
    threads: Iterable[Mapping[str, Any]],
    ctx: MailboxContext,
    now: datetime,
    threshold: Threshold,
    *,
    getbacks: Mapping[str, datetime] | None = None,
    reply_target_hours: float = 0,
    horizon_days: int | None = None,
) -> ScanResult:
    """Judge a whole mailbox: silent prospects (most silent first) and owed replies.

    Runs of unanswered mail that began more than `horizon_days` ago are not listed: a
    prospect silent for half a year is no longer a follow-up (the team's age horizon).
    """
    read: list[tuple[str, list[_Message]]] = []
    seen: set[str] = set()
    for thread in threads:
        if not isinstance(thread, Mapping):
            continue
        thread_id = _thread_id(thread)
        # A thread listed twice is judged once; threads without an id are kept apart.
        if thread_id and thread_id in seen:
            continue
        seen.add(thread_id)
        read.append((thread_id, considered_messages(thread, ctx)))
    index = _index(messages for _, messages in read)
    getbacks = getbacks or {}
    silent: list[SilentVerdict] = []
    owed: list[ReplyOwedVerdict] = []
    for thread_id, messages in read:
        facts = _facts(thread_id, messages, index)
        verdict = silence_verdict(facts, now, threshold, ctx, getbacks.get(facts.thread_id))
        if verdict is not None and verdict.silent and not _past_horizon(facts, now, horizon_days):
            silent.append(verdict)
        waiting = reply_owed_verdict(facts, now, reply_target_hours)
        if waiting is not None:
            owed.append(waiting)
    silent.sort(key=lambda v: (v.facts.silent_since or _EPOCH, v.facts.thread_id))
    owed.sort(key=lambda v: (v.facts.reply_owed_since or _EPOCH, v.facts.thread_id))
    return ScanResult(silent=tuple(silent), reply_owed=tuple(owed))
