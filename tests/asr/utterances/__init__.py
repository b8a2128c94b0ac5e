"""Labelled caller utterances for extraction (see README.md): loading and per-field accuracy."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from asr.extraction.extractor import Extraction, Extractor
from ticketing.directory import DepartmentType
from ticketing.matters import PROVINCIAL

HERE = Path(__file__).resolve().parent
SPLITS = ("dev", "heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout6", "heldout7", "heldout8",
          "tune2", "heldout9")
NONE = "-"


@dataclass(frozen=True, slots=True)
class Utterance:
    text: str
    caller: str | None
    category: str  # 咨询 求助 投诉 举报 建议 表扬
    regions: frozenset[str | None]  # the right region codes (usually one; None: no place given)
    departments: frozenset[str | None]  # department types that fit (None: no department)
    notes: frozenset[str]
    line: int


def load(split: str) -> list[Utterance]:
    path = HERE / f"{split}.tsv"
    utterances = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not line or line.startswith("#"):
            continue
        text, caller, category, regions, departments, notes = line.split("\t")
        utterances.append(Utterance(
            text, None if caller == NONE else caller, category, _codes(regions), _codes(departments),
            frozenset(notes.split()), number))
    return utterances


def _codes(cell: str) -> frozenset[str | None]:
    return frozenset(None if code == NONE else code for code in cell.split("|"))


@dataclass(frozen=True, slots=True)
class Verdict:
    utterance: Utterance
    extraction: Extraction
    category: bool
    region: bool
    department: bool  # the suggested department type fits
    unit: bool  # the suggested handling unit is a department unit that fits (or none is wanted)


def judge(utterance: Utterance, extraction: Extraction,
          departments: dict[str, DepartmentType]) -> Verdict:
    suggested = extraction.department_type
    base = suggested.removeprefix(PROVINCIAL) if suggested else None
    unit = extraction.suggested_unit_id or ""
    unit_type = unit.split(":")[2] if unit.startswith("dept:") else None
    fitting = {d for d in utterance.departments if d}
    relays = {departments[d].via for d in fitting if d in departments and departments[d].via}
    unit_fits = unit_type in fitting | relays or (None in utterance.departments and unit_type is None)
    return Verdict(utterance, extraction,
                   category=extraction.category.category.label == utterance.category,
                   region=extraction.place.region_code in utterance.regions,
                   department=base in utterance.departments,
                   unit=unit_fits)


@dataclass
class Score:
    total: int = 0
    right: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    misses: dict[str, list[Verdict]] = field(default_factory=lambda: {f: [] for f in FIELDS})

    def add(self, verdict: Verdict) -> None:
        self.total += 1
        for name in FIELDS:
            if getattr(verdict, name):
                self.right[name] += 1
            else:
                self.misses[name].append(verdict)

    def accuracy(self, name: str) -> float:
        return self.right[name] / self.total if self.total else 0.0


FIELDS = ("category", "region", "department", "unit")


def evaluate(extractor: Extractor, utterances: Iterable[Utterance]) -> Score:
    score = Score()
    departments = dict(extractor.routing.departments)
    for utterance in utterances:
        extraction = extractor.extract(utterance.text, caller_number=utterance.caller)
        score.add(judge(utterance, extraction, departments))
    return score
