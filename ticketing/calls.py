"""The call-record store: idempotent upsert keyed by (server, linkedid), with the call's legs.

Adapters hand in plain column mappings (the AMI client's assembled calls, the queue_log importer)
with `legs` as a list of `call_legs` column mappings, so the core never depends on telephony code.
Storing the same call again updates it in place and replaces its legs: replaying a capture or
resyncing after a reconnect never duplicates a record, a final record is never overwritten by an
older in-progress one, and what a later update does not carry (`KEPT_IF_NULL`: a ticket link, the
IVR's variables, the hang-up cause) is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from structlog.contextvars import bound_contextvars

from ticketing import call_rollups
from ticketing.db import SessionFactory
from ticketing.models import CallLeg, CallOutcome, CallRecord, Ticket, utcnow

log = logging.getLogger(__name__)

COLUMNS = frozenset(c.name for c in CallRecord.__table__.columns) - {"id", "updated_at"}
LEG_COLUMNS = frozenset(c.name for c in CallLeg.__table__.columns) - {"id", "call_id", "seq"}
# what the call KPIs (and so the roll-ups) read of a call and of its legs
_COUNTED = tuple(CallRecord.__table__.c[c] for c in (
    "server", "queue", "entered_at", "wait_seconds", "talk_seconds", "outcome", "final"))
_LEG_COUNTED = ("queue", "entered_at", "wait_seconds", "talk_seconds", "outcome", "agent")
_Stored = tuple[dict[str, Any], list[dict[str, Any]]]
KEPT_IF_NULL = ("ticket_id", "draft_id", "recording", "ivr_result", "ivr_path", "caller_number",
                "caller_name", "dnis", "started_at", "hangup_cause")


def _row(record: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    unknown = set(record) - COLUMNS - {"legs"}
    if unknown:
        raise ValueError(f"not call_records columns: {sorted(unknown)}")
    if not record.get("server") or not record.get("linkedid"):
        raise ValueError("a call record needs server and linkedid")
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update((k, v) for k, v in record.items() if k != "legs")
    row["outcome"] = CallOutcome(row["outcome"] or CallOutcome.UNKNOWN)
    row["final"] = bool(row["final"])
    row["updated_at"] = utcnow()
    legs = []
    for seq, leg in enumerate(record.get("legs") or ()):
        if set(leg) - LEG_COLUMNS:
            raise ValueError(f"not call_legs columns: {sorted(set(leg) - LEG_COLUMNS)}")
        legs.append({**dict.fromkeys(LEG_COLUMNS), "ring_no_answer": 0, **leg, "seq": seq})
    return row, legs


class CallStore:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    async def upsert(self, record: Mapping[str, Any]) -> None:
        await self.upsert_many([record])

    async def upsert_many(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Insert or update what the AMI client assembled; returns how many calls were written."""
        return await self._write(records, backfill=False)

    async def backfill(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Insert calls the AMI client never stored, and repair the ones it could not finish (still in
        progress, or closed `unknown` after a disconnect); a call it saw to the end is left alone."""
        return await self._write(records, backfill=True)

    async def _write(self, records: Iterable[Mapping[str, Any]], *, backfill: bool) -> int:
        rows = [_row(r) for r in records]
        if not rows:
            return 0
        written = 0
        moves: call_rollups.Moves = {}
        async with self._sessions() as session, session.begin():
            basis = await call_rollups.locked_basis(session)
            await self._drop_unknown_tickets(session, [row for row, _ in rows])
            for row, legs in rows:
                stored = await self._stored(session, row)
                if stored is None:
                    call_id = await session.scalar(_insert(session, row).on_conflict_do_nothing(
                        index_elements=["server", "linkedid"]).returning(CallRecord.id))
                    if call_id is None:  # another writer stored it meanwhile
                        stored = await self._stored(session, row)
                if stored is not None:
                    call_id = await session.scalar(self._statement(session, row, backfill))
                    if call_id is None:
                        continue
                    call_rollups.add(moves, stored[0], stored[1], basis, -1)
                    await session.execute(delete(CallLeg).where(CallLeg.call_id == call_id))
                written += 1
                if backfill:
                    with bound_contextvars(linkedid=row["linkedid"]):
                        log.debug("call %s on %s backfilled: %s", row["linkedid"], row["server"],
                                  row["outcome"].value)
                call_rollups.add(moves, row, legs, basis)
                if legs:
                    await session.execute(insert(CallLeg), [{**leg, "call_id": call_id} for leg in legs])
            await call_rollups.record(session, moves)
        return written

    @staticmethod
    async def _stored(session: AsyncSession, row: dict[str, Any]) -> _Stored | None:
        """The stored call's columns and legs that the KPIs read, locked to the end of the transaction."""
        found = (await session.execute(
            select(*_COUNTED, *(CallLeg.__table__.c[c].label(f"leg_{c}") for c in _LEG_COUNTED))
            .outerjoin(CallLeg, CallLeg.call_id == CallRecord.id)
            .where(CallRecord.server == row["server"], CallRecord.linkedid == row["linkedid"])
            .order_by(CallLeg.seq).with_for_update(of=CallRecord))).mappings().all()
        if not found:
            return None
        record = {c.name: found[0][c.name] for c in _COUNTED}
        legs = [{c: leg[f"leg_{c}"] for c in _LEG_COUNTED} for leg in found if leg["leg_queue"] is not None]
        return record, legs

    @staticmethod
    async def _drop_unknown_tickets(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
        wanted = {row["ticket_id"] for row in rows if row["ticket_id"] is not None}
        if not wanted:
            return
        found = set((await session.scalars(select(Ticket.id).where(Ticket.id.in_(wanted)))).all())
        for row in rows:
            if row["ticket_id"] is not None and row["ticket_id"] not in found:
                row["ticket_id"] = None

    @staticmethod
    def _statement(session: AsyncSession, row: dict[str, Any], backfill: bool) -> Any:
        stmt = _insert(session, row)
        table = CallRecord.__table__.c
        # the stored call is still open, or the new one is final (upsert: but an `unknown` end never
        # replaces a known one, e.g. one reconciled from queue_log) / the stored one was lost (backfill)
        upsert = and_(stmt.excluded.final.is_(True),
                      or_(stmt.excluded.outcome != CallOutcome.UNKNOWN, table.outcome == CallOutcome.UNKNOWN))
        replaces = or_(table.final.is_(False), table.outcome == CallOutcome.UNKNOWN if backfill else upsert)
        updates: dict[str, Any] = {
            key: stmt.excluded[key] for key in row if key not in ("server", "linkedid")
        }
        for key in KEPT_IF_NULL:
            updates[key] = func.coalesce(stmt.excluded[key], table[key])
        # why a call is `unknown` holds while it stays unknown, and goes once it is resolved
        updates["unknown_reason"] = case(
            (stmt.excluded.outcome == CallOutcome.UNKNOWN,
             func.coalesce(stmt.excluded.unknown_reason, table.unknown_reason)), else_=None)
        return stmt.on_conflict_do_update(
            index_elements=["server", "linkedid"], set_=updates, where=replaces,
        ).returning(CallRecord.id)

    async def mark_unresolved(self, server: str, *, since: datetime, until: datetime, reason: str,
                              still_open: Collection[str]) -> int:
        """After a gap [since, until] in `server`'s AMI stream was reconciled: the calls it left
        unresolved end `unknown` with `reason` — those the resync closed `unknown` in the gap, and those
        still stored in progress that are not open now (they ended while no process was linked).
        A reason already given is kept. Returns how many calls were marked."""
        closed_unseen = and_(CallRecord.final.is_(True), CallRecord.outcome == CallOutcome.UNKNOWN,
                             CallRecord.unknown_reason.is_(None), CallRecord.ended_at >= since,
                             CallRecord.ended_at <= until)
        left_open = and_(CallRecord.final.is_(False), CallRecord.updated_at <= until,
                         CallRecord.linkedid.not_in(list(still_open)))
        async with self._sessions() as session, session.begin():
            basis = await call_rollups.locked_basis(session)
            found = (await session.execute(select(CallRecord.id, CallRecord.linkedid).where(
                CallRecord.server == server, or_(closed_unseen, left_open)))).all()
            ids = [call_id for call_id, _ in found]
            moves: call_rollups.Moves = {}
            for _, linkedid in found:
                stored = await self._stored(session, {"server": server, "linkedid": linkedid})
                if stored is not None:
                    record, legs = stored
                    call_rollups.add(moves, record, legs, basis, -1)
                    call_rollups.add(moves, {**record, "final": True, "outcome": CallOutcome.UNKNOWN},
                                     [{**leg, "outcome": leg["outcome"] or CallOutcome.UNKNOWN} for leg in legs],
                                     basis)
            await call_rollups.record(session, moves)
            if ids:
                await session.execute(update(CallLeg).where(CallLeg.call_id.in_(ids), CallLeg.outcome.is_(None))
                                      .values(outcome=CallOutcome.UNKNOWN))
                await session.execute(update(CallRecord).where(CallRecord.id.in_(ids)).values(
                    final=True, outcome=CallOutcome.UNKNOWN, unknown_reason=reason, updated_at=utcnow()))
        return len(ids)

    async def link_ticket(self, server: str, linkedid: str, ticket_id: int) -> None:
        """Attach a call to a ticket. The call may still be in progress (a row is created)."""
        async with self._sessions() as session, session.begin():
            if await session.get(Ticket, ticket_id) is None:
                raise LookupError(f"ticket {ticket_id} does not exist")
            row, _ = _row({"server": server, "linkedid": linkedid, "ticket_id": ticket_id,
                           "outcome": CallOutcome.UNKNOWN, "final": False})
            await session.execute(_insert(session, row).on_conflict_do_update(
                index_elements=["server", "linkedid"],
                set_={"ticket_id": ticket_id, "updated_at": row["updated_at"]}))

    async def get(self, server: str, linkedid: str) -> CallRecord | None:
        async with self._sessions() as session:
            return await session.scalar(select(CallRecord).where(
                CallRecord.server == server, CallRecord.linkedid == linkedid))

    async def count(self) -> int:
        async with self._sessions() as session:
            return int(await session.scalar(select(func.count()).select_from(CallRecord)) or 0)

    async def for_ticket(self, ticket_id: int) -> list[CallRecord]:
        async with self._sessions() as session:
            rows = await session.scalars(select(CallRecord).where(CallRecord.ticket_id == ticket_id)
                                         .order_by(CallRecord.started_at, CallRecord.id))
            return list(rows.all())

    async def between(self, since: datetime | None = None, until: datetime | None = None, *,
                      outcome: CallOutcome | None = None, final_only: bool = True,
                      servers: Collection[str] | None = None) -> list[CallRecord]:
        """Calls that entered a queue (or started, for IVR-only calls) in [since, until), on `servers`
        (all when None), with their legs."""
        moment = func.coalesce(CallRecord.entered_at, CallRecord.started_at)
        query = select(CallRecord)
        if servers is not None:
            query = query.where(CallRecord.server.in_(servers))
        if since is not None:
            query = query.where(moment >= since)
        if until is not None:
            query = query.where(moment < until)
        if outcome is not None:
            query = query.where(CallRecord.outcome == outcome)
        if final_only:
            query = query.where(CallRecord.final.is_(True))
        async with self._sessions() as session:
            return list((await session.scalars(query.order_by(moment, CallRecord.id))).all())

    async def abandoned(self, since: datetime | None = None,
                        until: datetime | None = None) -> Sequence[CallRecord]:
        """Abandoned calls with their numbers, for supervisors to call back."""
        return await self.between(since, until, outcome=CallOutcome.ABANDONED)


def _insert(session: AsyncSession, row: dict[str, Any]) -> Any:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(CallRecord).values(**row)


def merge_record(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> dict[str, Any] | None:
    """`upsert_many` on one record in Python (for stores kept in memory): the stored record, or None
    when the new one must not replace the old (an in-progress update after the final one)."""
    if old is not None and old.get("final") and not new.get("final"):
        return None
    merged = dict(new)
    if old is not None:
        for name in KEPT_IF_NULL:
            if merged.get(name) is None:
                merged[name] = old.get(name)
    unknown = CallOutcome(merged.get("outcome") or CallOutcome.UNKNOWN) is CallOutcome.UNKNOWN
    merged["unknown_reason"] = (merged.get("unknown_reason") or (old or {}).get("unknown_reason")) if unknown else None
    return merged
