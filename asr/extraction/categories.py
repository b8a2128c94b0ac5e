"""Category from operator-editable weighted phrases of intent, with the evidence kept for the agent.

Each phrase found in the caller's words adds its weight to its category; the heaviest category wins.
A phrase inside a longer phrase that was found does not count on its own (问问 inside 帮我问问, 不满
inside 不满意), whichever category the longer one belongs to, unless it lies wholly in the gap of an
`A…B` phrase (帮我问问 in 能不能帮我问问公办的 counts besides 能不能…办). A phrase written `A…B` matches A
followed by B within a few characters (帮我…查 matches 帮我查一下 and 帮我去查查), none of them a
negation (服务…好 does not match 服务态度不好).

Who bore the act is read from the whole sentence: phrases that only bring in a third party (有人, 有个,
`introductions` in the rules) weigh nothing when the caller says the act was done to them (我买的, 把我,
收了我: `the_caller_bore_it`), because that third party is who wronged the caller, not somebody reported.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from ticketing.phrases import PhraseIndex, inside
from ticketing.vocabulary import Category

GAP = "…"
MAX_GAP = 6  # characters allowed between the parts of an `A…B` phrase
NEGATIONS = "不没"  # never inside the gap: a negated B is not B


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
    reason: str | None = None  # set when the model decided (no phrase, or a tie): 模型: 投诉 0.71 — 被…

    def tied(self) -> tuple[str, ...]:
        """The categories that share the leading score when more than one does: the table cannot tell."""
        top = tuple(label for label, score in self.scores.items() if self.evidence and score == self.score)
        return top if len(top) > 1 else ()


@dataclass(frozen=True, slots=True)
class _Hit:
    start: int
    end: int
    keyword: str
    category: int  # index into the rules
    weight: float
    gap: tuple[int, int] | None = None  # an `A…B` phrase: the span between A and B

    def covers(self, other: _Hit) -> bool:
        """`other` lies inside this longer phrase and not wholly in its gap: 能不能…办 does not
        cover 帮我问问 in 能不能帮我问问公办的."""
        in_gap = self.gap is not None and self.gap[0] <= other.start and other.end <= self.gap[1]
        return inside(other, self) and not in_gap


class CategoryRules:
    """Category → {phrase: weight}, in file order (ties go to the earlier category)."""

    def __init__(self, rules: tuple[tuple[Category, tuple[tuple[str, float], ...]], ...],
                 default: Category, matter_default: Category | None = None, *,
                 introductions: frozenset[str] = frozenset(),
                 caller_bore: tuple[str, ...] = ()) -> None:
        self.rules = rules
        self.introductions = introductions  # phrases that only bring in a third party (有人)
        self.caller_bore = caller_bore  # ...and the words by which the caller says they bore the act
        self.default = default  # no phrase at all
        self.matter_default = matter_default or default  # no phrase, but a matter is stated
        literal: dict[str, list[tuple[int, float]]] = {}
        gapped: list[tuple[str, re.Pattern[str], str, int, float]] = []
        for index, (_, keywords) in enumerate(rules):
            for keyword, weight in keywords:
                if GAP in keyword:
                    parts = [re.escape(p) for p in keyword.split(GAP)]
                    pattern = re.compile(f"[^{NEGATIONS}]{{0,{MAX_GAP}}}?".join(parts))
                    gapped.append((keyword.split(GAP)[0], pattern, keyword, index, weight))
                else:
                    literal.setdefault(keyword, []).append((index, weight))
        self._literal = literal
        self._gapped = tuple(gapped)
        self._index = PhraseIndex(literal)

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
            matter_default = Category.from_label(str(table.pop("matter_default", default.label)))
            introductions = _words(table.pop("introductions", {}), "introductions", "phrases")
            caller_bore = _words(table.pop("the_caller_bore_it", {}), "the_caller_bore_it", "words")
            rules = []
            for label, keywords in table.items():
                if not isinstance(keywords, dict):
                    raise ValueError(f"[{label}] must be a table of keyword = weight")  # noqa: TRY004  # a config error
                weights = []
                for keyword, weight in keywords.items():
                    if not isinstance(weight, int | float) or isinstance(weight, bool) or weight <= 0:
                        raise ValueError(f"[{label}] {keyword} = {weight!r}: weight must be > 0")
                    if any(not part for part in keyword.split(GAP)):
                        raise ValueError(f"[{label}] {keyword!r}: `{GAP}` must stand between two words")
                    weights.append((keyword, float(weight)))
                rules.append((Category.from_label(label), tuple(weights)))
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}") from None
        return cls(tuple(rules), default, matter_default,
                   introductions=frozenset(introductions), caller_bore=tuple(caller_bore))

    def classify(self, text: str, *, states_a_matter: bool = False) -> CategoryMatch:
        """`states_a_matter`: the text names a matter (a department was found); without any phrase
        of intent, such a statement takes `matter_default` rather than `default`."""
        every = self._hits(text)
        hits = [hit for hit in every if not any(other.covers(hit) for other in every)]
        if self.introductions and any(word in text for word in self.caller_bore):
            hits = [hit for hit in hits if hit.keyword not in self.introductions]
        evidence: list[list[Evidence]] = [[] for _ in self.rules]
        for hit in hits:
            if all(e.keyword != hit.keyword for e in evidence[hit.category]):
                evidence[hit.category].append(Evidence(hit.keyword, hit.weight, hit.start))
        scores: dict[str, float] = {}
        best: int | None = None
        totals = [sum(e.weight for e in found) for found in evidence]
        for index, total in enumerate(totals):
            if total:
                scores[self.rules[index][0].label] = total
                if best is None or total > totals[best]:
                    best = index
        if best is None:
            return CategoryMatch(self.matter_default if states_a_matter else self.default, 0.0, (), scores)
        found = tuple(sorted(evidence[best], key=lambda e: e.position))
        return CategoryMatch(self.rules[best][0], totals[best], found, scores)

    def _hits(self, text: str) -> list[_Hit]:
        hits = [_Hit(hit.start, hit.end, hit.phrase, index, weight)
                for hit in self._index.find(text) for index, weight in self._literal[hit.phrase]]
        for first, pattern, keyword, index, weight in self._gapped:
            match = pattern.search(text) if first in text else None
            if match:
                gap = (match.start() + len(first), match.end() - len(keyword.rsplit(GAP, 1)[1]))
                hits.append(_Hit(match.start(), match.end(), keyword, index, weight, gap))
        return hits


def _words(table: object, name: str, key: str) -> list[str]:
    """`[introductions] phrases = [...]`, `[the_caller_bore_it] words = [...]`."""
    if not isinstance(table, dict) or not isinstance(table.get(key, []), list) or set(table) - {key}:
        raise ValueError(f"[{name}] must hold only `{key} = [\"…\", …]`")
    words = table.get(key, [])
    if not all(isinstance(w, str) and w for w in words):
        raise ValueError(f"[{name}] {key}: every entry must be a non-empty string")
    return list(words)
