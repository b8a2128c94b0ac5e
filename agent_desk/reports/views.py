"""The report views: each a list of rows, computed by the KPI modules for a period and a place.

Nothing here counts or divides a KPI: call figures are `ticketing.call_kpis.call_kpis` rows,
ticket figures `ticketing.kpi.ticket_kpis` rows, the staffing advice `erlang.required_agents` on
those rows, and logged-in time `ticketing.presence`. This module picks the dimension, the filter
and the scope, and adds names.
"""

from __future__ import annotations

import enum
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from agent_desk.api.pagination import AnySelect, Keyset
from agent_desk.desk import Desk
from agent_desk.reports.drill import Drill, Period
from agent_desk.security.principal import Principal
from agent_desk.security.scope import ticket_scope
from agent_desk.supervision.erlang import DEFAULT_AHT_SECONDS, required_agents
from ticketing.call_kpis import CallDimension, KeyedCallKpis, call_kpis
from ticketing.kpi import Dimension, TicketKpi, ticket_kpis
from ticketing.models import Ticket, Unit, utcnow
from ticketing.presence import PresenceStore
from ticketing.vocabulary import OPEN_STATES, Category


class CallBucket(enum.StrEnum):
    DAY = "day"
    HOUR_OF_DAY = "hour_of_day"


class TicketBreakdown(enum.StrEnum):
    CHANNEL = "channel"
    CATEGORY = "category"
    CITY = "city"
    COUNTY = "county"
    UNIT = "unit"


class TicketRow(TicketKpi):
    """A ticket KPI row with the name of its city, county or unit (or the category's label)."""

    label: str | None = Field(None, description="the name of `key`: the city, county or unit, or the category")


class StaffingHour(BaseModel):
    """One hour of the day over the period: the calls it had, the agents logged in, the advice."""

    hour: str = Field(description="local hour of the day, 09:00")
    hours_in_period: int = Field(description="how many times this hour occurs in the period")
    offered: int = Field(description="calls that entered a queue in this hour (call KPI `offered`)")
    calls_per_hour: float = Field(description="offered ÷ hours_in_period: the arrival rate")
    aht_seconds: float | None = Field(description="call KPI `aht_seconds` of this hour")
    service_level: float | None = Field(description="call KPI `service_level` of this hour")
    agents_logged_in: float = Field(description="mean agents logged in (queue members) during this hour")
    agents_needed: int = Field(description="Erlang C: fewest agents reaching the service level target")
    predicted_service_level: float = Field(description="Erlang C service level with agents_needed")


class OverdueRow(BaseModel):
    id: int
    number: str
    category: Category
    city_code: str | None
    county_code: str | None
    lead_unit_id: str | None
    lead_unit: str | None
    state: str
    overdue_since: datetime = Field(description="when it turned red (sign-off or resolution deadline)")
    created_at: datetime


class HotSpotCell(BaseModel):
    """One pair in one day (or hour); the pairs come busiest first, each in time order."""

    category: Category
    county_code: str
    county: str | None
    bucket: str = Field(description="local day (2026-11-28), or hour (2026-11-28T09:00) for a period of 2 days or less")
    tickets: int = Field(description="ticket KPI `total`: tickets created")


async def calls(desk: Desk, who: Principal, where: Drill, when: Period,
                by: CallBucket | None) -> list[KeyedCallKpis]:
    sup = desk.settings.desk.supervision
    async with desk.sessions() as session:
        return await call_kpis(session, since=when.since, until=when.until,
                               by=CallDimension(by.value) if by else None,
                               settings=sup.call_kpis(),
                               scope=where.calls(who, sup.queue_cities, desk.board.cities),
                               utc_offset_hours=desk.utc_offset_hours())


async def staffing(desk: Desk, who: Principal, where: Drill, when: Period) -> list[StaffingHour]:
    sup = desk.settings.desk.supervision
    offset = desk.utc_offset_hours()
    by_hour = {row.key: row for row in await calls(desk, who, where, when, CallBucket.HOUR_OF_DAY)}
    now = utcnow()
    logged = await PresenceStore(desk.sessions).logged_in_seconds(
        since=when.since, until=when.until, now=now, queues=where.queues(sup.queue_cities), utc_offset_hours=offset)
    seconds_by_hour: dict[str, float] = {}
    for bucket, seconds in logged.items():
        hour = bucket[-5:]
        seconds_by_hour[hour] = seconds_by_hour.get(hour, 0.0) + seconds
    occurrences: dict[str, int] = {}
    moment = when.since
    while moment < when.until:
        hour = (moment + timedelta(hours=offset)).strftime("%H:00")
        occurrences[hour] = occurrences.get(hour, 0) + 1
        moment += timedelta(hours=1)
    rows = []
    for hour in sorted(occurrences):
        count = occurrences[hour]
        kpis = by_hour.get(hour)
        offered = kpis.offered if kpis else 0
        rate = offered / count
        aht = kpis.aht_seconds if kpis else None
        advice = required_agents(rate, aht or DEFAULT_AHT_SECONDS, answer_seconds=sup.service_level_seconds,
                                 target=sup.service_level_target)
        rows.append(StaffingHour(
            hour=hour, hours_in_period=count, offered=offered, calls_per_hour=round(rate, 3), aht_seconds=aht,
            service_level=kpis.service_level if kpis else None,
            agents_logged_in=round(seconds_by_hour.get(hour, 0.0) / (3600 * count), 2),
            agents_needed=advice.agents, predicted_service_level=round(advice.service_level, 4)))
    return rows


