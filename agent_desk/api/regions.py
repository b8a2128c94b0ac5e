"""The region tree for place pickers: province → city → county, searchable by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from agent_desk.api.deps import Caller, DeskDep
from agent_desk.api.errors import AUTHED, responses
from agent_desk.api.pagination import CursorParam, LimitParam, Page, list_page
from ticketing.models.region import RegionLevel
from ticketing.regions import RegionRecord

router = APIRouter(prefix="/api/regions", tags=["regions"])
_LEVELS = {RegionLevel.PROVINCE: 0, RegionLevel.CITY: 1, RegionLevel.COUNTY: 2}


class RegionView(BaseModel):
    code: str
    name: str
    short_name: str
    level: RegionLevel
    parent_code: str | None
    city_code: str | None
    path: str  # 江苏省 › 南京市 › 玄武区


@router.get("", response_model=Page[RegionView], responses=responses(400, 404, *AUTHED))
async def regions(desk: DeskDep, who: Caller,
                  q: Annotated[str | None, Query(max_length=32, description="part of a name: 玄武, 南京")] = None,
                  parent: Annotated[str | None, Query(pattern=r"^\d{6}$", description="children of")] = None,
                  cursor: CursorParam = None, limit: LimitParam = 50) -> Page[RegionView]:
    """With `q`: regions whose name contains it (cities before counties). With `parent`: its children.
    Neither: the province's cities."""
    tree = desk.tickets.routing.regions
    if parent is not None and parent not in tree:
        raise HTTPException(404, f"unknown region {parent}")
    if q and q.strip():
        needle = q.strip()
        found = [r for r in tree.values() if needle in r.name]
    else:
        wanted = parent or desk.tickets.routing.province_code
        found = [r for r in tree.values() if r.parent_code == wanted]
    found.sort(key=lambda r: (_LEVELS[r.level], r.code))
    page = list_page(found, cursor, limit)
    return Page[RegionView](items=[_view(r, tree) for r in page.items], next_cursor=page.next_cursor)


def _view(region: RegionRecord, tree: Mapping[str, RegionRecord]) -> RegionView:
    return RegionView(code=region.code, name=region.name, short_name=region.short_name, level=region.level,
                      parent_code=region.parent_code, city_code=region.city_code, path=region_path(region, tree))


def region_path(region: RegionRecord, tree: Mapping[str, RegionRecord]) -> str:
    """江苏省 › 南京市 › 玄武区"""
    names = [region.name]
    parent = tree.get(region.parent_code or "")
    while parent is not None:
        names.insert(0, parent.name)
        parent = tree.get(parent.parent_code or "")
    return " › ".join(names)
