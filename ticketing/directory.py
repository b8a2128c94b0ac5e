"""The handling-unit directory: platforms, county offices and departments, derived from regions."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from ticketing.models.region import RegionLevel
from ticketing.models.unit import UnitKind
from ticketing.regions import RegionRecord


@dataclass(frozen=True, slots=True)
class DepartmentType:
    """A kind of handling department and its name at each level (`departments.toml`)."""

    code: str
    label: str  # 供水, 公安: how agents name it
    source: str  # where its responsibilities are published (三定 or the law)
    duties: str = ""
    province: str | None = None
    city: str | None = None
    county: str | None = None
    via: str | None = None  # the provincial department type that relays its cases
    called: tuple[str, ...] = ()  # what callers call it, besides its names

    def name_at(self, level: RegionLevel, place: str, short: str | None = None) -> str | None:
        pattern = {RegionLevel.PROVINCE: self.province, RegionLevel.CITY: self.city,
                   RegionLevel.COUNTY: self.county}[level]
        return pattern.format(place=place, short=short or place) if pattern else None

    @property
    def provincial_only(self) -> bool:
        """Exists at province level only: its cases are relayed to the province."""
        return self.province is not None and self.city is None and self.county is None

    def spoken_names(self) -> tuple[str, ...]:
        """Names a caller may use for this unit: `called`, and each level's name without the place
        (`{place}民政局` → 民政局, `江苏省水利厅` → 水利厅)."""
        names = list(self.called)
        for pattern in (self.city, self.county):
            if pattern and "{" in pattern:
                names.append(pattern[pattern.rindex("}") + 1:])
        if self.province:
            names.append(self.province.removeprefix(_PROVINCE_PREFIX))
        return tuple(dict.fromkeys(n for n in names if len(n) >= 2))


_PROVINCE_PREFIX = "江苏省"
_FIELDS = {"label", "source", "duties", "province", "city", "county", "via", "called"}


@dataclass(frozen=True, slots=True)
class UnitRecord:
    id: str
    name: str
    kind: UnitKind
    level: RegionLevel
    region_code: str
    dept_type: str | None = None


def load_department_types(path: Path | None = None) -> dict[str, DepartmentType]:
    source = str(path or "ticketing/data/departments.toml")
    raw = path.read_text("utf-8") if path else files("ticketing.data").joinpath("departments.toml").read_text("utf-8")
    types = {code: _department_type(code, spec, source) for code, spec in tomllib.loads(raw).items()}
    for dept in types.values():
        relay = types.get(dept.via or "")
        if dept.via and (relay is None or relay.province is None or relay.via):
            raise ValueError(f"{source}: [{dept.code}] via = {dept.via!r} must name a department type "
                             "with a provincial unit of its own")
        if dept.via and not dept.provincial_only:
            raise ValueError(f"{source}: [{dept.code}] has `via`, so it must have `province` only")
    return types


def _department_type(code: str, spec: object, source: str) -> DepartmentType:
    if not isinstance(spec, dict):
        raise ValueError(f"{source}: {code} must be a table")  # noqa: TRY004  # a config error
    unknown = set(spec) - _FIELDS
    missing = {"label", "source"} - set(spec)
    if unknown or missing:
        raise ValueError(f"{source}: [{code}] " + "; ".join(
            [f"unknown key {k!r}" for k in sorted(unknown)] + [f"{k} is required" for k in sorted(missing)]))
    if not any(spec.get(level) for level in ("province", "city", "county")):
        raise ValueError(f"{source}: [{code}] needs a name at one level at least (province, city, county)")
    return DepartmentType(code=code, **{**spec, "called": tuple(spec.get("called", ()))})


def platform_id(region_code: str) -> str:
    return f"platform:{region_code}"


def office_id(region_code: str) -> str:
    return f"office:{region_code}"


def department_id(region_code: str, dept_type: str) -> str:
    return f"dept:{region_code}:{dept_type}"


def unit_records(
    regions: Iterable[RegionRecord], departments: dict[str, DepartmentType]
) -> Iterator[UnitRecord]:
    for region in regions:
        if region.level is RegionLevel.COUNTY:
            yield UnitRecord(office_id(region.code), f"{region.name}12345热线办理中心",
                             UnitKind.OFFICE, region.level, region.code)
        else:
            yield UnitRecord(platform_id(region.code), f"{region.name}12345政务服务便民热线",
                             UnitKind.PLATFORM, region.level, region.code)
        for dept in departments.values():
            name = dept.name_at(region.level, region.name, region.short_name)
            if name:
                yield UnitRecord(department_id(region.code, dept.code), name, UnitKind.DEPARTMENT,
                                 region.level, region.code, dept.code)
