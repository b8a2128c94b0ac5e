"""The matter table: what a citizen says → the department type responsible, and why.

The table is data (`ticketing/data/matters.toml`): numbered rows of words a caller uses for a matter,
each naming the department whose published responsibilities (三定) cover it. A unit the caller names
(`called` and the names in `departments.toml`: 派出所, 昆山市民政局) outweighs any matter. Every
suggestion carries its reason ("停水 → 供水, matter table row 1") for the agent.

Matching is one pass over the text (`ticketing.phrases`): no regular expressions, no model.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from ticketing.directory import DepartmentType
from ticketing.errors import RoutingError
from ticketing.phrases import PhraseIndex, outermost

PROVINCIAL = "province:"
DEFAULT_WEIGHT = 2.0
CONTEXT_WEIGHT = 3.0  # a row with `with` names its matter more precisely
# A unit name followed by these is a landmark (派出所旁边), not the party the caller means.
_LANDMARK_TAILS = ("门口", "旁边", "对面", "附近", "那边", "楼下", "边上", "隔壁", "后面", "前面")
_ROW_KEYS = {"row", "dept", "words", "with", "unless", "weight"}
# A one-character word (桥, 闸, 店) that ends a place's name is not the matter: before a place suffix
# (堰桥街道, 板桥村, 枫桥镇), or as a two-character name said right after a district or town (惠山区堰桥).
_PLACE_SUFFIXES = ("街道", "镇", "乡", "村", "社区", "新村")
_REGION_TAILS = "区县市镇乡"
_NOT_A_NAME = "的个座条只家间这那此该一两几大小老新旧座石木铁危破便上下里边前后到在过走跑开修"


@dataclass(frozen=True, slots=True)
class DepartmentSuggestion:
    dept_type: str  # "water_supply", or "province:transport" for the provincial department itself
    keyword: str  # the word that was said
    position: int  # where it was said first
    weight: float = DEFAULT_WEIGHT
    row: int | None = None  # the matter table row; None when the caller named the unit
    label: str = ""  # the department's short name (供水)

    @property
    def provincial(self) -> bool:
        return self.dept_type.startswith(PROVINCIAL)

    @property
    def reason(self) -> str:
        """停水 → 供水, matter table row 1 / 民政局 → 民政, named by the caller."""
        label = self.label + ("（省）" if self.provincial else "")
        source = "named by the caller" if self.row is None else f"matter table row {self.row}"
        return f"{self.keyword} → {label}, {source}"

    def as_dict(self) -> dict[str, object]:
        return {"dept_type": self.dept_type, "keyword": self.keyword, "position": self.position,
                "weight": self.weight, "row": self.row, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Matter:
    row: int
    dept: str
    words: tuple[str, ...]
    context: tuple[str, ...] = ()  # `with`: one of these must be said too
    unless: tuple[str, ...] = ()
    weight: float = DEFAULT_WEIGHT


class MatterTable:
    """Built once from the table and the department types; `suggest()` is pure and fast."""

    def __init__(self, matters: Iterable[Matter], departments: Mapping[str, DepartmentType], *,
                 named_weight: float) -> None:
        self.matters = tuple(matters)
        self.named_weight = named_weight
        self._labels = {code: dept.label for code, dept in departments.items()}
        self._named = {name: code for code, dept in departments.items() for name in dept.spoken_names()}
        self._rows_by_word: dict[str, list[Matter]] = {}
        for matter in self.matters:
            for word in matter.words:
                self._rows_by_word.setdefault(word, []).append(matter)
        self._index = PhraseIndex([*self._named, *self._rows_by_word])

    @classmethod
    def load(cls, departments: Mapping[str, DepartmentType], path: Path | None = None) -> MatterTable:
        raw = path.read_text("utf-8") if path else files("ticketing.data").joinpath("matters.toml").read_text("utf-8")
        return cls.parse(raw, departments, source=str(path or "ticketing/data/matters.toml"))

    @classmethod
    def parse(cls, raw: str, departments: Mapping[str, DepartmentType], *,
              source: str = "<matters>") -> MatterTable:
        data = tomllib.loads(raw)
        named_weight = data.get("named_weight", 4)
        if not isinstance(named_weight, int | float) or named_weight <= 0:
            raise ValueError(f"{source}: named_weight = {named_weight!r} must be a number > 0")
        matters, rows = [], set()
        for entry in data.get("matter", []):
            matter = _matter(entry, departments, source)
            if matter.row in rows:
                raise ValueError(f"{source}: row {matter.row} appears twice")
            rows.add(matter.row)
            matters.append(matter)
        return cls(matters, departments, named_weight=float(named_weight))

    def suggest(self, text: str) -> list[DepartmentSuggestion]:
        """Every department the text offers, best first: by weight, then by who was said first."""
        said = self._said(text)
        offers: dict[str, DepartmentSuggestion] = {}
        for word, position in said.items():
            dept = self._named.get(word)
            if dept and not text.startswith(_LANDMARK_TAILS, position + len(word)):
                _offer(offers, DepartmentSuggestion(dept, word, position, self.named_weight, None,
                                                    self._labels[dept]))
            for matter in self._rows_by_word.get(word, ()):
                if matter.context and not any(c in text for c in matter.context):
                    continue
                if any(u in text for u in matter.unless):
                    continue
                first = min(said[w] for w in matter.words if w in said)
                keyword = next(w for w in matter.words if said.get(w) == first)
                _offer(offers, DepartmentSuggestion(
                    matter.dept, keyword, first, matter.weight, matter.row,
                    self._labels[matter.dept.removeprefix(PROVINCIAL)]))
        return sorted(offers.values(), key=lambda s: (-s.weight, s.position))

    def _said(self, text: str) -> dict[str, int]:
        """Each known word in the text → where it first stands on its own (not inside a longer one)."""
        said: dict[str, int] = {}
        for hit in outermost(self._index.find(text)):
            if len(hit.phrase) == 1 and _ends_a_place_name(text, hit.start):
                continue
            said.setdefault(hit.phrase, hit.start)
        return said


def _ends_a_place_name(text: str, position: int) -> bool:
    """The one character at `position` ends a place's name: 堰桥街道, 惠山区堰桥 (not 这座桥, 区里的桥)."""
    if text.startswith(_PLACE_SUFFIXES, position + 1):
        return True
    return (position >= 2 and text[position - 2] in _REGION_TAILS
            and text[position - 1] not in _NOT_A_NAME and "\u4e00" <= text[position - 1] <= "\u9fff")


