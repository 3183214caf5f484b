"""Pressure check: flag chasing, urgency, self-focused and pushy phrasing in a draft.

Two parts work side by side. The rules in ``pressure_rules.json`` mark the exact stock
phrase and say why; the sentence classifier (``pressure_model.py``, one artifact in
``pressure_model.json``) flags whole sentences that no rule names, by category (chasing,
urgency, self-focus, assuming the sale, guilt or blame), with the trust-based alternative.
A classifier finding is only reported for a sentence no rule finding touches, so findings
never overlap. The browser extension loads byte-identical copies of both files (in
``extension/shared/``), so the Python and JavaScript checks give the same findings. The
check is a pure function: the draft is never stored or logged.

Offsets are code point indices, i.e. Python ``str`` indices. The JavaScript port reports
the same numbers (and UTF-16 indices separately for DOM ranges).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from .pressure_model import (
    PressureModel,
    default_model,
    normalise_table,
    normalise_with,
    table_probe,
)

RULES_FILE = "pressure_rules.json"
# Python flags that read our portable patterns exactly as JavaScript's "gi" does.
FLAGS = re.IGNORECASE | re.ASCII

_ESCAPES_OK = set("bBsSdDwWnt") | set("\\.^$*+?()[]{}|/-'\"")
_PROBES = ("", " ", "a", "a b", "a. b")


@dataclass(frozen=True)
class Finding:
    """One flagged phrase: ``text`` is ``draft[start:end]``."""

    rule_id: str
    category: str
    start: int
    end: int
    text: str
    why: str
    suggestion: str

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON shape shared with the JavaScript port."""
        return {"ruleId": self.rule_id, "category": self.category, "start": self.start,
                "end": self.end, "text": self.text, "why": self.why,
                "suggestion": self.suggestion}


@dataclass(frozen=True)
class Rule:
    """A compiled rule."""

    id: str
    category: str
    why: str
    suggestion: str
    patterns: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class RuleSet:
    """Compiled rules plus the character normalisation applied before matching."""

    rules: tuple[Rule, ...]
    table: Mapping[int, str]
    categories: Mapping[str, str]
    probe: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.probe is None:
            object.__setattr__(self, "probe", table_probe(self.table))

    def normalise(self, text: str) -> str:
        """Apply the normalisation table (a no-op, skipped, for most drafts)."""
        return normalise_with(self.table, self.probe, text)

    @classmethod
    def from_data(cls, data: Any) -> RuleSet:
        """Validate and compile parsed rules JSON; raise ValueError listing every problem."""
        problems = validate_rules(data)
        if problems:
            raise ValueError("invalid pressure rules: " + "; ".join(problems))
        table = normalise_table(data["normalise"])
        rules = tuple(
            Rule(r["id"], r["category"], r["why"], r["suggestion"],
                 tuple(re.compile(p, FLAGS) for p in r["patterns"]))
            for r in data["rules"])
        return cls(rules, table, dict(data["categories"]))


def _pattern_problems(pattern: str) -> list[str]:
    """Return why ``pattern`` is outside the subset Python and JavaScript read alike."""
    problems = []
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            nxt = pattern[i + 1 : i + 2]
            if nxt not in _ESCAPES_OK:
                problems.append(f"escape \\{nxt} is not portable")
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "[":
                problems.append("nested '[' in a character class")
        elif ch in ".^$":
            problems.append(f"unescaped {ch!r} behaves differently in Python and JavaScript")
        elif ch == "(" and pattern[i + 1 : i + 2] == "?" and pattern[i + 2 : i + 3] not in ":=!":
            problems.append("only (?:, (?= and (?! groups are portable (no lookbehind, "
                            "named groups or inline flags)")
        elif ch in "*+?}" and pattern[i + 1 : i + 2] == "+":
            problems.append("possessive quantifiers are not portable")
        i += 1
    if problems:
        return problems
    try:
        compiled = re.compile(pattern, FLAGS)
    except re.error as exc:
        return [f"does not compile: {exc}"]
    for probe in _PROBES:
        if any(m.start() == m.end() for m in compiled.finditer(probe)):
            return ["can match an empty string"]
    return []


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _normalise_problems(normalise: Any) -> list[str]:
    if not isinstance(normalise, dict):
        return ["'normalise' must be an object"]
    problems = []
    seen: set[str] = set()
    for target, sources in normalise.items():
        if len(target) != 1 or not isinstance(sources, str):
            problems.append(f"normalise entry {target!r} must map one character to a string")
            continue
        for src in sources:
            # One BMP character for one keeps Python and UTF-16 offsets aligned.
            if ord(src) > 0xFFFF or 0xD800 <= ord(src) <= 0xDFFF or src in seen or src == target:
                problems.append(f"normalise source U+{ord(src):04X} is unusable")
            seen.add(src)
    return problems


