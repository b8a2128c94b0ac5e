"""Daily ticket roll-ups, kept in the transaction of every change that moves a count.

A ticket's *share* is what it adds to the KPI counters (`ticketing.kpi`) of its creation day and its
dimension values. The ticket service computes the share before and after each change and adds the
difference to the roll-up rows of every grain in the same transaction, so the roll-ups are exact
whenever a transaction is visible. "Red now" changes as the clock passes a deadline, with no write:
`red` counts the tickets that turned red before a watermark, which the SLA sweeper moves
(`advance_red`); a KPI adds those that turned red since, from live rows (`ticketing.kpi`).

Grains: the same counts kept at several sets of dimensions, so a KPI grouped by city over a year
reads 13 rows a day, not one per county × unit × category × channel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Insert,
    Table,
    and_,
    case,
    delete,
    func,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from ticketing.models import RedWatermark, Ticket, TicketRollup
from ticketing.sqlfunc import local_bucket

# dimension → the ticket's attribute; the roll-up column has the same name but for the unit.
DIMENSIONS: dict[str, str] = {
    "city_code": "city_code", "county_code": "county_code", "unit_id": "lead_unit_id",
    "category": "category", "channel": "channel",
}
# Smallest first: a query reads the first grain holding every dimension it groups or filters by.
GRAINS: tuple[frozenset[str], ...] = (
    frozenset({"city_code"}),
    frozenset({"city_code", "county_code"}),
    frozenset({"city_code", "county_code", "category"}),
    frozenset({"city_code", "county_code", "channel"}),
    frozenset({"city_code", "county_code", "unit_id"}),
    frozenset(DIMENSIONS),
)
# Each grain is kept per local day ('2026-11-28') and per local month ('2026-11', grain + MONTHLY),
# so a year by unit reads twelve months and the days at either end, not 365 days.
MONTHLY = len(GRAINS)
COUNTERS = ("total", "signed", "signed_on_time", "closed", "green", "rated", "satisfied",
            "redone", "extended", "returned", "handling_us", "red")
_KEY = ("grain", "day", *DIMENSIONS)
_KEPT = tuple(tuple(d in grain for d in DIMENSIONS) for grain in GRAINS)
_TABLE = cast(Table, TicketRollup.__table__)
_EMPTY: ColumnElement[str] = literal_column("''")  # inline, so a grouped expression's text equals the selected one


@dataclass(frozen=True)
class Share:
    """One ticket's part of the roll-ups: where it counts, and what."""

    day: str
    dims: tuple[str, ...]  # in DIMENSIONS' order, '' for none
    counts: tuple[int, ...]  # in COUNTERS' order


def grain_for(dimensions: Iterable[str]) -> int | None:
    """The smallest grain holding all these dimensions; None: no grain has them."""
    wanted = set(dimensions)
    return next((i for i, grain in enumerate(GRAINS) if wanted <= grain), None)


def share(get: Callable[[str], Any], zone: ZoneInfo, watermark: datetime | None) -> Share:
    """A ticket's share, from its attributes (a row's mapping or an ORM object's getattr); red if it
    turned red before the `watermark` (read with `watermark()` in the same transaction)."""
    sign_ok, close_ok, satisfied, handling = (get(k) for k in ("sign_ok", "close_ok", "satisfied", "handling_seconds"))
    created: datetime = get("created_at")
    red_after: datetime | None = get("red_after")
    counts = (
        1, int(sign_ok is not None), int(sign_ok == 1), int(close_ok is not None), int(close_ok == 1),
        int(satisfied is not None), int(satisfied == 1), int(get("redo_count") > 0),
        int(get("extension_count") > 0), int(get("return_count") > 0),
        round(handling * 1_000_000) if close_ok is not None and handling is not None else 0,
        int(red_after is not None and watermark is not None and red_after < watermark),
    )
    dims = tuple("" if get(attr) is None else str(get(attr)) for attr in DIMENSIONS.values())
    return Share(created.astimezone(zone).date().isoformat(), dims, counts)


def changes(before: Share | None, after: Share | None) -> list[dict[str, Any]]:
    """The roll-up rows to add, one per grain, period and key whose counts move, in key order (lock order)."""
    moved: dict[tuple[Any, ...], list[int]] = {}
    for part, sign in ((before, -1), (after, 1)):
        if part is None:
            continue
        counts = [sign * n for n in part.counts]
        month = part.day[:7]
        for g, kept in enumerate(_KEPT):
            dims = tuple(v if keep else "" for v, keep in zip(part.dims, kept, strict=True))
            for key in ((g, part.day, *dims), (g + MONTHLY, month, *dims)):
                acc = moved.get(key)
                moved[key] = counts if acc is None else [a + b for a, b in zip(acc, counts, strict=True)]
    return [{**dict(zip(_KEY, key, strict=True)), **dict(zip(COUNTERS, acc, strict=True))}
            for key, acc in sorted(moved.items()) if any(acc)]


def _upsert(insert: Callable[[Table], Any]) -> Insert:
    stmt = insert(_TABLE)
    return cast(Insert, stmt.on_conflict_do_update(
        index_elements=list(_KEY), set_={c: _TABLE.c[c] + stmt.excluded[c] for c in COUNTERS}))


_UPSERT = {"postgresql": _upsert(pg_insert), "sqlite": _upsert(sqlite_insert)}


async def record(db: AsyncConnection | AsyncSession, before: Share | None, after: Share | None) -> None:
    """Add a change's difference to the roll-ups, in the caller's transaction."""
    rows = changes(before, after)
    if rows:
        await db.execute(_UPSERT[_dialect(db)], rows)


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


