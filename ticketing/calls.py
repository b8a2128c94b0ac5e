"""The call-record store: idempotent upsert keyed by (server, linkedid), with the call's legs.

Adapters hand in plain column mappings (the AMI client's assembled calls, the queue_log importer)
with `legs` as a list of `call_legs` column mappings, so the core never depends on telephony code.
Storing the same call again updates it in place and replaces its legs: replaying a capture or
resyncing after a reconnect never duplicates a record, a final record is never overwritten by an
older in-progress one, and what a later update does not carry (`KEPT_IF_NULL`: a ticket link, the
IVR's variables, the hang-up cause) is kept.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.db import SessionFactory
from ticketing.models import CallLeg, CallOutcome, CallRecord, Ticket, utcnow

COLUMNS = frozenset(c.name for c in CallRecord.__table__.columns) - {"id", "updated_at"}
LEG_COLUMNS = frozenset(c.name for c in CallLeg.__table__.columns) - {"id", "call_id", "seq"}
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
        async with self._sessions() as session, session.begin():
            await self._drop_unknown_tickets(session, [row for row, _ in rows])
            for row, legs in rows:
                call_id = await session.scalar(self._statement(session, row, backfill))
                if call_id is None:
                    continue
                written += 1
                await session.execute(delete(CallLeg).where(CallLeg.call_id == call_id))
                if legs:
                    await session.execute(insert(CallLeg), [{**leg, "call_id": call_id} for leg in legs])
        return written

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
        return stmt.on_conflict_do_update(
            index_elements=["server", "linkedid"], set_=updates, where=replaces,
        ).returning(CallRecord.id)

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
    return merged
