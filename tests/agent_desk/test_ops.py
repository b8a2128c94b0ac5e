"""`/metrics`, `/healthz` and `/readyz` of one process, on both databases: the live board's figures
(a replay of the bundled capture), HTTP latency by route template, and readiness following the
database."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from agent_desk.app import create_app
from agent_desk.live.replay import bundled_capture
from agent_desk.settings import load_settings
from agent_desk.wiring import adapter_parts
from tests.conftest import Database

pytestmark = pytest.mark.anyio


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_metrics_show_the_live_board_and_http_latency_by_route(db: Database) -> None:
    settings = load_settings(db={"url": db.target.url}, desk={"replay": {
        "file": str(bundled_capture()), "speed": 1000, "loop": False}})
    app = create_app(settings, engine=db.engine, parts=adapter_parts(settings), run_sweep=False)
    async with app.router.lifespan_context(app):
        desk = app.state.desk
        async with asyncio.timeout(60):  # the replay's two answered calls (slow only on a loaded machine)
            while desk.board.snapshot().totals.answered < 2:
                await asyncio.sleep(0.02)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            assert (await http.get("/api/tickets/12345")).status_code == 401
            assert (await http.get("/healthz")).json() == {"status": "ok"}
            ready = await http.get("/readyz")
            assert ready.status_code == 200 and ready.json() == {"ready": True, "checks": {"database": True}}
            response = await http.get("/metrics")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
        samples = _samples(response.text)
    assert samples[("hotline_calls_total", frozenset({("pbx", "replay"), ("outcome", "answered")}))] == 2
    assert samples[("hotline_live_stale", frozenset())] == 0
    assert samples[("hotline_ami_events_total", frozenset({("pbx", "replay")}))] > 0
    members = {labels for name, labels in samples if name == "hotline_queue_agents"}
    assert frozenset({("pbx", "replay"), ("queue", "hotline-12345"), ("state", "logged_in")}) in members
    route = frozenset({("method", "GET"), ("route", "/api/tickets/{ticket_id}"), ("status", "4xx"), ("le", "+Inf")})
    assert samples[("hotline_http_request_duration_seconds_bucket", route)] >= 1  # the template, not the id


async def test_readiness_is_false_while_the_database_is_away(db: Database) -> None:
    settings = load_settings(db={"url": db.target.url})
    app = create_app(settings, engine=db.engine, run_sweep=False)
    async with app.router.lifespan_context(app):
        app.state.desk.sessions = lambda: _Failing()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
            ready = await http.get("/readyz")
            alive = await http.get("/healthz")
    assert ready.status_code == 503 and ready.json() == {"ready": False, "checks": {"database": False}}
    assert alive.status_code == 200


class _Failing:
    async def __aenter__(self) -> None:
        raise OSError("connection refused")

    async def __aexit__(self, *_: object) -> None:
        return None


@pytest.mark.slow
async def test_metrics_add_up_over_workers(tmp_path: Path) -> None:
    """`serve --workers 2`: whichever worker answers the scrape counts every worker's requests."""
    from tests.agent_desk.conftest import free_port
    from tests.agent_desk.test_cli import _schema

    url = f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
    await _schema(url)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOTLINE_", "PROMETHEUS_"))} | {
        "HOTLINE_CONFIG": str(tmp_path / "absent.toml"), "HOTLINE_DB__URL": url,
        "HOTLINE_DESK__AUTH__JWT_SECRET": "workers-test-secret-0123456789abcdef"}
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "hotline"), "serve", "--workers", "2", "--port", str(port), env=env,
        cwd=tmp_path, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            async with asyncio.timeout(60):
                while True:
                    try:
                        if (await http.get("/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.2)
            for _ in range(40):  # new connections: spread over both workers
                async with httpx.AsyncClient() as one:
                    assert (await one.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200

            async def healthz_count() -> float:
                async with httpx.AsyncClient() as one:  # a new connection: either worker answers
                    samples = _samples((await one.get(f"http://127.0.0.1:{port}/metrics")).text)
                return samples[("hotline_http_request_duration_seconds_count",
                                frozenset({("method", "GET"), ("route", "/healthz"), ("status", "2xx")}))]

            async with asyncio.timeout(10):  # a worker records a request as it finishes, after its answer left
                while await healthz_count() < 41:
                    await asyncio.sleep(0.1)
            counts = [await healthz_count() for _ in range(6)]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()
    assert min(counts) >= 41  # every worker's /healthz, not one worker's share
