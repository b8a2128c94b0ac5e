"""Writing a new ticket: its row, its history events, its co-handlers, the links to the draft and the call
it came from, and its share of the roll-ups, all or nothing.

The ticket service computes every row beforehand (routing and SLA deadlines are pure), so the writers
only store them. On PostgreSQL that is one statement, hence one round trip and an implicit transaction:
data-modifying CTEs, the ticket inserted only if every link is still free (the records are locked
first), the other rows selected from the inserted ticket. It runs on the pooled connection's asyncpg
driver with the columns' own SQLAlchemy bind processors, so it stores what a Core insert would. SQLite
has no data-modifying CTEs: there the same rows take a few Core statements in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import asyncpg
from sqlalchemy import Column, Table, Update, bindparam, insert, update
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.util import greenlet_spawn

from ticketing import rollups
from ticketing.models import (
    CallRecord,
    Draft,
    Ticket,
    TicketCoHandler,
    TicketEvent,
    TicketRollup,
    utcnow,
)

_TICKETS = cast(Table, Ticket.__table__)
_EVENTS = cast(Table, TicketEvent.__table__)
_CO_HANDLERS = cast(Table, TicketCoHandler.__table__)
_ROLLUPS = cast(Table, TicketRollup.__table__)
# The records an intake is confirmed from: at most one ticket each.
LINKED: dict[str, type[Draft | CallRecord]] = {"draft": Draft, "call": CallRecord}
_LINK_UPDATES: dict[str, Update] = {
    what: update(model).where(model.id == bindparam("record"), model.ticket_id.is_(None))
    .values(ticket_id=bindparam("linked"))
    for what, model in LINKED.items()
}
# Built once: parameters travel separately, so the compiled SQL is cached.
_INSERT_TICKET = insert(_TICKETS).returning(_TICKETS.c.id)
_INSERT_EVENT = insert(_EVENTS)
_INSERT_CO_HANDLER = insert(_CO_HANDLERS)
_TICKET_COLUMNS = [c for c in _TICKETS.columns if c.name != "id"]
_EVENT_COLUMNS = [c for c in _EVENTS.columns if c.name not in ("id", "ticket_id")]


@dataclass(frozen=True)
class Intake:
    ticket: dict[str, Any]  # every column but the id
    events: list[dict[str, Any]]  # their columns but the ids
    co_handlers: list[str]
    links: list[tuple[str, int]]  # ("draft" | "call", record id)
    share: rollups.Share  # the new ticket's part of the roll-ups


class Taken(Exception):
    """A draft or call to link is missing or has its ticket already: nothing was written."""

    def __init__(self, links: Sequence[tuple[str, int]]) -> None:
        super().__init__(links)
        self.links = links


class IntakeWriter:
    """Writes intakes through one engine, by the means its database allows."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._statement = _OneStatement(engine.dialect) if engine.dialect.name == "postgresql" else None

    async def write(self, intake: Intake) -> int:
        """The new ticket's id. Raises Taken if a link cannot be made."""
        if self._statement is not None:
            return await self._statement.run(self._engine, intake)
        async with self._engine.begin() as conn:
            return await _write_statements(conn, intake)


async def _write_statements(conn: AsyncConnection, intake: Intake) -> int:
    """The intake as Core statements in the caller's transaction (rolled back by Taken)."""
    ticket_id: int = (await conn.execute(_INSERT_TICKET, intake.ticket)).scalar_one()
    await conn.execute(_INSERT_EVENT, [{**e, "ticket_id": ticket_id} for e in intake.events])
    if intake.co_handlers:
        await conn.execute(_INSERT_CO_HANDLER, [{"ticket_id": ticket_id, "unit_id": u} for u in intake.co_handlers])
    for what, record in intake.links:
        if (await conn.execute(_LINK_UPDATES[what], {"record": record, "linked": ticket_id})).rowcount != 1:
            raise Taken(intake.links)
    await rollups.record(conn, None, intake.share)
    return ticket_id


Processor = Callable[[Any], Any] | None


def _processor(column: Column[Any], dialect: Dialect) -> Processor:
    processor: Processor = column.type.dialect_impl(dialect).bind_processor(dialect)
    return processor


def _cast(column: Column[Any], dialect: Dialect) -> str:
    return str(column.type.compile(dialect=dialect))


