"""The composition root: a replay drives the AMI adapter's model, the call records and the live board."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from agent_desk.app import create_app
from agent_desk.live.replay import bundled_capture
from agent_desk.settings import load_settings
from agent_desk.wiring import adapter_parts
from tests.conftest import Database
from ticketing.models import CallRecord

pytestmark = pytest.mark.anyio


async def test_replay_moves_board_and_call_records(db: Database) -> None:
    settings = load_settings(db={"url": db.target.url}, desk={"replay": {
        "file": str(bundled_capture()), "speed": 1000, "loop": False}})
    parts = adapter_parts(settings)
    assert len(parts) == 1
    app = create_app(settings, engine=db.engine, parts=parts, run_sweep=False)
    async with app.router.lifespan_context(app):
        desk = app.state.desk
        assert desk.board.mode == "replay"
        for _ in range(200):
            if desk.board.snapshot().totals.answered:
                break
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            board = (await http.get("/api/wallboard/snapshot")).json()
        assert board["mode"] == "replay" and board["totals"]["answered"] == 1
        for _ in range(200):
            async with desk.sessions() as session:
                if await session.scalar(select(func.count()).select_from(CallRecord)):
                    break
            await asyncio.sleep(0.05)
    async with db.sessions() as session:
        calls = (await session.scalars(select(CallRecord))).all()
    assert calls and {c.server for c in calls} == {"replay"}
    assert any(c.agent for c in calls)


async def test_ivr_part_listens_and_stops(db: Database) -> None:
    from tests.agent_desk.conftest import free_port

    port = free_port()
    settings = load_settings(db={"url": db.target.url}, ivr={"enabled": True, "host": "127.0.0.1", "port": port})
    parts = adapter_parts(settings)
    assert len(parts) == 1
    app = create_app(settings, engine=db.engine, parts=parts, run_sweep=False)
    async with app.router.lifespan_context(app):
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()
        await writer.wait_closed()
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)
