"""A stacked horizontal bar chart as inline SVG, rendered on the server (no JavaScript)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

# Age buckets in whole calendar days of silence: (label, lowest, highest or None).
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0–7 days", 0, 7),
    ("8–14 days", 8, 14),
    ("15–30 days", 15, 30),
    ("over 30 days", 31, None),
)
# Light to dark: longer silence reads as heavier.
COLOURS = ("#9ecae1", "#4292c6", "#2171b5", "#08306b")
WIDTH = 720
LABEL_WIDTH = 190
ROW_HEIGHT = 30
BAR_HEIGHT = 20
TOP = 34


def bucket_index(days: int) -> int:
    """Which age bucket `days` falls in."""
    for index, (_, low, high) in enumerate(BUCKETS):
        if days >= low and (high is None or days <= high):
            return index
    return 0


def stacked_bars(rows: Sequence[tuple[str, Sequence[int]]], title: str) -> Markup:
    """One bar per row, one segment per bucket; every number is also in a <title> tooltip."""
    biggest = max((sum(counts) for _, counts in rows), default=0) or 1
    plot = WIDTH - LABEL_WIDTH - 40
    height = TOP + ROW_HEIGHT * max(len(rows), 1) + 10
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    out.extend(_legend())
    if not rows:
        out.append(f'<text x="0" y="{TOP + 16}" class="chart-empty">Nobody to show yet.</text>')
    for r, (label, counts) in enumerate(rows):
        y = TOP + r * ROW_HEIGHT
        out.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end" '
            f'class="chart-label">{escape(label)}</text>'
        )
        x = float(LABEL_WIDTH)
        for index, count in enumerate(counts):
            if count <= 0:
                continue
            w = plot * count / biggest
            tip = f"{label}: {count} silent {_people(count)}, {BUCKETS[index][0]}"
            out.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{BAR_HEIGHT}" '
                f'fill="{COLOURS[index]}" data-bucket="{index}" data-count="{count}">'
                f"<title>{escape(tip)}</title></rect>"
            )
            x += w
        out.append(f'<text x="{x + 6:.1f}" y="{y + 15}" class="chart-total">{sum(counts)}</text>')
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every interpolated text is escaped above


def _people(count: int) -> str:
    return "prospect" if count == 1 else "prospects"


def _legend() -> list[str]:
    parts = []
    x = LABEL_WIDTH
    for index, (label, _, _) in enumerate(BUCKETS):
        parts.append(
            f'<rect x="{x}" y="4" width="14" height="14" fill="{COLOURS[index]}"></rect>'
            f'<text x="{x + 19}" y="16" class="chart-legend">{escape(label)}</text>'
        )
        x += 120
    return parts
