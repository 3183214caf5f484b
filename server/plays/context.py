"""Build the values a play is rendered with, and render a play's variants."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from .catalog import play_info
from .defaults import DEFAULT_TEMPLATES
from .people import clean_subject, company_from, first_name_from
from .slots import Locale, format_date_part, format_time_part, zone
from .template import render


class MissingDateError(ValueError):
    """A play that needs a date (get-back, cold file) was rendered without one."""


@dataclass(frozen=True)
class PlayContext:
    """Everything a template may refer to, for one prospect and one rep."""

    first_name: str
    company: str
    rep_name: str
    subject: str
    proposed_at: datetime | None = None
    locale: str = "en"
    timezone: str = "UTC"

    def variables(self, include_year: bool = False) -> dict[str, str]:
        """Return the template variables; the date ones are "" without ``proposed_at``."""
        values = {
            "first_name": self.first_name,
            "company": self.company,
            "rep_name": self.rep_name,
            "subject": self.subject,
            "proposed_date": "",
            "proposed_time": "",
        }
        if self.proposed_at is not None:
            values["proposed_date"] = format_date_part(
                self.proposed_at, self.locale, self.timezone, include_year)
            values["proposed_time"] = format_time_part(
                self.proposed_at, self.locale, self.timezone)
        return values


@dataclass(frozen=True)
class RenderedPlay:
    """One rendered variant of a play (plain text)."""

    play: str
    variant: int
    title: str
    text: str
    insertable: bool


def _squeeze(value: str | None) -> str:
    return " ".join((value or "").split())


def context_for(prospect_name: str | None, prospect_email: str | None, rep_name: str | None,
                subject: str | None, proposed_at: datetime | None = None, locale: str = "en",
                timezone: str = "UTC") -> PlayContext:
    """Derive a ``PlayContext`` from thread metadata; raise ValueError for an unknown zone."""
    zone(timezone)  # fail early with a clear message
    email = (prospect_email or "").strip()
    loc = Locale.parse(locale)
    return PlayContext(
        first_name=first_name_from(prospect_name, email),
        company=company_from(email),
        rep_name=_squeeze(rep_name),
        subject=clean_subject(subject),
        proposed_at=proposed_at,
        locale=f"{loc.language}-{loc.region}" if loc.region else loc.language,
        timezone=timezone,
    )


def render_play(play_id: str, ctx: PlayContext,
                templates: Mapping[str, Sequence[str]] | None = None) -> list[RenderedPlay]:
    """Render every variant of ``play_id``; team ``templates`` override the defaults."""
    info = play_info(play_id)
    if info.needs_date and ctx.proposed_at is None:
        raise MissingDateError(f"the play {play_id!r} needs a proposed date")
    variants: Sequence[str]
    if templates is not None and play_id in templates:
        variants = templates[play_id]
    else:
        variants = DEFAULT_TEMPLATES[play_id]
    # The cold-file revisit date is months out, so its year matters.
    values = ctx.variables(include_year=play_id == "cold_file")
    return [
        RenderedPlay(play_id, index, info.title, render(text, values), info.insertable)
        for index, text in enumerate(variants)
    ]