def _offer(offers: dict[str, DepartmentSuggestion], suggestion: DepartmentSuggestion) -> None:
    current = offers.get(suggestion.dept_type)
    if current is None or (suggestion.weight, -suggestion.position) > (current.weight, -current.position):
        offers[suggestion.dept_type] = suggestion


def leading(suggestions: list[DepartmentSuggestion]) -> list[DepartmentSuggestion]:
    """The suggestions that share the best weight, in the order they were said."""
    if not suggestions:
        return []
    best = suggestions[0].weight
    return [s for s in suggestions if s.weight == best]


def _matter(entry: object, departments: Mapping[str, DepartmentType], source: str) -> Matter:
    if not isinstance(entry, dict):
        raise ValueError(f"{source}: every [[matter]] must be a table")  # noqa: TRY004  # a config error
    where = f"{source}: row {entry.get('row', '?')}"
    unknown = set(entry) - _ROW_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown key {min(unknown)!r}")
    row = entry.get("row")
    if not isinstance(row, int) or isinstance(row, bool) or row <= 0:
        raise ValueError(f"{where}: `row` must be a positive whole number")
    dept = entry.get("dept")
    base = str(dept).removeprefix(PROVINCIAL)
    if not isinstance(dept, str) or base not in departments:
        raise RoutingError(f"{where}: dept = {dept!r} is not a department type of departments.toml")
    if dept.startswith(PROVINCIAL) and departments[base].province is None:
        raise RoutingError(f"{where}: dept = {dept!r} but {base} has no provincial unit")
    lists = {}
    for key in ("words", "with", "unless"):
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(w, str) and w for w in value):
            raise ValueError(f"{where}: `{key}` must be a list of words")
        lists[key] = tuple(value)
    if not lists["words"]:
        raise ValueError(f"{where}: `words` is empty")
    weight = entry.get("weight", CONTEXT_WEIGHT if lists["with"] else DEFAULT_WEIGHT)
    if not isinstance(weight, int | float) or isinstance(weight, bool) or weight <= 0:
        raise ValueError(f"{where}: weight = {weight!r} must be a number > 0")
    return Matter(row, dept, lists["words"], lists["with"], lists["unless"], float(weight))
