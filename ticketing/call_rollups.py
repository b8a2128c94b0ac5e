"""Call roll-ups per local hour, day and month, kept in the transaction of every call-record write
(docs/reports.md).

A stored call's *share* is what it adds to the call KPI counters (`ticketing.call_kpis.COUNTS`):
once per call under the queue it ended in, and once per queue leg with the agent who answered it,
in the local hour it entered. The call store takes the stored call's share back and adds the new
one in the transaction that writes it, so a repair from queue_log that turns an `unknown` into an
abandon moves the call from one counter to the other.

Some counters compare a wait with a threshold, and the hours are local: the roll-ups are counted
with one `RollupBasis`, stored beside them. KPIs asked with another basis read the call records
until `rebuild` recounts with it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Insert,
    Table,
    delete,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from ticketing.call_kpis import (
    AGENTS,
    ANSWERED,
    CALLS,
    COUNTS,
    DAILY,
    LEGS,
    MONTHLY,
    SECONDS,
    CallFacts,
    RollupBasis,
    Tally,
    bucket_of,
    decided_outcome,
    rollup_basis,
    sum_columns,
)
from ticketing.models import CallLeg, CallRecord, CallRollup, CallRollupBasis
from ticketing.sqlfunc import local_bucket

_KEY = ("level", "period", "server", "queue", "agent")
_TABLE = cast(Table, CallRollup.__table__)
_EMPTY: ColumnElement[str] = literal_column("''")  # inline, so a grouped expression's text equals the selected one
Moves = dict[tuple[Any, ...], list[int]]


def _hour(moment: datetime, basis: RollupBasis) -> str:
    return bucket_of(moment.astimezone(UTC), "hour", basis.utc_offset_hours)


def _counts(tally: Tally) -> list[int]:
    return [round(value * 1_000_000) if COUNTS[name].sums in SECONDS else int(value)
            for name, value in tally.values.items()]


def add(moves: Moves, record: Mapping[str, Any], legs: Sequence[Mapping[str, Any]], basis: RollupBasis,
        sign: int = 1) -> None:
    """Add a stored call's share (its columns and its legs' as mappings) to `moves`, or take it back (-1)."""
    settings = basis.settings()
    parts: list[tuple[tuple[Any, ...], Tally]] = []
    if record["queue"] is not None and record["entered_at"] is not None:
        facts = CallFacts.of({**record, "legs": ()})
        tally = Tally(settings)
        tally.add(facts.outcome, facts.wait, facts.talk)
        parts.append(((CALLS, _hour(record["entered_at"], basis), record["server"], record["queue"], ""), tally))
    for leg in legs:
        if leg["entered_at"] is None:
            continue
        tally = Tally(settings)
        tally.add(leg["outcome"], leg["wait_seconds"], leg["talk_seconds"])
        hour = _hour(leg["entered_at"], basis)
        parts.append(((LEGS, hour, record["server"], leg["queue"], ""), tally))
        if leg["outcome"] == ANSWERED and leg["agent"] is not None:
            parts.append(((AGENTS, hour, record["server"], leg["queue"], leg["agent"]), tally))
    for (level, hour, *rest), tally in parts:
        counts = _counts(tally)
        for key in ((level, hour, *rest), (level + DAILY, hour[:10], *rest), (level + MONTHLY, hour[:7], *rest)):
            acc = moves.setdefault(key, [0] * len(counts))
            for i, n in enumerate(counts):
                acc[i] += sign * n


async def locked_basis(session: AsyncSession) -> RollupBasis:
    """The basis, held shared to the end of the caller's transaction (stored first if none is)."""
    if (await session.execute(select(CallRollupBasis.id).where(CallRollupBasis.id == 1))).first() is None:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        await session.execute(insert(CallRollupBasis).values(id=1, **asdict(RollupBasis())).on_conflict_do_nothing())
    return await rollup_basis(session, lock=True)


def _upsert(insert: Any) -> Insert:
    stmt = insert(_TABLE)
    return cast(Insert, stmt.on_conflict_do_update(
        index_elements=list(_KEY), set_={c: _TABLE.c[c] + stmt.excluded[c] for c in COUNTS}))


_UPSERT = {"postgresql": _upsert(pg_insert), "sqlite": _upsert(sqlite_insert)}


async def record(session: AsyncSession, moves: Moves) -> None:
    """Add the moves to the roll-ups in the caller's transaction, in key order (the lock order)."""
    rows = [{**dict(zip(_KEY, key, strict=True)), **dict(zip(COUNTS, counts, strict=True))}
            for key, counts in sorted(moves.items()) if any(counts)]
    if rows:
        await session.execute(_UPSERT[session.get_bind().dialect.name], rows)


async def rebuild(conn: AsyncConnection, basis: RollupBasis) -> None:
    """Recount every call roll-up from the call records with `basis` and store the basis: after
    changing the thresholds or the calendar's zone, or loading calls behind the store's back."""
    values = asdict(basis)
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    # first: writers hold the row shared for their transaction, so this waits for them and they for it
    await conn.execute(insert(CallRollupBasis).values(id=1, **values).on_conflict_do_update(
        index_elements=["id"], set_=values))
    await conn.execute(delete(CallRollup))
    settings, offset = basis.settings(), basis.utc_offset_hours
    columns = [*_KEY, *COUNTS]
    hour = local_bucket(CallRecord.entered_at, "hour", offset)
    calls = (select(literal(CALLS), hour, CallRecord.server, CallRecord.queue, _EMPTY,
                    *sum_columns(decided_outcome(), CallRecord.wait_seconds, CallRecord.talk_seconds, settings,
                                 micro=True))
             .where(CallRecord.queue.is_not(None), CallRecord.entered_at.is_not(None))
             .group_by(hour, CallRecord.server, CallRecord.queue))
    await conn.execute(_TABLE.insert().from_select(columns, calls))
    hour = local_bucket(CallLeg.entered_at, "hour", offset)
    for level, agent in ((LEGS, _EMPTY), (AGENTS, CallLeg.agent)):
        legs = (select(literal(level), hour, CallRecord.server, CallLeg.queue, agent,
                       *sum_columns(CallLeg.outcome, CallLeg.wait_seconds, CallLeg.talk_seconds, settings, micro=True))
                .join(CallRecord, CallLeg.call_id == CallRecord.id)
                .where(CallLeg.entered_at.is_not(None),
                       *([CallLeg.outcome == ANSWERED, CallLeg.agent.is_not(None)] if level == AGENTS else []))
                .group_by(hour, CallRecord.server, CallLeg.queue, *([agent] if level == AGENTS else [])))
        await conn.execute(_TABLE.insert().from_select(columns, legs))
    kept = [_TABLE.c.server, _TABLE.c.queue, _TABLE.c.agent]
    for offset, length in ((DAILY, 10), (MONTHLY, 7)):  # the days and the months, from the hours
        period = func.substr(_TABLE.c.period, 1, length)
        rows = (select(_TABLE.c.level + offset, period, *kept, *(func.sum(_TABLE.c[c]) for c in COUNTS))
                .where(_TABLE.c.level < DAILY).group_by(_TABLE.c.level, period, *kept))
        await conn.execute(_TABLE.insert().from_select(columns, rows))
