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
    code: str
    province: str
    city: str | None = None
    county: str | None = None

    def name_at(self, level: RegionLevel, place: str) -> str | None:
        pattern = {RegionLevel.PROVINCE: self.province, RegionLevel.CITY: self.city,
                   RegionLevel.COUNTY: self.county}[level]
        return pattern.format(place=place) if pattern else None


@dataclass(frozen=True, slots=True)
class UnitRecord:
    id: str
    name: str
    kind: UnitKind
    level: RegionLevel
    region_code: str
    dept_type: str | None = None


def load_department_types(path: Path | None = None) -> dict[str, DepartmentType]:
    raw = path.read_text("utf-8") if path else files("ticketing.data").joinpath("departments.toml").read_text("utf-8")
    table = tomllib.loads(raw)
    return {code: DepartmentType(code=code, **spec) for code, spec in table.items()}


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
            name = dept.name_at(region.level, region.name)
            if name:
                yield UnitRecord(department_id(region.code, dept.code), name, UnitKind.DEPARTMENT,
                                 region.level, region.code, dept.code)
