"""Ticket KPIs, computed in SQL (one GROUP BY, no rows loaded into Python).

Each KPI is defined once, here: `TicketKpi`'s fields carry their definitions, which the API schema,
the CLI and `docs/metrics.md` ("Ticket KPIs") show as they are. Per-ticket outcomes (on time or
not, satisfied or not, when it turns red) come from `ticketing.outcomes`, which the ticket's own
lights use too.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
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


class TicketKpi(BaseModel):
    """Ticket KPIs over the tickets created in a period, overall or for one dimension value."""

    model_config = ConfigDict(frozen=True)

    key: str | None = Field(description="the dimension value (city code, unit id, day …); null: overall")
    subkey: str | None = Field(None, description="the second dimension's value (`then_by`); null: none")
    total: int = Field(title="tickets", description="tickets created in the period")
    signed: int = Field(title="signed", description="tickets signed (签收) by their lead unit")
    signed_on_time: int = Field(title="signed on time", description="signed by the sign-off deadline")
    closed: int = Field(title="closed", description="tickets closed (办结) or archived")
    green: int = Field(title="green", description="closed on time: answered (答复, or the agent's direct "
                       "answer) by the due date")
    yellow: int = Field(title="yellow", description="closed late: answered after the due date")
    red: int = Field(title="red", description="open and overdue now, for sign-off or for resolution")
    open_in_time: int = Field(title="open in time", description="open and within its deadlines (no light yet)")
    rated: int = Field(title="rated", description="tickets with a 回访 rating")
    satisfied: int = Field(title="satisfied", description="rated satisfied (满意) or basically satisfied (基本满意)")
    redone: int = Field(title="redone",
                        description="sent back for redo (重办) after an unsatisfied 回访, at least once")
    extended: int = Field(title="extended", description="given an approved extension (延期), at least once")
    returned: int = Field(title="returned", description="returned (退单) by a lead unit, at least once")
    avg_handling_seconds: float | None = Field(
        title="avg handling", description="mean of closed − created over closed tickets, in seconds")
    on_time_sign_off_rate: float | None = Field(
        title="on-time sign-off", description="签收及时率: signed_on_time ÷ signed")
    on_time_completion_rate: float | None = Field(
        title="on-time completion", description="按时办结率: green ÷ closed")
    satisfaction_rate: float | None = Field(title="satisfaction", description="满意率: satisfied ÷ rated")
    redo_rate: float | None = Field(title="redo rate", description="重办率: redone ÷ rated")


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
    then_by: Dimension | None = None,
) -> list[TicketKpi]:
    """KPIs overall (`by=None`, one row with key None) or per dimension value, and with `then_by`
    per pair of values (`key`, `subkey`), e.g. county × day.

    Reads the per-ticket outcome columns (`ticketing.outcomes`). Grouping by the three outcome
    flags as well as the key leaves only count, one sum and one total per group for the database
    to compute (at most 27 groups per key, folded here); for the by-city breakdown a covering
    index in exactly that order serves the scan without a sort.
    """
    if then_by is not None and by is None:
        raise ValueError("then_by needs by")
    keys = [k for k in (_key_column(by, utc_offset_hours), _key_column(then_by, utc_offset_hours)) if k is not None]
    key_columns = ([k.label(name) for k, name in zip(keys, ("key", "subkey"), strict=False)]
                   or [literal(None).label("key")])
    flags = (Ticket.sign_ok, Ticket.close_ok, Ticket.satisfied)
    query = (
        select(
            *key_columns, *flags,
            func.count().label("n"),
            func.sum(case((Ticket.red_after < now, 1), else_=0)).label("red"),
            func.sum(Ticket.handling_seconds).label("handling"),
            *(func.sum(case((column > 0, 1), else_=0)).label(name) for name, column in _ONCE.items()),
        )
        .where(*_conditions(where))
        .group_by(*keys, *flags)
    )
    folded: dict[tuple[str | None, str | None], dict[str, float]] = {}
    for row in (await session.execute(query)).all():
        values = row._mapping
        name = tuple(None if values.get(k) is None else str(values[k]) for k in ("key", "subkey"))
        acc = folded.setdefault((name[0], name[1]), dict.fromkeys(_COUNTERS, 0.0))
        n = int(row.n)
        acc["total"] += n
        acc["red"] += int(row.red or 0)
        for counter in _ONCE:
            acc[counter] += int(values[counter] or 0)
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
    if not keys and not folded:
        folded[None, None] = dict.fromkeys(_COUNTERS, 0.0)
    return [_kpi(key, subkey, acc) for (key, subkey), acc in sorted(
        folded.items(), key=lambda kv: tuple((part is not None, part or "") for part in kv[0]))]


# Counted once per ticket however often it happened (the ticket keeps how often).
_ONCE = {"redone": Ticket.redo_count, "extended": Ticket.extension_count, "returned": Ticket.return_count}
_COUNTERS = ("total", "signed", "signed_on_time", "closed", "green", "red", "rated", "satisfied", "handling", *_ONCE)


def _kpi(key: str | None, subkey: str | None, acc: dict[str, float]) -> TicketKpi:
    signed, signed_on_time = int(acc["signed"]), int(acc["signed_on_time"])
    closed, green = int(acc["closed"]), int(acc["green"])
    rated, satisfied, redone = int(acc["rated"]), int(acc["satisfied"]), int(acc["redone"])
    total, red = int(acc["total"]), int(acc["red"])
    return TicketKpi(
        key=key, subkey=subkey, total=total, signed=signed, signed_on_time=signed_on_time, closed=closed,
        green=green, yellow=closed - green, red=red, open_in_time=total - closed - red, rated=rated,
        satisfied=satisfied, redone=redone, extended=int(acc["extended"]), returned=int(acc["returned"]),
        avg_handling_seconds=acc["handling"] / closed if closed else None,
        on_time_sign_off_rate=_rate(signed_on_time, signed), on_time_completion_rate=_rate(green, closed),
        satisfaction_rate=_rate(satisfied, rated), redo_rate=_rate(redone, rated),
    )
