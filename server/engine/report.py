"""Turn a scan result into the JSON contract (DESIGN section 3) or a table for people."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from .model import Person, ScanResult

_SUBJECT_WIDTH = 48
_BLANKS = re.compile(r"\s+")


def iso_z(moment: datetime) -> str:
    """Format a moment as ISO 8601 UTC with a trailing Z (milliseconds only when present)."""
    utc = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    spec = "milliseconds" if utc.microsecond else "seconds"
    return utc.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def _person(person: Person | None) -> dict[str, str]:
    if person is None:
        return {"email": "", "name": ""}
    return {"email": person.email, "name": person.name}


def scan_to_json(result: ScanResult) -> dict[str, list[dict[str, Any]]]:
    """Return the scan as the exact JSON shape the CLI and API promise."""
    silent = [
        {
            "threadId": v.facts.thread_id,
            "kind": v.facts.kind,
            "unansweredCount": v.facts.unanswered_count,
            "daysSilent": v.days_silent,
            "businessDaysSilent": v.business_days_silent,
            "silentSince": iso_z(v.facts.silent_since) if v.facts.silent_since else None,
            "subject": v.facts.subject,
            "prospect": _person(v.facts.prospect),
        }
        for v in result.silent
    ]
    owed = [
        {
            "threadId": v.facts.thread_id,
            "waitingSince": iso_z(v.facts.reply_owed_since) if v.facts.reply_owed_since else None,
            "hoursWaiting": round(v.hours_waiting, 1),
            "subject": v.facts.subject,
            "prospect": _person(v.facts.reply_owed_from),
        }
        for v in result.reply_owed
    ]
    return {"silent": silent, "replyOwed": owed}


def _cell(text: str, width: int | None = None) -> str:
    flat = _BLANKS.sub(" ", text).strip()
    if width is not None and len(flat) > width:
        flat = flat[: width - 1] + "…"
    return flat


def _who(person: dict[str, str]) -> str:
    if person["name"]:
        return f"{_cell(person['name'], 30)} <{_cell(person['email'])}>"
    return _cell(person["email"])


def _table(heading: str, columns: list[str], rows: list[list[str]]) -> list[str]:
    lines = [f"{heading} ({len(rows)})"]
    if not rows:
        lines.append("  none")
        return lines
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    for row in [columns, *rows]:
        cells = [value.ljust(widths[i]) for i, value in enumerate(row)]
        lines.append(("  " + "  ".join(cells)).rstrip())
    return lines


def scan_to_table(result: ScanResult) -> str:
    """Return the scan as aligned plain-text tables, one section each."""
    data = scan_to_json(result)
    silent_rows = [
        [
            _cell(row["threadId"]),
            row["kind"].replace("_", " "),
            str(row["unansweredCount"]),
            str(row["daysSilent"]),
            str(row["businessDaysSilent"]),
            row["silentSince"] or "",
            _who(row["prospect"]),
            _cell(row["subject"], _SUBJECT_WIDTH),
        ]
        for row in data["silent"]
    ]
    owed_rows = [
        [
            _cell(row["threadId"]),
            f"{row['hoursWaiting']:.1f}",
            row["waitingSince"] or "",
            _who(row["prospect"]),
            _cell(row["subject"], _SUBJECT_WIDTH),
        ]
        for row in data["replyOwed"]
    ]
    lines = _table(
        "Silent prospects",
        [
            "THREAD",
            "KIND",
            "UNANSWERED",
            "DAYS",
            "BUSINESS DAYS",
            "SILENT SINCE",
            "PROSPECT",
            "SUBJECT",
        ],
        silent_rows,
    )
    lines.append("")
    lines += _table(
        "Replies owed",
        ["THREAD", "HOURS WAITING", "WAITING SINCE", "FROM", "SUBJECT"],
        owed_rows,
    )
    return "\n".join(lines) + "\n"
