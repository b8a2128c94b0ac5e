"""The wallboard: SSE updates within 1 s of an AMI event, reconnection, and the page in real Chromium."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest

from agent_desk.live.board import LiveBoard
from ami.replay import ReplaySource
from tests.agent_desk.conftest import DeskClient, LiveServer

pytestmark = pytest.mark.anyio
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
JOIN = {"Event": "QueueCallerJoin", "Queue": "hotline-12345", "Uniqueid": "1.1", "Linkedid": "1.1",
        "CallerIDNum": "13912345678", "Position": "1"}


@pytest.fixture
def board() -> LiveBoard:
    return LiveBoard(mode="replay", source="agent_ops.jsonl")


async def read_snapshots(response: httpx.Response):  # type: ignore[no-untyped-def]
    event = None
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and event == "snapshot":
            yield json.loads(line.split(":", 1)[1])


@pytest.mark.parametrize("db_target", ["sqlite"], indirect=True)
async def test_stream_pushes_within_a_second_of_an_event(client: DeskClient, live_server: LiveServer,
                                                         board: LiveBoard) -> None:
    async with (httpx.AsyncClient(base_url=live_server.url, timeout=10) as http,
                http.stream("GET", "/api/wallboard/stream", headers=client.kiosk) as response):
        snapshots = read_snapshots(response)
        first = await anext(snapshots)
        assert first["mode"] == "replay" and first["totals"]["waiting"] == 0
        sent = time.monotonic()
        board.model.apply("pbx", JOIN)
        second = await asyncio.wait_for(anext(snapshots), 1.0)
        assert time.monotonic() - sent < 1.0
        assert second["totals"]["waiting"] == 1 and second["queues"][0]["name"] == "hotline-12345"


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("db_target", ["sqlite"], indirect=True)
async def test_wallboard_in_headless_chromium(client: DeskClient, live_server: LiveServer, board: LiveBoard,
                                              fixtures_dir: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (make system-deps)")
    from playwright.async_api import async_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = await browser.new_page(viewport={"width": 1920, "height": 1080})
            await page.goto(f"{live_server.url}/wallboard#kiosk={client.kiosk_key}")
            await page.wait_for_function("() => document.body.dataset.connection === 'live'", timeout=5000)
            assert "REPLAY" in await page.inner_text("#mode")
            # An AMI event reaches the page within a second.
            sent = time.monotonic()
            board.model.apply("pbx", JOIN)
            await page.wait_for_function(
                "() => document.querySelector('[data-field=waiting]').textContent === '1'", timeout=1000)
            assert time.monotonic() - sent < 1.0
            # A whole recorded call: answered, then an abandoned caller appears masked.
            for name in ("call_answered", "call_abandoned", "exit_with_key"):
                ReplaySource(fixtures_dir / "ami" / f"{name}.recv", board.model, server="pbx").feed_all()
            await page.wait_for_function(
                "() => document.querySelector('#abandoned-list').textContent.includes('hotline-enterprise')",
                timeout=2000)
            abandoned = await page.inner_text("#abandoned-list")
            assert "*" in abandoned and "13800138000" not in abandoned
            assert await page.inner_text("[data-field=answered]") == "1"
            # Callers who left otherwise count against the answer rate, so the board shows them.
            assert (await page.inner_text("[data-field=exit_with_key]"),
                    await page.inner_text("[data-field=timeout]")) == ("1", "0")
            status = await page.inner_text("[data-field=answer_status]")
            assert "target" in status  # the gauge says it in words, not only in colour
            assert "南京" in await page.inner_text("#city-lights")
            assert "none" in await page.inner_text("#hotspot-list")
            # Text is wall-sized.
            size = await page.evaluate(
                "parseFloat(getComputedStyle(document.querySelector('.figure .value')).fontSize)")
            assert size >= 48
            await page.screenshot(path=str(ARTIFACTS / "wallboard.png"), full_page=True)

            # The connection drops: the page says so, then comes back by itself.
            await live_server.stop()
            await page.wait_for_function("() => document.body.dataset.connection === 'reconnecting'", timeout=5000)
            assert "reconnecting" in await page.inner_text("#connection")
            before = board.snapshot().totals.waiting
            board.model.apply("pbx", {**JOIN, "Uniqueid": "1.2", "Linkedid": "1.2", "Position": "2"})
            waiting = board.snapshot().totals.waiting
            assert waiting == before + 1
            await live_server.start()
            await page.wait_for_function(
                f"() => document.querySelector('[data-field=waiting]').textContent === '{waiting}'", timeout=8000)
            assert await page.evaluate("document.body.dataset.connection") == "live"
            await page.screenshot(path=str(ARTIFACTS / "wallboard-reconnected.png"))
        finally:
            await browser.close()


@pytest.mark.parametrize("db_target", ["sqlite"], indirect=True)
async def test_screen_pop_stream_over_http(client: DeskClient, live_server: LiveServer, board: LiveBoard,
                                           fixtures_dir: Path) -> None:
    async with (httpx.AsyncClient(base_url=live_server.url, timeout=10) as http,
                http.stream("GET", "/api/agent/screen-pop", headers=client.auth("agent1")) as response):
        assert response.status_code == 200
        lines = response.aiter_lines()
        event = None
        async for line in lines:
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            if line.startswith("data:") and event == "hello":
                break
        ReplaySource(fixtures_dir / "ami" / "call_answered.recv", board.model, server="pbx").feed_all()
        kinds = []
        async for line in lines:
            if line.startswith("data:"):
                pop = json.loads(line.split(":", 1)[1])
                kinds.append(pop["kind"])
                assert pop["caller_number"] == "13800138000" and pop["interface"] == "Local/agent1@agents"
                if len(kinds) == 3:
                    break
        assert kinds == ["ringing", "connected", "completed"]
    # Another agent's stream stays quiet, and a non-agent cannot open one.
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        response = await http.get("/api/agent/screen-pop", headers=client.auth("dispatcher"))
        assert response.status_code == 403
