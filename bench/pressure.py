"""Pressure check figures: quality on the frozen held-out split, size and speed.

Run from the repository root:  .venv/bin/python bench/pressure.py [--rounds N] [--no-browser]

Quality: precision and recall on tests/pressure/data/heldout.json (written separately from
the training corpus and frozen before training; tests check its hash) for the rules alone,
the classifier alone and both together, each in Python and in the extension's JavaScript
(node); the same for tests/pressure/data/probe.json, 400 new wordings by two other writers,
frozen before the corpus grew and never trained on; and for fresh.json, 300 more by two
further writers, committed after the model was final. A sentence counts as flagged when it
has at least one finding. The older
tests/pressure/corpus.json is scored too ("dev" tuned the rules, "holdout" never did).

Speed: milliseconds to check one 300-word draft in Python, in node and in Chromium
(Playwright driving /usr/bin/chromium). Size: the extension's files and the model artifact.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.engine.pressure import check_pressure  # noqa: E402
from server.engine.pressure_model import default_model  # noqa: E402

HELDOUT = ROOT / "tests" / "pressure" / "data" / "heldout.json"
PROBE = ROOT / "tests" / "pressure" / "data" / "probe.json"
FRESH = ROOT / "tests" / "pressure" / "data" / "fresh.json"
CORPUS = ROOT / "tests" / "pressure" / "corpus.json"
RUNNER = ROOT / "tests" / "pressure" / "run_pressure.mjs"
EXTENSION = ROOT / "extension"
MODULE = EXTENSION / "src" / "pressure.js"
RULES = EXTENSION / "shared" / "pressure_rules.json"
MODEL = EXTENSION / "shared" / "pressure_model.json"
CHROMIUM = "/usr/bin/chromium"
MODES = {"rules": {"useModel": False}, "classifier": {"useRules": False}, "both": {}}
PY_MODES = {"rules": {"use_model": False}, "classifier": {"use_rules": False}, "both": {}}


def scores(truth: list[bool], flagged: list[bool]) -> tuple[float, float]:
    """Return precision and recall."""
    tp = sum(1 for t, f in zip(truth, flagged, strict=True) if t and f)
    fp = sum(1 for t, f in zip(truth, flagged, strict=True) if f and not t)
    fn = sum(1 for t, f in zip(truth, flagged, strict=True) if t and not f)
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)


def run_node(texts: list[str], options: dict, rounds: int = 0) -> dict | None:
    """Run the extension's check from node; None when node is missing."""
    node = shutil.which("node")
    if node is None:
        return None
    request = {"module": str(MODULE), "rules": str(RULES), "model": str(MODEL),
               "texts": texts, "options": options, "benchRounds": rounds}
    done = subprocess.run([node, str(RUNNER)], input=json.dumps(request), capture_output=True,
                          text=True, timeout=600, check=True)
    return json.loads(done.stdout)


def quality_table(title: str, texts: list[str], truth: list[bool]) -> None:
    print(f"\n{title} (n={len(texts)}, {sum(truth)} pushy)")
    print(f"  {'mode':<11}{'Python P':>9}{'Python R':>9}  {'JS P':>7}{'JS R':>7}  same")
    for mode, options in MODES.items():
        py = [bool(check_pressure(t, **PY_MODES[mode])) for t in texts]  # type: ignore[arg-type]
        p, r = scores(truth, py)
        js = run_node(texts, options)
        if js is None:
            print(f"  {mode:<11}{p:>9.3f}{r:>9.3f}  {'n/a':>7}{'n/a':>7}")
            continue
        js_flags = [bool(f) for f in js["findings"]]
        jp, jr = scores(truth, js_flags)
        print(f"  {mode:<11}{p:>9.3f}{r:>9.3f}  {jp:>7.3f}{jr:>7.3f}  "
              f"{'yes' if js_flags == py else 'NO'}")


