"""Singleton leadership on real PostgreSQL: an advisory lock elects, an epoch fences.

A lost lock is made by terminating the leader's lock connection on the server (what PostgreSQL does
when the leader's process dies), by a leader that stops renewing its lease (as a frozen one), or by
a frozen TCP proxy between the leader and the server (a cut link); the leader's process itself keeps
running, so the fence is what stops its writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.cluster.proxy import FreezableProxy
from tests.conftest import DatabaseTarget
from ticketing.db import SessionFactory, make_engine, make_session_factory
from ticketing.leadership import Fenced, Leadership, Stop, Term, fenced_sessions, lock_holders
from ticketing.models import LeaderTerm, ThrottleAttempt, utcnow

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


@pytest.fixture
async def pg(postgres_target: DatabaseTarget) -> AsyncIterator[SessionFactory]:
    engine = postgres_target.engine()
    try:
        yield make_session_factory(engine)
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM throttle_attempts"))
        await engine.dispose()


class Work:
    """A singleton's work as the leadership starts and stops it."""

    def __init__(self) -> None:
        self.terms: list[Term] = []
        self.stopped: list[int] = []
        self.started = asyncio.Event()
        self.times: list[tuple[str, float]] = []  # ("start" | "stop", loop time)

    async def start(self, term: Term) -> Stop:
        self.terms.append(term)
        self.started.set()
        self.times.append(("start", asyncio.get_running_loop().time()))

        async def stop() -> None:
            self.stopped.append(term.epoch)
            self.times.append(("stop", asyncio.get_running_loop().time()))

        return stop


async def _terminate_lock_holder(sessions: SessionFactory, name: str) -> None:
    async with sessions() as session:
        pids = (await session.scalars(lock_holders(name))).all()
        assert len(pids) == 1, pids
        await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pids[0]})


def _row(name: str) -> ThrottleAttempt:
    return ThrottleAttempt(kind="test", at=utcnow(), subject=name, address="127.0.0.1")


async def _until(predicate: object, timeout: float) -> float:
    started = asyncio.get_running_loop().time()
    async with asyncio.timeout(timeout):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.05)
    return asyncio.get_running_loop().time() - started


@dataclass
class Pair:
    a: Leadership
    b: Leadership
    old: Work  # a's
    new: Work  # b's


@contextlib.asynccontextmanager
async def _leader_and_standby(a_engine: AsyncEngine, b_engine: AsyncEngine, name: str, *, lease: float,
                              renew_seconds: float | None = None) -> AsyncIterator[Pair]:
    """`a` leading (renewing every `renew_seconds`), then `b` campaigning; both cancelled at the end."""
    pair = Pair(Leadership(a_engine, name, holder="a", lease=lease, poll_seconds=0.2, renew_seconds=renew_seconds),
                Leadership(b_engine, name, holder="b", lease=lease, poll_seconds=0.2), Work(), Work())
    task_a = asyncio.create_task(pair.a.run(pair.old.start))
    tasks = [task_a]
    try:
        await asyncio.wait_for(pair.old.started.wait(), 10)
        tasks.append(asyncio.create_task(pair.b.run(pair.new.start)))
        yield pair
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_one_leader_and_a_standby_takes_over_when_the_lock_is_lost(pg: SessionFactory) -> None:
    name = f"test:{uuid.uuid4().hex[:8]}"
    engine = pg.kw["bind"]
    first, second = Work(), Work()
    a = Leadership(engine, name, holder="a", poll_seconds=0.2, renew_seconds=0.2)
    b = Leadership(engine, name, holder="b", poll_seconds=0.2, renew_seconds=0.2)
    task_a = asyncio.create_task(a.run(first.start))
    await asyncio.wait_for(first.started.wait(), 10)
    task_b = asyncio.create_task(b.run(second.start))
    try:
        await asyncio.sleep(1.0)
        assert a.leading and not b.leading and not second.terms  # exactly one leader
        await _terminate_lock_holder(pg, name)
        took = await _until(lambda: b.leading, 10)
        assert took < 5
        assert second.terms[0].epoch == first.terms[0].epoch + 1
        await _until(lambda: first.stopped, 5)  # the old leader noticed and stopped its work
        async with pg() as session:
            row = await session.get(LeaderTerm, name)
        assert row is not None and (row.epoch, row.holder) == (second.terms[0].epoch, "b")
    finally:
        for task in (task_a, task_b):
            task.cancel()
        await asyncio.gather(task_a, task_b, return_exceptions=True)
    assert second.stopped == [second.terms[0].epoch]  # cancelled: the work is stopped too


