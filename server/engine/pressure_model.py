"""Sentence-level pressure classifier: a linear model over word and character n-grams.

The model is one JSON artifact, ``pressure_model.json``, trained by
``scripts/train_pressure.py`` and loaded as is by this module and by the extension
(``extension/shared/pressure_model.json`` is a byte-identical copy read by
``extension/src/pressure.js``). Inference is pure Python here and pure JavaScript there.

Scores are exact in both languages: the weights are integers, every feature is an ASCII
string built the same way in both, and a sentence's score per class is a sum of integers.
A sentence is flagged when its best pressure class beats the calm class by at least the
model's threshold; the category is that best class.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from itertools import repeat
from typing import Any

MODEL_FILE = "pressure_model.json"
CALM = "calm"

# A sentence ends after a run of . ! ? followed by white space or the end, or at a newline.
_BOUNDARY = re.compile(r"[.!?]+(?![^ \t\r\n\f\v])|\n")
_SPACE = " \t\r\n\f\v"
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)*")
# ASCII-only case folding and digits folded to 0, identical in JavaScript.
_FOLD = {**{c: c + 32 for c in range(65, 91)}, **{c: 48 for c in range(49, 58)}}
_FOLD_BYTES = bytes(_FOLD.get(b, b) for b in range(256))  # the same, for ASCII text (faster)
# Scoring speed-up: each feature's weights are packed into one integer, one 48-bit field per
# class (weight + _OFFSET) plus a last field counting 1, so one C-level sum() adds them all.
_BITS = 48
_OFFSET = 1 << 31
_MASK = (1 << _BITS) - 1


def _pack(row: Sequence[int]) -> int:
    packed = 1 << (_BITS * len(row))
    for c, w in enumerate(row):
        packed |= (w + _OFFSET) << (_BITS * c)
    return packed


@dataclass(frozen=True)
class Sentence:
    """One classified sentence: ``draft[start:end]``, its class and its margin."""

    start: int
    end: int
    category: str
    margin: int

    @property
    def flagged(self) -> bool:
        """True when the sentence reads as pressure."""
        return self.category != CALM


def normalise_table(spec: Mapping[str, str]) -> dict[int, str]:
    """The artifacts' "normalise" map ({replacement: characters}) as a str.translate table."""
    return {ord(src): dst for dst, sources in spec.items() for src in sources}


def table_probe(table: Mapping[int, str]) -> re.Pattern[str] | None:
    """A pattern finding any character the table changes (None for an empty table)."""
    if not table:
        return None
    return re.compile(f"[{re.escape(''.join(map(chr, table)))}]")


def normalise_with(table: Mapping[int, str], probe: re.Pattern[str] | None, text: str) -> str:
    """Translate `text` by `table`, skipping the copy when no character needs it."""
    return text.translate(table) if probe and probe.search(text) else text


