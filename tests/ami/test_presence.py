"""Queue memberships from recorded Asterisk bytes into the presence store, and the logged-in time
per local hour that staffing reports read from it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from ami import AmiRuntime
from ami.settings import AmiSettings
from tests.agent_desk.conftest import free_port
from tests.conftest import Database
from ticketing.calls import CallStore
from ticketing.models import AgentMembership
from ticketing.presence import PresenceStore

pytestmark = pytest.mark.anyio
LOGIN_AGENT4 = datetime.fromtimestamp(1795868643, UTC)  # the capture's QueueMemberAdded LoginTime


async def replay_into(db: Database, capture: Path) -> list[AgentMembership]:
    presence = PresenceStore(db.sessions)
    runtime = AmiRuntime.replay(capture, CallStore(db.sessions), speed=500.0, presence=presence)
    await runtime.start()
    assert runtime.source is not None
    for _ in range(500):
        await asyncio.sleep(0.01)
        if runtime.source.chunks_fed and all(t.done() for t in runtime._tasks if "replay" in t.get_name()):
            break
    await runtime.stop()
    async with db.sessions() as session:
        rows = await session.scalars(select(AgentMembership).order_by(AgentMembership.queue, AgentMembership.interface))
        return list(rows.all())


async def test_recorded_queue_add_and_remove_become_one_stored_membership(db: Database, fixtures_dir: Path) -> None:
    capture = fixtures_dir / "ami" / "agent_ops.jsonl"
    rows = await replay_into(db, capture)
    stays = {(r.queue, r.interface): r for r in rows}
    agent4 = stays["hotline-enterprise", "Local/agent4@agents"]
    assert agent4.member_name == "agent4" and agent4.logged_in_at == LOGIN_AGENT4
    assert agent4.logged_out_at is not None
    assert timedelta(0) < agent4.logged_out_at - LOGIN_AGENT4 < timedelta(minutes=5)
    # the static members QueueStatus listed are logged in still, since Asterisk's LoginTime
    static = [r for r in rows if r.queue == "hotline-12345"]
    assert {r.member_name for r in static} >= {"agent1", "agent2", "agent3"}
    assert all(r.logged_out_at is None for r in static)
    # replaying the same bytes again stores nothing twice
    again = await replay_into(db, capture)
    assert [(r.queue, r.interface, r.logged_in_at, r.logged_out_at) for r in again] == [
        (r.queue, r.interface, r.logged_in_at, r.logged_out_at) for r in rows]


async def test_logged_in_seconds_per_local_hour_count_an_agent_once_across_queues(db: Database) -> None:
    store = PresenceStore(db.sessions)
    t0 = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)  # 08:30 in Nanjing

    def stay(queue: str, interface: str, start: timedelta, end: timedelta | None) -> dict[str, object]:
        return {"server": "pbx1", "queue": queue, "interface": interface, "member_name": interface,
                "logged_in_at": t0 + start, "logged_out_at": None if end is None else t0 + end}

    await store.upsert_many([
        stay("q1", "PJSIP/1001", timedelta(0), timedelta(hours=1)),  # 08:30–09:30
        stay("q2", "PJSIP/1001", timedelta(minutes=15), timedelta(minutes=45)),  # inside: counted once
        stay("q2", "PJSIP/1002", timedelta(minutes=30), None),  # 09:00 on, still logged in
    ])
    hours = await store.logged_in_seconds(since=t0, until=t0 + timedelta(hours=3), now=t0 + timedelta(hours=2),
                                          queues=None, utc_offset_hours=8)
    assert hours == {"2026-11-23T08:00": 1800.0, "2026-11-23T09:00": 1800.0 + 3600.0,
                     "2026-11-23T10:00": 1800.0}  # ends at now (10:30)
    only_q1 = await store.logged_in_seconds(since=t0, until=t0 + timedelta(hours=3), now=t0 + timedelta(hours=2),
                                            queues=["q1"], utc_offset_hours=8)
    assert only_q1 == {"2026-11-23T08:00": 1800.0, "2026-11-23T09:00": 1800.0}
    # after a restart, what was open ends then; Asterisk's list reopens the still logged in by LoginTime
    await store.close_open(["pbx1"], t0 + timedelta(hours=1))
    await store.upsert_many([stay("q2", "PJSIP/1002", timedelta(minutes=30), None)])
    async with db.sessions() as session:
        still = (await session.scalars(select(AgentMembership).where(AgentMembership.logged_out_at.is_(None)))).all()
    assert [(s.queue, s.interface) for s in still] == [("q2", "PJSIP/1002")]
    with pytest.raises(ValueError, match="exactly the columns"):
        await store.upsert_many([{"server": "pbx1"}])


async def test_a_live_runtime_ends_what_its_servers_left_open_when_it_starts(db: Database) -> None:
    store = PresenceStore(db.sessions)
    start = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    await store.upsert_many([{"server": "pbx1", "queue": "q1", "interface": "PJSIP/1001", "member_name": "a",
                              "logged_in_at": start, "logged_out_at": None}])
    settings = AmiSettings.model_validate({"servers": [{"name": "pbx1", "port": free_port(), "secret": "x"}]})
    runtime = AmiRuntime(settings, CallStore(db.sessions), presence=store)
    await runtime.start()
    await runtime.stop()
    async with db.sessions() as session:
        [row] = (await session.scalars(select(AgentMembership))).all()
    assert row.logged_out_at is not None and row.logged_out_at > start
