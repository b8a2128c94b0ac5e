"""Routing: a pure function from (place, category, departments, involved regions) to a decision.

The rules are data: an ordered list of (condition, lead, co-handlers) drawn from a small fixed
vocabulary. They come from `ticketing/data/routing.toml` (replaceable through settings) until an
administrator saves rules on /admin; from then on the database's `routing_rules` decide, in every
process (`ticketing.live_config`). The matter table
(`ticketing/data/matters.toml`, see `ticketing.matters`) suggests department types from a caller's
words. A department type that exists only at province level is relayed to the province; one with
`via` (a basin authority's office) is reached through that provincial department.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from importlib.resources import files
from pathlib import Path

from ticketing.directory import (
    DepartmentType,
    department_id,
    load_department_types,
    office_id,
    platform_id,
)
from ticketing.errors import RoutingError
from ticketing.matters import PROVINCIAL, DepartmentSuggestion, MatterTable, leading
from ticketing.models.region import RegionLevel
from ticketing.regions import JIANGSU, RegionRecord, province_records


@dataclass(frozen=True)
class RoutingRequest:
    region_code: str | None = None
    category: str | None = None
    departments: tuple[str, ...] = ()  # department types; "province:TYPE" for the provincial body
    involved_regions: tuple[str, ...] = ()
    caller_area: str | None = None  # region code of the caller's number, when known


@dataclass(frozen=True)
class RoutingDecision:
    lead_unit_id: str
    co_handler_ids: tuple[str, ...]
    level: RegionLevel
    rule: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    name: str
    when: str
    lead: str
    co: str
    explain: str


@dataclass(frozen=True)
class RoutingTable:
    rules: tuple[Rule, ...]
    matters: MatterTable
    regions: Mapping[str, RegionRecord]
    departments: Mapping[str, DepartmentType]
    province_code: str = JIANGSU

    @classmethod
    def load(cls, path: Path | None = None, province_code: str = JIANGSU,
             departments_path: Path | None = None) -> RoutingTable:
        raw = path.read_text("utf-8") if path else files("ticketing.data").joinpath("routing.toml").read_text("utf-8")
        data = tomllib.loads(raw)
        rules = validate_rules([Rule(**rule) for rule in data["rules"]])
        departments = load_department_types(departments_path)
        # An operator's routing file may name its own matter table, relative to itself.
        matters_path = (path.parent / data["matters"]) if path and "matters" in data else None
        matters = MatterTable.load(departments, matters_path)
        regions = {r.code: r for r in province_records(province_code)}
        return cls(rules, matters, regions, departments, province_code)

    def suggest_departments(self, text: str) -> list[DepartmentSuggestion]:
        """The department types `text` points to most strongly, in the order they were said."""
        return leading(self.matters.suggest(text))

    def route(self, request: RoutingRequest) -> RoutingDecision:
        return route(request, self)

    def with_rules(self, rules: Sequence[Rule]) -> RoutingTable:
        """The same directory under other rules (validated: RoutingError says what is wrong)."""
        return replace(self, rules=validate_rules(rules))


CONDITIONS = ("cross_city", "provincial_department", "place_is_county", "place_is_city", "caller_area", "always")
LEADS = ("province_platform", "province_department", "county_unit", "city_unit", "caller_city_platform")
CO_HANDLERS = ("involved_city_platforms", "other_departments", "none")
# A lead that needs a fact only some conditions guarantee (a place, a provincial type, a caller area).
_LEAD_NEEDS = {"province_department": ("provincial_department",), "caller_city_platform": ("caller_area",),
               "county_unit": ("place_is_county", "place_is_city"), "city_unit": ("place_is_county", "place_is_city")}


def validate_rules(rules: Sequence[Rule]) -> tuple[Rule, ...]:
    """Rules that can route every request: known words, unique names, the last one `always`."""
    if not rules:
        raise RoutingError("at least one routing rule is needed")
    names: set[str] = set()
    for rule in rules:
        if not rule.name.strip():
            raise RoutingError("every routing rule needs a name")
        if rule.name in names:
            raise RoutingError(f"two routing rules are named {rule.name!r}")
        names.add(rule.name)
        for value, allowed, what in ((rule.when, CONDITIONS, "when"), (rule.lead, LEADS, "lead"),
                                     (rule.co, CO_HANDLERS, "co")):
            if value not in allowed:
                raise RoutingError(f"routing rule {rule.name!r}: {what} = {value!r}; expected one of {sorted(allowed)}")
        needs = _LEAD_NEEDS.get(rule.lead)
        if needs and rule.when not in needs:
            raise RoutingError(f"routing rule {rule.name!r}: lead = {rule.lead!r} needs when = "
                               + " or ".join(repr(n) for n in needs))
    if rules[-1].when != "always":
        raise RoutingError('the last routing rule must have when = "always", so that every request is routed')
    return tuple(rules)


def suggest_departments(text: str, table: RoutingTable) -> list[DepartmentSuggestion]:
    return table.suggest_departments(text)


@dataclass(frozen=True)
class _Facts:
    place: RegionRecord | None
    cities: tuple[str, ...]
    provincial: tuple[str, ...]
    local: tuple[str, ...]
    caller_city: str | None


def _facts(request: RoutingRequest, table: RoutingTable) -> _Facts:
    place = table.regions.get(request.region_code or "")
    cities: list[str] = []
    for code in (request.region_code, *request.involved_regions):
        region = table.regions.get(code or "")
        if region is None:
            if code and code not in table.regions:
                raise RoutingError(f"unknown region code {code!r}")
            continue
        if region.city_code and region.city_code not in cities:
            cities.append(region.city_code)
    provincial: list[str] = []
    local: list[str] = []
    for dept in request.departments:
        base = dept.removeprefix(PROVINCIAL)
        if base not in table.departments:
            raise RoutingError(f"unknown department type {base!r}")
        spec = table.departments[base]
        # The province's own matter (江苏省的高考政策) goes to the provincial department, if there is one.
        provincial_place = place is not None and place.level is RegionLevel.PROVINCE and spec.province
        relayed = dept.startswith(PROVINCIAL) or spec.provincial_only or bool(provincial_place)
        (provincial if relayed else local).append(base)
    caller = table.regions.get(request.caller_area or "")
    return _Facts(place, tuple(cities), tuple(provincial), tuple(local),
                  caller.city_code if caller else None)


_HOLDS: dict[str, Callable[[_Facts], bool]] = {
    "cross_city": lambda f: len(f.cities) > 1,
    "provincial_department": lambda f: bool(f.provincial),
    "place_is_county": lambda f: f.place is not None and f.place.level is RegionLevel.COUNTY,
    "place_is_city": lambda f: f.place is not None and f.place.level is RegionLevel.CITY,
    "caller_area": lambda f: f.caller_city is not None,
    "always": lambda f: True,
}


def route(request: RoutingRequest, table: RoutingTable) -> RoutingDecision:
    """Decide the lead unit, co-handlers and level, and explain why."""
    facts = _facts(request, table)
    for rule in table.rules:
        if _HOLDS[rule.when](facts):
            return _apply(rule, facts, table)
    raise RoutingError("no routing rule matched; the rules must end with `when = \"always\"`")


def _apply(rule: Rule, facts: _Facts, table: RoutingTable) -> RoutingDecision:
    reasons = [f"rule {rule.name}: {rule.explain}"]
    province = table.province_code
    departments = facts.local
    if rule.lead == "province_platform":
        lead, level = platform_id(province), RegionLevel.PROVINCE
    elif rule.lead == "province_department":
        first = table.departments[facts.provincial[0]]
        if first.via:
            relay = table.departments[first.via]
            lead, level = department_id(province, relay.code), RegionLevel.PROVINCE
            departments = facts.provincial + facts.local
            reasons.append(f"lead: {relay.province}, which relays to {first.province}")
        else:
            lead, level = department_id(province, first.code), RegionLevel.PROVINCE
            departments = facts.provincial[1:] + facts.local
            reasons.append(f"lead: {first.province}")
    elif rule.lead == "caller_city_platform":
        assert facts.caller_city is not None
        lead, level = platform_id(facts.caller_city), RegionLevel.CITY
        reasons.append(f"caller's area: {table.regions[facts.caller_city].name}")
    else:
        assert facts.place is not None
        place = facts.place
        reasons.append(f"place: {place.name} ({place.code}, {place.level.value})")
        if rule.lead == "city_unit" and place.level is RegionLevel.COUNTY and place.city_code:
            place = table.regions[place.city_code]
            reasons.append(f"handled at city level: {place.name}")
        lead, level, departments = _local_lead(place, departments, table, reasons)
    co = _co_handlers(rule.co, facts, departments, lead, level, table)
    if co:
        reasons.append("co-handlers: " + ", ".join(co))
    return RoutingDecision(lead, tuple(co), level, rule.name, tuple(reasons))


def _local_lead(place: RegionRecord, departments: tuple[str, ...], table: RoutingTable,
                reasons: list[str]) -> tuple[str, RegionLevel, tuple[str, ...]]:
    if not departments:
        if place.level is RegionLevel.COUNTY:
            return office_id(place.code), RegionLevel.COUNTY, ()
        return platform_id(place.code), RegionLevel.CITY, ()
    first, rest = departments[0], departments[1:]
    dept = table.departments[first]
    if place.level is RegionLevel.COUNTY and dept.county:
        return department_id(place.code, first), RegionLevel.COUNTY, rest
    city = place.city_code or place.code
    if place.level is RegionLevel.COUNTY:
        reasons.append(f"{first} has no county-level counterpart: the city's department leads")
    if dept.city:
        return department_id(city, first), RegionLevel.CITY, rest
    reasons.append(f"{first} exists only at province level")
    return department_id(table.province_code, first), RegionLevel.PROVINCE, rest


def _co_handlers(kind: str, facts: _Facts, departments: Iterable[str], lead: str, level: RegionLevel,
                 table: RoutingTable) -> list[str]:
    if kind == "involved_city_platforms":
        return [platform_id(city) for city in facts.cities]
    if kind == "other_departments":
        code = {RegionLevel.PROVINCE: table.province_code}.get(level)
        if code is None:
            place = facts.place
            assert place is not None
            code = place.code if level is RegionLevel.COUNTY else (place.city_code or place.code)
        result = []
        for dept in departments:
            spec = table.departments[dept]
            if spec.name_at(level, "x") is None:
                continue
            unit = department_id(code, dept)
            if unit != lead and unit not in result:
                result.append(unit)
        return result
    return []
