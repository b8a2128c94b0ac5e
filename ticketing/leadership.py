"""One leader per singleton, elected with a PostgreSQL advisory lock, held by a lease, fenced by an epoch.

A singleton is work only one process may do at a time: a PBX set's call-record writer, the SLA
sweep. Every candidate runs `Leadership.run(start)`: it polls `pg_try_advisory_lock` on a connection
of its own; the one that gets it bumps the singleton's epoch in `leader_terms`, records that
connection's server pid, and starts the work with `start(term)`.

The lease (`lease` seconds, `db.leader_lease_seconds`): the leader renews `renewed` on its term row
(the database's clock) from the lock connection every `lease / 6`. A renewal that fails, finds the
term gone, or does not succeed within `lease / 2` of the last good one (measured from when that one
was sent) makes the leader step down: it stops the work and campaigns again. A standby that finds the
lock taken and the lease older than `lease` ends the lock connection (`pg_terminate_backend` of the
recorded pid, only while that pid still holds the lock), which frees the lock, and takes it. So a
leader that is frozen (SIGSTOP) or cut from the database (its TCP connection silently stalls) is
replaced after `lease` plus a poll, and a cut leader has stepped down by then (`lease / 2`). A leader
whose process dies loses the lock at once, as before.

Fencing: the work writes through `fenced_sessions(sessions, term)`. Every transaction of those
sessions first reads the singleton's row `FOR KEY SHARE` and raises `Fenced` unless the epoch is still
`term.epoch`. A new leader's epoch bump locks the row `FOR UPDATE`, so it waits for such a transaction
to end, and every one after it sees the new epoch: a stale leader never writes after the takeover.
Those transactions end the session when idle for `lease / 2`, so a frozen or cut leader caught inside
one cannot hold the new term up.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, TextClause, Update, event, func, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Session, SessionTransaction

from ticketing.db import SessionFactory
from ticketing.models import LeaderTerm, utcnow
from ticketing.settings import DatabaseSettings

log = logging.getLogger(__name__)
Stop = Callable[[], Awaitable[None]]
# Seconds: TCP keepalive on the lock connection (idle, interval, count) — a cut link frees the lock
# within about idle + interval × count.
KEEPALIVE = (2, 1, 3)
LEASE = DatabaseSettings.model_fields["leader_lease_seconds"].default


class Fenced(Exception):
    """A write by a leader whose term is over: a newer leader took the singleton."""


@dataclass(frozen=True)
class Term:
    name: str
    epoch: int
    holder: str
    lease: float = LEASE


def lock_key(name: str) -> int:
    """The advisory lock's 64-bit key for a singleton name (stable across processes and versions)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def lock_holders(name: str) -> TextClause:
    """The server pids holding `name`'s advisory lock in this database (a query; bind nothing)."""
    key = lock_key(name) & 0xFFFF_FFFF_FFFF_FFFF
    return text("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                f"AND classid = {key >> 32} AND objid = {key & 0xFFFF_FFFF}")


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class _FencedSession(Session):
    """A session whose every transaction first checks its term (`info["term"]`)."""


@event.listens_for(_FencedSession, "after_begin")
def _check_term(session: Session, _transaction: SessionTransaction, connection: Connection) -> None:
    term: Term = session.info["term"]
    idle_limit = func.set_config("idle_in_transaction_session_timeout", str(int(term.lease * 500)), True)
    current = connection.scalar(select(LeaderTerm.epoch).where(LeaderTerm.name == term.name, idle_limit.is_not(None))
                                .with_for_update(read=True, key_share=True))
    if current != term.epoch:
        raise Fenced(f"{term.name}: term {term.epoch} is over (now {current}); not writing")


def fenced_sessions(sessions: SessionFactory, term: Term) -> SessionFactory:
    """Sessions like `sessions` whose transactions run only while `term` is the current one."""
    return type(sessions)(**{**sessions.kw, "sync_session_class": _FencedSession,
                             "info": {**(sessions.kw.get("info") or {}), "term": term}})


class Leadership:
    def __init__(self, engine: AsyncEngine, name: str, *, holder: str | None = None, lease: float = LEASE,
                 poll_seconds: float = 1.0, renew_seconds: float | None = None) -> None:
        self.engine = engine
        self.name = name
        self.holder = holder or holder_name()
        self.lease = lease
        self.poll_seconds = poll_seconds
        self.renew_seconds = lease / 6 if renew_seconds is None else renew_seconds
        self.term: Term | None = None  # while leading
        self.first_round = asyncio.Event()  # set once the first campaign was won (and started) or lost

    @property
    def leading(self) -> bool:
        return self.term is not None

    async def run(self, start: Callable[[Term], Awaitable[Stop]]) -> None:
        """Campaign, lead, and campaign again after a lost term, until cancelled."""
        while True:
            conn = await self._acquire()
            stop: Stop | None = None
            hold: asyncio.Task[str] | None = None
            try:
                sent = asyncio.get_running_loop().time()
                try:
                    self.term = await self._new_term(conn)
                except (SQLAlchemyError, OSError) as exc:  # the link failed just now: campaign again
                    log.warning("%s: starting a term failed (%s); campaigning again", self.name, exc)
                    self.first_round.set()
                else:
                    log.info("%s: leading (term %d, %s)", self.name, self.term.epoch, self.holder)
                    hold = asyncio.create_task(self._hold(conn, self.term, sent))  # the lease, while the work starts
                    stop = await start(self.term)
                    self.first_round.set()
                    why = await hold
                    log.warning("%s: %s (term %d); stepping down, standing by", self.name, why, self.term.epoch)
            finally:
                self.term = None
                if hold is not None:
                    hold.cancel()
                    await asyncio.gather(hold, return_exceptions=True)
                if stop is not None:
                    await asyncio.shield(_quietly(stop()))
                await asyncio.shield(_discard(conn))
            await asyncio.sleep(2 * self.poll_seconds)  # a standby that polled meanwhile goes first

    async def _acquire(self) -> AsyncConnection:
        while True:
            conn: AsyncConnection | None = None
            try:
                conn = await self.engine.connect()
                for setting, seconds in zip(("idle", "interval", "count"), KEEPALIVE, strict=True):
                    await conn.execute(text(f"SET tcp_keepalives_{setting} = {seconds}"))
                while True:
                    got = await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key(self.name)})
                    await conn.commit()
                    if got:
                        return conn
                    self.first_round.set()
                    if not await self._end_expired_leader(conn):
                        await asyncio.sleep(self.poll_seconds)
            except asyncio.CancelledError:
                if conn is not None:
                    await asyncio.shield(_discard(conn))
                raise
            except (SQLAlchemyError, OSError) as exc:  # the database is away: try again
                log.warning("%s: campaigning failed (%s); retrying", self.name, exc)
                self.first_round.set()
                if conn is not None:
                    await _discard(conn)
                await asyncio.sleep(self.poll_seconds)

    async def _end_expired_leader(self, conn: AsyncConnection) -> bool:
        """End the lock connection of a leader whose lease ran out (frozen, or cut off); True if one was."""
        holders = lock_holders(self.name).columns(pid=postgresql.INTEGER).subquery()
        pid = await conn.scalar(
            select(LeaderTerm.pid).where(
                LeaderTerm.name == self.name, LeaderTerm.pid.in_(select(holders.c.pid)),
                LeaderTerm.renewed < func.clock_timestamp() - func.make_interval(0, 0, 0, 0, 0, 0, self.lease)))
        if pid is not None:
            log.warning("%s: the leader's lease expired; ending its lock connection (server pid %d)", self.name, pid)
            await conn.scalar(text("SELECT pg_terminate_backend(:pid, 2000)"), {"pid": pid})
        await conn.commit()
        return pid is not None

    async def _new_term(self, conn: AsyncConnection) -> Term:
        await conn.execute(select(LeaderTerm.name).where(LeaderTerm.name == self.name).with_for_update())
        stmt = postgresql.insert(LeaderTerm).values(name=self.name, epoch=1, holder=self.holder, since=utcnow(),
                                                    renewed=func.clock_timestamp(), pid=func.pg_backend_pid())
        stmt = stmt.on_conflict_do_update(index_elements=["name"], set_={
            "epoch": LeaderTerm.epoch + 1, "holder": stmt.excluded.holder, "since": stmt.excluded.since,
            "renewed": stmt.excluded.renewed, "pid": stmt.excluded.pid})
        epoch = await conn.scalar(stmt.returning(LeaderTerm.epoch))
        await conn.commit()
        assert epoch is not None
        return Term(self.name, int(epoch), self.holder, self.lease)

    async def _hold(self, conn: AsyncConnection, term: Term, renewed: float) -> str:
        """Renew the lease until it cannot be; returns why. `renewed`: when the last good renewal was sent."""
        loop = asyncio.get_running_loop()
        renew = update(LeaderTerm).where(LeaderTerm.name == term.name, LeaderTerm.epoch == term.epoch) \
            .values(renewed=func.clock_timestamp())
        while True:
            await asyncio.sleep(self.renew_seconds)
            sent = loop.time()
            left = renewed + self.lease / 2 - sent
            if left <= 0:  # frozen, or the loop was starved: the standby may be taking over
                return "no renewal for half the lease"
            renewal = asyncio.ensure_future(_renew(conn, renew))
            await asyncio.wait([renewal], timeout=left)
            if not renewal.done():  # drop the link: cancelling the query over a cut one would take seconds
                renewal.add_done_callback(_forget)
                _abort(conn)
                return "the renewal did not answer within half the lease"
            try:
                kept = renewal.result()
            except (SQLAlchemyError, OSError) as exc:
                return f"the lock connection failed ({type(exc).__name__})"
            if kept != 1:
                return "a newer term began"
            renewed = sent


async def _renew(conn: AsyncConnection, renew: Update) -> int:
    kept = (await conn.execute(renew)).rowcount
    await conn.commit()
    return kept


def _abort(conn: AsyncConnection) -> None:
    """Close the connection's socket now, without the goodbye a cut link would not carry."""
    raw = conn.sync_connection.connection.driver_connection if conn.sync_connection is not None else None
    if raw is not None:
        raw.terminate()


def _forget(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("an abandoned renewal failed", exc_info=task.exception())


async def _quietly(awaitable: Awaitable[Any]) -> None:
    try:
        await awaitable
    except Exception:
        log.exception("stopping the leader's work failed")


async def _discard(conn: AsyncConnection) -> None:
    """Close the connection for good (never back to the pool: it may hold the lock)."""
    try:
        async with asyncio.timeout(2):  # a cut link may not answer the goodbye
            await conn.invalidate()
            await conn.close()
    except Exception:
        log.debug("closing the lock connection failed", exc_info=True)
