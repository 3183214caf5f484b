"""Pressure check figures: precision and recall on the labelled corpus, and throughput.

Run from the repository root:  .venv/bin/python bench/pressure.py [--rounds N]

Quality is reported for the whole corpus and for its two parts: "dev" sentences (the rules
were tuned on these) and "holdout" sentences (never used for tuning, so the honest figure
for phrasing the rules have not seen). A sentence counts as flagged when it has at least one
finding. Throughput is measured on drafts built from the corpus, next to a baseline
measured in the same run: splitting the same drafts into words with one regex.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.engine.pressure import check_pressure  # noqa: E402

CORPUS = ROOT / "tests" / "pressure" / "corpus.json"
RUNNER = ROOT / "tests" / "pressure" / "run_pressure.mjs"
MODULE = ROOT / "extension" / "src" / "pressure.js"
RULES = ROOT / "extension" / "shared" / "pressure_rules.json"
WORDS = re.compile(r"\w+")


def scores(rows: list[dict], flagged: list[bool]) -> tuple[float, float, int]:
    """Return precision, recall and the number of sentences."""
    tp = sum(1 for row, hit in zip(rows, flagged, strict=True) if hit and row["pushy"])
    fp = sum(1 for row, hit in zip(rows, flagged, strict=True) if hit and not row["pushy"])
    fn = sum(1 for row, hit in zip(rows, flagged, strict=True) if not hit and row["pushy"])
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, len(rows)


def run_node(texts: list[str], rounds: int = 0) -> dict | None:
    """Run the JavaScript port on ``texts``; None when node is missing."""
    node = shutil.which("node")
    if node is None:
        return None
    request = {"module": str(MODULE), "rules": str(RULES), "texts": texts, "benchRounds": rounds}
    done = subprocess.run([node, str(RUNNER)], input=json.dumps(request), capture_output=True,
                          text=True, timeout=600, check=True)
    return json.loads(done.stdout)


def drafts(rows: list[dict], per_draft: int = 8) -> list[str]:
    """Glue corpus sentences into email-sized drafts."""
    texts = [row["text"] for row in rows]
    return [" ".join(texts[i : i + per_draft]) for i in range(0, len(texts), per_draft)]


def timed(func, texts: list[str], rounds: int) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            func(text)
    return time.perf_counter() - started


def quality(rows: list[dict], js_findings: list | None) -> None:
    py_flags = [bool(check_pressure(row["text"])) for row in rows]
    js_flags = [bool(f) for f in js_findings] if js_findings is not None else None
    print(f"{'set':<9}{'n':>5}  {'Python P':>9}{'Python R':>9}  {'JS P':>7}{'JS R':>7}")
    for name in ("all", "dev", "holdout"):
        keep = [i for i, row in enumerate(rows) if name == "all" or row["set"] == name]
        part = [rows[i] for i in keep]
        p, r, n = scores(part, [py_flags[i] for i in keep])
        if js_flags is None:
            js = f"{'n/a':>7}{'n/a':>7}"
        else:
            jp, jr, _ = scores(part, [js_flags[i] for i in keep])
            js = f"{jp:>7.3f}{jr:>7.3f}"
        print(f"{name:<9}{n:>5}  {p:>9.3f}{r:>9.3f}  {js}")
    missed = [row["text"] for row, hit in zip(rows, py_flags, strict=True)
              if row["pushy"] and not hit]
    wrong = [row["text"] for row, hit in zip(rows, py_flags, strict=True)
             if hit and not row["pushy"]]
    print(f"missed pushy sentences: {len(missed)}; fine sentences flagged: {len(wrong)}")
    for text in missed:
        print(f"  missed: {text}")
    for text in wrong:
        print(f"  flagged: {text}")


def throughput(rows: list[dict], rounds: int) -> None:
    texts = drafts(rows)
    chars = sum(len(t) for t in texts) * rounds
    count = len(texts) * rounds
    check_pressure(texts[0])  # compile the rules outside the timing
    baseline = timed(WORDS.findall, texts, rounds)
    seconds = timed(check_pressure, texts, rounds)
    print(f"\nthroughput on {len(texts)} drafts (~{chars // count} chars each) x {rounds} rounds")
    print(f"  Python: {count / seconds:,.0f} drafts/s, {chars / seconds / 1e6:.2f} M chars/s, "
          f"{seconds / baseline:.1f}x the word-split baseline")
    result = run_node(texts, rounds)
    if result is None:
        print("  JavaScript: skipped (node not found)")
        return
    js_seconds, js_base = result["seconds"], result["baselineSeconds"]
    print(f"  JavaScript: {count / js_seconds:,.0f} drafts/s, "
          f"{chars / js_seconds / 1e6:.2f} M chars/s, "
          f"{js_seconds / js_base:.1f}x the word-split baseline")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="timing rounds (default 200)")
    args = parser.parse_args()
    rows = json.loads(CORPUS.read_text("utf-8"))
    js = run_node([row["text"] for row in rows])
    quality(rows, js["findings"] if js else None)
    throughput(rows, max(1, args.rounds))


if __name__ == "__main__":
    main()
