"""Routing preview: which unit would get a case, and why, for input that is not saved yet.

The desk's ticket form calls it on every edit of place, category or text, so the agent sees the
decision (and the routing explanation) before creating the ticket. Creating with the same input and
`dispatch: true` routes exactly so: both use the ticket service's routing table.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from agent_desk.api.deps import DeskDep, DeskStaff
from agent_desk.api.errors import AUTHED, responses
from agent_desk.api.pagination import Page
from ticketing.models import Unit
from ticketing.routing import RoutingRequest
from ticketing.vocabulary import Category

router = APIRouter(prefix="/api/routing", tags=["tickets"])


class PreviewRequest(BaseModel):
    category: Category
    region_code: str | None = Field(None, pattern=r"^\d{6}$")
    description: str = Field("", max_length=4000)
    departments: list[str] | None = Field(None, max_length=10, description=(
        "department types to route by; omitted: suggested from the description's keywords"))


class UnitRef(BaseModel):
    id: str
    name: str


class DepartmentRef(BaseModel):
    dept_type: str
    keyword: str | None  # the word in the description that suggested it; None when given


class DepartmentType(BaseModel):
    dept_type: str
    name: str  # the local body's name without its place (水务局), or the provincial body's


class RoutingPreview(BaseModel):
    lead: UnitRef
    co_handlers: list[UnitRef]
    level: str
    rule: str
    reasons: list[str]
    departments: list[DepartmentRef]


@router.post("/preview", response_model=RoutingPreview, responses=responses(400, *AUTHED))
async def preview(body: PreviewRequest, desk: DeskDep, who: DeskStaff) -> RoutingPreview:
    """The routing decision for unsaved ticket input: the lead unit, co-handlers, level and the reasons."""
    routing = desk.tickets.routing
    if body.departments is None:
        departments = [DepartmentRef(dept_type=s.dept_type, keyword=s.keyword)
                       for s in routing.suggest_departments(body.description)]
    else:
        departments = [DepartmentRef(dept_type=d, keyword=None) for d in body.departments if d]
    decision = await desk.tickets.route(RoutingRequest(body.region_code, body.category.value,
                                                 tuple(d.dept_type for d in departments)))
    ids = [decision.lead_unit_id, *decision.co_handler_ids]
    async with desk.sessions() as session:
        names = dict((await session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids)))).all())
    return RoutingPreview(
        lead=UnitRef(id=decision.lead_unit_id, name=names.get(decision.lead_unit_id, decision.lead_unit_id)),
        co_handlers=[UnitRef(id=u, name=names.get(u, u)) for u in decision.co_handler_ids],
        level=decision.level.value, rule=decision.rule, reasons=list(decision.reasons), departments=departments)


@router.get("/departments", response_model=Page[DepartmentType], responses=responses(*AUTHED))
async def departments(desk: DeskDep, who: DeskStaff) -> Page[DepartmentType]:
    """The department types a ticket can be routed by (one page: the directory is short)."""
    items = [DepartmentType(dept_type=code, name=spec.label)
             for code, spec in sorted(desk.tickets.routing.departments.items())]
    return Page[DepartmentType](items=items, next_cursor=None)
