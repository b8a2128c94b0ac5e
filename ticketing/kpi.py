"""Ticket KPIs, computed in SQL (one GROUP BY, no rows loaded into Python).

Each KPI is defined once, here: `TicketKpi`'s fields carry their definitions, which the API schema,
the CLI and `docs/metrics.md` ("Ticket KPIs") show as they are. Per-ticket outcomes (on time or
not, satisfied or not, when it turns red) come from `ticketing.outcomes`, which the ticket's own
lights use too.
"""

from __future__ import annotations

import calendar
import enum
import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, timezone
from operator import itemgetter
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    ScalarSelect,
    Select,
    String,
    and_,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from ticketing.models import RedWatermark, Ticket, TicketCoHandler, TicketRollup
from ticketing.rollups import COUNTERS as ROLLUP_COUNTERS
from ticketing.rollups import MONTHLY, grain_for
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


class _Units(enum.Enum):
    """Which tickets a unit filter keeps: the unit leads or co-handles them, leads them, or only co-handles them."""

    ANY = enum.auto()
    LEAD = enum.auto()
    CO_ONLY = enum.auto()


def _params(flt: KpiFilter) -> dict[str, Any]:
    """The filter's set fields (not None, not ''), by name: the values of `_conditions`' parameters."""
    return {name: list(value) if name == "region_codes" else value
            for name, value in vars(flt).items() if value is not None and value != ""}


def _conditions(present: Collection[str], units: _Units = _Units.ANY) -> list[ColumnElement[bool]]:
    """The conditions of a filter whose set fields are `present`, on bound parameters named as the
    fields (`_params` gives their values): one statement serves every filter of the same shape."""
    where: list[ColumnElement[bool]] = []
    if "since" in present:
        where.append(Ticket.created_at >= bindparam("since"))
    if "until" in present:
        where.append(Ticket.created_at < bindparam("until"))
    where += [getattr(Ticket, name) == bindparam(name) for name in _EQUAL if name in present]
    if "region_codes" in present:
        codes = bindparam("region_codes", expanding=True, type_=String())
        where.append(or_(Ticket.city_code.in_(codes), Ticket.county_code.in_(codes)))
    if "unit_id" in present:
        unit = bindparam("unit_id", type_=String())
        co = Ticket.id.in_(select(TicketCoHandler.ticket_id).where(TicketCoHandler.unit_id == unit))
        lead = Ticket.lead_unit_id == unit
        where.append({_Units.ANY: or_(lead, co), _Units.LEAD: lead,
                      _Units.CO_ONLY: and_(co, or_(Ticket.lead_unit_id.is_(None), ~lead))}[units])
    return where


# The filter's fields that keep the tickets whose column of that name equals it.
_EQUAL = ("city_code", "county_code", "category", "channel", "created_by")
# Those the roll-ups keep, in columns of the same name (unit_id: the lead unit).
_ROLLUP_FILTERS = ("city_code", "county_code", "category", "channel", "unit_id")


# Per group (key, subkey): the counters in _COUNTERS' order.
_Acc = dict[tuple[str | None, str | None], list[float]]
# The roll-ups' column for each dimension they keep (DAY: every grain is per day).
_ROLLUP_COLUMNS = {Dimension.CITY: "city_code", Dimension.COUNTY: "county_code", Dimension.UNIT: "unit_id",
                   Dimension.CATEGORY: "category", Dimension.CHANNEL: "channel", Dimension.DAY: "day"}


