"""KPIs over tickets, computed in SQL (one GROUP BY, no rows loaded into Python).

Definitions (DESIGN §3):
- on-time sign-off rate = tickets signed by their sign-off deadline ÷ tickets signed;
- on-time completion rate (按时办结率) = closed tickets answered by their due date ÷ closed tickets
  ("answered" = the unit's 答复 or the agent's direct answer; see `ticketing.sla`);
- satisfaction rate (满意率) = rated satisfied or basically satisfied ÷ rated;
- lights: green = closed on time, yellow = closed late, red = open and overdue for sign-off or
  resolution;
- average handling time = mean of (closed_at − created_at) over closed tickets, in seconds.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.models import Ticket, TicketCoHandler
from ticketing.sqlfunc import local_bucket
from ticketing.vocabulary import Category, Channel


class Dimension(enum.StrEnum):
    CITY = "city"
    COUNTY = "county"
    UNIT = "unit"
    CATEGORY = "category"
    CHANNEL = "channel"
    DAY = "day"
    HOUR = "hour"


@dataclass(frozen=True)
class KpiFilter:
    since: datetime | None = None
    until: datetime | None = None
    city_code: str | None = None
    county_code: str | None = None
    unit_id: str | None = None  # lead or co-handler
    category: Category | None = None
    channel: Channel | None = None
    region_codes: Sequence[str] | None = None  # scope: tickets in any of these cities or counties
    created_by: str | None = None


@dataclass(frozen=True)
class TicketKpi:
    key: str | None
    total: int
    signed: int
    signed_on_time: int
    closed: int
    green: int
    yellow: int
    red: int
    rated: int
    satisfied: int
    avg_handling_seconds: float | None

    @property
    def on_time_sign_off_rate(self) -> float | None:
        return _rate(self.signed_on_time, self.signed)

    @property
    def on_time_completion_rate(self) -> float | None:
        return _rate(self.green, self.closed)

    @property
    def satisfaction_rate(self) -> float | None:
        return _rate(self.satisfied, self.rated)

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.key, "total": self.total, "signed": self.signed,
            "signed_on_time": self.signed_on_time, "closed": self.closed, "green": self.green,
            "yellow": self.yellow, "red": self.red, "rated": self.rated, "satisfied": self.satisfied,
            "avg_handling_seconds": self.avg_handling_seconds,
            "on_time_sign_off_rate": self.on_time_sign_off_rate,
            "on_time_completion_rate": self.on_time_completion_rate,
            "satisfaction_rate": self.satisfaction_rate,
        }


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _key_column(by: Dimension | None, utc_offset_hours: int) -> ColumnElement[str] | None:
    match by:
        case None:
            return None
        case Dimension.CITY:
            return Ticket.city_code
        case Dimension.COUNTY:
            return Ticket.county_code
        case Dimension.UNIT:
            return Ticket.lead_unit_id
        case Dimension.CATEGORY:
            return Ticket.category
        case Dimension.CHANNEL:
            return Ticket.channel
        case Dimension.DAY | Dimension.HOUR:
            return local_bucket(Ticket.created_at, by.value, utc_offset_hours)


def _conditions(flt: KpiFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if flt.since is not None:
        where.append(Ticket.created_at >= flt.since)
    if flt.until is not None:
        where.append(Ticket.created_at < flt.until)
    if flt.city_code:
        where.append(Ticket.city_code == flt.city_code)
    if flt.county_code:
        where.append(Ticket.county_code == flt.county_code)
    if flt.category:
        where.append(Ticket.category == flt.category)
    if flt.channel:
        where.append(Ticket.channel == flt.channel)
    if flt.created_by:
        where.append(Ticket.created_by == flt.created_by)
    if flt.region_codes is not None:
        codes = list(flt.region_codes)
        where.append(or_(Ticket.city_code.in_(codes), Ticket.county_code.in_(codes)))
    if flt.unit_id:
        co = select(TicketCoHandler.ticket_id).where(TicketCoHandler.unit_id == flt.unit_id)
        where.append(or_(Ticket.lead_unit_id == flt.unit_id, Ticket.id.in_(co)))
    return where


async def ticket_kpis(
    session: AsyncSession,
    *,
    now: datetime,
    by: Dimension | None = None,
    where: KpiFilter = KpiFilter(),
    utc_offset_hours: int = 8,
) -> list[TicketKpi]:
    """KPIs overall (`by=None`, one row with key None) or per dimension value.

    Reads the per-ticket outcome columns (`ticketing.outcomes`): counts and sums of small
    integers, which a covering index serves for the by-city breakdown.
    """
    key = _key_column(by, utc_offset_hours)
    columns = [
        func.count().label("total"),
        func.count(Ticket.sign_ok).label("signed"),
        func.sum(Ticket.sign_ok).label("signed_on_time"),
        func.count(Ticket.close_ok).label("closed"),
        func.sum(Ticket.close_ok).label("green"),
        func.sum(case((Ticket.red_after < now, 1), else_=0)).label("red"),
        func.count(Ticket.satisfied).label("rated"),
        func.sum(Ticket.satisfied).label("satisfied"),
        func.avg(Ticket.handling_seconds).label("aht"),
    ]
    query = select(*([key.label("key")] if key is not None else []), *columns).where(*_conditions(where))
    if key is not None:
        query = query.group_by(key).order_by(key)
    rows = (await session.execute(query)).all()
    result = []
    for row in rows:
        closed_n, green = int(row.closed or 0), int(row.green or 0)
        result.append(TicketKpi(
            key=str(row.key) if key is not None and row.key is not None else None,
            total=int(row.total), signed=int(row.signed or 0),
            signed_on_time=int(row.signed_on_time or 0), closed=closed_n, green=green,
            yellow=closed_n - green, red=int(row.red or 0), rated=int(row.rated or 0),
            satisfied=int(row.satisfied or 0),
            avg_handling_seconds=float(row.aht) if row.aht is not None else None,
        ))
    return result
