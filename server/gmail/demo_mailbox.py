"""The deterministic demo mailbox of Alex Rivera, a sales rep at Northwind (fictional).

`build_demo_mailbox(now)` returns a mailbox-file dict whose ~200 threads exercise every silence
rule; `demo_scenarios(now)` says which scenario each thread id stands for.
`build_large_mailbox(n)` makes a big, plainer mailbox for the sync benchmark.
Same arguments, same JSON: only a seeded `random.Random` and `now` are used.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from server.gmail.emulator.mailgen import (
    COMPANY_STEMS,
    REP_DOMAIN,
    REP_TZ,
    Company,
    Person,
    Spec,
    ThreadPlan,
    assemble,
    encoded_word,
    make_company,
)

REP = Person("Alex Rivera", f"alex@{REP_DOMAIN}", REP_TZ)
REP_ALIAS = Person("Alex Rivera", f"alex.sales@{REP_DOMAIN}", REP_TZ)
COLLEAGUES = (
    Person("Morgan Lee", f"morgan@{REP_DOMAIN}", REP_TZ),
    Person("Jordan Kim", f"jordan@{REP_DOMAIN}", REP_TZ),
    Person("Priya Natarajan", f"priya.natarajan@{REP_DOMAIN}", REP_TZ),
    Person("Sam Okafor", f"sam.okafor@{REP_DOMAIN}", REP_TZ),
)
HOSTILE = Person("", "eve@evil.example",
                 raw='"<img src=x onerror=alert(1)> {{rep_name}}" <eve@evil.example>')
DEFAULT_LARGE_NOW = datetime(2025, 3, 14, 15, 0, tzinfo=UTC)
AUTO_REPLY_HEADERS = (
    ("Auto-Submitted", "auto-replied"),
    ("X-Autoreply", "yes"),
    ("X-Autorespond", "Out of office"),
    ("X-Autoresponse", "1"),
    ("Precedence", "auto_reply"),
    ("Precedence", "junk"),
)
DEAL_SUBJECTS = (
    "Proposal for {co}", "{co} + Northwind: pilot scope", "Pricing for {n} seats",
    "Security review questionnaire ({co})", "Next steps after the demo", "Renewal terms for {co}",
    "Contract redlines v{n}", "Pilot results and rollout plan", "Revised quote for {co}",
    "Onboarding timeline for {co}", "Volume discount options", "Order form and SOW draft",
)
COLD_SUBJECTS = (
    "Idea for the {co} ops team", "A question about your carrier invoices",
    "Cutting freight audit time at {co}", "{first}, worth a short call?",
    "How teams like {co} handle returns", "Benchmarks for {co}",
)
INTERNAL_SUBJECTS = (
    "Deal desk: discount approval", "Forecast call prep", "Can you join the {co} call?",
    "Territory handover notes", "Pricing exception for {co}",
)
NEWSLETTERS = (
    ("The Freight Ledger", "news@freightledger.example", "weekly.freightledger.example"),
    ("SaaS Pricing Digest", "digest@pricingdigest.test", "digest.pricingdigest.test"),
    ("Ops Leaders Circle", "hello@opsleaders.example", "members.opsleaders.example"),
    ("Conference Hub", "events@confhub.test", "events.confhub.test"),
)
NOTIFIERS = (
    ("Expense Robot", "no-reply@expenserobot.example", "Your expense report was approved"),
    ("CloudDocs", "notifications@clouddocs.test", "Jordan Kim shared a document with you"),
    ("CRM Alerts", "alerts@crm-alerts.example", "3 tasks are due today"),
)


class _Ctx:
    """Shared state of one build: the random source, now, and a rotation of companies."""

    def __init__(self, now: datetime, seed: int) -> None:
        self.rng = random.Random(seed)
        self.now = now
        stems = list(COMPANY_STEMS)
        self.rng.shuffle(stems)
        self.companies = [make_company(self.rng, stem) for stem in stems]
        self._next = 0

    def company(self) -> Company:
        company = self.companies[self._next % len(self.companies)]
        self._next += 1
        return company

    def ago(self, days: float) -> datetime:
        return self.now - timedelta(days=days, minutes=self.rng.randint(0, 240))

    def later(self, when: datetime, low_hours: float, high_hours: float) -> datetime:
        """A time after `when`; never in the future and never out of order."""
        moved = when + timedelta(hours=self.rng.uniform(low_hours, high_hours))
        cap = self.now - timedelta(minutes=1)
        return moved if moved <= cap else when + (cap - when) / 2

    def subject(self, pool: Sequence[str], company: Company, person: Person) -> str:
        return self.rng.choice(pool).format(co=company.name, n=self.rng.choice((25, 40, 120)),
                                            first=person.name.split(" ")[0])


class _Story:
    """Collects the messages of one thread with Gmail-like labels."""

    def __init__(self, ctx: _Ctx, subject: str, *tags: str) -> None:
        self.ctx, self.subject, self.tags = ctx, subject, list(tags)
        self.specs: list[Spec] = []
        self.shuffled = False

    def _subject(self, override: str | None) -> str:
        if override is not None:
            return override
        return self.subject if not self.specs else f"Re: {self.subject}"

    def rep(self, when: datetime, to: Sequence[Person], cc: Sequence[Person] = (), *,
            alias: bool = False, labels: Sequence[str] | None = None, date: str = "ok",
            subject: str | None = None) -> None:
        rng = self.ctx.rng
        tags = list(labels) if labels is not None else (
            ["SENT", "IMPORTANT"] if rng.random() < 0.3 else ["SENT"])
        self.specs.append(Spec(when, REP_ALIAS if alias else REP, list(to), list(cc), tags,
                               self._subject(subject), date_header=date))

    def them(self, when: datetime, sender: Person, to: Sequence[Person] = (REP,),
             cc: Sequence[Person] = (), *, labels: Sequence[str] | None = None,
             extra: Sequence[tuple[str, str]] = (), mime: str = "multipart/alternative",
             date: str = "ok", subject: str | None = None) -> None:
        rng = self.ctx.rng
        if labels is None:
            tags = ["INBOX", "CATEGORY_PERSONAL"]
            if self.ctx.now - when < timedelta(days=3) and rng.random() < 0.7:
                tags.append("UNREAD")
            if rng.random() < 0.4:
                tags.append("IMPORTANT")
        else:
            tags = list(labels)
        self.specs.append(Spec(when, sender, list(to), list(cc), tags, self._subject(subject),
                               list(extra), mime, date))

    def plan(self) -> ThreadPlan:
        return ThreadPlan(self.specs, self.tags, self.shuffled)


# ----- scenarios: each returns one thread ----------------------------------------------------

def _engaged_start(ctx: _Ctx, s: _Story, who: Person, before: datetime) -> datetime:
    """Rep writes, the prospect answers, sometimes one more round; return the last time."""
    t = before - timedelta(days=ctx.rng.uniform(6, 14))  # leaves room for ~5 days of replies
    s.rep(t, [who])
    t = ctx.later(t, 2, 30)
    s.them(t, who)
    if ctx.rng.random() < 0.5:
        t = ctx.later(t, 3, 48)
        s.rep(t, [who])
        t = ctx.later(t, 2, 40)
        s.them(t, who)
    return t


def _run(ctx: _Ctx, s: _Story, who: Sequence[Person], count: int, silent_days: float,
         **kwargs: Any) -> None:
    """The unanswered run: `count` rep messages from `silent_days` ago up to about now."""
    first = ctx.ago(silent_days)
    step = max(silent_days - 0.5, 0.2) / count
    for i in range(count):
        s.rep(first + timedelta(days=step * i), who, **kwargs)


def went_silent(ctx: _Ctx, count: int, silent_days: float, *tags: str) -> ThreadPlan:
    co = ctx.company()
    who = co.people[0]
    s = _Story(ctx, ctx.subject(DEAL_SUBJECTS, co, who), "went_silent", f"unanswered_{count}",
               *tags)
    _engaged_start(ctx, s, who, ctx.ago(silent_days))
    _run(ctx, s, [who], count, silent_days)
    return s.plan()


def cold(ctx: _Ctx, count: int, silent_days: float) -> ThreadPlan:
    co = ctx.company()
    who = co.people[-1]
    s = _Story(ctx, ctx.subject(COLD_SUBJECTS, co, who), "no_reply_yet", f"unanswered_{count}")
    _run(ctx, s, [who], count, silent_days)
    return s.plan()


def reply_owed(ctx: _Ctx, hours: float, *tags: str) -> ThreadPlan:
    co = ctx.company()
    who = co.people[0]
    s = _Story(ctx, ctx.subject(DEAL_SUBJECTS, co, who), "reply_owed", *tags)
    answer = ctx.now - timedelta(hours=hours)
    s.rep(answer - timedelta(days=ctx.rng.uniform(1, 6)), [who])
    s.them(answer, who, cc=[co.people[1]] if ctx.rng.random() < 0.3 else ())
    return s.plan()


def live(ctx: _Ctx) -> ThreadPlan:
    co = ctx.company()
    who = co.people[0]
    s = _Story(ctx, ctx.subject(DEAL_SUBJECTS, co, who), "live")
    t = ctx.ago(ctx.rng.uniform(3, 6))
    for turn in range(ctx.rng.randint(3, 6)):
        if turn % 2 == 0:
            s.rep(t, [who])
        else:
            s.them(t, who)
        t = ctx.later(t, 1, 20)
    return s.plan()


def assistant_answered(ctx: _Ctx, rep_wrote_again: bool) -> ThreadPlan:
    co = ctx.company()
    boss, helper = co.people[0], co.people[1]
    s = _Story(ctx, f"Meeting request: {co.name} and Northwind", "assistant_answered")
    t = ctx.ago(ctx.rng.uniform(12, 25))
    s.rep(t, [boss])
    t = ctx.later(t, 3, 30)
    s.them(t, helper, to=[REP], cc=[boss])
    if rep_wrote_again:
        s.tags.append("went_silent")
        _run(ctx, s, [boss], 2, ctx.rng.uniform(7, 10))
    else:
        s.tags.append("reply_owed")
    return s.plan()


def internal_only(ctx: _Ctx) -> ThreadPlan:
    co = ctx.company()
    mate = ctx.rng.choice(COLLEAGUES)
    s = _Story(ctx, ctx.subject(INTERNAL_SUBJECTS, co, mate), "internal_only")
    t = ctx.ago(ctx.rng.uniform(2, 30))
    s.rep(t, [mate])
    s.them(ctx.later(t, 1, 8), mate)
    if ctx.rng.random() < 0.5:
        s.rep(ctx.later(t, 9, 20), [mate])
    return s.plan()


def internal_reply(ctx: _Ctx) -> ThreadPlan:
    co = ctx.company()
    who, mate = co.people[0], COLLEAGUES[2]
    s = _Story(ctx, f"Technical deep dive for {co.name}", "internal_reply", "no_reply_yet")
    t = ctx.ago(ctx.rng.uniform(9, 16))
    s.rep(t, [who], [mate])
    s.them(ctx.later(t, 1, 5), mate, to=[who], cc=[REP])
    return s.plan()


def auto_reply(ctx: _Ctx, name: str, value: str) -> ThreadPlan:
    co = ctx.company()
    who = co.people[0]
    s = _Story(ctx, ctx.subject(DEAL_SUBJECTS, co, who), "auto_reply", f"auto:{name}:{value}")
    t = ctx.ago(ctx.rng.uniform(9, 20))
    s.rep(t, [who])
    s.them(ctx.later(t, 0.01, 0.1), who, extra=[(name, value)],
           subject=f"Automatic reply: {s.subject}")
    return s.plan()


def auto_submitted_no(ctx: _Ctx) -> ThreadPlan:
    co = ctx.company()
    who = co.people[1]
    s = _Story(ctx, ctx.subject(DEAL_SUBJECTS, co, who), "auto_submitted_no", "reply_owed")
    t = ctx.ago(ctx.rng.uniform(3, 6))
    s.rep(t, [who])
    s.them(ctx.later(t, 4, 30), who, extra=[("Auto-Submitted", "no")])
    return s.plan()


def bounce(ctx: _Ctx, robot: str) -> ThreadPlan:
    co = ctx.company()
    who = co.people[0]
    typo = Person(who.name, who.email.replace("@", "x@", 1), who.tz)
    if robot == "mailer-daemon":
        sender = Person("Mail Delivery Subsystem", "mailer-daemon@googlemail.com")
    else:
        sender = Person("Mail Administrator", f"postmaster@{co.domain}")
    s = _Story(ctx, ctx.subject(COLD_SUBJECTS, co, who), "bounce", f"bounce:{robot}")
    t = ctx.ago(ctx.rng.uniform(5, 30))
    s.rep(t, [typo])
    s.them(ctx.later(t, 0.001, 0.02), sender, subject="Delivery Status Notification (Failure)",
           mime="multipart/report",
           extra=[("X-Failed-Recipients", typo.email), ("Auto-Submitted", "auto-replied"),
                  ("Content-Type", 'multipart/report; report-type=delivery-status; '
                                   'boundary="00000000000012ab"')])
    return s.plan()


def newsletter(ctx: _Ctx) -> ThreadPlan:
    name, address, list_host = ctx.rng.choice(NEWSLETTERS)
    sender = Person(name, address)
    issue = ctx.rng.randint(40, 300)
    s = _Story(ctx, f"{name} #{issue}: what changed this week", "newsletter")
    labels = ["INBOX", ctx.rng.choice(("CATEGORY_PROMOTIONS", "CATEGORY_UPDATES",
                                       "CATEGORY_FORUMS"))]
    if ctx.rng.random() < 0.6:
        labels.append("UNREAD")
    s.them(ctx.ago(ctx.rng.uniform(0.2, 59)), sender, labels=labels, extra=[
        ("List-Id", f"{name} <{list_host}>"),
        ("List-Unsubscribe", f"<https://{list_host}/unsubscribe?u={ctx.rng.getrandbits(40):x}>"),
        ("Precedence", ctx.rng.choice(("bulk", "list")))])
    return s.plan()


def notification(ctx: _Ctx) -> ThreadPlan:
    name, address, subject = ctx.rng.choice(NOTIFIERS)
    s = _Story(ctx, subject, "notification")
    s.them(ctx.ago(ctx.rng.uniform(0.1, 59)), Person(name, address),
           labels=["INBOX", "CATEGORY_UPDATES"], extra=[("Auto-Submitted", "auto-generated")])
    return s.plan()


def calendar_accept(ctx: _Ctx, followed_up: bool) -> ThreadPlan:
    co = ctx.company()
    who = co.people[0]
    t = ctx.ago(ctx.rng.uniform(10, 20))
    meeting = t + timedelta(days=3)
    while meeting.weekday() >= 5:  # meetings fall on weekdays
        meeting += timedelta(days=1)
    day = meeting.strftime("%a %b %d")
    topic = f"Pilot kickoff: {co.name} @ {day} 10am - 11am (EST)"
    s = _Story(ctx, f"Invitation: {topic}", "calendar_accept")
    s.rep(t, [who])
    s.them(ctx.later(t, 1, 20), who, subject=f"Accepted: {topic} ({REP.email})",
           mime="multipart/mixed",
           extra=[("Content-Type", 'multipart/mixed; boundary="000000000000cal"')])
    if followed_up:
        s.tags.append("went_silent")
        _run(ctx, s, [who], 1, ctx.rng.uniform(6, 9), subject=f"Pilot kickoff recap: {co.name}")
    else:
        s.tags.append("reply_owed")
    return s.plan()


def draft_only(ctx: _Ctx) -> ThreadPlan:
    co = ctx.company()
    who = co.people[0]
    s = _Story(ctx, ctx.subject(COLD_SUBJECTS, co, who), "draft_only")
    s.rep(ctx.ago(ctx.rng.uniform(1, 20)), [who], labels=["DRAFT"])
    return s.plan()


def draft_followup(ctx: _Ctx) -> ThreadPlan:
    plan = went_silent(ctx, 1, ctx.rng.uniform(8, 15), "draft_followup")
    last = plan.specs[-1]
    plan.specs.append(Spec(ctx.later(last.when, 20, 60), REP, list(last.to), [], ["DRAFT"],
                           last.subject))
    return plan


def spam(ctx: _Ctx) -> ThreadPlan:
    s = _Story(ctx, "You have (1) pending wire transfer", "spam")
    crook = Person("Accounts Dept", f"billing{ctx.rng.randint(10, 99)}@wire-claims.test")
    s.them(ctx.ago(ctx.rng.uniform(1, 20)), crook, labels=["SPAM", "UNREAD"])
    return s.plan()


def trash(ctx: _Ctx) -> ThreadPlan:
    co = ctx.company()
    who = co.people[0]
    s = _Story(ctx, ctx.subject(COLD_SUBJECTS, co, who), "trash")
    t = ctx.ago(ctx.rng.uniform(10, 30))
    s.rep(t, [who], labels=["SENT", "TRASH"])
    s.rep(ctx.later(t, 50, 120), [who], labels=["SENT", "TRASH"])
    return s.plan()


def alias(ctx: _Ctx) -> ThreadPlan:
    co = ctx.company()
    who = co.people[0]
    s = _Story(ctx, ctx.subject(DEAL_SUBJECTS, co, who), "alias", "went_silent", "unanswered_2")
    silent = ctx.rng.uniform(9, 20)
    start = ctx.ago(silent + 6)
    s.rep(start, [who], alias=True)
    s.them(ctx.later(start, 2, 30), who, to=[REP_ALIAS])
    _run(ctx, s, [who], 2, silent, alias=True)
    return s.plan()


def cc_only(ctx: _Ctx) -> ThreadPlan:
    co = ctx.company()
    who = co.people[0]
    s = _Story(ctx, f"Introducing Jordan for the {co.name} rollout", "cc_only", "no_reply_yet")
    s.rep(ctx.ago(ctx.rng.uniform(8, 14)), [COLLEAGUES[1]], [who])
    return s.plan()


def missing_date(ctx: _Ctx) -> ThreadPlan:
    plan = went_silent(ctx, 2, ctx.rng.uniform(8, 14), "missing_date")
    for spec in plan.specs[1::2]:
        spec.date_header = "missing"
    return plan


def wrong_date(ctx: _Ctx) -> ThreadPlan:
    plan = went_silent(ctx, 1, ctx.rng.uniform(8, 14), "wrong_date")
    plan.specs[-1].date_header = "wrong"
    return plan


def out_of_order(ctx: _Ctx) -> ThreadPlan:
    plan = went_silent(ctx, 2, ctx.rng.uniform(8, 14), "out_of_order")
    plan.shuffled = True
    return plan


def hostile_name(ctx: _Ctx) -> ThreadPlan:
    s = _Story(ctx, "Partnership question", "hostile_name", "went_silent", "unanswered_2")
    silent = ctx.rng.uniform(9, 15)
    _engaged_start(ctx, s, HOSTILE, ctx.ago(silent))
    _run(ctx, s, [HOSTILE], 2, silent)
    return s.plan()


def hostile_subject(ctx: _Ctx) -> ThreadPlan:
    co = ctx.company()
    who = co.people[0]
    s = _Story(ctx, "{{prospect_first_name}} <script>alert('x')</script> pricing",
               "hostile_subject", "no_reply_yet")
    s.rep(ctx.ago(ctx.rng.uniform(8, 12)), [who])
    return s.plan()


def unicode_name(ctx: _Ctx) -> ThreadPlan:
    co = ctx.company()
    misaki = Person("田中 美咲", f"misaki.tanaka@{co.domain}", co.people[0].tz)
    s = _Story(ctx, f"見積もりのご確認 / Quote for {co.name}", "unicode_name", "encoded_word",
               "went_silent", "unanswered_1")
    silent = ctx.rng.uniform(8, 12)
    t = ctx.ago(silent + 5)
    s.rep(t, [misaki])
    s.them(ctx.later(t, 3, 20), Person("", misaki.email, misaki.tz,
                                       raw=encoded_word(misaki.name, misaki.email)))
    _run(ctx, s, [misaki], 1, silent)
    return s.plan()


def mixed_case(ctx: _Ctx) -> ThreadPlan:
    co = ctx.company()
    who = co.people[0]
    shouting = Person(who.name, who.email.upper().replace(".EXAMPLE", ".Example"), who.tz)
    s = _Story(ctx, ctx.subject(DEAL_SUBJECTS, co, who), "mixed_case", "went_silent",
               "unanswered_1")
    silent = ctx.rng.uniform(8, 12)
    t = ctx.ago(silent + 4)
    s.rep(t, [who])
    s.them(ctx.later(t, 2, 20), shouting)
    _run(ctx, s, [who], 1, silent)
    return s.plan()


def inbound_lead(ctx: _Ctx) -> ThreadPlan:
    co = ctx.company()
    who = co.people[-1]
    s = _Story(ctx, f"Pricing question from {co.name}", "inbound_lead", "reply_owed")
    s.them(ctx.ago(ctx.rng.uniform(1.2, 3)), who, to=[REP_ALIAS])
    return s.plan()


def consultant(ctx: _Ctx) -> ThreadPlan:
    co = ctx.company()
    who = co.people[0]
    advisor = Person("Ruth Abernathy", "ruth@abernathy-advisory.example", who.tz)
    s = _Story(ctx, f"{co.name} vendor evaluation", "consultant", "went_silent", "unanswered_1")
    silent = ctx.rng.uniform(7, 12)
    t = ctx.ago(silent + 5)
    s.rep(t, [who], [advisor])
    s.them(ctx.later(t, 4, 30), advisor, to=[REP], cc=[who])
    _run(ctx, s, [who], 1, silent, cc=[advisor])
    return s.plan()


def _long_silence(ctx: _Ctx, count: int) -> ThreadPlan:
    return went_silent(ctx, count, ctx.rng.uniform(8, 40))


def _must_haves(ctx: _Ctx) -> Iterator[Callable[[], ThreadPlan]]:
    """One of each scenario, most important first (small demos keep the head of this list)."""
    r = ctx.rng
    for count in (1, 2, 3, 4, 5):
        yield partial(_long_silence, ctx, count)
    yield lambda: cold(ctx, 1, r.uniform(8, 20))
    yield lambda: reply_owed(ctx, r.uniform(30, 60))
    yield lambda: live(ctx)
    yield lambda: hostile_name(ctx)
    yield lambda: assistant_answered(ctx, True)
    yield lambda: internal_only(ctx)
    for name, value in AUTO_REPLY_HEADERS:
        yield partial(auto_reply, ctx, name, value)
    yield lambda: bounce(ctx, "mailer-daemon")
    yield lambda: newsletter(ctx)
    yield lambda: calendar_accept(ctx, True)
    yield lambda: draft_only(ctx)
    yield lambda: spam(ctx)
    yield lambda: trash(ctx)
    yield lambda: alias(ctx)
    yield lambda: cc_only(ctx)
    yield lambda: missing_date(ctx)
    yield lambda: out_of_order(ctx)
    yield lambda: unicode_name(ctx)
    yield lambda: went_silent(ctx, 1, r.uniform(1, 3), "below_threshold")
    yield lambda: cold(ctx, 3, r.uniform(10, 25))
    yield lambda: reply_owed(ctx, r.uniform(2, 8), "within_target")
    yield lambda: assistant_answered(ctx, False)
    yield lambda: internal_reply(ctx)
    yield lambda: auto_submitted_no(ctx)
    yield lambda: bounce(ctx, "postmaster")
    yield lambda: notification(ctx)
    yield lambda: calendar_accept(ctx, False)
    yield lambda: draft_followup(ctx)
    yield lambda: wrong_date(ctx)
    yield lambda: hostile_subject(ctx)
    yield lambda: mixed_case(ctx)
    yield lambda: inbound_lead(ctx)
    yield lambda: consultant(ctx)
    yield lambda: live(ctx)


def _filler(ctx: _Ctx) -> ThreadPlan:
    """A typical thread for the rest of the mailbox, drawn with realistic weights."""
    r = ctx.rng
    pick = r.random()
    if pick < 0.32:
        return went_silent(ctx, r.choice((1, 1, 2, 2, 3, 4)), r.uniform(2, 45))
    if pick < 0.47:
        return cold(ctx, r.choice((1, 1, 2, 3)), r.uniform(1, 40))
    if pick < 0.62:
        return live(ctx)
    if pick < 0.70:
        return reply_owed(ctx, r.uniform(1, 100))
    if pick < 0.82:
        return newsletter(ctx)
    if pick < 0.90:
        return notification(ctx)
    if pick < 0.96:
        return internal_only(ctx)
    return calendar_accept(ctx, r.random() < 0.5)


def _aware(now: datetime) -> datetime:
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def _build(now: datetime, seed: int, threads: int
           ) -> tuple[dict[str, Any], dict[str, list[str]]]:
    if threads < 1:
        raise ValueError("threads must be at least 1")
    ctx = _Ctx(_aware(now), seed)
    plans = [make() for make, _ in zip(_must_haves(ctx), range(threads), strict=False)]
    while len(plans) < threads:
        plans.append(_filler(ctx))
    return assemble(REP.email, plans, ctx.rng, 4_000_000 + ctx.rng.randint(0, 900_000))


def build_demo_mailbox(now: datetime, seed: int = 7, threads: int = 200) -> dict[str, Any]:
    """Return Alex Rivera's demo mailbox (mailbox-file shape), spread over ~60 days before now."""
    return _build(now, seed, threads)[0]


