"""Supervisors: the live picture, today's and a period's KPIs, staffing advice, hot spots, abandoned calls.

Metric definitions: docs/metrics.md (call KPIs are `ticketing.call_kpis.CallKpis`, ticket KPIs
`ticketing.kpi.TicketKpi`, both served as they are). A city supervisor sees its city and counties,
and the queues mapped to its city.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel
from sqlalchemy import and_, select

from agent_desk.api.calls import NEWEST_FIRST, CallView, call_filters
from agent_desk.api.csv_export import CSV_RESPONSE, Format, csv_response
from agent_desk.api.deps import DeskDep, SupervisorCaller
from agent_desk.api.errors import AUTHED, responses
from agent_desk.api.live_scope import PbxParam, scope_of
from agent_desk.api.pagination import CursorParam, LimitParam, Page, keyset_page, list_page
from agent_desk.desk import Desk
from agent_desk.live.board import LiveSnapshot
from agent_desk.security.principal import Principal
from agent_desk.security.scope import ticket_scope
from agent_desk.supervision.cache import TtlCache
from agent_desk.supervision.erlang import DEFAULT_AHT_SECONDS, required_agents
from agent_desk.supervision.hotspots import hot_spots
from ticketing.call_kpis import CallDimension, KeyedCallKpis, call_kpis
from ticketing.instants import Instant
from ticketing.kpi import Dimension, KpiFilter, TicketKpi, ticket_kpis
from ticketing.models import CallOutcome, CallRecord, utcnow

router = APIRouter(prefix="/api/supervisor", tags=["supervisors"])


class StaffingAdvice(BaseModel):
    window_start: datetime
    calls_last_hour: int
    aht_seconds: float
    service_level_seconds: float
    service_level_target: float
    agents_needed: int
    traffic_erlangs: float
    predicted_service_level: float
    predicted_asa_seconds: float | None
    agents_logged_in: int
    agents_available: int


class HotSpotRow(BaseModel):
    category: str
    county_code: str
    county_name: str | None
    last_hour: int
    usual_per_hour: float
    factor: float | None


class AbandonedRow(CallView):
    callback_url: str


class Dashboard(BaseModel):
    """The KPI page: today's figures (local day) and the live totals in one round trip."""

    day_start: datetime
    calls: KeyedCallKpis
    tickets: TicketKpi
    live: LiveSnapshot