async def ticket_kpis(
    session: AsyncSession,
    *,
    now: datetime,
    by: Dimension | None = None,
    where: KpiFilter = KpiFilter(),
    utc_offset_hours: int = 8,
    then_by: Dimension | None = None,
    rollups: bool = True,
) -> list[TicketKpi]:
    """KPIs overall (`by=None`, one row with key None) or per dimension value, and with `then_by`
    per pair of values (`key`, `subkey`), e.g. county × day.

    Whole local days come from the daily and monthly roll-ups (`ticketing.rollups`, kept by the
    ticket service in the transaction of each change), so the cost follows the months, days and
    groups asked for, not the tickets. Read from live rows: the tickets that turned red since the
    roll-ups' red watermark (all red ones for an instant before it), through a partial index, in
    the roll-ups' statement (whole days are one statement, one round trip); the parts of the
    period that are not whole days, a unit's co-handled tickets, and what no roll-up keeps (per
    hour, per creator). `rollups=False` reads live rows only: the definition the
    roll-ups are tested and measured against. `utc_offset_hours` must be the zone the ticket
    service writes the roll-ups in (the hotline's calendar).
    """
    if then_by is not None and by is None:
        raise ValueError("then_by needs by")
    folded: _Acc = {}
    plan = _plan(by, then_by, where, utc_offset_hours) if rollups else None
    if plan is None:
        await _fold_live(session, folded, now, by, then_by, where, utc_offset_hours)
    else:
        grain, first_day, end_day, whole, edges = plan
        whole_days = replace(where, since=whole[0], until=whole[1])
        await _fold_rollups(session, folded, grain, first_day, end_day, by, then_by, whole_days, now,
                            utc_offset_hours)
        if where.unit_id:
            await _fold_live(session, folded, now, by, then_by, whole_days, utc_offset_hours, _Units.CO_ONLY)
        for since, until in edges:
            await _fold_live(session, folded, now, by, then_by, replace(where, since=since, until=until),
                             utc_offset_hours)
    if by is None and not folded:
        folded[None, None] = [0] * len(_COUNTERS)
    return _kpis(sorted(folded.items(), key=_order))


def _order(group: tuple[tuple[str | None, str | None], list[float]]) -> tuple[bool, str, bool, str]:
    """Groups by key then subkey, None first."""
    (key, subkey), _ = group
    return key is not None, key or "", subkey is not None, subkey or ""


_Plan = tuple[int, str | None, str | None, tuple[datetime | None, datetime | None],
              list[tuple[datetime, datetime]]]


def _plan(by: Dimension | None, then_by: Dimension | None, flt: KpiFilter, utc_offset_hours: int) -> _Plan | None:
    """The grain to read, the whole local days [first, end) it covers (None: unbounded) as days and
    as instants, and the partial days at either end; None: read live rows only."""
    if flt.created_by or Dimension.HOUR in (by, then_by):
        return None
    wanted = {_ROLLUP_COLUMNS[d] for d in (by, then_by) if d is not None and d is not Dimension.DAY}
    wanted |= {column for column in _ROLLUP_FILTERS if getattr(flt, column)}
    if flt.region_codes is not None:
        wanted |= {"city_code", "county_code"}
    grain = grain_for(wanted)
    if grain is None:
        return None
    zone = timezone(timedelta(hours=utc_offset_hours))
    edges: list[tuple[datetime, datetime]] = []
    start = end = None
    if flt.since is not None:
        start = _midnight(flt.since, zone)
        if start < flt.since:
            start += timedelta(days=1)
            edges.append((flt.since, start if flt.until is None else min(start, flt.until)))
    if flt.until is not None:
        end = _midnight(flt.until, zone)
        if start is not None and end <= start:  # not one whole day: live rows only
            return None
        if end < flt.until:
            edges.append((end, flt.until))
    return grain, _day(start, zone), _day(end, zone), (start, end), edges


def _day(moment: datetime | None, zone: timezone) -> str | None:
    return None if moment is None else moment.astimezone(zone).date().isoformat()


def _midnight(moment: datetime, zone: timezone) -> datetime:
    return moment.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)


def _add(folded: _Acc, key: tuple[str | None, str | None]) -> list[float]:
    acc = folded.get(key)
    if acc is None:
        acc = folded[key] = [0] * len(_COUNTERS)
    return acc


def _names(values: Sequence[Any]) -> tuple[str | None, str | None]:
    """A group's key and subkey, from the leading columns of its row ('' or none: None)."""
    key = values[0] if values else None
    subkey = values[1] if len(values) > 1 else None
    return (None if key is None or key == "" else str(key)), (None if subkey is None or subkey == "" else str(subkey))


