"""Screen-pop latency: from AgentConnect written on the AMI socket to the pop painted in the desk page.

The product runs as in production on one machine: `create_app` with its AMI adapter connected to a
loopback peer that answers as the recorded Asterisk (tests/ami/peer.py), uvicorn on 127.0.0.1, SQLite,
and the agent's /desk open in Debian's chromium (Playwright). Each round, the peer writes the recorded
`call_answered` events up to and including AgentConnect (agent1) in one write; the page records the
moment it painted the pop (`window.deskPaints`, in the rAF after rendering). Latency = paint time −
write time (same wall clock). Then the rest of the call (AgentComplete, hang-ups) is written.
Target (issue 11): p95 < 300 ms over 100 calls.

    .venv/bin/python bench/screen_pop.py [--calls 100] [--warmup 5]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import uvicorn
from common import emit, summary_ms

from agent_desk.accounts import NewUser, add_user
from agent_desk.app import create_app
from agent_desk.settings import load_settings
from agent_desk.wiring import adapter_parts
from tests.ami.peer import Peer, Script
from ticketing.db import make_engine, make_session_factory
from ticketing.models import Base, Role
from ticketing.seed import seed_reference_data

FIXTURES = ROOT / "tests" / "fixtures" / "asterisk" / "ami"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "bench-password-1"


def call_events() -> tuple[bytes, bytes]:
    """call_answered's events as Asterisk sent them, split after AgentConnect."""
    script = Script.load(FIXTURES / "call_answered")
    originate = next(aid for aid, fields in script.actions if fields.get("Action") == "Originate")
    blocks = [b for b in script.replies[originate] if not b.startswith("Response:")]
    cut = next(i for i, b in enumerate(blocks) if b.startswith("Event: AgentConnect")) + 1
    return _wire(blocks[:cut]), _wire(blocks[cut:])


def _wire(blocks: list[str]) -> bytes:
    return "".join(b + "\r\n\r\n" for b in blocks).encode()


async def run(calls: int, warmup: int) -> dict[str, object]:
    from playwright.async_api import async_playwright

    tmp = tempfile.mkdtemp(prefix="screen-pop-bench-")
    url = f"sqlite+aiosqlite:///{tmp}/bench.db"
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    sessions = make_session_factory(engine)
    await seed_reference_data(sessions)
    await add_user(sessions, NewUser("agent1", Role.AGENT, PASSWORD, agent_interface="Local/agent1@agents"))
    peer = Peer(Script.merge(FIXTURES / "login_and_status", FIXTURES / "call_answered"))
    port = await peer.start()
    settings = load_settings(db={"url": url}, desk={"auth": {"jwt_secret": "bench-secret-of-sufficient-length-32"}},
                             ami={"servers": [{"name": "pbx1", "port": port, "secret": "hotline-secret"}]})
    app = create_app(settings, engine=engine, parts=adapter_parts(settings), run_sweep=False)
    before, after = call_events()
    latencies: list[float] = []
    async with app.router.lifespan_context(app):
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning"))
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.02)
        http_port = server.servers[0].sockets[0].getsockname()[1]
        try:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM,
                                                           args=["--headless", "--no-sandbox"])
                page = await browser.new_page(viewport={"width": 1366, "height": 768})
                await page.goto(f"http://127.0.0.1:{http_port}/login?next=/desk")
                await page.fill("#username", "agent1")
                await page.fill("#password", PASSWORD)
                await page.click("#login-submit")
                await page.wait_for_selector("body[data-ready=true][data-pops=listening]", state="attached")
                last = 0.0
                for i in range(warmup + calls):
                    written = time.time()
                    peer.push(before)
                    newer = f"window.deskPaints.filter(p => p.kind === 'connected' && p.at > {last}).at(-1)"
                    await page.wait_for_function(f"Boolean({newer})", polling="raf")
                    last = await page.evaluate(f"{newer}.at")
                    if i >= warmup:
                        latencies.append(last / 1000 - written)
                    peer.push(after)
                    await page.wait_for_function("document.body.dataset.pop.startsWith('completed')", polling="raf")
                await browser.close()
        finally:
            server.should_exit = True
            await serving
    await peer.close()
    await engine.dispose()
    return {"calls": calls, **summary_ms(latencies), "max_ms": round(max(latencies) * 1000, 3),
            "target_p95_ms": 300}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()
    result = asyncio.run(run(args.calls, args.warmup))
    emit("screen_pop", result)


if __name__ == "__main__":
    main()
