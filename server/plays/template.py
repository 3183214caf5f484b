"""Parse and render play templates safely.

Syntax: ``{{first_name}}`` (spaces inside the braces are allowed: ``{{ first_name }}``).
Only the names in ``KNOWN_VARIABLES`` may appear. There is no attribute access, no
indexing, no filters, no format specs and no way to escape ``{{``: a template can insert
the known values and nothing else. Rendering is a single pass over the parsed pieces, so a
value that itself contains ``{{rep_name}}`` or markup comes out literally.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass

KNOWN_VARIABLES: frozenset[str] = frozenset(
    {"first_name", "company", "rep_name", "subject", "proposed_date", "proposed_time"}
)
MAX_TEMPLATE_CHARS = 5000

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SINGLE_BRACE = re.compile(r"(?<!\{)\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}(?!\})")
# Punctuation that may directly follow an empty value; the space before it is dropped so
# "Hi {{first_name}}," renders as "Hi," rather than "Hi ,".
_TIGHT_AFTER = frozenset(",.;:!?")


@dataclass(frozen=True)
class TemplateProblem:
    """One error found in a template, with its position (offset 0-based, line/column 1-based)."""

    offset: int
    line: int
    column: int
    message: str
    name: str | None = None

    def describe(self) -> str:
        """Return a one-line, human readable description."""
        return f"line {self.line}, column {self.column}: {self.message}"


class TemplateError(ValueError):
    """A template uses something other than the known variables."""

    def __init__(self, problems: list[TemplateProblem]) -> None:
        self.problems = problems
        seen: list[str] = []
        for p in problems:
            if p.name is not None and p.name not in seen:
                seen.append(p.name)
        self.unknown: list[str] = seen
        self.message = "; ".join(p.describe() for p in problems)
        super().__init__(self.message)


@dataclass(frozen=True)
class ParsedTemplate:
    """A template split into literal text and variable names (odd positions are names)."""

    pieces: tuple[str, ...]

    @property
    def variables(self) -> frozenset[str]:
        """Return the variable names this template uses."""
        return frozenset(self.pieces[1::2])


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _problem(text: str, offset: int, message: str, name: str | None = None) -> TemplateProblem:
    line, column = _position(text, offset)
    return TemplateProblem(offset, line, column, message, name)


def _short(s: str, limit: int = 30) -> str:
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _explain_bad_placeholder(inner: str) -> str:
    stripped = inner.strip()
    if not stripped:
        return "empty placeholder {{}}"
    if "{" in stripped:
        return "placeholders cannot be nested"
    for mark, what in ((".", "attribute access is"), ("[", "indexing is"),
                       ("(", "function calls are"), ("|", "filters are"),
                       (":", "format specs are"), ("!", "conversions are")):
        if mark in stripped:
            return f"{what} not allowed in {{{{{_short(stripped)}}}}}; use a plain name"
    return f"{{{{{_short(stripped)}}}}} is not a variable name"


def _unknown_message(name: str) -> str:
    close = difflib.get_close_matches(name.lower(), sorted(KNOWN_VARIABLES), n=1, cutoff=0.6)
    hint = f" (did you mean {{{{{close[0]}}}}}?)" if close else ""
    known = ", ".join(sorted(KNOWN_VARIABLES))
    return f"unknown variable '{name}'{hint}; known variables: {known}"


def _scan(text: str) -> tuple[list[str], list[TemplateProblem]]:
    pieces: list[str] = []
    problems: list[TemplateProblem] = []
    literal: list[str] = []
    pos = 0
    while True:
        opening = text.find("{{", pos)
        stray = text.find("}}", pos)
        if stray != -1 and (opening == -1 or stray < opening):
            problems.append(_problem(text, stray, "'}}' without a matching '{{'"))
            literal.append(text[pos : stray + 2])
            pos = stray + 2
            continue
        if opening == -1:
            literal.append(text[pos:])
            break
        literal.append(text[pos:opening])
        closing = text.find("}}", opening + 2)
        if closing == -1:
            problems.append(_problem(text, opening, "'{{' is never closed with '}}'"))
            break
        inner = text[opening + 2 : closing]
        name = inner.strip()
        if not _IDENT.fullmatch(name):
            problems.append(_problem(text, opening, _explain_bad_placeholder(inner)))
        elif name not in KNOWN_VARIABLES:
            problems.append(_problem(text, opening, _unknown_message(name), name))
        else:
            pieces.append("".join(literal))
            pieces.append(name)
            literal = []
        pos = closing + 2
    pieces.append("".join(literal))
    return pieces, problems


def _single_brace_problems(text: str) -> list[TemplateProblem]:
    found = []
    for m in _SINGLE_BRACE.finditer(text):
        name = m.group(1)
        if name in KNOWN_VARIABLES:
            found.append(_problem(text, m.start(), f"{m.group(0)} uses single braces; "
                                  f"write {{{{{name}}}}}"))
    return found


def parse_template(text: str) -> ParsedTemplate:
    """Parse ``text``; raise ``TemplateError`` listing every problem with its position."""
    if not isinstance(text, str):
        raise TypeError("a template must be a string")
    if len(text) > MAX_TEMPLATE_CHARS:
        raise TemplateError([TemplateProblem(
            MAX_TEMPLATE_CHARS, *_position(text, MAX_TEMPLATE_CHARS),
            f"template is too long ({len(text)} characters; the limit is {MAX_TEMPLATE_CHARS})")])
    pieces, problems = _scan(text)
    problems.extend(_single_brace_problems(text))
    if problems:
        problems.sort(key=lambda p: p.offset)
        raise TemplateError(problems)
    return ParsedTemplate(tuple(pieces))


def check_template(text: str) -> list[str]:
    """Return one message per problem in ``text``; an empty list means the template is fine."""
    try:
        parse_template(text)
    except TemplateError as exc:
        return [p.describe() for p in exc.problems]
    return []


def _value(variables: Mapping[str, str], name: str) -> str:
    value = variables.get(name)
    return "" if value is None else str(value)


def _drop_trailing_spaces(out: list[str]) -> None:
    """Drop spaces before an empty value, back to the last real text; values stay intact."""
    for index in range(len(out) - 1, -1, -1):
        if index % 2 == 1:  # a value: skip empty ones, never edit others
            if out[index]:
                return
            continue
        out[index] = out[index].rstrip(" ")
        if out[index]:
            return


def _fill(parsed: ParsedTemplate, variables: Mapping[str, str], escape: bool) -> str:
    out: list[str] = []
    pieces = parsed.pieces
    for index, piece in enumerate(pieces):
        if index % 2 == 0:
            if out and out[-1] == "" and piece[:1] in _TIGHT_AFTER:
                _drop_trailing_spaces(out)
            out.append(html.escape(piece) if escape else piece)
        else:
            value = _value(variables, piece)
            out.append(html.escape(value) if escape else value)
    return "".join(out)


def render(text: str | ParsedTemplate, variables: Mapping[str, str]) -> str:
    """Render a template to plain text; values are inserted verbatim and never re-parsed."""
    parsed = text if isinstance(text, ParsedTemplate) else parse_template(text)
    return _fill(parsed, variables, escape=False)


def render_html(text: str | ParsedTemplate, variables: Mapping[str, str]) -> str:
    """Render a template as an HTML fragment: everything escaped, newlines as ``<br>``."""
    parsed = text if isinstance(text, ParsedTemplate) else parse_template(text)
    return _fill(parsed, variables, escape=True).replace("\n", "<br>\n")