async def _fold_rollups(session: AsyncSession, folded: _Acc, grain: int, first_day: str | None,
                        end_day: str | None, by: Dimension | None, then_by: Dimension | None,
                        flt: KpiFilter, now: datetime, utc_offset_hours: int) -> None:
    """The roll-ups' signed sums per group and, in the same statement (one snapshot, so the red
    watermark, the roll-ups' red and the live red agree without locking the watermark), the
    groups' tickets of `flt` (whole days) that turned red since the watermark."""
    spans = _spans(grain, first_day, end_day, Dimension.DAY in (by, then_by))
    params = _params(flt)
    query = _rollup_statement(by, then_by, utc_offset_hours, tuple((g, lo is not None, hi is not None, way)
                                                                   for g, lo, hi, way in spans), frozenset(params))
    params |= {f"{bound}{i}": day for i, (_, lo, hi, _) in enumerate(spans)
               for bound, day in (("lo", lo), ("hi", hi)) if day is not None}
    n = len([d for d in (by, then_by) if d is not None])
    total, handling, red_at = n, n + _HANDLING, n + _RED
    for row in (await session.execute(query, {**params, "now": now})).all():
        if not (row[total] or row[red_at]):  # no rows (an aggregate without GROUP BY), or moved away
            continue
        # The counters in _COUNTERS' order (the roll-ups' own, handling in seconds); sums of integers.
        counts = [*row[n:handling], int(row[handling]) / 1_000_000, int(row[red_at])]
        key = (row[0] or None, None) if n == 1 else _names(row[:n])  # one key: a str or None ('' when none)
        acc = folded.get(key)
        if acc is None:
            folded[key] = counts
        else:
            folded[key] = [a + b for a, b in zip(acc, counts, strict=True)]


@functools.lru_cache(maxsize=256)
def _rollup_statement(by: Dimension | None, then_by: Dimension | None, utc_offset_hours: int,
                      spans: tuple[tuple[int, bool, bool, int], ...], present: frozenset[str]) -> CompoundSelect:
    """`_fold_rollups`' statement for one shape of question: the grouping, the spans (grain, whether
    bounded below and above: parameters lo0, hi0, …; the sign), the filter's set fields and the
    instant `now`, all bound parameters. Built once per shape: building it took a third of the
    Python of a by-unit call."""
    table = TicketRollup
    keys = [getattr(table, _ROLLUP_COLUMNS[d]).label(name) for d, name in ((by, "key"), (then_by, "subkey"))
            if d is not None]
    added: list[ColumnElement[bool]] = []
    taken_off: list[ColumnElement[bool]] = []
    for i, (g, lo, hi, way) in enumerate(spans):
        (added if way > 0 else taken_off).append(and_(
            table.grain == g, *([table.day >= bindparam(f"lo{i}")] if lo else []),
            *([table.day < bindparam(f"hi{i}")] if hi else [])))
    where: list[ColumnElement[bool]] = [or_(*added, *taken_off)]
    where += [getattr(table, name) == bindparam(name, type_=String()) for name in _ROLLUP_FILTERS if name in present]
    if "region_codes" in present:
        codes = bindparam("region_codes", expanding=True, type_=String())
        where.append(or_(table.city_code.in_(codes), table.county_code.in_(codes)))
    # One plain scan (a UNION ALL or a join to the spans drew parallel plans, slow on a busy machine),
    # its sign computed once per row: OFFSET 0 keeps PostgreSQL from inlining it into every sum.
    sign = case((or_(*taken_off), -1), else_=1) if taken_off else literal(1)
    rows = select(*keys, *(getattr(table, c) for c in ROLLUP_COUNTERS), sign.label("sign")).where(*where)
    signed = rows.offset(0).subquery() if taken_off else rows.subquery()
    grouped = [signed.c[name] for name in ("key", "subkey")[:len(keys)]]
    sums: list[ColumnElement[Any]] = [func.sum(signed.c[c] * signed.c.sign) for c in ROLLUP_COUNTERS]
    # The roll-ups' red counts only with a watermark at or before now (else red now is all live).
    sums[_RED] = sums[_RED] * case((_watermark().is_not(None), 1), else_=0)
    query = select(*grouped, *(column.label(c) for column, c in zip(sums, ROLLUP_COUNTERS, strict=True)))
    return union_all(query.group_by(*grouped) if grouped else query,
                     _red_since_watermark(by, then_by, present, utc_offset_hours))


_Span = tuple[int, str | None, str | None, int]  # grain, first day or month, end (exclusive), sign: add or take off


