"""The JavaScript port gives exactly the Python findings (same rules and model files, same
offsets, same integer scores)."""

import json
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from server.engine.pressure import check_pressure, read_rules_data
from server.engine.pressure_model import default_model

ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("run_pressure.mjs")
MODULE = ROOT / "extension" / "src" / "pressure.js"
RULES = ROOT / "extension" / "shared" / "pressure_rules.json"
MODEL = ROOT / "extension" / "shared" / "pressure_model.json"
CORPUS = json.loads(Path(__file__).with_name("corpus.json").read_text("utf-8"))
DATA = Path(__file__).with_name("data")
LABELLED = [row["text"] for name in ("heldout.json", "train.json")
            for row in json.loads((DATA / name).read_text("utf-8"))]
PIECES = ["just checking in", "Any update?", "circling back", "by Friday", "my quota",
          "I need a decision", "did you get a chance to", "I haven\u2019t heard back", "ASAP",
          "touch\u00a0base", "end of the quarter", "follow\u2011up", "I\u2019ll assume",
          "\U0001F642", "\U0001F9D1\u200D\U0001F4BB", "\u00e9", "\u212a", "\u017f", "\u0130",
          "\ufeff", "\u2028", "\r\n", "\t", " ", ".", "?", "'", "-", "Hi Dana,", "thanks",
          "JUST", "update", "any", "\ud83d"]


def node_or_skip() -> str:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("node is required under CI to check the JavaScript pressure port")
        pytest.skip("node is not installed; the JavaScript parity check needs Node.js 18+")
    return node


def run_js(texts, **extra):
    request = {"module": str(MODULE), "rules": str(RULES), "model": str(MODEL), "texts": texts,
               **extra}
    done = subprocess.run([node_or_skip(), str(RUNNER)], input=json.dumps(request),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def utf16_offset(text, index):
    return len(text[:index].encode("utf-16-le", "surrogatepass")) // 2


def generated_texts(count=400, seed=20240611):
    rng = random.Random(seed)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 14))) for _ in range(count)]


def parity_texts():
    data = read_rules_data()
    texts = [row["text"] for row in CORPUS] + LABELLED
    texts.append(" ".join(LABELLED[:400]))  # one long draft
    texts.append("\n".join(LABELLED[400:800]))
    for rule in data["rules"]:
        texts += rule["examples"] + rule.get("fine", [])
    texts += ["", "\U0001F642\U0001F642 any update?", "caf\u00e9any update?",
              "I haven\u2019t heard\u00a0back", "JUST CHECKING IN\u2028ASAP"]
    return texts + generated_texts()


def test_js_findings_equal_python_findings_everywhere():
    texts = parity_texts()
    result = run_js(texts)
    assert len(result["findings"]) == len(texts)
    mismatches = []
    for text, js in zip(texts, result["findings"], strict=True):
        expected = [f.as_dict() for f in check_pressure(text)]
        for f, js_f in zip(expected, js, strict=False):
            assert js_f["jsStart"] == utf16_offset(text, f["start"])
            assert js_f["jsEnd"] == utf16_offset(text, f["end"])
        got = [{k: v for k, v in js_f.items() if k not in ("jsStart", "jsEnd")} for js_f in js]
        if got != expected:
            mismatches.append((text, expected, got))
    assert mismatches == []


def test_js_scores_every_sentence_exactly_as_python():
    model = default_model()
    texts = parity_texts()
    result = run_js(texts, classify=True)
    mismatches = []
    for text, js in zip(texts, result["sentences"], strict=True):
        expected = [(utf16_offset(text, s.start), utf16_offset(text, s.end), s.category,
                     s.margin, model.scores(text[s.start:s.end])) for s in model.classify(text)]
        got = [(s["jsStart"], s["jsEnd"], s["category"], s["margin"], s["scores"]) for s in js]
        if got != expected:
            mismatches.append((text, expected, got))
    assert mismatches == []


def test_js_without_the_model_reports_the_rules_alone():
    text = "I'll go ahead and send the paperwork unless I hear otherwise. Any update?"
    (finding,) = run_js([text], options={"useModel": False})["findings"][0]
    assert finding["ruleId"] == "chasing.any_update"
    both = run_js([text])["findings"][0]
    assert [f["ruleId"] for f in both] == ["model.assuming_sale", "chasing.any_update"]


def test_js_reports_code_point_and_utf16_offsets_for_emoji():
    text = "\U0001F642\U0001F642 any update?"
    (finding,) = run_js([text])["findings"][0]
    assert (finding["start"], finding["end"]) == (3, 13)
    assert (finding["jsStart"], finding["jsEnd"]) == (5, 15)


def test_js_bad_input_gives_clear_errors():
    errors = run_js([], probeErrors=True)["errors"]
    assert errors["notText"] == "TypeError: checkPressure expects the draft as a string"
    assert errors["httpError"] == "Error: could not load pressure rules from rules.json: HTTP 404"
    assert errors["badShape"].startswith("Error: pressure rules:")
    assert errors["badPattern"].startswith("SyntaxError")
    assert errors["modelHttpError"] == (
        "Error: could not load pressure model from x/pressure_model.json: HTTP 404")
    assert errors["badModel"].startswith("Error: pressure model:")