@dataclass(frozen=True)
class PressureModel:
    """A loaded model artifact."""

    classes: tuple[str, ...]
    bias: tuple[int, ...]
    threshold: int
    weights: Mapping[str, Sequence[int]]
    chars: tuple[int, int]
    table: Mapping[int, str]
    categories: Mapping[str, Mapping[str, str]]
    packed: Mapping[str, int] = field(default_factory=dict, repr=False, compare=False)
    probe: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.packed and self.weights:
            object.__setattr__(self, "packed", {f: _pack(w) for f, w in self.weights.items()})
        if self.probe is None:
            object.__setattr__(self, "probe", table_probe(self.table))

    def normalise(self, text: str) -> str:
        """Apply the normalisation table (a no-op, skipped, for most drafts)."""
        return normalise_with(self.table, self.probe, text)

    @classmethod
    def from_data(cls, data: Any) -> PressureModel:
        """Build a model from parsed artifact JSON; raise ValueError when it is unusable."""
        problems = validate_model(data)
        if problems:
            raise ValueError("invalid pressure model: " + "; ".join(problems))
        table = normalise_table(data["normalise"])
        return cls(tuple(data["classes"]), tuple(data["bias"]), data["threshold"],
                   data["weights"], (data["chars"][0], data["chars"][1]), table,
                   data["categories"])

    def sentence_spans(self, text: str) -> list[tuple[int, int]]:
        """Return the (start, end) of each non-blank sentence, white space trimmed."""
        subject = self.normalise(text)
        spans = []
        start = 0
        for m in _BOUNDARY.finditer(subject):
            spans.append((start, m.end()))
            start = m.end()
        spans.append((start, len(subject)))
        out = []
        for a, b in spans:
            while a < b and subject[a] in _SPACE:
                a += 1
            while b > a and subject[b - 1] in _SPACE:
                b -= 1
            if a < b:
                out.append((a, b))
        return out

    def features(self, sentence: str) -> set[str]:
        """Return the feature strings of one (already normalised) sentence."""
        folded = (sentence.encode("ascii").translate(_FOLD_BYTES).decode("ascii")
                  if sentence.isascii() else sentence.translate(_FOLD))
        words = _TOKEN.findall(folded)
        feats = {"=" + w for w in words}
        feats.update(f"={a}+{b}" for a, b in zip(words, words[1:], strict=False))
        padded = " " + " ".join(words) + " "
        low, high = self.chars
        for n in range(low, high + 1):
            feats.update(padded[i : i + n] for i in range(len(padded) - n + 1))
        return feats

    def scores(self, sentence: str) -> list[int]:
        """Return the integer score of each class for one sentence."""
        feats = self.features(self.normalise(sentence))
        total = sum(map(self.packed.get, feats, repeat(0)))
        k = len(self.bias)
        count = total >> (_BITS * k)
        return [b + ((total >> (_BITS * c)) & _MASK) - count * _OFFSET
                for c, b in enumerate(self.bias)]

    def decide(self, scores: Sequence[int], threshold: int | None = None) -> tuple[str, int]:
        """Return (class, margin): the best pressure class when it wins by the threshold."""
        calm = self.classes.index(CALM)
        best = max((i for i in range(len(self.classes)) if i != calm),
                   key=lambda i: (scores[i], -i))
        margin = scores[best] - scores[calm]
        limit = self.threshold if threshold is None else threshold
        return (self.classes[best] if margin >= limit else CALM), margin

    def classify(self, text: str) -> list[Sentence]:
        """Classify every sentence of ``text``; offsets are code point indices."""
        out = []
        for start, end in self.sentence_spans(text):
            category, margin = self.decide(self.scores(text[start:end]))
            out.append(Sentence(start, end, category, margin))
        return out


def validate_model(data: Any) -> list[str]:
    """Return every problem with parsed artifact JSON; an empty list means it is usable."""
    if not isinstance(data, dict):
        return ["the model file must hold a JSON object"]
    problems = []
    classes = data.get("classes")
    if not isinstance(classes, list) or CALM not in classes or len(classes) < 2:
        return ["'classes' must list 'calm' and at least one pressure class"]
    bias = data.get("bias")
    if not isinstance(bias, list) or len(bias) != len(classes):
        problems.append("'bias' needs one integer per class")
    if not isinstance(data.get("threshold"), int):
        problems.append("'threshold' must be an integer")
    chars = data.get("chars")
    if not (isinstance(chars, list) and len(chars) == 2 and all(isinstance(c, int) for c in chars)
            and 1 <= chars[0] <= chars[1]):
        problems.append("'chars' must be [lowest, highest] character n-gram lengths")
    weights = data.get("weights")
    if not isinstance(weights, dict) or not all(
            isinstance(w, list) and len(w) == len(classes)
            and all(isinstance(x, int) and abs(x) < _OFFSET for x in w)
            for w in weights.values()):
        problems.append("'weights' must map each feature to one integer per class")
    categories = data.get("categories")
    for name in classes:
        if name == CALM:
            continue
        info = categories.get(name) if isinstance(categories, dict) else None
        if not isinstance(info, dict) or not all(
                isinstance(info.get(k), str) and info[k].strip()
                for k in ("label", "why", "suggestion")):
            problems.append(f"category {name!r} needs a label, a why and a suggestion")
    if not isinstance(data.get("normalise"), dict):
        problems.append("'normalise' must be an object")
    return problems


def read_model_data() -> Any:
    """Return the packaged model artifact, parsed."""
    raw = resources.files(__package__ or "server.engine").joinpath(MODEL_FILE)
    return json.loads(raw.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def default_model() -> PressureModel:
    """Return the packaged model, loaded once."""
    return PressureModel.from_data(read_model_data())