def _rule_problems(rule: Any, categories: Any, ids: set[str]) -> list[str]:
    if not isinstance(rule, dict) or not _is_text(rule.get("id")):
        return ["every rule needs an 'id'"]
    rid = rule["id"]
    problems = []
    if rid in ids:
        problems.append(f"{rid}: duplicate id")
    ids.add(rid)
    if rule.get("category") not in categories:
        problems.append(f"{rid}: unknown category {rule.get('category')!r}")
    for key in ("why", "suggestion"):
        if not _is_text(rule.get(key)):
            problems.append(f"{rid}: '{key}' must be non-empty text")
    patterns = rule.get("patterns")
    if not isinstance(patterns, list) or not patterns or not all(_is_text(p) for p in patterns):
        return problems + [f"{rid}: 'patterns' must be a non-empty list of strings"]
    for index, pattern in enumerate(patterns):
        problems.extend(f"{rid} pattern {index}: {p}" for p in _pattern_problems(pattern))
    examples = rule.get("examples")
    if not isinstance(examples, list) or not examples:
        problems.append(f"{rid}: 'examples' must list at least one sentence")
    return problems


def validate_rules(data: Any) -> list[str]:
    """Return every problem with parsed rules JSON; an empty list means it is usable."""
    if not isinstance(data, dict):
        return ["the rules file must hold a JSON object"]
    categories = data.get("categories")
    if not isinstance(categories, dict) or not categories:
        return ["'categories' must be a non-empty object"]
    problems = _normalise_problems(data.get("normalise"))
    rules = data.get("rules")
    if not isinstance(rules, list) or not rules:
        return problems + ["'rules' must be a non-empty list"]
    ids: set[str] = set()
    for rule in rules:
        problems.extend(_rule_problems(rule, categories, ids))
    return problems


def read_rules_data() -> Any:
    """Return the packaged rules file, parsed."""
    raw = resources.files(__package__ or "server.engine").joinpath(RULES_FILE)
    return json.loads(raw.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def default_rules() -> RuleSet:
    """Return the packaged rules, compiled once."""
    return RuleSet.from_data(read_rules_data())


def check_pressure(text: str, rules: RuleSet | None = None, model: PressureModel | None = None,
                   *, use_rules: bool = True, use_model: bool = True) -> list[Finding]:
    """Return the pressure findings in ``text``, in order and never overlapping.

    ``use_rules``/``use_model`` switch either part off (the benchmark scores each alone).
    """
    if not isinstance(text, str):
        raise TypeError("check_pressure expects the draft as a string")
    found = rule_findings(text, rules) if use_rules else []
    if not use_model:
        return found
    classifier = model or default_model()
    extra = []
    for sentence in classifier.classify(text):
        if not sentence.flagged or any(f.start < sentence.end and sentence.start < f.end
                                       for f in found):
            continue
        info = classifier.categories[sentence.category]
        extra.append(Finding(f"model.{sentence.category}", sentence.category, sentence.start,
                             sentence.end, text[sentence.start : sentence.end], info["why"],
                             info["suggestion"]))
    return sorted(found + extra, key=lambda f: f.start) if extra else found


def rule_findings(text: str, rules: RuleSet | None = None) -> list[Finding]:
    """Return the rules' findings alone: exact phrases, in order and never overlapping."""
    ruleset = rules or default_rules()
    subject = ruleset.normalise(text)
    candidates: list[tuple[int, int, int, int, Rule]] = []
    for rule_index, rule in enumerate(ruleset.rules):
        for pattern_index, pattern in enumerate(rule.patterns):
            for m in pattern.finditer(subject):
                if m.end() > m.start():
                    candidates.append((m.start(), m.end(), rule_index, pattern_index, rule))
    # Earliest first, then longest, then rule order. A later match that overlaps a kept one
    # extends it when it comes from the same rule and is dropped otherwise.
    candidates.sort(key=lambda c: (c[0], -c[1], c[2], c[3]))
    spans: list[tuple[int, int, Rule]] = []
    for start, end, _, _, rule in candidates:
        if spans and start < spans[-1][1]:
            last_start, last_end, last_rule = spans[-1]
            if last_rule is rule and end > last_end:
                spans[-1] = (last_start, end, rule)
            continue
        spans.append((start, end, rule))
    return [Finding(rule.id, rule.category, start, end, text[start:end], rule.why,
                    rule.suggestion) for start, end, rule in spans]
