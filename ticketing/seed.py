"""Idempotent loading of reference data: running it twice changes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from sqlalchemy import select

from ticketing.db import SessionFactory
from ticketing.directory import load_department_types, unit_records
from ticketing.models import Region, Unit
from ticketing.regions import JIANGSU, province_records


@dataclass(frozen=True)
class SeedReport:
    regions_added: int
    regions_updated: int
    units_added: int
    units_updated: int

    @property
    def changed(self) -> bool:
        return any(asdict(self).values())


async def seed_reference_data(sessions: SessionFactory, province_code: str = JIANGSU) -> SeedReport:
    regions = list(province_records(province_code))
    units = list(unit_records(regions, load_department_types()))
    async with sessions.begin() as session:
        existing_regions = {r.code: r for r in (await session.scalars(select(Region))).all()}
        r_added = r_updated = 0
        # Parents first, so the self-referencing foreign key holds at every insert.
        for record in regions:
            values = {"name": record.name, "short_name": record.short_name, "level": record.level,
                      "kind": record.kind, "parent_code": record.parent_code,
                      "city_code": record.city_code}
            row = existing_regions.get(record.code)
            if row is None:
                session.add(Region(code=record.code, **values))
                r_added += 1
            elif _update(row, values):
                r_updated += 1
        await session.flush()
        existing_units = {u.id: u for u in (await session.scalars(select(Unit))).all()}
        u_added = u_updated = 0
        for unit in units:
            values = {"name": unit.name, "kind": unit.kind, "level": unit.level,
                      "region_code": unit.region_code, "dept_type": unit.dept_type}
            unit_row = existing_units.get(unit.id)
            if unit_row is not None and unit_row.renamed_by:
                del values["name"]  # an administrator's name wins over the directory's
            if unit_row is None:
                session.add(Unit(id=unit.id, **values))
                u_added += 1
            elif _update(unit_row, values):
                u_updated += 1
    return SeedReport(r_added, r_updated, u_added, u_updated)


def _update(row: object, values: Mapping[str, object]) -> bool:
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    return changed