def _period(desk: Desk, since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    now = utcnow()
    if since is None:
        since = desk.day_start()
    until = until or now
    if until <= since:
        raise HTTPException(400, "until must be after since")
    return since, until


def _kpi_filter(who: Principal, since: datetime, until: datetime) -> KpiFilter:
    return KpiFilter(since=since, until=until, region_codes=[who.city_scope] if who.city_scope else None)


async def _call_rows(desk: Desk, who: Principal, since: datetime, until: datetime,
                     by: CallDimension | None, pbx: str | None = None) -> list[KeyedCallKpis]:
    sup = desk.settings.desk.supervision
    scope = desk.call_scope(who)
    if pbx is not None:
        scope_of(desk, who, pbx)  # 404: no such PBX; 403: another city's
        scope = and_(scope, CallRecord.server == pbx)
    async with desk.sessions() as session:
        return await call_kpis(session, since=since, until=until, by=by, settings=sup.call_kpis(),
                               scope=scope, utc_offset_hours=desk.utc_offset_hours())


async def _ticket_rows(desk: Desk, who: Principal, since: datetime, until: datetime,
                       by: Dimension | None) -> list[TicketKpi]:
    async with desk.sessions() as session:
        return await ticket_kpis(session, now=utcnow(), by=by, where=_kpi_filter(who, since, until),
                                 utc_offset_hours=desk.utc_offset_hours())


def _live(desk: Desk, who: Principal, pbx: str | None = None) -> LiveSnapshot:
    scope = scope_of(desk, who, pbx)
    return desk.board.snapshot(scope.queues, scope.pbx)


@router.get("/live", response_model=LiveSnapshot, responses=responses(404, *AUTHED))
async def live(desk: DeskDep, who: SupervisorCaller, pbx: PbxParam = None) -> LiveSnapshot:
    """Queues, waiting callers, agents and their states, longest wait, and today's live counters:
    in total and per PBX (`pbx`); a city supervisor's are its city's PBX's. `?pbx=NAME`: that PBX only."""
    return _live(desk, who, pbx)


DASHBOARD_TTL = 2.0


@router.get("/dashboard", response_model=Dashboard, responses=responses(400, *AUTHED))
async def dashboard(request: Request, desk: DeskDep, who: SupervisorCaller) -> Dashboard:
    """The KPI page: today's call and ticket figures (recomputed at most every 2 s per scope, so a
    room of supervisors costs one query) and the live board."""
    since, until = _period(desk, None, None)

    async def compute() -> tuple[KeyedCallKpis, TicketKpi]:
        calls = await _call_rows(desk, who, since, until, None)
        tickets = await _ticket_rows(desk, who, since, until, None)
        return calls[0], tickets[0]

    scope = ("all",) if who.sees_everything else (who.role.value, who.city_scope, who.unit_id, who.username)
    cache: TtlCache[tuple[KeyedCallKpis, TicketKpi]] = request.app.state.dashboards
    calls, tickets = await cache.get((since, *scope), compute)
    return Dashboard(day_start=since, calls=calls, tickets=tickets, live=_live(desk, who))


@router.get("/kpi/calls", response_model=Page[KeyedCallKpis],
            responses={**CSV_RESPONSE, **responses(400, 404, *AUTHED)})
async def kpi_calls(desk: DeskDep, who: SupervisorCaller, since: Instant | None = None,
                    until: Instant | None = None, by: CallDimension | None = None, pbx: PbxParam = None,
                    cursor: CursorParam = None, limit: LimitParam = 100, format: Format = "json") -> Any:
    """Call KPIs as docs/metrics.md defines them — offered, answered, abandoned (and short), timeouts,
    key exits, transfers, answer rate, answered within 15 s, service level (and SL2), ASA, AHT.
    Overall and by hour, day or PBX every call counts once, with its final outcome; by queue every
    queue leg counts (a transferred call in both queues); by agent the legs each agent answered.
    `?pbx=NAME`: that PBX's calls only. Default period: today (local)."""
    start, end = _period(desk, since, until)
    rows = await _call_rows(desk, who, start, end, by, pbx)
    if format == "csv":
        return csv_response(KeyedCallKpis, rows, "call-kpi")
    return list_page(rows, cursor, limit)


@router.get("/kpi/tickets", response_model=Page[TicketKpi],
            responses={**CSV_RESPONSE, **responses(400, *AUTHED)})
async def kpi_tickets(desk: DeskDep, who: SupervisorCaller, since: Instant | None = None,
                      until: Instant | None = None, by: Dimension | None = None,
                      cursor: CursorParam = None, limit: LimitParam = 100, format: Format = "json") -> Any:
    """On-time sign-off, on-time completion (按时办结率), satisfaction (满意率), counts by light, average
    handling time — overall or by city, county, unit, category, channel, day or hour."""
    start, end = _period(desk, since, until)
    rows = await _ticket_rows(desk, who, start, end, by)
    if format == "csv":
        return csv_response(TicketKpi, rows, "ticket-kpi")
    return list_page(rows, cursor, limit)


@router.get("/staffing", response_model=StaffingAdvice, responses=responses(*AUTHED))
async def staffing(desk: DeskDep, who: SupervisorCaller) -> StaffingAdvice:
    """Erlang C: agents needed to reach the configured service level at the last hour's arrival rate
    and AHT, beside the agents logged in now."""
    sup = desk.settings.desk.supervision
    now = utcnow()
    rows = await _call_rows(desk, who, now - timedelta(hours=1), now, None)
    row = rows[0]
    aht = row.aht_seconds or DEFAULT_AHT_SECONDS
    advice = required_agents(row.offered, aht, answer_seconds=sup.service_level_seconds,
                             target=sup.service_level_target)
    totals = _live(desk, who).totals
    return StaffingAdvice(
        window_start=now - timedelta(hours=1), calls_last_hour=row.offered, aht_seconds=aht,
        service_level_seconds=sup.service_level_seconds, service_level_target=sup.service_level_target,
        agents_needed=advice.agents, traffic_erlangs=round(advice.traffic_erlangs, 3),
        predicted_service_level=round(advice.service_level, 4),
        predicted_asa_seconds=round(advice.asa_seconds, 1) if advice.asa_seconds != float("inf") else None,
        agents_logged_in=totals.logged_in, agents_available=totals.available,
    )


@router.get("/hotspots", response_model=Page[HotSpotRow], responses={**CSV_RESPONSE, **responses(400, *AUTHED)})
async def hotspots(desk: DeskDep, who: SupervisorCaller, cursor: CursorParam = None, limit: LimitParam = 50,
                   format: Format = "json") -> Any:
    """Category × county pairs whose last hour is far above their usual hourly rate."""
    sup = desk.settings.desk.supervision
    async with desk.sessions() as session:
        spots = await hot_spots(session, now=utcnow(), factor=sup.hotspot_factor,
                                min_tickets=sup.hotspot_min_tickets, baseline_days=sup.hotspot_baseline_days,
                                scope=ticket_scope(who))
    regions = desk.tickets.routing.regions
    rows = [HotSpotRow(category=s.category, county_code=s.county_code,
                       county_name=regions[s.county_code].name if s.county_code in regions else None,
                       last_hour=s.last_hour, usual_per_hour=s.usual_per_hour, factor=s.factor) for s in spots]
    if format == "csv":
        return csv_response(HotSpotRow, rows, "hotspots")
    return list_page(rows, cursor, limit)


@router.get("/abandoned", response_model=Page[AbandonedRow], responses={**CSV_RESPONSE, **responses(400, *AUTHED)})
async def abandoned(desk: DeskDep, who: SupervisorCaller, since: Instant | None = None,
                    until: Instant | None = None, queue: Annotated[str | None, Query(max_length=64)] = None,
                    cursor: CursorParam = None, limit: LimitParam = 50, format: Format = "json") -> Any:
    """Abandoned calls, newest first, each with its one-click callback (POST callback_url)."""
    start, end = _period(desk, since, until)
    query = select(CallRecord).where(*call_filters(who, desk, queue, CallOutcome.ABANDONED, None, start, end))

    def row(call: CallRecord) -> AbandonedRow:
        return AbandonedRow(**CallView.of(call).model_dump(), callback_url=f"/api/calls/{call.id}/callback")

    if format == "csv":
        async with desk.sessions() as session:
            calls = (await session.scalars(NEWEST_FIRST.ordered(query))).all()
        return csv_response(AbandonedRow, [row(c) for c in calls], "abandoned")
    return await keyset_page(desk.sessions, query, NEWEST_FIRST, cursor=cursor, limit=limit,
                             key=lambda c: (c.id,), view=row)
