"""Where a report looks: the period (local days) and the place (province, city, county or unit),
checked against the caller's scope before any query runs.

A city supervisor starts at its city and may go down, never up or sideways: a region or unit
outside its city answers 404, as rows outside a scope do everywhere in the API.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from fastapi import HTTPException
from sqlalchemy import ColumnElement, and_, or_, select, true

from agent_desk.desk import Desk
from agent_desk.security.principal import Principal
from agent_desk.security.scope import call_scope, pbxs_of
from ticketing.instants import EARLIEST, LATEST
from ticketing.kpi import KpiFilter
from ticketing.models import CallRecord, RegionLevel, Ticket, TicketCoHandler, Unit

MAX_DAYS = 366


class Level(enum.StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    UNIT = "unit"


@dataclass(frozen=True)
class Place:
    level: Level
    code: str  # region code, or the unit id
    name: str


@dataclass(frozen=True)
class Period:
    start: date  # local days, both included
    end: date
    since: datetime  # [since, until) in UTC
    until: datetime

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def period(desk: Desk, start: date | None, end: date | None) -> Period:
    """Local days [start, end]; by default the current month up to today."""
    today = datetime.now(desk.zone).date()
    start = start or today.replace(day=1)
    end = end or max(today, start)
    if not EARLIEST.date() <= start <= end < LATEST.date() - timedelta(days=1):
        raise HTTPException(400, "end must not be before start" if end < start else
                            f"days must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    if (end - start).days + 1 > MAX_DAYS:
        raise HTTPException(400, f"a report covers at most {MAX_DAYS} days")
    since = datetime.combine(start, time(), desk.zone)
    until = datetime.combine(end + timedelta(days=1), time(), desk.zone)
    return Period(start, end, since, until)


@dataclass(frozen=True)
class Drill:
    """The place a report looks at, as a path from the caller's top (`trail[0]`) down to it."""

    trail: tuple[Place, ...]
    city_code: str | None  # the city the place is in (None: the province)
    county_code: str | None
    unit_id: str | None

    @property
    def place(self) -> Place:
        return self.trail[-1]

    def ticket_filter(self, who: Principal, when: Period) -> KpiFilter:
        return KpiFilter(since=when.since, until=when.until,
                         region_codes=[who.city_scope] if who.city_scope else None,
                         city_code=self.city_code, county_code=self.county_code, unit_id=self.unit_id)

    def tickets(self) -> ColumnElement[bool]:
        """The place's tickets (the caller's scope is applied beside it)."""
        where: list[ColumnElement[bool]] = []
        if self.city_code:
            where.append(Ticket.city_code == self.city_code)
        if self.county_code:
            where.append(Ticket.county_code == self.county_code)
        if self.unit_id:
            co = select(TicketCoHandler.ticket_id).where(TicketCoHandler.unit_id == self.unit_id)
            where.append(or_(Ticket.lead_unit_id == self.unit_id, Ticket.id.in_(co)))
        return and_(true(), *where)

    def queues(self, queue_cities: dict[str, str]) -> list[str] | None:
        """The queues that serve the place: a city's (queues serve whole cities); None: every queue."""
        if self.city_code is None:
            return None
        return sorted(q for q, city in queue_cities.items() if city == self.city_code)

    def calls(self, who: Principal, queue_cities: dict[str, str], pbx_cities: dict[str, str]) -> ColumnElement[bool]:
        """The caller's calls at this place: a city's are its PBXs' calls, its queues' calls and the
        calls attached to its tickets; below a city, only calls attached to the place's tickets count."""
        scope = call_scope(who, queue_cities, pbx_cities)
        if self.city_code is None:
            return scope
        attached = CallRecord.ticket_id.in_(select(Ticket.id).where(self.tickets()))
        if self.county_code is None and self.unit_id is None:
            queues = self.queues(queue_cities) or []
            pbxs = pbxs_of(self.city_code, pbx_cities)
            return and_(scope, or_(attached, *([CallRecord.queue.in_(queues)] if queues else []),
                                   *([CallRecord.server.in_(pbxs)] if pbxs else [])))
        return and_(scope, attached)


async def drill(desk: Desk, who: Principal, region: str | None, unit: str | None) -> Drill:
    regions = desk.tickets.routing.regions
    province = regions[desk.tickets.routing.province_code]
    top = regions[who.city_scope] if who.city_scope else province
    trail = [Place(Level.CITY if who.city_scope else Level.PROVINCE, top.code, top.name)]
    city = county = None
    code = region
    unit_place = None
    if unit is not None:
        async with desk.sessions() as session:
            found = await session.get(Unit, unit)
        if found is None:
            raise HTTPException(404, f"no unit {unit} in your scope")
        code = code or found.region_code
        if found.region_code != code:
            raise HTTPException(400, f"unit {unit} is not in region {code}")
        unit_place = Place(Level.UNIT, unit, found.name)
    if code is not None and code != top.code:
        record = regions.get(code)
        inside = record is not None and (not who.city_scope or record.city_code == who.city_scope)
        if record is None or not inside or record.level is RegionLevel.PROVINCE:
            raise HTTPException(404, f"no region {code} in your scope")
        if record.level is RegionLevel.COUNTY and record.city_code and record.city_code != top.code:
            city_record = regions[record.city_code]
            trail.append(Place(Level.CITY, city_record.code, city_record.name))
        trail.append(Place(Level.COUNTY if record.level is RegionLevel.COUNTY else Level.CITY,
                           record.code, record.name))
        city = record.city_code
        county = record.code if record.level is RegionLevel.COUNTY else None
    elif who.city_scope:
        city = who.city_scope
    if unit_place is not None:
        trail.append(unit_place)
    return Drill(tuple(trail), city, county, unit)
