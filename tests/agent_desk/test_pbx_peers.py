"""Two PBXs at once, each a loopback peer answering as the recorded Asterisk did (tests/ami/peer.py),
replaying a different recorded call at the same time: Nanjing's PBX `call_answered`, Suzhou's
`call_abandoned`. Each PBX's live figures are what its capture alone gives, the province's their sum,
and the stored records carry each PBX's name. A restart, and a telephony takeover (the standby that
takes the PBXs over), start with today's counts of the stored records, equal to the figures before."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from agent_desk.app import create_app
from agent_desk.live.board import LiveBoard
from agent_desk.settings import Settings, load_settings
from agent_desk.wiring import adapter_parts
from ami.clock import StreamClock
from ami.model import LiveModel
from ami.replay import ReplaySource
from tests.agent_desk.conftest import NANJING, SUZHOU
from tests.ami.peer import Peer, Script
from tests.conftest import Database
from tests.pages.test_desk_shift import recorded_events
from ticketing.call_kpis import CallKpis, compute_call_kpis
from ticketing.models import CallRecord

pytestmark = pytest.mark.anyio
# PBX → (its city, the recorded call it replays, the ActionID of the Originate the call's events follow)
PBXS = {"nanjing": (NANJING, "call_answered", "call-answered-0002"),
        "suzhou": (SUZHOU, "call_abandoned", "abandon-0002")}
KPIS = set(CallKpis.model_fields)


def alone(fixtures: Path, pbx: str) -> dict[str, Any]:
    """The call KPIs of one PBX's capture, replayed on a board of its own."""
    board = LiveBoard(LiveModel(clock=StreamClock()))
    ReplaySource(fixtures / "ami" / f"{PBXS[pbx][1]}.jsonl", board.model, server=pbx).feed_all()
    return board.snapshot().totals.model_dump(include=KPIS)


def kpis(figures: Any) -> dict[str, Any]:
    return figures.model_dump(include=KPIS)


async def until(check: Callable[[], Any], seconds: float = 10.0) -> None:
    async with asyncio.timeout(seconds):
        while not await check():
            await asyncio.sleep(0.05)


@asynccontextmanager
async def peers(fixtures: Path) -> AsyncIterator[dict[str, tuple[Peer, Script]]]:
    ami = fixtures / "ami"
    running: dict[str, tuple[Peer, Script]] = {}
    try:
        for pbx, (_city, capture, _originate) in PBXS.items():
            script = Script.merge(ami / "login_and_status", ami / capture)
            peer = Peer(script)
            await peer.start()
            running[pbx] = (peer, script)
        yield running
    finally:
        for peer, _script in running.values():
            await peer.close()


def settings_for(db: Database, running: dict[str, tuple[Peer, Script]]) -> Settings:
    assert all(peer.server is not None for peer, _ in running.values())
    return load_settings(db={"url": db.target.url}, ami={
        "servers": [{"name": pbx, "port": peer.server.sockets[0].getsockname()[1],  # type: ignore[union-attr]
                     "secret": "hotline-secret", "city_code": PBXS[pbx][0]} for pbx, (peer, _) in running.items()],
        "ping_interval": 5, "action_timeout": 2, "backoff_initial": 0.1, "backoff_max": 0.2})


def leading(app: FastAPI) -> bool:
    return any(leadership.leading for leadership in app.state.desk.leaderships) or not app.state.desk.leaderships


async def both_calls(app: FastAPI, running: dict[str, tuple[Peer, Script]]) -> None:
    """Once both PBXs are resynced, each peer sends its recorded call, both at the same time."""
    board: LiveBoard = app.state.desk.board

    async def resynced() -> bool:
        return {view.server for view in board.queue_views()} == set(PBXS)

    await until(resynced)
    for pbx, (peer, script) in running.items():
        peer.push(recorded_events(script, PBXS[pbx][2]))

    async def stored() -> bool:
        async with app.state.desk.sessions() as session:
            return len((await session.scalars(select(CallRecord).where(CallRecord.final.is_(True)))).all()) == 2

    await until(stored)


async def test_two_pbxs_replay_different_calls_at_once(db: Database, fixtures_dir: Path) -> None:
    async with peers(fixtures_dir) as running:
        settings = settings_for(db, running)
        app = create_app(settings, engine=db.engine, parts=adapter_parts(settings), run_sweep=False)
        async with app.router.lifespan_context(app):
            await both_calls(app, running)
            snap = app.state.desk.board.snapshot()
        # Restarted, the product goes on from today's stored calls (the PBXs have nothing new to say).
        again = create_app(settings, engine=db.engine, parts=adapter_parts(settings), run_sweep=False)
        async with again.router.lifespan_context(again):
            restarted = again.state.desk.board.snapshot()
    assert [(p.name, kpis(p)) for p in restarted.pbx] == [(p.name, kpis(p)) for p in snap.pbx]
    assert [(p.name, p.city_code) for p in snap.pbx] == [("nanjing", NANJING), ("suzhou", SUZHOU)]
    for row in snap.pbx:
        assert kpis(row) == alone(fixtures_dir, row.name)
    assert (snap.totals.answered, snap.totals.abandoned, snap.totals.offered) == (1, 1, 2)
    assert snap.totals.answered_wait_seconds == sum(p.answered_wait_seconds for p in snap.pbx)
    assert snap.totals.logged_in == sum(p.logged_in for p in snap.pbx) > 0
    async with db.sessions() as session:
        records = (await session.scalars(select(CallRecord).order_by(CallRecord.server))).all()
    assert [(r.server, r.outcome.value) for r in records] == [("nanjing", "answered"), ("suzhou", "abandoned")]
    for row in snap.pbx:  # the live figures are the stored records' (the one definition, both ways)
        assert kpis(row) == compute_call_kpis([r for r in records if r.server == row.name]).overall.model_dump()


@pytest.mark.parametrize("db_target", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
async def test_the_standby_that_takes_over_goes_on_from_todays_stored_calls(db: Database, fixtures_dir: Path) -> None:
    """Two processes' telephony on PostgreSQL (one leader for the PBX set, `ticketing.leadership`):
    the first takes both calls; when it stops, the standby takes over and connects to the same
    PBXs, which have nothing new to say; its figures are those of before, not zero."""
    async with peers(fixtures_dir) as running, AsyncExitStack() as stack:
        settings = settings_for(db, running)
        first = create_app(settings, engine=db.engine, parts=adapter_parts(settings), run_sweep=False)
        standby = create_app(settings, engine=db.engine, parts=adapter_parts(settings), run_sweep=False)
        await stack.enter_async_context(first.router.lifespan_context(first))
        assert leading(first)
        async with standby.router.lifespan_context(standby):
            assert not leading(standby)
            await both_calls(first, running)
            before = first.state.desk.board.snapshot()
            await stack.aclose()  # the leader stops: its lock is freed

            async def took_over() -> bool:
                return leading(standby) and all(peer.connections == 2 for peer, _ in running.values())

            await until(took_over)
            after = standby.state.desk.board.snapshot()
    assert before.totals.offered == 2
    assert kpis(after.totals) == kpis(before.totals)
    assert [(p.name, kpis(p)) for p in after.pbx] == [(p.name, kpis(p)) for p in before.pbx]
    assert [a.linkedid for a in after.abandoned] == [a.linkedid for a in before.abandoned]
