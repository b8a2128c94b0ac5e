"""The split product's live path and its failover (issue 14), against the machine's Redis (6379)
and PostgreSQL (the `test` database).

1. Events through Redis: the recorded load capture (100 calls, 11,647 AMI events) fed as fast as the
   model takes it into a telephony board whose `Publisher` sends to a `Mirror` over Redis; the time
   until the mirror holds the last state, as AMI events/s and live messages/s. Floor: the same number
   of messages, each the size of the run's mean message, through bare redis-py PUBLISH → a pattern
   subscriber.
2. Pop latency across processes' path: an `AgentCall` published → the mirror's `on_call`, one at a
   time, p50/p95 over `--pops`. Floor: a bare PUBLISH → the subscriber's receipt.
3. Takeover: a candidate process (`Leadership` on its own, the default lease) leads, then is killed
   with SIGKILL, frozen with SIGSTOP, or cut from PostgreSQL (a frozen loopback TCP proxy between it
   and the server, `tests/cluster/proxy.py`), and the time until a standby in this process starts its
   term; p50/p95 over `--takeovers`. For the cut, also when the cut leader stopped its work (it
   steps down on its own, before the standby may take over).

    .venv/bin/python bench/cluster.py [--pops 200] [--takeovers 5] [--only takeover]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis.asyncio as aioredis
from common import emit, percentile, summary_ms
from sqlalchemy import text
from sqlalchemy.engine import make_url

from agent_desk.live.board import LiveBoard
from agent_desk.live.fanout import Mirror, MirrorBoard, Publisher
from ami.clock import StreamClock
from ami.events import AgentCall
from ami.model import LiveModel
from ami.replay import ReplaySource
from tests.cluster.proxy import FreezableProxy
from ticketing.db import make_engine
from ticketing.leadership import LEASE, Leadership, Stop, Term
from ticketing.models import LeaderTerm

REDIS = "redis://127.0.0.1:6379/0"
PG = os.environ.get("HOTLINE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
LOAD = ROOT / "tests" / "fixtures" / "asterisk" / "ami" / "load.jsonl"
CANDIDATE = """
import asyncio, sys
from ticketing.db import make_engine
from ticketing.leadership import Leadership

async def main():
    async def start(term):
        print("leading", flush=True)
        async def stop(): print("stopped", flush=True)
        return stop
    await Leadership(make_engine(sys.argv[1]), sys.argv[2], poll_seconds=0.2).run(start)

