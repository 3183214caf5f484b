"""The shared rules file: valid, portable, in sync with the extension, and each rule works."""

import copy
import json
import re
from pathlib import Path

import pytest

from server.engine.pressure import (
    FLAGS,
    RuleSet,
    check_pressure,
    default_rules,
    read_rules_data,
    rule_findings,
    validate_rules,
)

ROOT = Path(__file__).resolve().parents[2]
SERVER_RULES = ROOT / "server" / "engine" / "pressure_rules.json"
EXTENSION_RULES = ROOT / "extension" / "shared" / "pressure_rules.json"
DATA = read_rules_data()
RULE_IDS = [rule["id"] for rule in DATA["rules"]]
BY_ID = {rule["id"]: rule for rule in DATA["rules"]}


def test_extension_copy_is_byte_identical():
    assert SERVER_RULES.read_bytes() == EXTENSION_RULES.read_bytes(), (
        "extension/shared/pressure_rules.json differs from server/engine/pressure_rules.json; "
        "edit the server file, then run: "
        "cp server/engine/pressure_rules.json extension/shared/pressure_rules.json")


def test_rules_file_is_plain_ascii_json():
    raw = SERVER_RULES.read_bytes()
    raw.decode("ascii")  # non-ASCII characters are written as \\u escapes
    assert json.loads(raw) == DATA


def test_rules_file_is_valid():
    assert validate_rules(DATA) == []


def test_all_four_categories_are_covered():
    assert {rule["category"] for rule in DATA["rules"]} == {
        "chasing", "urgency", "self_focused", "pushy"}


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_fires_on_each_of_its_examples(rule_id):
    for example in BY_ID[rule_id]["examples"]:
        found = [f.rule_id for f in check_pressure(example)]
        assert rule_id in found, f"{rule_id} missed {example!r} (found {found})"


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_every_pattern_is_exercised_by_an_example(rule_id):
    rule = BY_ID[rule_id]
    table = default_rules().table
    examples = [text.translate(table) for text in rule["examples"]]
    for index, pattern in enumerate(rule["patterns"]):
        compiled = re.compile(pattern, FLAGS)
        assert any(compiled.search(text) for text in examples), \
            f"{rule_id} pattern {index} matches none of its examples"


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_near_misses_listed_with_a_rule_are_not_flagged(rule_id):
    for sentence in BY_ID[rule_id].get("fine", []):
        assert rule_findings(sentence) == [], sentence


def _with_pattern(pattern):
    data = copy.deepcopy(DATA)
    data["rules"][0]["patterns"] = [pattern]
    return data


@pytest.mark.parametrize("pattern, problem", [
    (r"(?<=hey )there", "no lookbehind"),
    (r"(?<!hey )there", "no lookbehind"),
    (r"(?P<word>hello)", "named groups"),
    (r"(?i)hello", "inline flags"),
    (r"hello.world", "unescaped '.'"),
    (r"^hello", "unescaped '^'"),
    (r"hello$", "unescaped '$'"),
    (r"hel+lo", None),
    (r"a++b", "possessive"),
    (r"\Ahello", "escape \\A"),
    (r"[[a]b]", "nested '['"),
    (r"(unclosed", "does not compile"),
    (r"\b(?:x)?", "empty string"),
])
def test_validator_keeps_patterns_portable(pattern, problem):
    problems = validate_rules(_with_pattern(pattern))
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


def test_validator_reports_structural_problems():
    data = copy.deepcopy(DATA)
    data["rules"][1]["id"] = data["rules"][0]["id"]
    data["rules"][2]["category"] = "rude"
    data["rules"][3]["why"] = " "
    data["rules"][4]["patterns"] = []
    data["rules"][5]["examples"] = []
    data["normalise"]["'"] += "\U0001F600"
    problems = validate_rules(data)
    joined = " | ".join(problems)
    for expected in ("duplicate id", "unknown category 'rude'", "'why' must be non-empty",
                     "'patterns' must be a non-empty list", "'examples' must list",
                     "U+1F600 is unusable"):
        assert expected in joined
    assert validate_rules([]) == ["the rules file must hold a JSON object"]
    assert validate_rules({"categories": {"a": "b"}, "normalise": {}, "rules": []}) == [
        "'rules' must be a non-empty list"]


def test_ruleset_refuses_invalid_data_with_one_clear_error():
    with pytest.raises(ValueError, match="invalid pressure rules: .*named groups"):
        RuleSet.from_data(_with_pattern(r"(?P<x>a)"))


def test_custom_ruleset_is_used_when_given():
    data = copy.deepcopy(DATA)
    data["rules"] = [dict(DATA["rules"][0], patterns=[r"\bpineapple\b"])]
    rules = RuleSet.from_data(data)
    assert [f.text for f in check_pressure("One PINEAPPLE please", rules)] == ["PINEAPPLE"]
    assert check_pressure("Just checking in", rules, use_model=False) == []
