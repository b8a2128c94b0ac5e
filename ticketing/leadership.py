"""One leader per singleton, elected with a PostgreSQL advisory lock and fenced by an epoch.

A singleton is work only one process may do at a time: a PBX set's call-record writer, the SLA
sweep. Every candidate runs `Leadership.run(start)`: it polls `pg_try_advisory_lock` on a connection
of its own; the one that gets it bumps the singleton's epoch in `leader_terms` and starts the work
with `start(term)`. It then checks that connection every `check_seconds`; if the connection dies or
stops answering, the lock is (or is about to be) gone, so it stops the work and campaigns again.
When the leader's process dies, PostgreSQL ends its connection and frees the lock; a standby polls
every `poll_seconds` and takes over. TCP keepalives on the lock connection (a few seconds) make a
cut network look like a dead leader to the server too.

Fencing: the work writes through `fenced_sessions(sessions, term)`. Every transaction of those
sessions first reads the singleton's row `FOR SHARE` and raises `Fenced` unless the epoch is still
`term.epoch`. A new leader's epoch bump waits for such a transaction to end, and every one after it
sees the new epoch: a stale leader never writes after the takeover.
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

from sqlalchemy import Connection, event, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Session, SessionTransaction

from ticketing.db import SessionFactory
from ticketing.models import LeaderTerm, utcnow

log = logging.getLogger(__name__)
Stop = Callable[[], Awaitable[None]]
# Seconds: TCP keepalive on the lock connection (idle, interval, count) — a cut link frees the lock
# within about idle + interval × count.
KEEPALIVE = (2, 1, 3)


class Fenced(Exception):
    """A write by a leader whose term is over: a newer leader took the singleton."""


@dataclass(frozen=True)
class Term:
    name: str
    epoch: int
    holder: str


def lock_key(name: str) -> int:
    """The advisory lock's 64-bit key for a singleton name (stable across processes and versions)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class _FencedSession(Session):
    """A session whose every transaction first checks its term (`info["term"]`)."""


@event.listens_for(_FencedSession, "after_begin")
def _check_term(session: Session, _transaction: SessionTransaction, connection: Connection) -> None:
    term: Term = session.info["term"]
    current = connection.scalar(select(LeaderTerm.epoch).where(LeaderTerm.name == term.name)
                                .with_for_update(read=True))
    if current != term.epoch:
        raise Fenced(f"{term.name}: term {term.epoch} is over (now {current}); not writing")


def fenced_sessions(sessions: SessionFactory, term: Term) -> SessionFactory:
    """Sessions like `sessions` whose transactions run only while `term` is the current one."""
    return type(sessions)(**{**sessions.kw, "sync_session_class": _FencedSession,
                             "info": {**(sessions.kw.get("info") or {}), "term": term}})


class Leadership:
    def __init__(self, engine: AsyncEngine, name: str, *, holder: str | None = None,
                 poll_seconds: float = 1.0, check_seconds: float = 1.0) -> None:
        self.engine = engine
        self.name = name
        self.holder = holder or holder_name()
        self.poll_seconds = poll_seconds
        self.check_seconds = check_seconds
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
            try:
                self.term = await self._new_term(conn)
                log.info("%s: leading (term %d, %s)", self.name, self.term.epoch, self.holder)
                stop = await start(self.term)
                self.first_round.set()
                await self._hold(conn)
                log.warning("%s: lost the lock (term %d); stopping", self.name, self.term.epoch)
            finally:
                self.term = None
                if stop is not None:
                    await asyncio.shield(_quietly(stop()))
                await asyncio.shield(_discard(conn))

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

    async def _new_term(self, conn: AsyncConnection) -> Term:
        stmt = postgresql.insert(LeaderTerm).values(name=self.name, epoch=1, holder=self.holder, since=utcnow())
        stmt = stmt.on_conflict_do_update(index_elements=["name"], set_={
            "epoch": LeaderTerm.epoch + 1, "holder": stmt.excluded.holder, "since": stmt.excluded.since})
        epoch = await conn.scalar(stmt.returning(LeaderTerm.epoch))
        await conn.commit()
        assert epoch is not None
        return Term(self.name, int(epoch), self.holder)

    async def _hold(self, conn: AsyncConnection) -> None:
        """Returns when the lock connection stops answering."""
        while True:
            await asyncio.sleep(self.check_seconds)
            try:
                await asyncio.wait_for(conn.scalar(text("SELECT 1")), timeout=max(1.0, 2 * self.check_seconds))
                await conn.commit()
            except (TimeoutError, SQLAlchemyError, OSError):
                return


async def _quietly(awaitable: Awaitable[Any]) -> None:
    try:
        await awaitable
    except Exception:
        log.exception("stopping the leader's work failed")


async def _discard(conn: AsyncConnection) -> None:
    """Close the connection for good (never back to the pool: it may hold the lock)."""
    try:
        await conn.invalidate()
        await conn.close()
    except Exception:
        log.debug("closing the lock connection failed", exc_info=True)
