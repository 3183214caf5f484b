"""The add-on's cards: homepage, opened message, compose, a play, the get-back form.

Pure card building from service results; no Gmail calls and no writes happen here, so
the demo page can render the very same cards from stored data. Headers, labels and button
texts carry only our own words; data (names, addresses, subjects, notes) appears only in
formatted-text fields, escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from server.addon import cards as c
from server.engine.calendar import as_utc
from server.engine.model import Person, ReplyOwedVerdict, ScanResult, SilentVerdict
from server.plays import (
    COLD_FILE_REASONS,
    PLAYS,
    RenderedPlay,
    company_from,
    format_date_part,
    format_slot,
)
from server.services.guidance import Guidance
from server.store.models import GetBack, User

Json = c.Json
# How many rows each homepage list shows (keeps the card far below 100 widgets).
MAX_DUE = 10
MAX_SILENT = 15
MAX_OWED = 8
MAX_UPCOMING = 5
PREVIEW_CHARS = 320
GETBACK_BUSINESS_DAYS = 3
COLD_FILE_DAYS = 90
SLOT_HOUR = 10


@dataclass(frozen=True)
class Screen:
    """Who is looking, where and when: the rep, locale, time zone, now, and endpoint URLs."""

    user: User
    locale: str
    timezone: str
    now: datetime
    url: Callable[[str], str]  # endpoint name → public URL (e.g. "addon.schedule_form")

    def when(self, moment: datetime, *, year: bool = False) -> str:
        return format_slot(moment, self.locale, self.timezone, include_year=year)

    def day(self, moment: datetime, *, year: bool = False) -> str:
        return format_date_part(moment, self.locale, self.timezone, include_year=year)

    def offset_minutes(self, moment: datetime) -> int:
        delta = as_utc(moment).astimezone(ZoneInfo(self.timezone)).utcoffset()
        return int(delta.total_seconds() // 60) if delta is not None else 0


def who(person: Person | None, fallback: str = "this prospect") -> str:
    """A person as "Name <email>", or the email, or `fallback`."""
    if person is None:
        return fallback
    if person.name and person.name.strip() and person.name.strip() != person.email:
        return f"{person.name.strip()} <{person.email}>"
    return person.email


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def default_slot(now: datetime, tz: str, *, business_days: int = 0, days: int = 0) -> datetime:
    """A local mid-morning some (business) days ahead, never on a weekend, as aware UTC."""
    zone = ZoneInfo(tz)
    local = as_utc(now).astimezone(zone).date() + timedelta(days=days)
    left = business_days
    while left > 0:
        local += timedelta(days=1)
        if local.weekday() < 5:
            left -= 1
    while local.weekday() >= 5:
        local += timedelta(days=1)
    return as_utc(datetime.combine(local, time(SLOT_HOUR), tzinfo=zone))


def _params(thread_id: str | None, prospect: str | None, **extra: str) -> dict[str, str]:
    out = {"thread": thread_id or "", "prospect": prospect or ""}
    out.update(extra)
    return out


# --- homepage -------------------------------------------------------------------------


def _due_rows(s: Screen, due: Sequence[GetBack]) -> list[Json]:
    rows: list[Json] = []
    for gb in due[:MAX_DUE]:
        label = "Cold file revisit" if gb.kind == "cold_file" else "Get back"
        rows.append(
            c.decorated(
                c.esc(gb.prospect_email or "a prospect"),
                top=c.esc(f"{label}: due {s.when(gb.due_at)}"),
                bottom=c.esc(gb.note, 200) if gb.note else "",
                icon="CLOCK",
            )
        )
        ident = {"getback": str(gb.id), "origin": "home"}
        rows.extend(
            c.buttons(
                [
                    c.button("A week later", s.url("addon.getback_move"), ident),
                    c.button("Cancel", s.url("addon.getback_cancel"), ident),
                ]
            )
        )
    return rows


def _silent_row(s: Screen, verdict: SilentVerdict, calendar_days: bool) -> Json:
    facts = verdict.facts
    measured = verdict.days_silent if calendar_days else verdict.business_days_silent
    unit = "day" if calendar_days else "business day"
    quiet = f"quiet for {_plural(measured, unit)}"
    unanswered = _plural(facts.unanswered_count, "message") + " unanswered"
    email = facts.prospect.email if facts.prospect else ""
    company = company_from(email)
    return c.decorated(
        c.esc(who(facts.prospect)),
        top=c.esc(" · ".join(p for p in (company, facts.subject or "(no subject)") if p), 200),
        bottom=c.esc(f"{quiet}; {unanswered}"),
        control=c.button(
            "Get back later",
            s.url("addon.schedule_form"),
            _params(facts.thread_id, email, kind="getback", origin="home"),
        ),
    )


def _owed_row(s: Screen, verdict: ReplyOwedVerdict) -> Json:
    facts = verdict.facts
    hours = verdict.hours_waiting
    waited = _plural(round(hours), "hour") if hours < 48 else _plural(round(hours / 24), "day")
    return c.decorated(
        c.esc(who(facts.reply_owed_from)),
        top=c.esc(facts.subject or "(no subject)", 200),
        bottom=c.esc(f"waiting {waited} for your answer"),
        icon="EMAIL",
    )


def homepage_card(
    s: Screen,
    scan: ScanResult,
    due: Sequence[GetBack],
    upcoming: Sequence[GetBack],
    calendar_days: bool,
) -> Json:
    """The rep's overview: due get-backs, silent prospects, owed replies, what is coming."""
    silent = list(scan.silent)
    owed = list(scan.reply_owed)
    intro = (
        "Open an email from a prospect to see what stepback suggests for that thread. "
        "Nothing here is sent to anyone."
    )
    sections = [
        c.section(_due_rows(s, due), "Get-back dates due today or earlier"),
        c.section(
            [_silent_row(s, v, calendar_days) for v in silent[:MAX_SILENT]]
            or [c.text("Nobody has gone quiet past your team's threshold. Nothing to chase.")],
            f"Went quiet ({len(silent)})",
            collapsible=len(silent) > 5,
            keep_open=5,
        ),
        c.section(
            [_owed_row(s, v) for v in owed[:MAX_OWED]],
            f"Waiting for your reply ({len(owed)})",
            collapsible=len(owed) > 3,
            keep_open=3,
        ),
        c.section(
            [
                c.decorated(
                    c.esc(gb.prospect_email or "a prospect"),
                    top=c.esc(
                        ("Revisit " if gb.kind == "cold_file" else "Get back ")
                        + s.when(gb.due_at, year=gb.kind == "cold_file")
                    ),
                    control=c.button(
                        "Cancel",
                        s.url("addon.getback_cancel"),
                        {"getback": str(gb.id), "origin": "home"},
                    ),
                )
                for gb in upcoming[:MAX_UPCOMING]
            ],
            "Coming up",
        ),
        c.section([c.text(c.esc(intro))]),
    ]
    return c.card("stepback", sections, subtitle="Who went quiet, and what is due", name="home")


