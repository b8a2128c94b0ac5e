"""`hotline serve` tells an operator what happens: the AMI link going down and up, every IVR session,
every request, on stderr, at the level `desk.log_level` sets: plain lines, or with `desk.log_format =
"json"` one JSON object per line carrying the request id, the ticket number, the call's ids.

The real command runs in a subprocess against the loopback AMI peer (recorded `login_and_status`
bytes) and is called by the FastAGI peer (a recorded environment block).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent_desk.accounts import NewUser, add_user
from agent_desk.settings import load_settings
from tests.agent_desk.conftest import free_port
from tests.ami.peer import Peer, Script
from tests.ivr.peer import HangUp, SimulatedChannel, Transcript, run_call
from ticketing.db import make_engine, make_session_factory
from ticketing.models import Base, Role

pytestmark = pytest.mark.anyio

STARTUP = 60.0  # seconds: importing the product on a busy shared host is slow, not dead
JSON_KEYS = {"timestamp", "level", "logger", "event"}
CITIZEN = "13912345678"
PASSWORD = "correct-horse-battery"
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ")


class Output:
    """The lines a process writes to stderr, read as they come and matched in order."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.stream = stream
        self.lines: list[str] = []
        self._next = 0  # the first line the next wait_for looks at

    async def wait_for(self, pattern: str, timeout: float = 20.0, *, anywhere: bool = False) -> re.Match[str]:
        """The next line matching `pattern` after the last one matched (`anywhere`: from the start)."""
        wanted = re.compile(pattern)
        index = 0 if anywhere else self._next
        async with asyncio.timeout(timeout):
            while True:
                while index < len(self.lines):
                    index += 1
                    if found := wanted.search(self.lines[index - 1]):
                        self._next = max(self._next, index)
                        return found
                raw = await self.stream.readline()
                if not raw:
                    break
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
        raise AssertionError(f"{pattern!r} never logged; got:\n" + "\n".join(self.lines))


async def _schema(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
    finally:
        await engine.dispose()


@pytest.fixture
async def peer(fixtures_dir: Path) -> AsyncIterator[Peer]:
    peer = Peer(Script.load(fixtures_dir / "ami" / "login_and_status"))
    await peer.start()
    yield peer
    await peer.close()


async def serve(tmp_path: Path, peer: Peer, level: str | None, log_format: str | None = None,
                port: int | None = None) -> tuple[asyncio.subprocess.Process, Output]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
    await _schema(url)
    assert peer.server is not None
    ami_port = peer.server.sockets[0].getsockname()[1]
    config = tmp_path / "hotline.toml"
    config.write_text(f"""
[db]
url = "{url}"

[[ami.servers]]
name = "pbx1"
port = {ami_port}
secret = "hotline-secret"

[ivr]
enabled = true
port = 0
prompts = {{ sounds_dir = "{tmp_path / 'sounds'}" }}

[desk]
port = {port or free_port()}
""" + (f'log_level = "{level}"\n' if level else "") + (f'log_format = "{log_format}"\n' if log_format else ""),
                      "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")} | {"HOTLINE_CONFIG": str(config)}
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "hotline"), "serve", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    assert process.stderr is not None
    return process, Output(process.stderr)


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()


@pytest.mark.slow
async def test_serve_logs_the_ami_link_and_every_ivr_session(tmp_path: Path, peer: Peer) -> None:
    port = free_port()
    process, out = await serve(tmp_path, peer, level=None, port=port)  # the defaults: INFO, plain
    try:
        await out.wait_for(r"INFO uvicorn\.error: Application startup complete", STARTUP)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            response = await http.get("/health", params={"caller_number": CITIZEN},
                                      headers={"X-Request-ID": "plain-1"})
        assert response.headers["x-request-id"] == "plain-1"
        access = await out.wait_for(r"INFO uvicorn\.access: .*$", anywhere=True)
        assert access.group(0).endswith('"GET /health HTTP/1.1" 200'), access.group(0)  # no query, no context
        listening = await out.wait_for(r"INFO ivr\.server: FastAGI listening on 127\.0\.0\.1:(\d+)", anywhere=True)
        await out.wait_for(r"INFO ami\.connection: ami pbx1: resyncing -> ready", anywhere=True)

        peer.drop_all()  # the link goes down …
        await out.wait_for(r"INFO ami\.connection: ami pbx1: ready -> disconnected")
        await out.wait_for(r"INFO ami\.connection: ami pbx1: reconnecting in")
        await out.wait_for(r"INFO ami\.connection: ami pbx1: resyncing -> ready")  # … and up again
        assert peer.connections == 2

        session = Transcript.load("agi/fastagi_session")
        channel = SimulatedChannel([HangUp()])  # the caller hangs up at once
        await run_call(int(listening.group(1)), session.environment_for("ivr"), channel)
        logged = await out.wait_for(r"INFO ivr\.app: IVR ivr session of call (\S+) on (\S+): no decision, hangup")
        assert logged.groups() == ("1795868652.16", "Local/ivr@caller-sim-00000008;1")  # from agi_* block
    finally:
        await stop(process)
    await out.wait_for(r"INFO ami\.connection: ami pbx1: \w+ -> stopped")
    assert all(LINE.match(line) for line in out.lines), "\n".join(out.lines)  # plain lines, nothing else


@pytest.mark.slow
async def test_at_warning_the_link_and_the_sessions_are_not_logged(tmp_path: Path, peer: Peer) -> None:
    process, _ = await serve(tmp_path, peer, level="warning")
    try:
        await asyncio.wait_for(_until_connections(peer, 1), STARTUP)
        await asyncio.sleep(0.5)  # logged in and resynced
        peer.drop_all()
        await asyncio.wait_for(_until_connections(peer, 2), 20)
    finally:
        await stop(process)
    assert process.stderr is not None
    logged = (await process.stderr.read()).decode()
    assert " INFO " not in logged, logged


