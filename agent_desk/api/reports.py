"""Supervisor reports: one route per view, for any local date range and any place from the
province down to a unit, within the caller's scope. Each answers JSON pages, or every row as CSV
or XLSX (`format=`), with the same figures: the page, the exports and this API are one source.

Figures come from the KPI modules (docs/metrics.md) through `agent_desk.reports.views`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from agent_desk.api.csv_export import csv_response
from agent_desk.api.deps import DeskDep, SupervisorCaller
from agent_desk.api.errors import AUTHED, responses
from agent_desk.api.pagination import CursorParam, LimitParam, Page, keyset_page, list_page
from agent_desk.desk import Desk
from agent_desk.reports import views
from agent_desk.reports.drill import Drill, Level, Period, drill, period
from agent_desk.reports.views import (
    CallBucket,
    HotSpotCell,
    OverdueRow,
    StaffingHour,
    TicketBreakdown,
    TicketRow,
)
from agent_desk.reports.xlsx import XLSX_RESPONSE, workbook, xlsx_response
from agent_desk.security.principal import Principal
from ticketing.call_kpis import KeyedCallKpis

router = APIRouter(prefix="/api/reports", tags=["reports"])
ReportFormat = Annotated[Literal["json", "csv", "xlsx"], Query(
    description="csv or xlsx: every row, as a download with the same figures")]
ERRORS = responses(400, 404, *AUTHED)
EXPORTS = {**XLSX_RESPONSE, **ERRORS}
_NEXT_LEVEL = {Level.PROVINCE: TicketBreakdown.CITY, Level.CITY: TicketBreakdown.COUNTY,
               Level.COUNTY: TicketBreakdown.UNIT, Level.UNIT: None}


@dataclass(frozen=True)
class Report:
    desk: Desk
    who: Principal
    where: Drill
    when: Period

    def about(self) -> list[tuple[str, str]]:
        return [("period 期间", f"{self.when.start.isoformat()} – {self.when.end.isoformat()}"),
                ("place 地区", " › ".join(p.name for p in self.where.trail)),
                ("time zone 时区", self.desk.settings.ticketing.calendar.timezone)]

    def answer(self, model: type[BaseModel], rows: list[Any], view: str, fmt: str,
               cursor: str | None, limit: int) -> Any:
        name = f"{view}-{self.where.place.code.replace(':', '_')}-{self.when.start}-{self.when.end}"
        if fmt == "csv":
            return csv_response(model, rows, name)
        if fmt == "xlsx":
            return xlsx_response(workbook(model, rows, title=view, about=self.about()), name)
        return list_page(rows, cursor, limit)


async def report(desk: DeskDep, who: SupervisorCaller,
                 start: Annotated[date | None,
                                  Query(description="first local day; default: the 1st of this month")] = None,
                 end: Annotated[date | None, Query(description="last local day, included; default: today")] = None,
                 region: Annotated[str | None, Query(pattern=r"^\d{6}$", description="a city or county code")] = None,
                 unit: Annotated[str | None,
                                 Query(max_length=48, description="a unit id: dept:320100:water_supply")] = None,
                 ) -> Report:
    return Report(desk, who, await drill(desk, who, region, unit), period(desk, start, end))


ReportDep = Annotated[Report, Depends(report)]


class PlaceView(BaseModel):
    level: Level
    code: str
    name: str


class ReportContext(BaseModel):
    """Where the report looks and how the page drills on."""

    start: date
    end: date
    trail: list[PlaceView]
    breakdown: TicketBreakdown | None  # the next level down: city, county, unit (None at a unit)
    service_level_seconds: float
    service_level_target: float


@router.get("/context", response_model=ReportContext, responses=ERRORS)
async def context(rep: ReportDep) -> ReportContext:
    """The period and place asked for, checked against your scope (404 outside it), from your top
    (the province, or your city) down to it."""
    sup = rep.desk.settings.desk.supervision
    return ReportContext(start=rep.when.start, end=rep.when.end,
                         trail=[PlaceView(level=p.level, code=p.code, name=p.name) for p in rep.where.trail],
                         breakdown=_NEXT_LEVEL[rep.where.place.level],
                         service_level_seconds=sup.service_level_seconds,
                         service_level_target=sup.service_level_target)


@router.get("/calls", response_model=Page[KeyedCallKpis], responses=EXPORTS)
async def calls(rep: ReportDep, by: CallBucket | None = None, format: ReportFormat = "json",
                cursor: CursorParam = None, limit: LimitParam = 500) -> Any:
    """Call KPIs over the period, per local day, or per hour of the day (09:00 counts every day's
    09:00–10:00): offered, answered, 接通率, answered within 15 s, service level, ASA, AHT,
    abandoned, short abandons. Below a city only calls attached to the place's tickets count."""
    rows = await views.calls(rep.desk, rep.who, rep.where, rep.when, by)
    return rep.answer(KeyedCallKpis, rows, f"calls-by-{by.value}" if by else "calls", format, cursor, limit)


@router.get("/staffing", response_model=Page[StaffingHour], responses=EXPORTS)
async def staffing(rep: ReportDep, format: ReportFormat = "json", cursor: CursorParam = None,
                   limit: LimitParam = 500) -> Any:
    """Per hour of the day: calls per hour against the agents logged in to the place's queues, and
    the Erlang C advice for that arrival rate and AHT."""
    rows = await views.staffing(rep.desk, rep.who, rep.where, rep.when)
    return rep.answer(StaffingHour, rows, "staffing", format, cursor, limit)


@router.get("/tickets", response_model=Page[TicketRow], responses=EXPORTS)
async def tickets(rep: ReportDep, by: TicketBreakdown | None = None, format: ReportFormat = "json",
                  cursor: CursorParam = None, limit: LimitParam = 500) -> Any:
    """Ticket KPIs of the tickets created in the period, overall or by channel, category, city,
    county or unit: intake, on-time 签收 and 办结, lights, 满意率, 重办率, extensions, returns."""
    rows = await views.tickets(rep.desk, rep.who, rep.where, rep.when, by)
    return rep.answer(TicketRow, rows, f"tickets-by-{by.value}" if by else "tickets", format, cursor, limit)


@router.get("/overdue", response_model=Page[OverdueRow], responses=EXPORTS)
async def overdue(rep: ReportDep, format: ReportFormat = "json", cursor: CursorParam = None,
                  limit: LimitParam = 100) -> Any:
    """The overdue cases the `red` figure counts, most overdue first (paged in the database: a
    province's month can hold thousands)."""
    if format != "json":
        return rep.answer(OverdueRow, await views.overdue(rep.desk, rep.who, rep.where, rep.when), "overdue",
                          format, None, limit)
    return await keyset_page(rep.desk.sessions, views.overdue_query(rep.who, rep.where, rep.when),
                             views.OVERDUE_ORDER, cursor=cursor, limit=limit,
                             key=lambda row: (row.red_after, row.id), view=views.overdue_row)


@router.get("/hotspots", response_model=Page[HotSpotCell], responses=EXPORTS)
async def hotspots(rep: ReportDep, top: Annotated[int, Query(ge=1, le=100, description="how many pairs")] = 12,
                   format: ReportFormat = "json", cursor: CursorParam = None, limit: LimitParam = 500) -> Any:
    """The busiest category × county pairs of the period, each over time: tickets per local day
    (per hour for two days or less)."""
    rows = await views.hotspots(rep.desk, rep.who, rep.where, rep.when, top)
    return rep.answer(HotSpotCell, rows, "hotspots", format, cursor, limit)
