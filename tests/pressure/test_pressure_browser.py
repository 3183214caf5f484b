"""In Chromium, the extension's pressure check gives exactly the server's findings."""

import json
from pathlib import Path

import pytest

from server.engine.pressure import check_pressure
from tests.conftest import CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT / "extension" / "shared"
MODULE = ROOT / "extension" / "src" / "pressure.js"
DATA = Path(__file__).with_name("data")
TEXTS = [row["text"] for name in ("heldout.json", "train.json")
         for row in json.loads((DATA / name).read_text("utf-8"))]
TEXTS += [row["text"] for row in json.loads(Path(__file__).with_name("corpus.json").read_text())]
TEXTS += [" ".join(TEXTS[:300]), "Hi \U0001F642 Dana,\n\nEveryone else already switched\u2014sign?"]

RUN = """async ({source, rules, model, texts}) => {
  const url = "data:text/javascript;base64," + btoa(unescape(encodeURIComponent(source)));
  const mod = await import(url);
  const files = {"x/pressure_rules.json": rules, "x/pressure_model.json": model};
  const loaded = await mod.loadRules("x/pressure_rules.json", async (path) => ({
    ok: true, status: 200, json: async () => JSON.parse(files[path])}));
  return texts.map((text) => mod.checkPressure(text, loaded).map(
    ({jsStart, jsEnd, ...rest}) => rest));
}"""


@pytest.mark.browser
def test_chromium_findings_equal_python_findings_on_the_whole_corpus(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_content("<!doctype html><title>pressure</title>")
            got = page.evaluate(RUN, {
                "source": MODULE.read_text("utf-8"),
                "rules": (SHARED / "pressure_rules.json").read_text("utf-8"),
                "model": (SHARED / "pressure_model.json").read_text("utf-8"),
                "texts": TEXTS})
        finally:
            browser.close()
    expected = [[f.as_dict() for f in check_pressure(t)] for t in TEXTS]
    mismatches = [(t, e, g) for t, e, g in zip(TEXTS, expected, got, strict=True) if e != g]
    assert mismatches == []
    assert sum(map(bool, got)) > len(TEXTS) // 3  # the check did flag things
