"""Mandarin text → the fields of a draft ticket, with the evidence behind each one."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from asr.extraction.categories import CategoryMatch, CategoryRules
from asr.extraction.category_model import CategoryModel, ModelGuess
from asr.extraction.numbers import SpokenNumber, find_numbers, normalise_numbers
from asr.extraction.places import PlaceResolution, PlaceResolver
from asr.extraction.summary import summarise
from ticketing.caller_area import caller_area
from ticketing.errors import RoutingError
from ticketing.matters import DepartmentSuggestion, leading
from ticketing.regions import JIANGSU, province_records
from ticketing.routing import RoutingRequest, RoutingTable, route
from ticketing.vocabulary import Category


@dataclass(frozen=True, slots=True)
class Extraction:
    text: str  # the input with spoken numbers written as digits
    category: CategoryMatch
    place: PlaceResolution
    caller_area: str | None  # the caller's city in the province (area code or mobile segment)
    numbers: tuple[SpokenNumber, ...]
    departments: tuple[DepartmentSuggestion, ...]  # every department offered, best first
    suggested_unit_id: str | None
    routing_reasons: tuple[str, ...]
    summary: str

    @property
    def department_type(self) -> str | None:
        return self.departments[0].dept_type if self.departments else None

    @property
    def department_reason(self) -> str | None:
        """Why that department: 停水 → 供水, matter table row 1."""
        return self.departments[0].reason if self.departments else None

    @property
    def digits(self) -> list[str]:
        return [n.digits for n in self.numbers]

    def fields(self) -> dict[str, Any]:
        """The columns a draft stores."""
        return {"category": self.category.category.value, "region_code": self.place.region_code,
                "address": self.place.address or None, "department_type": self.department_type,
                "department_reason": self.department_reason,
                "suggested_unit_id": self.suggested_unit_id, "summary": self.summary or None}

    def evidence(self) -> dict[str, Any]:
        """What the agent sees behind the fields (stored as `Draft.extraction`)."""
        return {
            "text": self.text,
            "category": {"label": self.category.category.label, "score": self.category.score,
                         "evidence": [e.as_dict() for e in self.category.evidence],
                         "scores": self.category.scores, "reason": self.category.reason},
            "place": self.place.as_dict(),
            "caller_area": self.caller_area,
            "numbers": [n.as_dict() for n in self.numbers],
            "departments": [d.as_dict() for d in self.departments],
            "routing": list(self.routing_reasons),
        }

    def as_dict(self) -> dict[str, Any]:
        return {**self.fields(), "category_label": self.category.category.label,
                "digits": self.digits, "address": self.place.address,
                "extraction": self.evidence()}


AREA_CACHE_SIZE = 4096  # caller numbers remembered per extractor (a few hundred kB)


class Extractor:
    """Built once (jieba dictionary, rules, routing table); `extract()` is pure and fast."""

    def __init__(self, *, rules: CategoryRules, places: PlaceResolver,
                 routing: RoutingTable, model: CategoryModel | None = None) -> None:
        self.rules = rules
        self.model = model  # decides the category when the table found no phrase of intent, or a tie
        self.places = places
        self.routing = routing
        # A number's area does not change, and callers call again: libphonenumber and the scan of
        # the region tree cost about 0.1 ms a number, a third of the rest of an extraction.
        self._caller_area = lru_cache(maxsize=AREA_CACHE_SIZE)(self._look_up_area)

    @classmethod
    def build(cls, *, rules_path: Path | None = None, province_code: str = JIANGSU,
              routing: RoutingTable | None = None, category_model: bool = True) -> Extractor:
        """`category_model=False`: the phrase table alone (the model's training reads it)."""
        return cls(rules=CategoryRules.load(rules_path),
                   places=PlaceResolver(province_records(province_code)),
                   routing=routing or RoutingTable.load(province_code=province_code),
                   model=CategoryModel.load() if category_model else None)

    def extract(self, text: str, *, caller_number: str | None = None) -> Extraction:
        numbers = tuple(find_numbers(text))
        normalised = normalise_numbers(text)
        area = self._caller_area(caller_number)
        departments = tuple(self.routing.matters.suggest(normalised))
        category = self.rules.classify(normalised, states_a_matter=bool(departments))
        tied = category.tied()
        guess = self.model.guess(normalised, among=tied) if self.model and (tied or not category.evidence) else None
        if guess is not None:
            category = _decided_by_the_model(category, guess, tied)
        place = self.places.resolve(normalised, caller_area=area)
        unit, reasons = self._suggest_unit(place, category, leading(list(departments)), area)
        return Extraction(normalised, category, place, area, numbers, departments, unit, reasons,
                          summarise(normalised))

    def _look_up_area(self, caller_number: str | None) -> str | None:
        known = caller_area(caller_number, self.routing.regions)
        return known.region_code if known else None

    def _suggest_unit(self, place: PlaceResolution, category: CategoryMatch,
                      departments: list[DepartmentSuggestion],
                      area: str | None) -> tuple[str | None, tuple[str, ...]]:
        request = RoutingRequest(
            region_code=place.region_code, category=category.category.value,
            departments=tuple(dict.fromkeys(d.dept_type for d in departments)),
            involved_regions=tuple(c for c in place.involved if c != place.region_code),
            caller_area=area)
        try:
            decision = route(request, self.routing)
        except RoutingError as exc:
            return None, (f"no suggestion: {exc}",)
        return decision.lead_unit_id, decision.reasons


def _decided_by_the_model(table: CategoryMatch, guess: ModelGuess, tied: tuple[str, ...]) -> CategoryMatch:
    """The model's category where the table found no phrase of intent, or a tie between `tied`
    (chosen by 10-fold CV on the tuning sets, docs/asr.md); the reason names the tie it broke."""
    if not tied:
        return CategoryMatch(Category.from_label(guess.label), 0.0, (), table.scores, guess.reason())
    tie = " = ".join(f"{label} {table.score:g}" for label in tied)
    evidence = table.evidence if guess.label == table.category.label else ()
    return CategoryMatch(Category.from_label(guess.label), table.score, evidence, table.scores,
                         f"{guess.reason()}（表内同分: {tie}）")
