"""Live events across processes: 2 `api` + 2 `telephony` (leader and standby) over PostgreSQL and
a real Redis, the leader connected to the loopback AMI peer answering as the recorded Asterisk.

A call the leader sees pops on the screen of an agent connected to the *other* API process within
1 s; the agent's pause on that API process reaches the PBX through the leader; both API processes
show the same figures; kill -9 the leader and the standby takes over the
PBX; restart Redis and the wallboard says stale, then recovers by itself with the right figures.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent_desk.accounts import NewUser, add_kiosk_key, add_user
from tests.ami.peer import Peer, Script
from tests.cluster.conftest import Cluster, Node, RedisServer
from tests.pages.test_desk_shift import recorded_events
from ticketing.db import make_engine, make_session_factory
from ticketing.models import LeaderTerm, Role

pytestmark = [pytest.mark.anyio, pytest.mark.postgres, pytest.mark.slow]
AGENT = "Local/agent1@agents"
CALL = "rbq-0005"  # the recorded call Asterisk connects to agent1


@pytest.fixture
async def script(fixtures_dir: Path) -> Script:
    ami = fixtures_dir / "ami"
    return Script.merge(ami / "login_and_status", ami / "redirect_bridged_to_queue", ami / "agent_ops")


@pytest.fixture
async def peer(script: Script) -> AsyncIterator[Peer]:
    peer = Peer(script)
    await peer.start()
    yield peer
    await peer.close()


async def _db_setup(url: str) -> str:
    engine = make_engine(url)
    try:
        sessions = make_session_factory(engine)
        await add_user(sessions, NewUser("agent1", Role.AGENT, "agent1-password-long", agent_interface=AGENT))
        return await add_kiosk_key(sessions, "wall")
    finally:
        await engine.dispose()


async def _leader_pid(url: str, name: str) -> int | None:
    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            row = await session.get(LeaderTerm, name)
            return int(row.holder.rsplit(":", 1)[1]) if row else None
    finally:
        await engine.dispose()


async def _until(check: Any, timeout: float, what: str) -> float:
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            while not await check():
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"not within {timeout} s: {what}") from None
    return time.monotonic() - started


async def _board(client: httpx.AsyncClient, node: Node, kiosk: str) -> dict[str, Any]:
    response = await client.get(node.base + "/api/wallboard/snapshot", headers={"X-Kiosk-Key": kiosk})
    assert response.status_code == 200, response.text
    board: dict[str, Any] = response.json()
    return board


class PopStream:
    """An agent's screen-pop SSE stream, read in the background."""

    def __init__(self, client: httpx.AsyncClient, url: str, token: str) -> None:
        self.pops: list[tuple[float, dict[str, Any]]] = []
        self.hello = asyncio.Event()
        self._task = asyncio.create_task(self._read(client, url, token))

    async def _read(self, client: httpx.AsyncClient, url: str, token: str) -> None:
        async with client.stream("GET", url, headers={"Authorization": f"Bearer {token}"},
                                 timeout=httpx.Timeout(5, read=None)) as response:
            assert response.status_code == 200
            event = None
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    if event == "hello":
                        self.hello.set()
                    elif event == "pop":
                        self.pops.append((time.monotonic(), json.loads(line[6:])))

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def test_pops_and_figures_cross_processes_survive_a_kill_9_and_a_redis_restart(
        cluster: Cluster, peer: Peer, script: Script, redis_server: RedisServer) -> None:
    assert peer.server is not None
    ami_port = peer.server.sockets[0].getsockname()[1]
    cluster.settings = {
        "HOTLINE_AMI__SERVERS": json.dumps([{"name": "pbx1", "port": ami_port, "secret": "hotline-secret"}]),
        "HOTLINE_REDIS__URL": redis_server.url, "HOTLINE_REDIS__PREFIX": f"t{uuid.uuid4().hex[:8]}",
    }
    kiosk = await _db_setup(cluster.db_url)
    leader = await cluster.start("telephony")
    await _until(lambda: _async(peer.connections == 1), 15, "the leader connects to the PBX")
    standby = await cluster.start("telephony")
    api_a = await cluster.start("api")
    api_b = await cluster.start("api")
    assert await _leader_pid(cluster.db_url, "telephony:pbx1") == leader.pid
    async with httpx.AsyncClient(timeout=10) as client:
        # Both API processes mirror the leader's board (the resync listed agent1 in hotline-12345).
        for api in (api_a, api_b):
            await _until(lambda api=api: _has_agents(client, api, kiosk), 15, "the board reaches the API")
        login = await client.post(api_b.base + "/api/auth/login",
                                  json={"username": "agent1", "password": "agent1-password-long"})
        token = login.json()["access_token"]
        stream = PopStream(client, api_b.base + "/api/agent/screen-pop", token)
        try:
            await asyncio.wait_for(stream.hello.wait(), 10)
            sent = time.monotonic()
            peer.push(recorded_events(script, CALL))  # the leader sees the call …
            await _until(lambda: _async(bool(stream.pops)), 5, "a screen pop on API B")
            latency = stream.pops[0][0] - sent
            assert latency < 1.0, latency  # … and the agent on the other process has it within 1 s
            assert stream.pops[0][1]["interface"] == AGENT
        finally:
            await stream.close()

        # The agent pauses on API B: the telephony leader sends QueuePause to the PBX.
        paused = await client.post(api_b.base + "/api/agent/pause", json={"reason": "training"},
                                   headers={"Authorization": f"Bearer {token}"})
        assert paused.status_code == 202, paused.text
        pause = [r for r in peer.received if r.get("Action") == "QueuePause"][-1]
        assert (pause["Interface"], pause["Paused"], pause.get("Reason")) == (AGENT, "true", "training")

        async def same_figures() -> bool:
            a, b = await _board(client, api_a, kiosk), await _board(client, api_b, kiosk)
            return a["totals"] == b["totals"] and a["totals"]["offered"] >= 1 and not a["stale"]

        await _until(same_figures, 5, "both API processes show the call")
        before = (await _board(client, api_a, kiosk))["totals"]

        # kill -9 the leader: the standby takes the PBX over, the board is live again.
        leader.kill9()
        took = await _until(lambda: _is_leader(cluster.db_url, standby.pid), 10, "the standby leads")
        await _until(lambda: _async(peer.connections == 2), 10, "the standby connects to the PBX")
        await _until(lambda: _has_agents(client, api_a, kiosk), 10, "the new leader's board reaches the API")
        print(f"takeover after kill -9: {took:.2f} s; pop latency across processes: {latency * 1000:.0f} ms")

        # Restart Redis: the board says stale, then recovers by itself.
        assert (await client.get(api_a.base + "/readyz")).status_code == 200
        assert (await client.get(standby.base + "/readyz")).json()["checks"]["ami:pbx1"] is True
        await redis_server.stop()
        await _until(lambda: _stale(client, api_a, kiosk, True), 10, "the board says stale")
        not_ready = await client.get(api_a.base + "/readyz")
        assert not_ready.status_code == 503 and not_ready.json()["checks"]["redis"] is False
        await redis_server.start()
        await _until(lambda: _stale(client, api_a, kiosk, False), 15, "the board recovers")
        assert (await client.get(api_a.base + "/readyz")).status_code == 200
        await _until(lambda: _has_agents(client, api_b, kiosk), 10, "API B recovers too")
        after = (await _board(client, api_b, kiosk))["totals"]
        assert after["logged_in"] == before["logged_in"]


async def _async(value: bool) -> bool:
    return value


async def _has_agents(client: httpx.AsyncClient, api: Node, kiosk: str) -> bool:
    board = await _board(client, api, kiosk)
    return not board["stale"] and board["totals"]["logged_in"] >= 1


async def _stale(client: httpx.AsyncClient, api: Node, kiosk: str, wanted: bool) -> bool:
    return bool((await _board(client, api, kiosk))["stale"]) is wanted


async def _is_leader(url: str, pid: int) -> bool:
    return await _leader_pid(url, "telephony:pbx1") == pid