class _OneStatement:
    """The intake as one PostgreSQL statement, its text built once from the tables."""

    def __init__(self, dialect: Dialect) -> None:
        self._ticket = [(c.name, _processor(c, dialect)) for c in _TICKET_COLUMNS]
        self._event = [(c.name, _processor(c, dialect)) for c in _EVENT_COLUMNS]
        self._updated_at = _processor(cast(Table, Draft.__table__).c.updated_at, dialect)
        params = iter(range(1, 1000))

        def casts(columns: Sequence[Column[Any]], suffix: str = "") -> list[str]:
            return [f"${next(params)}::{_cast(c, dialect)}{suffix}" for c in columns]

        def names(columns: Sequence[Column[Any]]) -> str:
            return ", ".join(c.name for c in columns)

        draft, call, wanted, updated = (f"${next(params)}" for _ in range(4))
        ticket_values = casts(_TICKET_COLUMNS)
        # JSON travels in a text array, each element cast back.
        json = {c.name for c in _EVENT_COLUMNS if _cast(c, dialect) in ("JSON", "JSONB")}
        event_arrays = [f"${next(params)}::TEXT[]" if c.name in json else f"${next(params)}::{_cast(c, dialect)}[]"
                        for c in _EVENT_COLUMNS]
        event_select = ", ".join(f"ev.{c.name}::{_cast(c, dialect)}" if c.name in json else f"ev.{c.name}"
                                 for c in _EVENT_COLUMNS)
        co_array = casts([_CO_HANDLERS.c.unit_id], "[]")[0]
        # The share's roll-up rows, one per grain and period (as `rollups.changes` makes them), spread
        # in SQL from the share itself; in grain order, the order every change locks them in.
        day, month = (f"${next(params)}::{_cast(_ROLLUPS.c.day, dialect)}" for _ in range(2))
        dims = casts([_ROLLUPS.c[d] for d in rollups.DIMENSIONS])
        counts = casts([_ROLLUPS.c[c] for c in rollups.COUNTERS])
        grains = ", ".join(
            f"({g + (rollups.MONTHLY if monthly else 0)}, {monthly}, "
            + ", ".join(str(d in grain) for d in rollups.DIMENSIONS) + ")"
            for monthly in (False, True) for g, grain in enumerate(rollups.GRAINS))
        spread = ", ".join(f"CASE WHEN g.{d} THEN {value} ELSE '' END" for d, value in zip(rollups.DIMENSIONS, dims,
                                                                                          strict=True))
        self.sql = f"""
WITH free_draft AS (SELECT id FROM drafts WHERE id = {draft}::INTEGER AND ticket_id IS NULL FOR UPDATE),
free_call AS (SELECT id FROM call_records WHERE id = {call}::INTEGER AND ticket_id IS NULL FOR UPDATE),
t AS (INSERT INTO tickets ({names(_TICKET_COLUMNS)}) SELECT {", ".join(ticket_values)}
      WHERE (SELECT count(*) FROM free_draft) + (SELECT count(*) FROM free_call) = {wanted}::INTEGER
      RETURNING id),
e AS (INSERT INTO ticket_events (ticket_id, {names(_EVENT_COLUMNS)})
      SELECT t.id, {event_select} FROM t,
      unnest({", ".join(event_arrays)}) WITH ORDINALITY AS ev({names(_EVENT_COLUMNS)}, n) ORDER BY ev.n),
h AS (INSERT INTO ticket_co_handlers (ticket_id, unit_id) SELECT t.id, u FROM t, unnest({co_array}) AS u),
linked_draft AS (UPDATE drafts SET ticket_id = t.id, updated_at = {updated}::TIMESTAMP WITH TIME ZONE
      FROM t WHERE drafts.id = {draft}::INTEGER),
linked_call AS (UPDATE call_records SET ticket_id = t.id, updated_at = {updated}::TIMESTAMP WITH TIME ZONE
      FROM t WHERE call_records.id = {call}::INTEGER),
r AS (INSERT INTO ticket_rollups (grain, day, {", ".join(rollups.DIMENSIONS)}, {", ".join(rollups.COUNTERS)})
      SELECT g.grain, CASE WHEN g.monthly THEN {month} ELSE {day} END, {spread}, {", ".join(counts)}
      FROM t, (VALUES {grains}) AS g(grain, monthly, {", ".join(rollups.DIMENSIONS)}) ORDER BY g.grain
      ON CONFLICT (grain, day, {", ".join(rollups.DIMENSIONS)}) DO UPDATE SET
      {", ".join(f"{c} = ticket_rollups.{c} + excluded.{c}" for c in rollups.COUNTERS)})
SELECT id FROM t"""

    def arguments(self, intake: Intake) -> list[Any]:
        links = dict(intake.links)
        ticket, events, share = intake.ticket, intake.events, intake.share
        now = utcnow()
        return [
            links.get("draft"), links.get("call"), len(links), self._updated_at(now) if self._updated_at else now,
            *(p(ticket[name]) if p else ticket[name] for name, p in self._ticket),
            *([p(e[name]) if p else e[name] for e in events] for name, p in self._event),
            intake.co_handlers, share.day, share.day[:7], *share.dims, *share.counts,
        ]

    async def run(self, engine: AsyncEngine, intake: Intake) -> int:
        args = self.arguments(intake)
        # Straight from the pool, outside SQLAlchemy's transactions: the statement commits on its own,
        # in one round trip, and the pool's reset on return has no transaction to roll back.
        pooled = await engine.raw_connection()
        driver = pooled.driver_connection
        assert driver is not None
        try:
            ticket_id = await driver.fetchval(self.sql, *args)
        except BaseException as error:
            # Only an error the server answered with leaves the connection sound; one lost, broken
            # mid-protocol (asyncpg's "another operation is in progress") or cancelled is never reused.
            if driver.is_closed() or not isinstance(error, asyncpg.PostgresError):
                await greenlet_spawn(pooled.invalidate)
            raise
        finally:
            # In a greenlet, as SQLAlchemy's asyncio pool needs: a connection beyond the pool's size is closed.
            await greenlet_spawn(pooled.close)
        if ticket_id is None:
            raise Taken(intake.links)
        return int(ticket_id)