asyncio.run(main())
"""


async def _until(check: object, timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while not check():  # type: ignore[operator]
            await asyncio.sleep(0.001)


async def _follower(redis: aioredis.Redis, prefix: str, calls: list[float]) -> tuple[Mirror, asyncio.Task[None]]:
    async def on_call(_call: AgentCall) -> None:
        calls.append(time.perf_counter())

    mirror = Mirror(redis, MirrorBoard(), prefix=prefix, on_call=on_call)
    task = asyncio.create_task(mirror.run())
    await _until(lambda: mirror.board.redis_up)
    return mirror, task


async def throughput(redis: aioredis.Redis) -> dict[str, float]:
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    board = LiveBoard(LiveModel(clock=StreamClock()), mode="live")
    publisher = Publisher(redis, board, prefix=prefix, source="pbx", epoch=1, interval=0.0)
    mirror, task = await _follower(redis, prefix, [])
    publisher.start()
    source = ReplaySource(LOAD, board.model, server="pbx1", speed=0)
    started = time.perf_counter()
    await source.run()
    await _until(lambda: publisher.backlog() == 0)
    await asyncio.sleep(0.05)
    await _until(lambda: mirror.stats.sources.get("pbx") == (1, publisher.seq))
    took = time.perf_counter() - started
    events = source.parser.stats.messages + source.parser.stats.skipped
    applied, messages = sum(board.model.applied.values()), publisher.seq
    await publisher.stop()
    size = len(await redis.get(f"{prefix}:live:pbx:state") or b"")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    floor = await _bare_throughput(redis, messages, size)
    return {"ami_messages": events, "applied_to_the_model": applied, "live_messages": messages,
            "seconds": round(took, 3),
            "ami_messages_per_s": round(events / took), "live_messages_per_s": round(messages / took),
            "state_bytes": size, "bare_redis_messages_per_s": round(floor),
            "ratio_to_bare": round((messages / took) / floor, 3)}


async def _bare_throughput(redis: aioredis.Redis, count: int, size: int) -> float:
    pubsub = redis.pubsub()
    await pubsub.psubscribe("benchbare:*")
    while (await pubsub.get_message(timeout=1.0) or {}).get("type") != "psubscribe":
        pass
    payload = b"x" * size
    started = time.perf_counter()
    for _ in range(count):
        await redis.publish("benchbare:1", payload)
    received = 0
    while received < count:
        if await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0):
            received += 1
    took = time.perf_counter() - started
    await pubsub.aclose()
    return count / took


async def pop_latency(redis: aioredis.Redis, pops: int) -> dict[str, object]:
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    board = LiveBoard(LiveModel(), mode="live")
    publisher = Publisher(redis, board, prefix=prefix, source="pbx", epoch=1, interval=0.0)
    received: list[float] = []
    _mirror, task = await _follower(redis, prefix, received)
    publisher.start()
    samples = []
    call = AgentCall("pbx1", "connected", "hotline-12345", "Local/agent1@agents", "agent1", "1.1", "13800138000", None)
    for _ in range(pops):
        sent = time.perf_counter()
        board.model.publish(call)
        before = len(samples)
        await _until(lambda: len(received) > before)  # noqa: B023 — awaited in this iteration
        samples.append(received[-1] - sent)
        await asyncio.sleep(0.005)
    await publisher.stop()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    bare = await _bare_latency(redis, pops)
    return {"pops": pops, **summary_ms(samples), "bare_redis": summary_ms(bare),
            "ratio_p50_to_bare": round(percentile(samples, 50) / percentile(bare, 50), 2)}


async def _bare_latency(redis: aioredis.Redis, count: int) -> list[float]:
    pubsub = redis.pubsub()
    await pubsub.psubscribe("benchbare:*")
    while (await pubsub.get_message(timeout=1.0) or {}).get("type") != "psubscribe":
        pass
    samples = []
    for _ in range(count):
        sent = time.perf_counter()
        await redis.publish("benchbare:1", b"x" * 600)
        while not await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0):
            pass
        samples.append(time.perf_counter() - sent)
    await pubsub.aclose()
    return samples


async def takeover(rounds: int, how: str) -> dict[str, object]:
    """`how`: kill_9, sigstop or network_cut."""
    database = f"hotline_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{database}"'))
    url = PG.rsplit("/", 1)[0] + "/" + database
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(LeaderTerm.__table__.create)  # type: ignore[attr-defined]
    samples, stepped_down = [], []
    pg = make_url(url)
    proxy = FreezableProxy(pg.host or "127.0.0.1", pg.port or 5432)
    await proxy.start()
    leader_url = pg.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    try:
        for _ in range(rounds):
            name = f"bench:{uuid.uuid4().hex[:8]}"
            leader = await asyncio.create_subprocess_exec(
                sys.executable, "-c", CANDIDATE, leader_url, name, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": str(ROOT)})
            assert leader.stdout is not None
            assert (await asyncio.wait_for(leader.stdout.readline(), 60)).strip() == b"leading"
            led = asyncio.Event()

            async def start(_term: Term, led: asyncio.Event = led) -> Stop:
                led.set()

                async def stop() -> None:
                    pass

                return stop

            standby = asyncio.create_task(Leadership(engine, name, poll_seconds=1.0).run(start))
            await asyncio.sleep(1.5)
            assert not led.is_set()
            struck = time.perf_counter()
            if how == "network_cut":
                proxy.freeze()
            else:
                leader.send_signal(signal.SIGKILL if how == "kill_9" else signal.SIGSTOP)
            if how == "network_cut":
                assert (await asyncio.wait_for(leader.stdout.readline(), 30)).strip() == b"stopped"
                stepped_down.append(time.perf_counter() - struck)
            await asyncio.wait_for(led.wait(), 30)
            samples.append(time.perf_counter() - struck)
            proxy.thaw()
            with contextlib.suppress(ProcessLookupError):  # kill_9: gone already
                leader.send_signal(signal.SIGKILL)
            await leader.wait()
            standby.cancel()
            await asyncio.gather(standby, return_exceptions=True)
    finally:
        proxy.thaw()
        await engine.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        await admin.dispose()
        await proxy.close()
    result: dict[str, object] = {"rounds": rounds, "poll_seconds": 1.0, "lease_seconds": LEASE, **summary_ms(samples)}
    if stepped_down:
        result["cut_leader_stepped_down"] = summary_ms(stepped_down)
    return result


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pops", type=int, default=200)
    parser.add_argument("--takeovers", type=int, default=5)
    parser.add_argument("--only", choices=["takeover"], help="only the takeovers")
    args = parser.parse_args()
    result: dict[str, object] = {}
    if args.only is None:
        redis = aioredis.from_url(REDIS)
        try:
            result |= {"throughput": await throughput(redis), "pop_latency": await pop_latency(redis, args.pops)}
        finally:
            await redis.aclose()
    for how in ("kill_9", "sigstop", "network_cut"):
        result[f"takeover_after_{how}"] = await takeover(args.takeovers, how)
    result["load_average"] = os.getloadavg()
    emit("cluster", result)


if __name__ == "__main__":
    asyncio.run(main())