def demo_scenarios(now: datetime, seed: int = 7, threads: int = 200) -> dict[str, list[str]]:
    """Map each demo thread id to the scenario tags it demonstrates (e.g. "went_silent")."""
    return _build(now, seed, threads)[1]


def build_rep_mailbox(now: datetime, email: str, name: str, seed: int,
                      threads: int = 120) -> dict[str, Any]:
    """A demo mailbox of its own for another rep of the demo org (its own seeded threads).

    Built like Alex's, then every header naming Alex names `email`/`name` instead, so each
    rep's mailbox holds different prospects, timings and scenarios.
    """
    local = email.split("@", 1)[0]
    swaps = (
        (REP_ALIAS.email, f"{local}.sales@{REP_DOMAIN}"),
        (REP.email, email),
        (REP.name, name),
        (REP.name.split()[0], name.split()[0]),
    )
    mailbox = _build(now, seed, threads)[0]
    for thread in mailbox["threads"]:
        for message in thread["messages"]:
            for header in message.get("payload", {}).get("headers", []):
                value = header.get("value", "")
                for old, new in swaps:
                    value = value.replace(old, new)
                header["value"] = value
    mailbox["emailAddress"] = email
    return mailbox


def build_large_mailbox(n_threads: int, sent_fraction: float = 0.2, seed: int = 1,
                        now: datetime | None = None) -> dict[str, Any]:
    """A big mailbox for the sync benchmark: ~`sent_fraction` of threads hold mail the rep sent."""
    if n_threads < 1 or not 0 <= sent_fraction <= 1:
        raise ValueError("need n_threads >= 1 and 0 <= sent_fraction <= 1")
    ctx = _Ctx(_aware(now or DEFAULT_LARGE_NOW), seed)
    r = ctx.rng
    plans = []
    for _ in range(n_threads):
        if r.random() < sent_fraction:
            kind = r.random()
            if kind < 0.5:
                plans.append(went_silent(ctx, r.choice((1, 2, 3)), r.uniform(1, 55)))
            elif kind < 0.75:
                plans.append(cold(ctx, r.choice((1, 2)), r.uniform(1, 55)))
            else:
                plans.append(live(ctx))
        else:
            kind = r.random()
            if kind < 0.55:
                plans.append(newsletter(ctx))
            elif kind < 0.85:
                plans.append(notification(ctx))
            else:
                co = ctx.company()
                s = _Story(ctx, ctx.subject(COLD_SUBJECTS, co, co.people[0]), "inbound_other")
                s.them(ctx.ago(r.uniform(0.1, 59)), co.people[0])
                plans.append(s.plan())
    return assemble(REP.email, plans, r, 9_000_000)[0]