# --- opened message -----------------------------------------------------------------


def prospect_row(g: Guidance) -> Json:
    """Who this is about: the prospect, their company and the thread's subject."""
    about = " · ".join(p for p in (g.company, g.subject) if p)
    return c.decorated(c.esc(who(g.prospect)), bottom=c.esc(about, 200) if about else "",
                       icon="PERSON")


def _facts_widgets(s: Screen, g: Guidance) -> list[Json]:
    widgets = [prospect_row(g), c.text(c.esc(g.sentence))]
    unit = "day" if g.calendar_days else "business day"
    measured = g.days_silent if g.calendar_days else g.business_days_silent
    if measured is not None and g.state in ("went_silent", "no_reply_yet"):
        widgets.append(
            c.decorated(
                c.esc(_plural(measured, unit)),
                top="Quiet for",
                bottom=c.esc(f"your team's threshold is {_plural(g.threshold_days, unit)}"),
                icon="CLOCK",
            )
        )
    if g.unanswered_count:
        widgets.append(
            c.decorated(c.esc(str(g.unanswered_count)), top="Your messages without an answer",
                        icon="EMAIL")
        )
    return widgets


def _getback_widgets(s: Screen, g: Guidance, origin: str) -> list[Json]:
    gb = g.getback
    if gb is None:
        return []
    label = "Cold file until" if gb.kind == "cold_file" else "Get-back date"
    return [
        c.decorated(
            c.esc(s.when(gb.due_at, year=gb.kind == "cold_file")),
            top=label,
            bottom=c.esc(gb.note, 200) if gb.note else "",
            control=c.button(
                "Cancel",
                s.url("addon.getback_cancel"),
                {"getback": str(gb.id), "origin": origin, "thread": g.thread_id or ""},
            ),
            icon="CLOCK",
        )
    ]


