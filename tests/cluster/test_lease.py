"""The leader's lease with real processes: a frozen leader (SIGSTOP) and a leader cut from the
database (a frozen TCP proxy between it and PostgreSQL) are replaced within 10 s, and never write
once replaced (docs/architecture.md, "Leadership")."""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import select
from sqlalchemy.engine import make_url

from tests.cluster.conftest import Cluster, until_leader
from tests.cluster.proxy import FreezableProxy
from ticketing.db import make_engine, make_session_factory
from ticketing.models import CallRecord

pytestmark = [pytest.mark.anyio, pytest.mark.postgres, pytest.mark.slow]
TELEPHONY = "telephony:replay"
CALLS = 100  # the calls in the load capture


async def _calls(db_url: str) -> list[tuple[int, str, object, bool]]:
    engine = make_engine(db_url)
    try:
        async with make_session_factory(engine)() as session:
            rows = await session.execute(select(CallRecord.id, CallRecord.linkedid, CallRecord.updated_at,
                                                CallRecord.final).order_by(CallRecord.id))
            return [(r.id, r.linkedid, r.updated_at, r.final) for r in rows]
    finally:
        await engine.dispose()


async def _leads(base: str, singleton: str) -> bool:
    async with httpx.AsyncClient() as client:
        text = (await client.get(base + "/metrics")).text
    return f'hotline_leader{{singleton="{singleton}"}} 1.0' in text


async def test_a_frozen_telephony_leader_is_replaced_and_writes_nothing_when_it_resumes(
        cluster: Cluster, redis: aioredis.Redis, fixtures_dir: Path) -> None:
    replay = {"HOTLINE_DESK__REPLAY__FILE": str(fixtures_dir / "ami" / "load.jsonl"),
              "HOTLINE_DESK__REPLAY__LOOP": "false", "HOTLINE_REDIS__PREFIX": f"lease{uuid.uuid4().hex[:8]}"}
    old = await cluster.start("telephony", env=replay | {"HOTLINE_DESK__REPLAY__SPEED": "1"})
    term, _ = await until_leader(cluster.db_url, TELEPHONY, old.pid, 20)
    standby = await cluster.start("telephony", env=replay | {"HOTLINE_DESK__REPLAY__SPEED": "8"})
    async with asyncio.timeout(30):
        while len(await _calls(cluster.db_url)) < 5:  # mid-capture
            await asyncio.sleep(0.2)
    old.process.send_signal(signal.SIGSTOP)
    try:
        new, took = await until_leader(cluster.db_url, TELEPHONY, standby.pid, 10)
        assert new.epoch > term.epoch and took < 10
        async with asyncio.timeout(60):  # the new leader replays the capture from its start
            while (calls := await _calls(cluster.db_url)) is not None and \
                    (len(calls) < CALLS or not all(final for *_, final in calls)):
                await asyncio.sleep(0.5)
    finally:
        old.process.send_signal(signal.SIGCONT)
    await old.out.wait_for(r"telephony:replay: .*stepping down", 20)
    await asyncio.sleep(3)  # its capture goes on; its writer tries, and is fenced
    assert not await _leads(old.base, TELEPHONY)
    assert await _leads(standby.base, TELEPHONY)
    after = await _calls(cluster.db_url)
    assert after == calls  # not one row written (nor rewritten) by the resumed old leader
    assert len({linkedid for _, linkedid, *_ in after}) == len(after) == CALLS


async def test_a_sweep_leader_cut_from_the_database_steps_down_before_the_standby_leads(cluster: Cluster) -> None:
    url = make_url(cluster.db_url)
    proxy = FreezableProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    try:
        cut_url = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        cut = await cluster.start("sweep", env={"HOTLINE_DB__URL": cut_url})
        term, _ = await until_leader(cluster.db_url, "sweep", cut.pid, 20)
        standby = await cluster.start("sweep")
        loop = asyncio.get_running_loop()
        stepped_down = asyncio.create_task(cut.out.wait_for(r"sweep: .*stepping down", 20))
        led = asyncio.create_task(standby.out.wait_for(r"sweep: leading \(term", 20))
        at: dict[str, float] = {}
        stepped_down.add_done_callback(lambda _: at.setdefault("stepped down", loop.time()))
        led.add_done_callback(lambda _: at.setdefault("led", loop.time()))
        proxy.freeze()
        frozen = loop.time()
        new, _ = await until_leader(cluster.db_url, "sweep", standby.pid, 10)
        assert new.epoch > term.epoch
        await asyncio.gather(stepped_down, led)
        assert frozen < at["stepped down"] < at["led"] < frozen + 10  # one leader at a time
        proxy.thaw()
        await asyncio.sleep(3)
        assert not await _leads(cut.base, "sweep") and await _leads(standby.base, "sweep")
    finally:
        proxy.thaw()
        await cluster.close()
        await proxy.close()