def draft_of(texts: list[str], words: int = 300) -> str:
    """Glue sentences into one draft of about ``words`` words."""
    out: list[str] = []
    count = 0
    i = 0
    while count < words:
        sentence = texts[i % len(texts)]
        out.append(sentence)
        count += len(sentence.split())
        i += 1
    return " ".join(out)


def chromium_ms(draft: str, rounds: int) -> float | None:
    """Milliseconds per check of ``draft`` in Chromium; None when it cannot run."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not Path(CHROMIUM).exists():
        return None
    args = ["--no-sandbox", "--disable-background-networking", "--disable-component-update"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = browser.new_page()
            page.set_content("<!doctype html><title>bench</title>")
            return page.evaluate("""async ({source, rules, model, draft, rounds}) => {
                const url = "data:text/javascript;base64," + btoa(unescape(
                    encodeURIComponent(source)));
                const mod = await import(url);
                const files = {"r/pressure_rules.json": rules, "r/pressure_model.json": model};
                const loaded = await mod.loadRules("r/pressure_rules.json", async (path) => ({
                    ok: true, status: 200, json: async () => JSON.parse(files[path])}));
                for (let i = 0; i < 20; i += 1) mod.checkPressure(draft, loaded);
                const started = performance.now();
                for (let i = 0; i < rounds; i += 1) mod.checkPressure(draft, loaded);
                return (performance.now() - started) / rounds;
            }""", {"source": MODULE.read_text("utf-8"), "rules": RULES.read_text("utf-8"),
                   "model": MODEL.read_text("utf-8"), "draft": draft, "rounds": rounds})
        finally:
            browser.close()


def speed(texts: list[str], rounds: int, browser: bool) -> None:
    draft = draft_of(texts)
    words = len(draft.split())
    default_model()
    check_pressure(draft)  # load and compile outside the timing
    started = time.perf_counter()
    for _ in range(rounds):
        check_pressure(draft)
    py_ms = (time.perf_counter() - started) / rounds * 1000
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nspeed: one {words}-word draft ({len(draft)} chars), {rounds} rounds "
          f"(load average {load:.1f} on {os.cpu_count()} CPUs: a busy machine inflates these)")
    print(f"  Python:   {py_ms:.2f} ms per draft")
    js = run_node([draft], {}, rounds)
    if js is None:
        print("  node:     n/a (node not found)")
    else:
        print(f"  node:     {js['seconds'] / rounds * 1000:.2f} ms per draft")
    ms = chromium_ms(draft, rounds) if browser else None
    print(f"  Chromium: {f'{ms:.2f} ms per draft' if ms is not None else 'n/a'}")


def size() -> None:
    files = [p for p in EXTENSION.rglob("*") if p.is_file() and "node_modules" not in p.parts
             and not p.name.startswith("package")]
    total = sum(p.stat().st_size for p in files)
    print(f"\nsize: extension files {total / 1e6:.2f} MB (limit 5 MB); model artifact "
          f"{MODEL.stat().st_size / 1e6:.2f} MB, {len(default_model().weights)} features")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="timing rounds (default 200)")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium timing")
    args = parser.parse_args()
    held = json.loads(HELDOUT.read_text("utf-8"))
    splits = [("frozen held-out split", held),
              ("frozen probe split (new wordings by other writers, never trained on)",
               json.loads(PROBE.read_text("utf-8"))),
              ("frozen fresh split (written after the model was final)",
               json.loads(FRESH.read_text("utf-8")))]
    for title, rows in splits:
        quality_table(title, [r["text"] for r in rows], [r["label"] != "calm" for r in rows])
    legacy = json.loads(CORPUS.read_text("utf-8"))
    for part in ("dev", "holdout"):
        rows = [r for r in legacy if r["set"] == part]
        quality_table(f"tests/pressure/corpus.json, {part}", [r["text"] for r in rows],
                      [r["pushy"] for r in rows])
    size()
    speed([r["text"] for r in held], max(1, args.rounds), not args.no_browser)


if __name__ == "__main__":
    main()
