"""Ticket changes across processes: two `api` processes and a `sweep` over PostgreSQL and Redis.

A case taken and dispatched through API A reaches the change stream of a dispatcher connected to
API B, and A's own stream once (not again from Redis); the sweep process's 督办 reaches both.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import update

from agent_desk.accounts import NewUser, add_user
from tests.agent_desk.conftest import SUZHOU, XUANWU
from tests.agent_desk.test_workbench import read_changes
from tests.cluster.conftest import Cluster, Node
from ticketing.db import make_engine, make_session_factory
from ticketing.models import Role, Ticket, utcnow
from ticketing.sweep import SWEEP_ACTOR

pytestmark = [pytest.mark.anyio, pytest.mark.postgres, pytest.mark.slow]
PASSWORD = "cluster-password-long"


async def _users(url: str) -> None:
    engine = make_engine(url)
    try:
        sessions = make_session_factory(engine)
        await add_user(sessions, NewUser("agent1", Role.AGENT, PASSWORD, agent_interface="PJSIP/1001"))
        await add_user(sessions, NewUser("dispatcher", Role.DISPATCHER, PASSWORD))
    finally:
        await engine.dispose()


async def _overdue(url: str, ticket_id: int) -> None:
    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session, session.begin():
            await session.execute(update(Ticket).where(Ticket.id == ticket_id)
                                  .values(sign_due_at=utcnow() - timedelta(minutes=1)))
    finally:
        await engine.dispose()


async def _token(client: httpx.AsyncClient, node: Node, username: str) -> str:
    login = await client.post(node.base + "/api/auth/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return str(login.json()["access_token"])


async def test_a_change_through_one_api_process_and_the_sweeps_breach_reach_the_others_streams(
        cluster: Cluster, redis: aioredis.Redis) -> None:
    await _users(cluster.db_url)
    cluster.settings |= {"HOTLINE_REDIS__PREFIX": f"relay{uuid.uuid4().hex[:8]}",
                         "HOTLINE_TICKETING__SLA__SWEEP_INTERVAL_SECONDS": "1"}
    api_a = await cluster.start("api")
    api_b = await cluster.start("api")
    await cluster.start("sweep")
    async with httpx.AsyncClient(timeout=10) as client:
        on_b = asyncio.create_task(read_changes(api_b.base, await _token(client, api_b, "dispatcher"), 3))
        on_a = asyncio.create_task(read_changes(api_a.base, await _token(client, api_a, "dispatcher"), 3))
        await asyncio.sleep(1.0)  # both streams are open
        agent, dispatcher = await _token(client, api_a, "agent1"), await _token(client, api_a, "dispatcher")
        created = await client.post(api_a.base + "/api/tickets", headers={"Authorization": f"Bearer {agent}"}, json={
            "category": "complaint", "description": "玄武区停水，苏州的供水公司负责的管道", "region_code": XUANWU,
            "caller_number": "13800138000"})
        assert created.status_code == 201, created.text
        tid = int(created.json()["id"])
        sent = await client.post(api_a.base + f"/api/tickets/{tid}/actions/dispatch",
                                 headers={"Authorization": f"Bearer {dispatcher}"},
                                 json={"lead_unit_id": f"dept:{XUANWU}:water_supply",
                                       "co_handler_ids": [f"dept:{SUZHOU}:water_supply"]})
        assert sent.status_code == 200, sent.text
        await _overdue(cluster.db_url, tid)  # the sweep process raises its 督办 within its 1 s interval
        seen_b, seen_a = await asyncio.wait_for(asyncio.gather(on_b, on_a), 20)
    for seen in (seen_b, seen_a):  # each change once, in order, wherever it was made
        assert [(c["ticket_id"], c["action"]) for c in seen][1:] == [(tid, "dispatch"), (tid, "supervise")]
        assert seen[0]["ticket_id"] == tid and seen[2]["actor"] == SWEEP_ACTOR