def _unique_plays(g: Guidance) -> list[str]:
    return list(dict.fromkeys(p.play for p in g.plays))


def _later_buttons(s: Screen, g: Guidance, origin: str) -> list[Json]:
    prospect = g.prospect.email if g.prospect else ""
    return c.buttons(
        [
            c.button(
                "Schedule a get-back date",
                s.url("addon.schedule_form"),
                _params(g.thread_id, prospect, kind="getback", origin=origin),
            ),
            c.button(
                "Park in the cold file",
                s.url("addon.schedule_form"),
                _params(g.thread_id, prospect, kind="cold_file", origin=origin),
            ),
        ]
    )


def message_card(s: Screen, g: Guidance) -> Json:
    """Facts, warnings and next steps for the opened thread."""
    prospect = g.prospect.email if g.prospect else ""
    plays = _unique_plays(g)
    if g.state == "reply_owed":
        heading, lead = "Answer first", "They wrote last. A reply helps more than any play."
    elif g.nag:
        heading, lead = "Next steps without chasing", ""
    else:
        heading, lead = "For an open conversation", ""
    play_rows = [
        c.decorated(
            c.esc(PLAYS[pid].title),
            bottom=c.esc(PLAYS[pid].idea, 240),
            control=c.button(
                "Show",
                s.url("addon.show_play"),
                _params(g.thread_id, prospect, play=pid, origin="message"),
            ),
        )
        for pid in plays
    ]
    if play_rows and lead:
        play_rows.insert(0, c.text(c.esc(lead)))
    sections = [
        c.section(_facts_widgets(s, g), "What stepback sees"),
        c.section([c.decorated(c.esc(w.message), icon="DESCRIPTION") for w in g.warnings],
                  "Worth knowing"),
        c.section(_getback_widgets(s, g, "message"), "Scheduled"),
        c.section(play_rows, heading),
        c.section(_later_buttons(s, g, "message"), "Later, not now"),
    ]
    return c.card("stepback", sections, subtitle="This conversation", name="message")


def play_card(s: Screen, g: Guidance, play_id: str) -> Json:
    """One play with every variant's text, to read before replying."""
    info = PLAYS[play_id]
    variants = [p for p in g.plays if p.play == play_id]
    how = {
        "email": "Reply to the thread, then open stepback from the compose window to insert "
        "one of these into your draft.",
        "phone": "A script for a call. A call beats an email; a voicemail is the weakest choice.",
        "note": "A note for you only. Nothing is sent to the prospect.",
    }[info.channel]
    widgets: list[Json] = [prospect_row(g), c.text(c.esc(info.idea)), c.text(c.esc(how))]
    sections = [c.section(widgets)]
    for p in variants:
        sections.append(c.section([c.text(c.multiline(p.text))], f"Variant {p.variant + 1}"))
    if play_id == "cold_file":
        prospect = g.prospect.email if g.prospect else ""
        sections.append(
            c.section(
                c.buttons(
                    [
                        c.button(
                            "Park in the cold file",
                            s.url("addon.schedule_form"),
                            _params(g.thread_id, prospect, kind="cold_file", origin="message"),
                        )
                    ]
                )
            )
        )
    return c.card(info.title, sections, subtitle="Read it before you reply",
                  name=f"play-{play_id}")


# --- compose --------------------------------------------------------------------------


def _insert_rows(
    s: Screen, g: Guidance, play_id: str, variants: Sequence[RenderedPlay]
) -> list[Json]:
    prospect = g.prospect.email if g.prospect else ""
    rows: list[Json] = []
    for p in variants:
        rows.append(
            c.decorated(
                c.multiline(p.text, PREVIEW_CHARS),
                top=c.esc(f"Variant {p.variant + 1}"),
                control=c.button(
                    "Insert",
                    s.url("addon.insert_play"),
                    _params(g.thread_id, prospect, play=play_id, variant=str(p.variant)),
                ),
            )
        )
    return rows


