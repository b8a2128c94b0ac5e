"""Train the category model (asr/extraction/category_model.py) from the labelled tuning utterances.

    .venv/bin/python scripts/train_category_model.py            # write asr/data/category_model.json
    .venv/bin/python scripts/train_category_model.py --cv       # 10-fold cross-validation on the tuning sets
    .venv/bin/python scripts/train_category_model.py --final    # once: the never-tuned held-out 6, 8 and 9

Only the tuning sets are read for training and cross-validation (tests/asr/utterances/README.md):
held-out 6, 8 and 9 are never tuned on. Folds are fixed by the SHA-1 of the text, so every run is the same.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from asr.extraction.category_model import CategoryModel
from asr.extraction.extractor import Extractor
from ticketing.vocabulary import CATEGORY_LABELS

ROOT = Path(__file__).resolve().parent.parent
UTTERANCES = ROOT / "tests" / "asr" / "utterances"
TUNING = ("dev", "heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout7", "tune2")
NEVER_TUNED = ("heldout6", "heldout8", "heldout9")
OUTPUT = ROOT / "asr" / "data" / "category_model.json"
LABELS = tuple(CATEGORY_LABELS.values())
FOLDS = 10
SHIPPED = "table if one category leads, else model"  # the rule the extractor uses (a tie: among the tied)


@dataclass(frozen=True, slots=True)
class Row:
    text: str  # with spoken numbers as digits, as the extractor sees it
    label: str
    table: str  # the phrase table's category
    table_score: float  # its weight (0: no phrase of intent found)
    tied: tuple[str, ...] = ()  # the categories that share the table's leading weight, if several


def rows(splits: Sequence[str], extractor: Extractor) -> list[Row]:
    found = []
    for split in splits:
        for line in (UTTERANCES / f"{split}.tsv").read_text("utf-8").splitlines():
            if not line or line.startswith("#"):
                continue
            text, caller, label, *_ = line.split("\t")
            result = extractor.extract(text, caller_number=None if caller == "-" else caller)
            table = result.category
            found.append(Row(result.text, label, table.category.label, table.score, table.tied()))
    return found


class Options(TypedDict, total=False):
    min_n: int
    max_n: int
    alpha: float
    min_docs: int


def train(training: Sequence[Row], options: Options | None = None) -> CategoryModel:
    """The shipped model: `CategoryModel`'s defaults (chosen by `--cv`) unless `options` says."""
    return CategoryModel.train(((r.text, r.label) for r in training), LABELS, **(options or {}))


def build() -> CategoryModel:
    """The model trained on every tuning utterance, as shipped."""
    return train(rows(TUNING, Extractor.build(category_model=False)))


Rule = Callable[[Row, CategoryModel], str]


def _model(row: Row, model: CategoryModel, among: tuple[str, ...] = ()) -> tuple[str, float]:
    """The model's label and probability (the table's label when the model knows no n-gram of it)."""
    guess = model.guess(row.text, among=among)
    return (guess.label, guess.probability) if guess else (row.table, 0.0)


def rules() -> dict[str, Rule]:
    """How the table and the model are combined; the table keeps every phrase at least this heavy."""
    chosen: dict[str, Rule] = {
        "table": lambda r, m: r.table, "model": lambda r, m: _model(r, m)[0],
        "table if any phrase, else model": lambda r, m: r.table if r.table_score else _model(r, m)[0],
        SHIPPED: lambda r, m: r.table if r.table_score and not r.tied else _model(r, m, r.tied)[0],
        "table if one leads, else model (any)": (
            lambda r, m: r.table if r.table_score and not r.tied else _model(r, m)[0])}
    for floor in (2, 3, 4, 5, 6, 9, 12, 20):
        chosen[f"table if phrase >= {floor}"] = (
            lambda r, m, f=floor: r.table if r.table_score >= f else _model(r, m)[0])
    for sure in (0.6, 0.8, 0.9, 0.95, 0.99):
        chosen[f"model if p >= {sure}, no phrase >= 6"] = (
            lambda r, m, s=sure: _model(r, m)[0]
            if r.table_score < 6 and _model(r, m)[1] >= s else r.table)
    return chosen


def fold(row: Row) -> int:
    return int(hashlib.sha1(row.text.encode()).hexdigest(), 16) % FOLDS


CONFIGS: dict[str, Options] = {
    "1-2, a=0.5, df>=2": {"min_n": 1, "max_n": 2, "alpha": 0.5, "min_docs": 2},
    "1-3, a=0.5, df>=2": {"min_n": 1, "max_n": 3, "alpha": 0.5, "min_docs": 2},
    "1-3, a=0.1, df>=2": {"min_n": 1, "max_n": 3, "alpha": 0.1, "min_docs": 2},
    "1-3, a=1, df>=2": {"min_n": 1, "max_n": 3, "alpha": 1.0, "min_docs": 2},
    "1-3, a=0.5, df>=1": {"min_n": 1, "max_n": 3, "alpha": 0.5, "min_docs": 1},
    "2-3, a=0.5, df>=2": {"min_n": 2, "max_n": 3, "alpha": 0.5, "min_docs": 2},
    "1-4, a=0.5, df>=2": {"min_n": 1, "max_n": 4, "alpha": 0.5, "min_docs": 2},
}


def cross_validate(data: list[Row]) -> None:
    for name, options in CONFIGS.items():
        right: dict[str, int] = {}
        for k in range(FOLDS):
            model = train([r for r in data if fold(r) != k], options)
            for row in (r for r in data if fold(r) == k):
                for rule, decide in rules().items():
                    right[rule] = right.get(rule, 0) + (decide(row, model) == row.label)
        print(f"\n{name}: {FOLDS}-fold CV on {len(data)} tuning utterances")
        for rule, count in right.items():
            print(f"  {rule:34} {count / len(data):6.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cv", action="store_true", help="cross-validate on the tuning sets")
    parser.add_argument("--final", action="store_true",
                        help="score the shipped rule once on the never-tuned sets")
    args = parser.parse_args()
    extractor = Extractor.build(category_model=False)
    data = rows(TUNING, extractor)
    if args.cv:
        cross_validate(data)
        return
    model = train(data)
    if args.final:
        for split in NEVER_TUNED:
            unseen = rows((split,), extractor)
            table = sum(r.table == r.label for r in unseen)
            combined = sum(rules()[SHIPPED](r, model) == r.label for r in unseen)
            print(f"{split} ({len(unseen)}): table {table / len(unseen):.1%} ({table}), "
                  f"{SHIPPED} {combined / len(unseen):.1%} ({combined})")
        return
    OUTPUT.write_text(model.dumps(), "utf-8")
    print(f"{OUTPUT.relative_to(ROOT)}: {len(model.counts)} n-grams from {len(data)} utterances")


if __name__ == "__main__":
    main()