async def test_a_stale_leader_is_fenced(pg: SessionFactory) -> None:
    name = f"test:{uuid.uuid4().hex[:8]}"
    engine = pg.kw["bind"]
    old, new = Work(), Work()
    a = Leadership(engine, name, holder="a", poll_seconds=0.2, renew_seconds=30)  # never notices in time
    b = Leadership(engine, name, holder="b", poll_seconds=0.2, renew_seconds=0.2)
    task_a = asyncio.create_task(a.run(old.start))
    await asyncio.wait_for(old.started.wait(), 10)
    stale = fenced_sessions(pg, old.terms[0])
    async with stale() as session, session.begin():
        session.add(_row(name))  # while it leads, it writes
    task_b = asyncio.create_task(b.run(new.start))
    try:
        await _terminate_lock_holder(pg, name)
        await asyncio.wait_for(new.started.wait(), 10)
        assert a.leading  # the old leader still believes it leads …
        with pytest.raises(Fenced, match="is over"):
            async with stale() as session, session.begin():  # … but cannot write
                session.add(_row(name))
        async with fenced_sessions(pg, new.terms[0])() as session, session.begin():
            session.add(_row(name))
        async with pg() as session:
            count = await session.scalar(select(func.count()).select_from(ThrottleAttempt)
                                         .where(ThrottleAttempt.subject == name))
        assert count == 2
    finally:
        for task in (task_a, task_b):
            task.cancel()
        await asyncio.gather(task_a, task_b, return_exceptions=True)


async def test_a_new_term_waits_for_the_old_leaders_write_in_flight(pg: SessionFactory) -> None:
    """The write that checked the old epoch commits before the new epoch exists: no overlap."""
    name = f"test:{uuid.uuid4().hex[:8]}"
    engine = pg.kw["bind"]
    old, new = Work(), Work()
    a = Leadership(engine, name, holder="a", poll_seconds=0.2, renew_seconds=30)
    task_a = asyncio.create_task(a.run(old.start))
    await asyncio.wait_for(old.started.wait(), 10)
    b = Leadership(engine, name, holder="b", poll_seconds=0.2, renew_seconds=0.2)
    task_b: asyncio.Task[None] | None = None
    try:
        async with fenced_sessions(pg, old.terms[0])() as session, session.begin():
            session.add(_row(name))
            await session.flush()  # the term is checked and held (FOR SHARE) until commit
            await _terminate_lock_holder(pg, name)
            task_b = asyncio.create_task(b.run(new.start))
            await asyncio.sleep(1.5)
            assert not new.terms  # b has the lock but its epoch bump waits for this transaction
        await asyncio.wait_for(new.started.wait(), 10)
        assert new.terms[0].epoch == old.terms[0].epoch + 1
    finally:
        for task in (task_a, task_b):
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in (task_a, task_b) if t is not None), return_exceptions=True)


