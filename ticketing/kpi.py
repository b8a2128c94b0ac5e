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
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

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


def _key_column(by: Dimension | None, utc_offset_hours: int) -> ColumnElement[Any] | QueryableAttribute[Any] | None:
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

    Reads the per-ticket outcome columns (`ticketing.outcomes`). Grouping by the three outcome
    flags as well as the key leaves only count, one sum and one total per group for the database
    to compute (at most 27 groups per key, folded here); for the by-city breakdown a covering
    index in exactly that order serves the scan without a sort.
    """
    key = _key_column(by, utc_offset_hours)
    key_column = key.label("key") if key is not None else literal(None).label("key")
    flags = (Ticket.sign_ok, Ticket.close_ok, Ticket.satisfied)
    query = (
        select(
            key_column, *flags,
            func.count().label("n"),
            func.sum(case((Ticket.red_after < now, 1), else_=0)).label("red"),
            func.sum(Ticket.handling_seconds).label("handling"),
        )
        .where(*_conditions(where))
        .group_by(*((key,) if key is not None else ()), *flags)
    )
    folded: dict[str | None, dict[str, float]] = {}
    for row in (await session.execute(query)).all():
        name = str(row.key) if row.key is not None else None
        acc = folded.setdefault(name, dict.fromkeys(_COUNTERS, 0.0))
        n = int(row.n)
        acc["total"] += n
        acc["red"] += int(row.red or 0)
        if row.sign_ok is not None:
            acc["signed"] += n
            acc["signed_on_time"] += n * row.sign_ok
        if row.close_ok is not None:
            acc["closed"] += n
            acc["green"] += n * row.close_ok
            acc["handling"] += float(row.handling or 0)
        if row.satisfied is not None:
            acc["rated"] += n
            acc["satisfied"] += n * row.satisfied
    if key is None and not folded:
        folded[None] = dict.fromkeys(_COUNTERS, 0.0)
    return [_kpi(name, acc) for name, acc in sorted(folded.items(), key=lambda kv: (kv[0] is not None, kv[0] or ""))]


_COUNTERS = ("total", "signed", "signed_on_time", "closed", "green", "red", "rated", "satisfied", "handling")


def _kpi(key: str | None, acc: dict[str, float]) -> TicketKpi:
    closed, green = int(acc["closed"]), int(acc["green"])
    return TicketKpi(
        key=key, total=int(acc["total"]), signed=int(acc["signed"]),
        signed_on_time=int(acc["signed_on_time"]), closed=closed, green=green, yellow=closed - green,
        red=int(acc["red"]), rated=int(acc["rated"]), satisfied=int(acc["satisfied"]),
        avg_handling_seconds=acc["handling"] / closed if closed else None,
    )
