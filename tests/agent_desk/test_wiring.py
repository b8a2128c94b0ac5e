"""The composition root: a replay drives the AMI adapter's model, the call records and the live board."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from agent_desk.accounts import add_kiosk_key
from agent_desk.app import create_app
from agent_desk.live.replay import DEMO_CALL_LINKEDID, bundled_capture
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
        # The bundled capture's redirected caller (answered by agent3), then the demo agent's call.
        for _ in range(400):
            if desk.board.snapshot().totals.answered == 2:
                break
            await asyncio.sleep(0.02)
        kiosk = {"X-Kiosk-Key": await add_kiosk_key(desk.sessions, "wall")}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            board = (await http.get("/api/wallboard/snapshot", headers=kiosk)).json()
        assert board["mode"] == "replay" and board["totals"]["answered"] == 2
        for _ in range(200):
            async with desk.sessions() as session:
                if await session.scalar(select(func.count()).select_from(CallRecord)):
                    break
            await asyncio.sleep(0.05)
    async with db.sessions() as session:
        calls = (await session.scalars(select(CallRecord))).all()
    assert calls and {c.server for c in calls} == {"replay"}
    assert any(c.agent for c in calls)
    assert DEMO_CALL_LINKEDID in {c.linkedid for c in calls}


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


async def test_a_live_pbx_is_driven_from_the_desk(db: Database, fixtures_dir: Path) -> None:
    """The live branch: the AMI runtime against a loopback peer that answers as the recorded Asterisk,
    its model teed into the desk's board, and the agent's HTTP actions reaching it as AMI actions."""
    from agent_desk.security.passwords import hash_password
    from agent_desk.wiring import AmiTelephony
    from tests.ami.peer import Peer, Script
    from ticketing.models import Role, User

    peer = Peer(Script.merge(fixtures_dir / "ami" / "login_and_status", fixtures_dir / "ami" / "agent_ops"))
    port = await peer.start()
    settings = load_settings(
        db={"url": db.target.url}, desk={"auth": {"jwt_secret": "test-secret-of-sufficient-length-32b"}},
        ami={"servers": [{"name": "pbx1", "port": port, "secret": "hotline-secret"}],
             "ping_interval": 5, "action_timeout": 2})
    app = create_app(settings, engine=db.engine, parts=adapter_parts(settings), run_sweep=False)
    try:
        async with app.router.lifespan_context(app):
            desk = app.state.desk
            assert isinstance(desk.telephony, AmiTelephony) and desk.board.mode == "live"
            for _ in range(100):  # the resync after login fills the board
                if "Local/agent1@agents" in desk.board.members():
                    break
                await asyncio.sleep(0.02)
            assert "Local/agent1@agents" in desk.board.members()
            async with desk.sessions.begin() as session:
                user = User(username="agent4", role=Role.AGENT, password_hash=hash_password("pw-pw-pw-pw-pw"),
                            display_name="agent4", agent_interface="Local/agent4@agents", active=True,
                            token_generation=0)
                session.add(user)
            token = (await desk.logins.start(user)).access.token
            auth = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
                login = await http.post("/api/agent/queues/hotline-enterprise/login", headers=auth)
                assert login.status_code == 202, login.text
                pause = await http.post("/api/agent/pause", json={"reason": "lunch-break"}, headers=auth)
                assert pause.status_code == 202, pause.text
                status = (await http.get("/api/agent/status", headers=auth)).json()
            member = status["queues"]["hotline-enterprise"]
            assert member["state"] == "paused" and member["paused_reason"] == "lunch-break"
            sent = {a["Action"]: a for a in peer.received}
            assert sent["QueueAdd"]["MemberName"] == "agent4"
            assert sent["QueuePause"]["Reason"] == "lunch-break"
    finally:
        await peer.close()