def compose_card(s: Screen, g: Guidance) -> Json:
    """Pick a play and insert it into the open draft; a get-back play takes a date."""
    sections: list[Json | None] = [
        c.section([prospect_row(g), c.text(c.esc(g.sentence))]),
        c.section([c.decorated(c.esc(w.message), icon="DESCRIPTION") for w in g.warnings],
                  "Worth knowing"),
    ]
    by_play: dict[str, list[RenderedPlay]] = {}
    for p in g.plays:
        by_play.setdefault(p.play, []).append(p)
    for play_id, variants in by_play.items():
        info = PLAYS[play_id]
        if info.channel == "email" and info.insertable:
            rows = _insert_rows(s, g, play_id, variants)
            if play_id == "getback_date":
                slot = g.proposed_at or default_slot(
                    s.now, s.timezone, business_days=GETBACK_BUSINESS_DAYS
                )
                label = f"Proposed date and time ({s.timezone})"
                rows.insert(0, c.datetime_picker("proposed_at", label, slot,
                                                 s.offset_minutes(slot)))
                rows.insert(1, c.text(c.esc(
                    "Inserting this play also saves the date as your get-back date.")))
            # Keep the first variant (and the date picker of the get-back play) in view.
            keep = 3 if play_id == "getback_date" else 2
            sections.append(c.section(rows, info.title, collapsible=len(rows) > keep,
                                      keep_open=keep))
        elif info.channel == "phone":
            widgets = [c.text(c.esc("Read it on a call; nothing is inserted.")),
                       c.text(c.multiline(variants[0].text))]
            sections.append(c.section(widgets, info.title))
    if not g.plays:
        sections.append(c.section([c.text(c.esc(
            "stepback suggests plays once a prospect has gone quiet past your team's "
            "threshold. Until then, write as you normally would."))]))
    sections.append(c.section(_later_buttons(s, g, "compose"), "Later, not now"))
    return c.card("stepback", sections, subtitle="A next step for this draft", name="compose")


# --- get-back form ----------------------------------------------------------------------


def schedule_card(
    s: Screen, *, kind: str, thread_id: str | None, prospect: str | None, origin: str
) -> Json:
    """The form for a get-back date or a cold-file revisit date."""
    cold = kind == "cold_file"
    slot = default_slot(s.now, s.timezone, days=COLD_FILE_DAYS) if cold else default_slot(
        s.now, s.timezone, business_days=GETBACK_BUSINESS_DAYS
    )
    if cold:
        intro = (
            "Stop chasing for now. Pick a day to look again, when priorities or the people "
            "deciding may have changed, and note why. Nothing is sent to the prospect."
        )
    else:
        intro = (
            "Pick the day and time you agreed to reconnect. stepback stays quiet on this "
            "thread until then and reminds you on the day."
        )
    widgets: list[Json] = [
        c.decorated(c.esc(prospect or "this thread"), icon="PERSON"),
        c.text(c.esc(intro)),
        c.datetime_picker(
            "due_at", f"{'Revisit on' if cold else 'Get back on'} ({s.timezone})", slot,
            s.offset_minutes(slot),
        ),
    ]
    if cold:
        widgets.append(
            c.dropdown("reason", "Why", [(label, key) for key, label in COLD_FILE_REASONS.items()],
                       selected="said_no")
        )
    widgets.append(c.text_input("note", "Note (only you see it)", hint="Optional"))
    widgets.extend(
        c.buttons(
            [
                c.button(
                    "Save",
                    s.url("addon.schedule"),
                    _params(thread_id, prospect, kind=kind, origin=origin),
                    filled=True,
                )
            ]
        )
    )
    title = "Park in the cold file" if cold else "Get back later"
    return c.card(title, [c.section(widgets)], name="schedule")


# --- notices ----------------------------------------------------------------------------


def notice_card(title: str, message: str) -> Json:
    """A plain card with one message (unknown user, Gmail trouble, ...)."""
    return c.card(title, [c.section([c.text(c.esc(message))])], name="notice")


def unknown_user_card(email: str) -> Json:
    return notice_card(
        "stepback",
        f"{email} is not set up in stepback yet. Ask your stepback admin to add this "
        "address to your team; nothing was read or stored.",
    )
