"""Administration of the handling units (/admin): a region's units, and renaming one (audited,
before and after). A renamed unit keeps its name through later `hotline seed` runs; its id, kind,
level and place come from the directory and do not change here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from agent_desk.api.deps import AdminCaller, DeskDep
from agent_desk.api.errors import AUTHED, responses
from agent_desk.api.pagination import Page
from ticketing.errors import InvalidAction
from ticketing.models import Unit

router = APIRouter(prefix="/api/admin/units", tags=["admin"])
UnitId = Annotated[str, Path(min_length=1, max_length=48)]


class UnitView(BaseModel):
    id: str
    name: str
    kind: str
    level: str
    region_code: str
    dept_type: str | None
    renamed_by: str | None = Field(description="who renamed it on /admin; null: the directory's name")

    @classmethod
    def of(cls, unit: Unit) -> UnitView:
        return cls(id=unit.id, name=unit.name, kind=unit.kind.value, level=unit.level.value,
                   region_code=unit.region_code, dept_type=unit.dept_type, renamed_by=unit.renamed_by)


class UnitRename(BaseModel):
    name: str = Field(min_length=1, max_length=128)


@router.get("", response_model=Page[UnitView], responses=responses(*AUTHED))
async def region_units(desk: DeskDep, who: AdminCaller,
                       region_code: Annotated[str, Query(pattern=r"^\d{6}$", description="the units of this region")]
                       ) -> Page[UnitView]:
    """The units of one region (a platform or office and its departments: one page)."""
    async with desk.sessions() as session:
        units = (await session.scalars(select(Unit).where(Unit.region_code == region_code).order_by(Unit.id))).all()
    return Page[UnitView](items=[UnitView.of(u) for u in units], next_cursor=None)


@router.put("/{unit_id}", response_model=UnitView, responses=responses(400, 404, *AUTHED))
async def rename(unit_id: UnitId, body: UnitRename, desk: DeskDep, who: AdminCaller) -> UnitView:
    """Rename a unit (its name on cases, reports and the citizen portal); the id stays."""
    name = " ".join(body.name.split())
    if not name:
        raise InvalidAction("a unit needs a name")
    async with desk.sessions.begin() as session:
        unit = await session.get(Unit, unit_id)
        if unit is None:
            raise HTTPException(404, f"no unit {unit_id!r}")
        taken = await session.scalar(select(func.count()).select_from(Unit).where(
            Unit.region_code == unit.region_code, Unit.name == name, Unit.id != unit_id))
        if taken:
            raise InvalidAction(f"another unit of {unit.region_code} is already named {name!r}")
        before = unit.name
        unit.name, unit.renamed_by = name, who.username
        view = UnitView.of(unit)
    await desk.audit.record(who.username, "unit.rename", "unit", unit_id, before=before, after=name)
    return view
