"""Category from operator-editable weighted keywords, with the evidence kept for the agent."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from ticketing.vocabulary import Category


@dataclass(frozen=True, slots=True)
class Evidence:
    keyword: str
    weight: float
    position: int

    def as_dict(self) -> dict[str, object]:
        return {"keyword": self.keyword, "weight": self.weight, "position": self.position}


@dataclass(frozen=True, slots=True)
class CategoryMatch:
    category: Category
    score: float
    evidence: tuple[Evidence, ...]
    scores: dict[str, float]


@dataclass(frozen=True, slots=True)
class CategoryRules:
    """Category → {keyword: weight}, in file order (ties go to the earlier category)."""

    rules: tuple[tuple[Category, tuple[tuple[str, float], ...]], ...]
    default: Category

    @classmethod
    def load(cls, path: Path | None = None) -> CategoryRules:
        raw = (path.read_text("utf-8") if path
               else files("asr.data").joinpath("categories.toml").read_text("utf-8"))
        return cls.parse(raw, source=str(path or "asr/data/categories.toml"))

    @classmethod
    def parse(cls, raw: str, *, source: str = "<rules>") -> CategoryRules:
        table = tomllib.loads(raw)
        try:
            default = Category.from_label(str(table.pop("default", "咨询")))
            rules = []
            for label, keywords in table.items():
                if not isinstance(keywords, dict):
                    raise ValueError(f"[{label}] must be a table of keyword = weight")  # noqa: TRY004  # a config error
                weights = []
                for keyword, weight in keywords.items():
                    if not isinstance(weight, int | float) or weight <= 0:
                        raise ValueError(f"[{label}] {keyword} = {weight!r}: weight must be > 0")
                    weights.append((keyword, float(weight)))
                rules.append((Category.from_label(label), tuple(weights)))
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}") from None
        return cls(tuple(rules), default)

    def classify(self, text: str) -> CategoryMatch:
        best: tuple[Category, float, tuple[Evidence, ...]] | None = None
        scores: dict[str, float] = {}
        for category, keywords in self.rules:
            evidence = []
            for keyword, weight in keywords:
                position = text.find(keyword)
                if position >= 0 and not _inside_longer(text, position, keyword, keywords):
                    evidence.append(Evidence(keyword, weight, position))
            score = sum(e.weight for e in evidence)
            if score:
                scores[category.label] = score
            if score and (best is None or score > best[1]):
                best = (category, score, tuple(sorted(evidence, key=lambda e: e.position)))
        if best is None:
            return CategoryMatch(self.default, 0.0, (), scores)
        return CategoryMatch(best[0], best[1], best[2], scores)


def _inside_longer(text: str, position: int, keyword: str,
                   keywords: tuple[tuple[str, float], ...]) -> bool:
    """`不满` inside `不满意` counts once, as the longer keyword of the same category."""
    for other, _ in keywords:
        if len(other) > len(keyword) and keyword in other:
            start = text.find(other)
            if start >= 0 and start <= position < start + len(other):
                return True
    return False
