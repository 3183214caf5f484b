"""Plays: trust-based next steps, their templates, personalisation and safe rendering."""

from .catalog import COLD_FILE_REASONS, PLAYS, PlayInfo, UnknownPlayError, play_info
from .context import MissingDateError, PlayContext, RenderedPlay, context_for, render_play
from .defaults import DEFAULT_TEMPLATES
from .people import clean_subject, company_from, first_name_from
from .slots import format_date_part, format_slot, format_time_part
from .suggest import STATES, suggest_plays
from .template import (
    KNOWN_VARIABLES,
    ParsedTemplate,
    TemplateError,
    TemplateProblem,
    check_template,
    parse_template,
    render,
    render_html,
)

__all__ = [
    "COLD_FILE_REASONS", "DEFAULT_TEMPLATES", "KNOWN_VARIABLES", "PLAYS", "STATES",
    "MissingDateError", "ParsedTemplate", "PlayContext", "PlayInfo", "RenderedPlay",
    "TemplateError", "TemplateProblem", "UnknownPlayError", "check_template", "clean_subject",
    "company_from", "context_for", "first_name_from", "format_date_part", "format_slot",
    "format_time_part", "parse_template", "play_info", "render", "render_html", "render_play",
    "suggest_plays",
]