async def watermark(db: AsyncConnection | AsyncSession, *, shared: bool = True,
                    create: bool = True) -> datetime | None:
    """The red watermark, locked to the end of the caller's transaction (shared: writers; not:
    `advance_red` and a rebuild, which move it, so each waits for the other). A KPI reads it in the
    same statement as the roll-ups instead (one snapshot, no lock: `ticketing.kpi`). `create`: store
    the row first if there is none (a writer's transaction)."""
    query = select(RedWatermark.at).where(RedWatermark.id == 1).with_for_update(read=shared)
    found = (await db.execute(query)).first()
    if found is None and create:  # a row to lock from the first transaction on
        insert = pg_insert if _dialect(db) == "postgresql" else sqlite_insert
        await db.execute(insert(RedWatermark).values(id=1, at=None).on_conflict_do_nothing())
        found = (await db.execute(query)).first()
    return cast(datetime | None, found[0] if found else None)


async def _set_watermark(db: AsyncConnection | AsyncSession, at: datetime) -> None:
    await watermark(db, shared=False)
    await db.execute(update(RedWatermark).where(RedWatermark.id == 1).values(at=at))


async def advance_red(session: AsyncSession, now: datetime, zone: ZoneInfo) -> int:
    """Count in the roll-ups the tickets that turned red since the watermark, and move it to `now`
    (the SLA sweeper's round). Returns how many turned red."""
    since = await watermark(session, shared=False)
    if since is not None and now <= since:
        return 0
    attributes = [*DIMENSIONS.values(), "created_at", "red_after", "sign_ok", "close_ok", "satisfied",
                  "handling_seconds", "redo_count", "extension_count", "return_count"]
    turned = (await session.execute(select(*(getattr(Ticket, a) for a in attributes)).where(
        Ticket.red_after.is_not(None), Ticket.red_after < now,
        *([] if since is None else [Ticket.red_after >= since])))).mappings().all()
    moved: dict[tuple[Any, ...], dict[str, Any]] = {}
    for ticket in turned:
        for row in changes(share(ticket.__getitem__, zone, since), share(ticket.__getitem__, zone, now)):
            key = tuple(row[k] for k in _KEY)
            acc = moved.setdefault(key, dict.fromkeys(COUNTERS, 0) | dict(zip(_KEY, key, strict=True)))
            acc["red"] += row["red"]
    if moved:
        await session.execute(_UPSERT[_dialect(session)], [moved[key] for key in sorted(moved)])
    await _set_watermark(session, now)
    return len(turned)


def _dialect(db: AsyncConnection | AsyncSession) -> str:
    return db.get_bind().dialect.name if isinstance(db, AsyncSession) else db.dialect.name


async def rebuild(conn: AsyncConnection, utc_offset_hours: int, red_before: datetime) -> None:
    """Recompute every roll-up from the tickets (after a bulk load that bypassed the service): the
    finest grain from the tickets, the others from it, red as of `red_before` (the new watermark).

    `utc_offset_hours` is the hotline zone's: one offset for all days (China keeps no summer time).
    """
    await _set_watermark(conn, red_before)  # first: writers hold it shared, so this waits for them
    await conn.execute(delete(TicketRollup))
    finest = len(GRAINS) - 1
    day = local_bucket(Ticket.created_at, "day", utc_offset_hours)
    dims = [func.coalesce(getattr(Ticket, attr), _EMPTY) for attr in DIMENSIONS.values()]
    counts: Sequence[ColumnElement[Any]] = (
        func.count(), _flag(Ticket.sign_ok.is_not(None)), _flag(Ticket.sign_ok == 1),
        _flag(Ticket.close_ok.is_not(None)), _flag(Ticket.close_ok == 1), _flag(Ticket.satisfied.is_not(None)),
        _flag(Ticket.satisfied == 1), _flag(Ticket.redo_count > 0), _flag(Ticket.extension_count > 0),
        _flag(Ticket.return_count > 0),
        func.coalesce(func.sum(case((Ticket.close_ok.is_not(None), sql_cast(
            func.round(Ticket.handling_seconds * 1_000_000), BigInteger)), else_=0)), 0),
        _flag(and_(Ticket.red_after.is_not(None), Ticket.red_after < red_before)),
    )
    columns = list(_KEY) + list(COUNTERS)
    # Each grain's rows are written in key order, so a day's (a month's) rows of one grain share a few
    # heap pages: a KPI by unit reads a grain's rows of a few days and months. In the aggregate's own
    # (hash) order they spread over most of the grain's pages (docs/benchmarks.md, "KPIs over a year").
    await conn.execute(_TABLE.insert().from_select(
        columns, select(literal(finest), day, *dims, *counts).group_by(day, *dims).order_by(day, *dims)))
    month = func.substr(_TABLE.c.day, 1, 7)
    for g, grain in [*enumerate(GRAINS[:finest]), *((g + MONTHLY, grain) for g, grain in enumerate(GRAINS))]:
        monthly = g >= MONTHLY
        period = month if monthly else _TABLE.c.day
        kept = [_TABLE.c[d] if d in grain else _EMPTY for d in DIMENSIONS]
        key = [period, *(_TABLE.c[d] for d in DIMENSIONS if d in grain)]
        query = (select(literal(g), period, *kept, *(func.sum(_TABLE.c[c]) for c in COUNTERS))
                 .where(_TABLE.c.grain == (g - MONTHLY if monthly else finest))
                 .group_by(*key).order_by(*key))
        await conn.execute(_TABLE.insert().from_select(columns, query))