async def tickets(desk: Desk, who: Principal, where: Drill, when: Period,
                  by: TicketBreakdown | None) -> list[TicketRow]:
    flt = where.ticket_filter(who, when)
    async with desk.sessions() as session:
        rows = await ticket_kpis(session, now=utcnow(), by=Dimension(by.value) if by else None, where=flt,
                                 utc_offset_hours=desk.utc_offset_hours())
        labels = await _labels(desk, by, [r.key for r in rows if r.key is not None])
    return [TicketRow(**row.model_dump(), label=labels.get(row.key or "")) for row in rows]


async def _labels(desk: Desk, by: TicketBreakdown | None, keys: list[str]) -> dict[str, str]:
    if by in (TicketBreakdown.CITY, TicketBreakdown.COUNTY):
        regions = desk.tickets.routing.regions
        return {key: regions[key].name for key in keys if key in regions}
    if by is TicketBreakdown.UNIT:
        async with desk.sessions() as session:
            found = await session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(keys)))
            return {unit_id: name for unit_id, name in found.all()}
    if by is TicketBreakdown.CATEGORY:
        return {key: Category(key).label for key in keys}
    return {}


OVERDUE_ORDER = Keyset((Ticket.red_after, Ticket.id), (datetime, int))  # most overdue first


def overdue_query(who: Principal, where: Drill, when: Period) -> AnySelect:
    """The tickets the `red` KPI counts: created in the period, open, past a deadline now (unordered:
    `OVERDUE_ORDER` orders and pages it)."""
    return (select(Ticket.id, Ticket.number, Ticket.category, Ticket.city_code, Ticket.county_code,
                   Ticket.lead_unit_id, Unit.name.label("lead_unit"), Ticket.state, Ticket.red_after,
                   Ticket.created_at)
            .outerjoin(Unit, Unit.id == Ticket.lead_unit_id)
            .where(ticket_scope(who), where.tickets(), Ticket.created_at >= when.since,
                   Ticket.created_at < when.until, Ticket.state.in_(OPEN_STATES), Ticket.red_after < utcnow()))


def overdue_row(row: Any) -> OverdueRow:
    values = row._mapping
    return OverdueRow(**{**values, "state": values["state"].label, "overdue_since": values["red_after"]})


async def overdue(desk: Desk, who: Principal, where: Drill, when: Period) -> list[OverdueRow]:
    """Every overdue case, most overdue first (the exports)."""
    async with desk.sessions() as session:
        found = (await session.execute(OVERDUE_ORDER.ordered(overdue_query(who, where, when)))).all()
    return [overdue_row(row) for row in found]


async def hotspots(desk: Desk, who: Principal, where: Drill, when: Period, top: int) -> list[HotSpotCell]:
    """The `top` category × county pairs with the most tickets in the period, busiest first, each
    over time: tickets per local day (per hour for a period of two days or less)."""
    bucket = Dimension.HOUR if when.days <= 2 else Dimension.DAY
    regions = desk.tickets.routing.regions
    flt = where.ticket_filter(who, when)
    offset = desk.utc_offset_hours()
    now = utcnow()
    cells: list[HotSpotCell] = []
    async with desk.sessions() as session:
        pairs = await ticket_kpis(session, now=now, by=Dimension.COUNTY, then_by=Dimension.CATEGORY, where=flt,
                                  utc_offset_hours=offset)
        busiest = sorted((-p.total, p.key, Category(p.subkey)) for p in pairs if p.key and p.subkey)[:top]
        for _, county, category in busiest:
            series = await ticket_kpis(session, now=now, by=bucket, utc_offset_hours=offset,
                                       where=replace(flt, county_code=county, category=category))
            cells += [HotSpotCell(category=category, county_code=county,
                                  county=regions[county].name if county in regions else None,
                                  bucket=row.key or "", tickets=row.total)
                      for row in series if row.total]
    return cells
