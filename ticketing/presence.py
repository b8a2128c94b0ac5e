"""Agent presence: queue memberships stored as the AMI client sees them, and the logged-in time per
local hour that staffing reports compare with the Erlang C advice.

Adapters hand in plain column mappings (`agent_memberships` columns), so the core never depends on
telephony code. Storing a membership again updates its end in place: a resync that lists a member
with the same LoginTime never duplicates it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ticketing.call_kpis import bucket_of
from ticketing.db import SessionFactory
from ticketing.models import AgentMembership

KEY = ("server", "queue", "interface", "logged_in_at")
COLUMNS = frozenset(c.name for c in AgentMembership.__table__.columns) - {"id"}


class PresenceStore:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    async def upsert_many(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Insert memberships, or set the end (and member name) of ones already stored."""
        values = [dict(row) for row in rows]
        for row in values:
            if set(row) != COLUMNS:
                raise ValueError(f"a membership has exactly the columns {sorted(COLUMNS)}, not {sorted(row)}")
        if not values:
            return 0
        async with self._sessions() as session, session.begin():
            dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
            insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(AgentMembership)
            for row in values:
                stmt = insert.values(**row)
                await session.execute(stmt.on_conflict_do_update(index_elements=list(KEY), set_={
                    "logged_out_at": stmt.excluded.logged_out_at, "member_name": stmt.excluded.member_name}))
        return len(values)

    async def close_open(self, servers: Sequence[str], at: datetime) -> None:
        """End, at `at`, what these servers' memberships were still open when the product last stopped:
        after a restart the client knows no member until Asterisk lists them again (which reopens the
        ones still logged in, by their LoginTime)."""
        async with self._sessions() as session, session.begin():
            await session.execute(update(AgentMembership).where(
                AgentMembership.server.in_(list(servers)), AgentMembership.logged_out_at.is_(None),
            ).values(logged_out_at=at))

    async def logged_in_seconds(self, *, since: datetime, until: datetime, now: datetime,
                                queues: Sequence[str] | None, utc_offset_hours: int) -> dict[str, float]:
        """Agent-seconds logged in per local hour ('YYYY-MM-DDTHH:00') within [since, until), over the
        memberships of `queues` (all when None). An agent (its interface) in several of them at once
        counts once; a membership still open ends now."""
        query = select(AgentMembership.interface, AgentMembership.logged_in_at, AgentMembership.logged_out_at).where(
            AgentMembership.logged_in_at < until,
            or_(AgentMembership.logged_out_at.is_(None), AgentMembership.logged_out_at > since))
        if queues is not None:
            query = query.where(AgentMembership.queue.in_(list(queues)))
        spans: defaultdict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
        end_of_all = min(until, now)
        async with self._sessions() as session:
            for interface, start, end in (await session.execute(query)).all():
                start, end = max(start, since), min(end or end_of_all, end_of_all)
                if end > start:
                    spans[interface].append((start, end))
        seconds: defaultdict[str, float] = defaultdict(float)
        for intervals in spans.values():
            for start, end in _merged(intervals):
                _spread(start, end, utc_offset_hours, seconds)
        return dict(sorted(seconds.items()))


def _merged(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    out: list[tuple[datetime, datetime]] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _spread(start: datetime, end: datetime, utc_offset_hours: int, into: defaultdict[str, float]) -> None:
    """Add the seconds of [start, end) to the local hours they fall in."""
    moment = start
    while moment < end:
        upto = min(end, moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))
        into[bucket_of(moment, "hour", utc_offset_hours)] += (upto - moment).total_seconds()
        moment = upto