async def test_a_leader_that_stops_renewing_is_ended_when_its_lease_runs_out(pg: SessionFactory) -> None:
    """A frozen leader keeps its connection (and so the lock); its lease is what ends it."""
    name = f"test:{uuid.uuid4().hex[:8]}"
    engine = pg.kw["bind"]
    async with _leader_and_standby(engine, engine, name, lease=2, renew_seconds=60) as p:  # a never renews
        await asyncio.sleep(1.0)
        assert not p.b.leading  # the lease (2 s from the term's start) still holds
        await asyncio.wait_for(p.new.started.wait(), 10)
        assert p.new.terms[0].epoch == p.old.terms[0].epoch + 1
        async with pg() as session:
            holders = (await session.scalars(lock_holders(name))).all()
            row = await session.get(LeaderTerm, name)
        assert row is not None and row.holder == "b" and holders == [row.pid]  # a's lock connection is gone
        assert p.a.leading  # a, "frozen", has not noticed …
        with pytest.raises(Fenced):
            async with fenced_sessions(pg, p.old.terms[0])() as session, session.begin():  # … but cannot write
                session.add(_row(name))


async def test_a_leader_cut_from_the_database_steps_down_before_the_standby_takes_over(
        postgres_target: DatabaseTarget, pg: SessionFactory) -> None:
    url = make_url(postgres_target.url)
    proxy = FreezableProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    cut_engine = make_engine(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
                             **postgres_target.engine_kwargs)
    try:
        async with _leader_and_standby(cut_engine, pg.kw["bind"], f"test:{uuid.uuid4().hex[:8]}", lease=3) as p:
            await asyncio.sleep(1.0)
            proxy.freeze()
            cut = asyncio.get_running_loop().time()
            await asyncio.wait_for(p.new.started.wait(), 10)
            (_, stopped), = [t for t in p.old.times if t[0] == "stop"]
            (_, started), = [t for t in p.new.times if t[0] == "start"]
            assert cut < stopped < started  # never two leaders at once
            assert p.new.terms[0].epoch == p.old.terms[0].epoch + 1
            proxy.thaw()
            await asyncio.sleep(3.0)
            assert p.b.leading and not p.a.leading  # back on the network, the old leader stands by
    finally:
        proxy.thaw()
        await cut_engine.dispose()
        await proxy.close()


async def test_a_frozen_leaders_open_transaction_does_not_hold_the_next_term_up(pg: SessionFactory) -> None:
    """Frozen inside a fenced transaction (its row lock held): the server ends that session when idle."""
    name = f"test:{uuid.uuid4().hex[:8]}"
    engine = pg.kw["bind"]
    async with _leader_and_standby(engine, engine, name, lease=2, renew_seconds=60) as p:  # a never renews
        with pytest.raises(DBAPIError, match="connection is closed"):  # ended by the server
            async with fenced_sessions(pg, p.old.terms[0])() as session, session.begin():
                session.add(_row(name))
                await session.flush()  # the term checked, its row held FOR KEY SHARE …
                await asyncio.wait_for(p.new.started.wait(), 10)  # … and yet the standby takes over
        assert p.new.terms[0].epoch == p.old.terms[0].epoch + 1
        async with pg() as session:
            count = await session.scalar(select(func.count()).select_from(ThrottleAttempt)
                                         .where(ThrottleAttempt.subject == name))
        assert count == 0  # the stale leader's write was never committed


async def test_a_term_that_cannot_start_does_not_end_the_campaign(postgres_target: DatabaseTarget) -> None:
    """The lock is won but the term row cannot be written (here: no `leader_terms` in the schema);
    the candidate keeps campaigning, and leads once the row can be written."""
    schema = f"hotline_lease_{uuid.uuid4().hex[:8]}"
    admin = postgres_target.engine()
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(postgres_target.url, connect_args={"server_settings": {"search_path": schema}})
    work = Work()
    candidate = Leadership(engine, f"test:{uuid.uuid4().hex[:8]}", holder="a", poll_seconds=0.2)
    task = asyncio.create_task(candidate.run(work.start))
    try:
        await asyncio.wait_for(candidate.first_round.wait(), 10)
        await asyncio.sleep(1.0)
        assert not task.done() and not candidate.leading
        async with engine.begin() as conn:
            await conn.run_sync(LeaderTerm.__table__.create)  # type: ignore[attr-defined]
        await asyncio.wait_for(work.started.wait(), 10)
        assert work.terms[0].epoch == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await engine.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()
