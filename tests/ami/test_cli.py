"""`hotline ami replay | import-queue-log | status`."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent_desk.cli import app
from tests.ami.peer import Peer, Script
from tests.conftest import DatabaseTarget
from ticketing.calls import CallStore
from ticketing.db import make_session_factory

runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "hotline.toml"
    monkeypatch.setenv("HOTLINE_CONFIG", str(path))
    path.write_text("")
    return path


def test_replay_json_prints_calls_and_kpis(fixtures_dir: Path, config: Path) -> None:
    result = runner.invoke(app, ["ami", "replay", str(fixtures_dir / "ami" / "load.recv"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    overall = data["kpis"]["overall"]
    assert (len(data["calls"]), overall["offered"], overall["answered"], overall["abandoned"]) == (
        100, 100, 35, 65)
    assert data["open_calls"] == []


def test_replay_table(fixtures_dir: Path, config: Path) -> None:
    result = runner.invoke(app, ["ami", "replay", str(fixtures_dir / "ami" / "call_abandoned.recv")])
    assert result.exit_code == 0, result.output
    assert "abandoned" in result.stdout and "KPIs" in result.stdout


def test_import_queue_log_is_idempotent(fixtures_dir: Path, config: Path, sqlite_target: DatabaseTarget,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_DB__URL", sqlite_target.url)
    log = str(fixtures_dir / "queue_log" / "example.queue_log")
    for _ in range(2):
        result = runner.invoke(app, ["ami", "import-queue-log", log, "--server", "pbx9", "--json"])
        assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["calls"], report["kpis"]["answered"], report["kpis"]["timeout"]) == (10, 7, 1)

    async def count() -> int:
        engine = sqlite_target.engine()
        try:
            rows = await CallStore(make_session_factory(engine)).between()
            return len([r for r in rows if r.server == "pbx9"])
        finally:
            from sqlalchemy import delete

            from ticketing.models import CallRecord
            async with engine.begin() as conn:
                await conn.execute(delete(CallRecord))
            await engine.dispose()

    assert asyncio.run(count()) == 10


@pytest.fixture
def live_peer(fixtures_dir: Path) -> Iterator[int]:
    loop = asyncio.new_event_loop()
    peer = Peer(Script.merge(fixtures_dir / "ami" / "login_and_status"))
    port = loop.run_until_complete(peer.start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield port
    asyncio.run_coroutine_threadsafe(peer.close(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def test_status_prints_queues_and_members(config: Path, live_peer: int) -> None:
    config.write_text(f'[ami]\nservers = [{{ name = "pbx1", port = {live_peer}, secret = "x" }}]\n')
    result = runner.invoke(app, ["ami", "status", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["servers"] == {"pbx1": "ready"}
    names = {q["name"]: [m["name"] for m in q["members"]] for q in data["queues"]}
    assert sorted(names["hotline-12345"]) == ["agent1", "agent2", "agent3"]


def test_a_kpi_threshold_left_under_ami_is_refused_by_name(fixtures_dir: Path, config: Path) -> None:
    """The thresholds live in [desk.supervision] only: one source per setting."""
    config.write_text("[ami]\nshort_abandon_seconds = 5\n")
    result = runner.invoke(app, ["ami", "replay", str(fixtures_dir / "ami" / "call_abandoned.recv")])
    assert result.exit_code != 0
    assert "ami.short_abandon_seconds" in result.output


def test_import_queue_log_leaves_a_call_without_an_end_alone(fixtures_dir: Path, config: Path, tmp_path: Path,
                                                            sqlite_target: DatabaseTarget,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A file read while a call is still talking (its COMPLETEAGENT not written yet): that call is
    counted, not stored as a finished `unknown` one."""
    monkeypatch.setenv("HOTLINE_DB__URL", sqlite_target.url)
    talking = "1795872317.8"
    lines = (fixtures_dir / "queue_log" / "example.queue_log").read_text("utf-8").splitlines()
    cut = tmp_path / "queue_log"
    cut.write_text("".join(f"{line}\n" for line in lines
                           if not (line.split("|")[1] == talking and "|COMPLETEAGENT|" in line)))
    result = runner.invoke(app, ["ami", "import-queue-log", str(cut), "--server", "pbx9", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["calls"], report["without_end"], report["stored"]) == (10, 1, 9)

    async def stored() -> set[str]:
        from sqlalchemy import delete

        from ticketing.models import CallRecord
        engine = sqlite_target.engine()
        try:
            return {r.linkedid for r in await CallStore(make_session_factory(engine)).between()}
        finally:
            async with engine.begin() as conn:
                await conn.execute(delete(CallRecord))
            await engine.dispose()

    linkedids = asyncio.run(stored())
    assert len(linkedids) == 9 and talking not in linkedids


def test_import_queue_log_reads_the_server_s_realtime_table(fixtures_dir: Path, config: Path, tmp_path: Path,
                                                           sqlite_target: DatabaseTarget,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a file, the server's own queue_log: here Asterisk's realtime table (SQLite, text times)."""
    from sqlalchemy import delete

    from tests.ami.helpers import sqlite_queue_log
    from ticketing.models import CallRecord

    url = f"sqlite+aiosqlite:///{tmp_path}/asterisk.db"
    lines = (fixtures_dir / "queue_log" / "example.queue_log").read_text("utf-8").splitlines()

    asyncio.run(sqlite_queue_log(url, lines))
    monkeypatch.setenv("HOTLINE_DB__URL", sqlite_target.url)
    monkeypatch.setenv("HOTLINE_AMI__SERVERS", json.dumps([{"name": "pbx9", "queue_log_table": {"url": url}}]))
    result = runner.invoke(app, ["ami", "import-queue-log", "--json"])
    assert result.exit_code == 0, result.output
    from_table = json.loads(result.stdout)
    from_file = runner.invoke(app, ["ami", "import-queue-log", str(fixtures_dir / "queue_log" / "example.queue_log"),
                                    "--dry-run", "--json"])
    assert {k: v for k, v in from_table.items() if k != "stored"} == \
        {k: v for k, v in json.loads(from_file.stdout).items() if k != "stored"}
    assert (from_table["calls"], from_table["stored"]) == (10, 10)

    async def wipe() -> None:
        engine = sqlite_target.engine()
        async with engine.begin() as conn:
            await conn.execute(delete(CallRecord))
        await engine.dispose()

    asyncio.run(wipe())
    monkeypatch.setenv("HOTLINE_AMI__SERVERS", json.dumps([{"name": "pbx9"}]))
    unconfigured = runner.invoke(app, ["ami", "import-queue-log"])
    assert unconfigured.exit_code == 2 and "has no queue_log nor queue_log_table" in unconfigured.output
    monkeypatch.setenv("HOTLINE_AMI__SERVERS", json.dumps(
        [{"name": "pbx9", "queue_log_table": {"url": "postgresql+asyncpg://asterisk@127.0.0.1:1/asterisk"}}]))
    unreadable = runner.invoke(app, ["ami", "import-queue-log"])
    assert unreadable.exit_code == 1
    assert "queue_log unreadable (table queue_log at postgresql+asyncpg://asterisk@127.0.0.1:1/asterisk)" \
        in unreadable.output
