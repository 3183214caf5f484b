"""`stepback check-draft [FILE]`: the pressure check of a draft, for scripts and terminals.

Reads FILE (or standard input when no file is given) as UTF-8 text and prints the findings,
rules and classifier together, exactly as the API and the extension report them. The exit
code is 0 whether or not anything is found; 2 when the input cannot be read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from server.cli.common import CliError
from server.engine.pressure import Finding, check_pressure

# Far above any email draft; keeps a mistaken path (a disk image, a log) from hanging.
MAX_BYTES = 1_000_000


def read_draft(path: str | None) -> str:
    """Return the draft text from ``path`` or stdin; CliError (exit 2) when unreadable."""
    where = path or "standard input"
    try:
        if path is None:
            raw = sys.stdin.buffer.read(MAX_BYTES + 1)
        else:
            with Path(path).open("rb") as handle:
                raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise CliError(f"cannot read {where}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_BYTES:
        raise CliError(f"{where} is larger than {MAX_BYTES:,} bytes; is it really a draft?")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CliError(f"{where} is not UTF-8 text (byte {exc.start})") from exc


def _line(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "\u2026"


def table(findings: list[Finding]) -> str:
    """Findings as a plain-text table with the why and the alternative under each row."""
    if not findings:
        return "No pressure found in the draft."
    rows = [("START", "END", "CATEGORY", "FINDING", "TEXT")]
    rows += [(str(f.start), str(f.end), f.category, f.rule_id, _line(f.text)) for f in findings]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    out = []
    for index, row in enumerate(rows):
        out.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4]))
                   + "  " + row[4])
        if index:
            finding = findings[index - 1]
            out.append(f"    why: {finding.why}")
            out.append(f"    try: {finding.suggestion}")
    count = len(findings)
    out.append(f"{count} finding{'' if count == 1 else 's'}.")
    return "\n".join(out)


@click.command("check-draft")
@click.argument("file", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output: a table for people, JSON for scripts.")
def check_draft(file: str | None, fmt: str) -> None:
    """Check a draft for chasing, urgency, self-focus, assuming the sale and guilt.

    FILE is read as UTF-8; without FILE (or with -) the draft is read from standard input.
    Nothing is stored or sent anywhere. Exit code 0 with or without findings.
    """
    text = read_draft(None if file in (None, "-") else file)
    findings = check_pressure(text)
    if fmt == "json":
        payload: dict[str, Any] = {"findings": [f.as_dict() for f in findings]}
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        click.echo(table(findings))


COMMANDS = (check_draft,)