async def _until_connections(peer: Peer, count: int) -> None:
    while peer.connections < count:
        await asyncio.sleep(0.05)


def test_log_level_setting_accepts_any_case_and_refuses_others() -> None:
    from agent_desk.settings import SettingsError

    assert load_settings(desk={"log_level": "debug"}).desk.log_level == "DEBUG"
    assert load_settings().desk.log_level == "INFO"
    with pytest.raises(SettingsError, match="desk.log_level"):
        load_settings(desk={"log_level": "chatty"})


async def _add_agent(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}")
    try:
        agent = NewUser("agent1", Role.AGENT, PASSWORD, agent_interface="PJSIP/1001")
        await add_user(make_session_factory(engine), agent)
    finally:
        await engine.dispose()


@pytest.mark.slow
async def test_json_lines_carry_the_request_id_the_ticket_and_the_call(tmp_path: Path, peer: Peer) -> None:
    port = free_port()
    process, out = await serve(tmp_path, peer, level=None, log_format="json", port=port)
    try:
        await out.wait_for(r'"event": "Application startup complete', STARTUP)
        listening = await out.wait_for(r'"event": "FastAGI listening on 127\.0\.0\.1:(\d+)"', anywhere=True)
        await _add_agent(tmp_path)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            kept = await http.get("/health", headers={"X-Request-ID": "lb-7f3a.2:x_y-z"})
            made = await http.get("/health")
            too_long = await http.get("/health", headers={"X-Request-ID": "a" * 129})
            login = await http.post("/api/auth/login", json={"username": "agent1", "password": PASSWORD})
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            created = await http.post("/api/tickets", headers={**auth, "X-Request-ID": "create-1"}, json={
                "category": "complaint", "description": "路灯不亮", "caller_number": CITIZEN})
            ticket = created.json()
            noted = await http.post(f"/api/tickets/{ticket['id']}/actions/note", json={"text": "已联系市政"},
                                    headers={**auth, "X-Request-ID": "note-1"})
            found = await http.get("/api/tickets", params={"caller_number": CITIZEN},
                                   headers={**auth, "X-Request-ID": "find-1"})
        assert (created.status_code, noted.status_code, found.status_code) == (201, 200, 200)
        assert kept.headers["x-request-id"] == "lb-7f3a.2:x_y-z"
        assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
        assert re.fullmatch(r"[0-9a-f]{32}", too_long.headers["x-request-id"])
        await out.wait_for(r'"request_id": "find-1"', anywhere=True)

        session = Transcript.load("agi/fastagi_session")
        await run_call(int(listening.group(1)), session.environment_for("ivr"), SimulatedChannel([HangUp()]))
        await out.wait_for(r'"event": "IVR ivr session of call', anywhere=True)
    finally:
        await stop(process)
    await out.wait_for(r"ami pbx1: \w+ -> stopped")  # read to the end
    lines = [json.loads(line) for line in out.lines]  # every line is one JSON object
    assert all(JSON_KEYS <= line.keys() and line["timestamp"].endswith("Z") for line in lines), out.lines

    def of(request_id: str) -> list[dict[str, Any]]:
        return [line for line in lines if line.get("request_id") == request_id]

    access = [line for line in of("lb-7f3a.2:x_y-z") if line["logger"] == "uvicorn.access"]
    assert len(access) == 1 and '"GET /health HTTP/1.1" 200' in access[0]["event"]
    assert of(made.headers["x-request-id"]) and of(too_long.headers["x-request-id"])
    number = ticket["number"]
    for request_id, action in (("create-1", "accept"), ("note-1", "note")):
        service = [line for line in of(request_id) if line["logger"] == "ticketing.service"]
        assert [line["event"] for line in service] == [f"ticket {number}: {action} by agent1, now accepted"]
        assert service[0]["ticket"] == number
        assert [line["ticket"] for line in of(request_id) if line["logger"] == "uvicorn.access"] == [number]
    assert [line["event"].split('"')[1] for line in of("find-1")] == ["GET /api/tickets HTTP/1.1"]
    ivr = [line for line in lines if line["logger"] == "ivr.app"]
    assert ivr[0]["uniqueid"] == "1795868652.16" and "request_id" not in ivr[0]
    assert all("request_id" not in line for line in lines if line["logger"].startswith("ami."))
    assert CITIZEN not in "\n".join(out.lines) and PASSWORD not in "\n".join(out.lines)


def test_log_format_setting_is_plain_or_json() -> None:
    from agent_desk.settings import SettingsError

    assert load_settings().desk.log_format == "plain"
    assert load_settings(desk={"log_format": "JSON"}).desk.log_format == "json"
    with pytest.raises(SettingsError, match="desk.log_format"):
        load_settings(desk={"log_format": "xml"})


@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_a_python_warning_is_a_line_like_the_others(log_format: str) -> None:
    script = ("import warnings\nfrom agent_desk.logs import configure_logging\n"
              f"configure_logging('INFO', {log_format!r})\nwarnings.warn('odd setting')\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    if log_format == "json":
        [line] = result.stderr.splitlines()
        logged = json.loads(line)
        assert (logged["logger"], logged["level"]) == ("py.warnings", "warning")
        assert "UserWarning: odd setting" in logged["event"]
    else:
        first = result.stderr.splitlines()[0]  # the warning's source line follows, as a traceback's would
        assert LINE.match(first) and " WARNING py.warnings: " in first and "UserWarning: odd setting" in first
