"""The wallboard of a split API process: "stale" in words while its live feed is away, then the
telephony leader's figures once a state arrives (the mirror board, `agent_desk/live/fanout.py`)."""

from __future__ import annotations

import pytest

from agent_desk.accounts import add_kiosk_key
from agent_desk.app import create_app
from agent_desk.live.board import LiveBoard
from agent_desk.live.fanout import Message, MirrorBoard, source_state
from agent_desk.live.replay import bundled_capture, demo_captures
from agent_desk.settings import load_settings
from ami.clock import StreamClock
from ami.model import LiveModel
from ami.replay import ReplaySource
from tests.agent_desk.conftest import LiveServer, free_port
from tests.conftest import Database
from tests.pages.conftest import JWT_SECRET, Shots, assert_no_page_errors, open_page
from ticketing.models import utcnow

pytestmark = [pytest.mark.anyio, pytest.mark.browser, pytest.mark.slow]
WALL = {"width": 1920, "height": 1080}


def _leader_state() -> Message:
    """What a telephony leader publishes after the bundled demo capture (two answered calls)."""
    leader = LiveBoard(LiveModel(clock=StreamClock()), mode="live")
    for capture in demo_captures(bundled_capture()):
        ReplaySource(capture, leader.model, server="pbx1").feed_all()
    state = source_state(leader)
    return Message(source="telephony:pbx1", epoch=1, seq=1, kind="state", at=utcnow(), state=state)


async def test_the_wallboard_says_stale_until_the_feed_is_back(db: Database, browser: object, shots: Shots) -> None:
    settings = load_settings(db={"url": db.target.url}, desk={"auth": {"jwt_secret": JWT_SECRET}})
    board = MirrorBoard()
    app = create_app(settings, engine=db.engine, board=board, run_sweep=False)
    async with app.router.lifespan_context(app):
        server = LiveServer(app, free_port())
        await server.start()
        try:
            key = await add_kiosk_key(app.state.desk.sessions, "hall")
            page = await open_page(browser, WALL)
            await page.goto(f"{server.url}/wallboard#kiosk={key}")
            await page.wait_for_selector("body[data-stale=true]")
            assert "STALE" in await page.inner_text("#mode") and "过时" in await page.inner_text("#mode")
            await shots(page, "stale")

            board.redis_up = True  # the mirror follows Redis again and the leader's state arrives
            board.take(_leader_state())
            await page.wait_for_selector("body[data-stale=false]", timeout=5000)
            assert "LIVE" in await page.inner_text("#mode")
            assert await page.inner_text("[data-field=answered]") == "2"
            await shots(page, "live-again")
            assert_no_page_errors(page)
        finally:
            await server.stop()