def _spans(grain: int, first_day: str | None, end_day: str | None, by_day: bool) -> list[_Span]:
    """The roll-up rows whose counts, added or taken off, make the days [first_day, end_day): whole
    months from the monthly rows (unless grouped by day), and at either end from the daily rows
    either the days outside those months, added, or the days of the end's month outside the
    period, taken off its monthly row, whichever are fewer (a month's row is the sum of its days'
    rows, kept in the same transaction). Just the days when they are fewer rows still."""
    if by_day:
        return [(grain, first_day, end_day, 1)]
    edges: list[_Span] = []
    edge_days = 0
    first_month: str | None = None  # whole months [first_month, end_month), None: unbounded
    end_month: str | None = None
    if first_day is not None:
        month, before, after = _month_of(first_day)
        first_month = month if before <= after else _next_month(month)
        if before:
            edges.append((grain, f"{month}-01", first_day, -1) if before <= after
                         else (grain, first_day, f"{first_month}-01", 1))
            edge_days += min(before, after)
    if end_day is not None:
        month, before, after = _month_of(end_day)
        end_month = _next_month(month) if after < before else month
        if before:
            edges.append((grain, end_day, f"{end_month}-01", -1) if after < before
                         else (grain, f"{month}-01", end_day, 1))
            edge_days += min(before, after)
    if first_day and end_day and first_month and end_month:
        months = (int(end_month[:4]) - int(first_month[:4])) * 12 + int(end_month[5:]) - int(first_month[5:])
        if months < 0 or (date.fromisoformat(end_day) - date.fromisoformat(first_day)).days <= months + edge_days:
            return [(grain, first_day, end_day, 1)]
    return [(grain + MONTHLY, first_month, end_month, 1), *edges]


def _month_of(day: str) -> tuple[str, int, int]:
    """The day's month, and how many of its days come before the day and from the day on."""
    first = date.fromisoformat(day)
    before = first.day - 1
    return day[:7], before, calendar.monthrange(first.year, first.month)[1] - before


def _next_month(month: str) -> str:
    """The month after '2026-11' (or after a day's month, '2026-11-28')."""
    year, number = int(month[:4]), int(month[5:7])
    return f"{year + number // 12:04d}-{number % 12 + 1:02d}"


def _watermark() -> ScalarSelect[datetime | None]:
    """The red watermark if it is at or before the parameter `now` (else NULL: the roll-ups count no
    red of `now`)."""
    return select(RedWatermark.at).where(RedWatermark.id == 1, RedWatermark.at <= bindparam("now")).scalar_subquery()


# Before every instant: with no usable watermark, red now is counted from all the live rows.
_EVER = datetime(1, 1, 1, tzinfo=UTC)


def _red_since_watermark(by: Dimension | None, then_by: Dimension | None, present: frozenset[str],
                         utc_offset_hours: int) -> Select[Any]:
    """Red at the parameter `now`, from the open tickets with a deadline (the partial index
    `ix_tickets_open_red`): those that turned red since the watermark (the roll-ups count the
    others), or all; in the roll-ups' columns (`_rollup_statement`), the other counters 0."""
    keys = _keys(by, then_by, utc_offset_hours)
    counters = [func.count() if c == "red" else literal_column("0") for c in ROLLUP_COUNTERS]
    since = func.coalesce(_watermark(), literal(_EVER, Ticket.red_after.type))
    return (select(*(k.label(name) for k, name in zip(keys, ("key", "subkey"), strict=False)),
                   *(c.label(name) for c, name in zip(counters, ROLLUP_COUNTERS, strict=True)))
            .where(Ticket.red_after.is_not(None), Ticket.red_after < bindparam("now"), Ticket.red_after >= since,
                   *_conditions(present, _Units.LEAD))
            .group_by(*keys))


def _keys(by: Dimension | None, then_by: Dimension | None, utc_offset_hours: int) -> list[Any]:
    return [k for k in (_key_column(by, utc_offset_hours), _key_column(then_by, utc_offset_hours)) if k is not None]


