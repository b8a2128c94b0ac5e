"""A small naive Bayes model of the category over character n-grams (Chinese has no spaces).

Pure Python: the model is a table of how many training utterances of each category hold each
character n-gram (seen in at least `MIN_DOCS` of them), trained by `scripts/train_category_model.py`
from the labelled tuning utterances and shipped as `asr/data/category_model.json`. It explains itself:
the n-grams that weigh most for the category it picks against the runner-up.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from importlib.resources import files

MIN_N, MAX_N = 1, 3  # character n-gram lengths
MIN_DOCS = 2  # an n-gram seen in fewer training utterances is dropped
ALPHA = 1.0  # additive smoothing (chosen by 10-fold CV on the tuning sets, docs/asr.md)


def grams(text: str, min_n: int = MIN_N, max_n: int = MAX_N) -> set[str]:
    """Every distinct character n-gram of the text (punctuation and spaces dropped)."""
    chars = "".join(c for c in text if c.isalnum())
    return {chars[i:i + n] for n in range(min_n, max_n + 1) for i in range(len(chars) - n + 1)}


@dataclass(frozen=True, slots=True)
class ModelGuess:
    label: str
    probability: float
    drivers: tuple[str, ...]  # the n-grams that weigh most for `label` against the runner-up

    def reason(self) -> str:
        """模型: 投诉 0.71 — 被, 我家, 不给."""
        return f"模型: {self.label} {self.probability:.2f} — {', '.join(self.drivers)}"


class CategoryModel:
    """Multinomial naive Bayes over the distinct n-grams of an utterance."""

    def __init__(self, labels: tuple[str, ...], docs: tuple[int, ...],
                 counts: dict[str, tuple[int, ...]], *, alpha: float = ALPHA,
                 min_n: int = MIN_N, max_n: int = MAX_N) -> None:
        self.labels = labels
        self.docs = docs  # training utterances per label
        self.counts = counts  # n-gram → utterances of each label that hold it
        self.alpha = alpha
        self.min_n, self.max_n = min_n, max_n
        totals = [sum(c[i] for c in counts.values()) for i in range(len(labels))]
        vocabulary = len(counts)
        self._prior = [math.log(d / sum(docs)) for d in docs]
        self._log = {g: tuple(math.log((c[i] + alpha) / (totals[i] + alpha * vocabulary))
                              for i in range(len(labels))) for g, c in counts.items()}

    @classmethod
    def train(cls, examples: Iterable[tuple[str, str]], labels: tuple[str, ...], *,
              alpha: float = ALPHA, min_docs: int = MIN_DOCS, min_n: int = MIN_N,
              max_n: int = MAX_N) -> CategoryModel:
        """`examples`: (text, label) pairs."""
        index = {label: i for i, label in enumerate(labels)}
        docs = [0] * len(labels)
        per_label: dict[str, list[int]] = {}
        seen: Counter[str] = Counter()
        for text, label in examples:
            docs[index[label]] += 1
            for gram in grams(text, min_n, max_n):
                per_label.setdefault(gram, [0] * len(labels))[index[label]] += 1
                seen[gram] += 1
        counts = {g: tuple(c) for g, c in sorted(per_label.items()) if seen[g] >= min_docs}
        return cls(labels, tuple(docs), counts, alpha=alpha, min_n=min_n, max_n=max_n)

    def guess(self, text: str, *, among: Collection[str] = (), drivers: int = 3) -> ModelGuess | None:
        """None when the text holds no n-gram the model knows (silence, an empty transcript).
        `among`: choose only between these labels (the phrase table's tie), every label if empty."""
        found = sorted(g for g in grams(text, self.min_n, self.max_n) if g in self._log)
        if not found:
            return None
        scores = list(self._prior)
        for gram in found:
            for i, weight in enumerate(self._log[gram]):
                scores[i] += weight
        allowed = [i for i, label in enumerate(self.labels) if not among or label in among]
        top = max(scores[i] for i in allowed)
        exp = {i: math.exp(scores[i] - top) for i in allowed}
        ranked = sorted(allowed, key=lambda i: (-scores[i], i))
        best, second = ranked[0], ranked[1]
        lift = sorted(found, key=lambda g: (self._log[g][second] - self._log[g][best], -len(g), g))
        chosen = tuple(g for g in lift[:drivers] if self._log[g][best] > self._log[g][second])
        return ModelGuess(self.labels[best], exp[best] / sum(exp.values()), chosen)

    def dumps(self) -> str:
        """Deterministic JSON (same model, same bytes): one n-gram a line."""
        head = {"alpha": self.alpha, "docs": list(self.docs), "labels": list(self.labels),
                "max_n": self.max_n, "min_n": self.min_n}
        lines = [json.dumps(g, ensure_ascii=False) + ": " + json.dumps(list(c), separators=(",", ":"))
                 for g, c in sorted(self.counts.items())]
        body = ",\n".join(lines)
        meta = json.dumps(head, ensure_ascii=False, sort_keys=True)
        return f'{{"model": {meta},\n"counts": {{\n{body}\n}}}}\n'

    @classmethod
    def loads(cls, raw: str) -> CategoryModel:
        data = json.loads(raw)
        meta = data["model"]
        return cls(tuple(meta["labels"]), tuple(meta["docs"]),
                   {g: tuple(c) for g, c in data["counts"].items()},
                   alpha=float(meta["alpha"]), min_n=int(meta["min_n"]), max_n=int(meta["max_n"]))

    @classmethod
    def load(cls) -> CategoryModel:
        return cls.loads(files("asr.data").joinpath("category_model.json").read_text("utf-8"))
