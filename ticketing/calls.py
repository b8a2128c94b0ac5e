"""The call-record store: idempotent upsert keyed by (server, linkedid), ticket links, queries.

Adapters hand in plain column mappings (the AMI client's assembled calls, the queue_log importer),
so the core never depends on telephony code. Storing the same call again updates it in place:
replaying a capture or resyncing after a reconnect never duplicates a record, a final record is
never overwritten by an older in-progress one, and a ticket link once made is never cleared by a
later update that does not carry one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.db import SessionFactory
from ticketing.models import CallOutcome, CallRecord, Ticket, utcnow

COLUMNS = frozenset(c.name for c in CallRecord.__table__.columns) - {"id", "updated_at"}
_KEEP_IF_NULL = ("ticket_id", "draft_id", "recording", "ivr_result", "ivr_path", "caller_number",
                 "caller_name", "dnis", "started_at")


def _row(record: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(record) - COLUMNS
    if unknown:
        raise ValueError(f"not call_records columns: {sorted(unknown)}")
    if not record.get("server") or not record.get("linkedid"):
        raise ValueError("a call record needs server and linkedid")
    row: dict[str, Any] = {key: None for key in COLUMNS}
    row.update(record)
    row["outcome"] = CallOutcome(row["outcome"] or CallOutcome.UNKNOWN)
    row["legs"] = list(row["legs"] or [])
    row["final"] = bool(row["final"])
    row["updated_at"] = utcnow()
    return row


class CallStore:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    async def upsert(self, record: Mapping[str, Any]) -> None:
        await self.upsert_many([record])

    async def upsert_many(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Insert or update; returns how many rows were written."""
        rows = [_row(r) for r in records]
        if not rows:
            return 0
        async with self._sessions() as session, session.begin():
            await self._drop_unknown_tickets(session, rows)
            for row in rows:
                await session.execute(self._statement(session, row))
        return len(rows)

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
    def _statement(session: AsyncSession, row: dict[str, Any]) -> Any:
        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(CallRecord).values(**row)
        table = CallRecord.__table__.c
        updates: dict[str, Any] = {
            key: stmt.excluded[key] for key in row if key not in ("server", "linkedid")
        }
        for key in _KEEP_IF_NULL:
            updates[key] = func.coalesce(stmt.excluded[key], table[key])
        return stmt.on_conflict_do_update(
            index_elements=["server", "linkedid"], set_=updates,
            where=or_(table.final.is_(False), stmt.excluded.final.is_(True)),
        )

    async def link_ticket(self, server: str, linkedid: str, ticket_id: int) -> None:
        """Attach a call to a ticket. The call may still be in progress (a row is created)."""
        async with self._sessions() as session, session.begin():
            if await session.get(Ticket, ticket_id) is None:
                raise LookupError(f"ticket {ticket_id} does not exist")
            await session.execute(self._link_statement(session, server, linkedid, ticket_id))

    @staticmethod
    def _link_statement(session: AsyncSession, server: str, linkedid: str, ticket_id: int) -> Any:
        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        row = _row({"server": server, "linkedid": linkedid, "ticket_id": ticket_id,
                    "outcome": CallOutcome.UNKNOWN, "final": False})
        stmt = insert(CallRecord).values(**row)
        return stmt.on_conflict_do_update(index_elements=["server", "linkedid"],
                                          set_={"ticket_id": ticket_id, "updated_at": row["updated_at"]})

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

    async def for_caller(self, caller_number: str, *, since: datetime | None = None) -> list[CallRecord]:
        query = select(CallRecord).where(CallRecord.caller_number == caller_number)
        if since is not None:
            query = query.where(CallRecord.started_at >= since)
        async with self._sessions() as session:
            return list((await session.scalars(query.order_by(CallRecord.started_at.desc()))).all())

    async def between(self, since: datetime | None = None, until: datetime | None = None, *,
                      queue: str | None = None, agent: str | None = None,
                      outcome: CallOutcome | None = None, final_only: bool = True) -> list[CallRecord]:
        """Calls that entered a queue (or started, for IVR-only calls) in [since, until)."""
        moment = func.coalesce(CallRecord.entered_at, CallRecord.started_at)
        query = select(CallRecord)
        if since is not None:
            query = query.where(moment >= since)
        if until is not None:
            query = query.where(moment < until)
        if queue is not None:
            query = query.where(CallRecord.queue == queue)
        if agent is not None:
            query = query.where(CallRecord.agent == agent)
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