async def _fold_live(session: AsyncSession, folded: _Acc, now: datetime, by: Dimension | None,
                     then_by: Dimension | None, flt: KpiFilter, utc_offset_hours: int,
                     units: _Units = _Units.ANY) -> None:
    """The tickets' own outcome columns. Grouping by the three outcome flags as well as the key
    leaves only count, one sum and one total per group for the database to compute (at most 27
    groups per key, folded here); for the by-city breakdown a covering index in exactly that
    order serves the scan without a sort."""
    keys = _keys(by, then_by, utc_offset_hours)
    params = _params(flt)
    key_columns = [k.label(name) for k, name in zip(keys, ("key", "subkey"), strict=False)]
    flags = (Ticket.sign_ok, Ticket.close_ok, Ticket.satisfied)
    query = (
        select(
            *key_columns, *flags,
            func.count().label("n"),
            func.sum(case((Ticket.red_after < now, 1), else_=0)).label("red"),
            func.sum(Ticket.handling_seconds).label("handling"),
            *(func.sum(case((column > 0, 1), else_=0)).label(name) for name, column in _ONCE.items()),
        )
        .where(*_conditions(params, units))
        .group_by(*keys, *flags)
    )
    for row in (await session.execute(query, params)).all():
        values = row._mapping
        acc = _add(folded, _names(row[:len(keys)]))
        n = int(row.n)
        acc[_I["total"]] += n
        acc[_RED] += int(row.red or 0)
        for counter in _ONCE:
            acc[_I[counter]] += int(values[counter] or 0)
        if row.sign_ok is not None:
            acc[_I["signed"]] += n
            acc[_I["signed_on_time"]] += n * row.sign_ok
        if row.close_ok is not None:
            acc[_I["closed"]] += n
            acc[_I["green"]] += n * row.close_ok
            acc[_HANDLING] += float(row.handling or 0)
        if row.satisfied is not None:
            acc[_I["rated"]] += n
            acc[_I["satisfied"]] += n * row.satisfied


# Counted once per ticket however often it happened (the ticket keeps how often).
_ONCE = {"redone": Ticket.redo_count, "extended": Ticket.extension_count, "returned": Ticket.return_count}
# The roll-ups' counters in their order (a row folds by position), handling in seconds, not microseconds.
_COUNTERS = tuple("handling" if c == "handling_us" else c for c in ROLLUP_COUNTERS)
_I = {counter: i for i, counter in enumerate(_COUNTERS)}
_HANDLING, _RED = _I["handling"], _I["red"]
_COUNTS = itemgetter(*(_I[c] for c in ("total", "signed", "signed_on_time", "closed", "green", "rated", "satisfied",
                                        "redone", "extended", "returned", "red")))
_FIELDS = frozenset(TicketKpi.model_fields)


def _kpis(groups: Sequence[tuple[tuple[str | None, str | None], list[float]]]) -> list[TicketKpi]:
    """The answers, one per group, each a `TicketKpi` of values already of its fields' types (str or
    None, int, float or None; all fields, in order), made without validating each field: by unit
    that is 760 models a call, and validation took longer than the rest of the Python. Equal to the
    validated model, field set and JSON alike (`tests/ticketing/test_kpi.py` checks it against
    `TicketKpi(**fields)`). One loop, rates inline: a call per field or per answer was a third of
    the Python of a by-unit call. The counters are ints as folded (sums of integer columns, counts)."""
    answers: list[TicketKpi] = []
    new, put = TicketKpi.__new__, object.__setattr__
    for (key, subkey), acc in groups:
        total, signed, signed_on_time, closed, green, rated, satisfied, redone, extended, returned, red = _COUNTS(acc)
        kpi = new(TicketKpi)
        put(kpi, "__dict__", {
            "key": key, "subkey": subkey, "total": total, "signed": signed, "signed_on_time": signed_on_time,
            "closed": closed, "green": green, "yellow": closed - green, "red": red,
            "open_in_time": total - closed - red, "rated": rated, "satisfied": satisfied, "redone": redone,
            "extended": extended, "returned": returned,
            "avg_handling_seconds": acc[_HANDLING] / closed if closed else None,
            "on_time_sign_off_rate": signed_on_time / signed if signed else None,
            "on_time_completion_rate": green / closed if closed else None,
            "satisfaction_rate": satisfied / rated if rated else None,
            "redo_rate": redone / rated if rated else None,
        })
        put(kpi, "__pydantic_fields_set__", _FIELDS)
        put(kpi, "__pydantic_extra__", None)
        put(kpi, "__pydantic_private__", None)
        answers.append(kpi)
    return answers
