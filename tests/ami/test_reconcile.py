"""Reconciliation from queue_log after a gap, on both databases: a recorded call (exit_with_key)
whose end the AMI link missed — it dropped after QueueCallerJoin — is stored `unknown` by the
resync, then repaired to what the queue_log of the same run says (the caller left by key 9 after
5 s), automatically once the link is ready again; the repair's log line names the call's Linkedid."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlalchemy import select, text

from agent_desk.app import create_app
from agent_desk.settings import load_settings
from agent_desk.wiring import adapter_parts
from ami.events import ConnectionChanged, Reconciled
from ami.queue_log import parse_queue_log
from ami.queue_log_table import QueueLogTableError, QueueLogTableReader, row_line
from tests.ami.helpers import asterisk_row, queue_log_truth, sqlite_queue_log
from tests.ami.peer import Peer, Script
from tests.conftest import PG_URL, Database, _pg_reachable
from tests.json_logs import json_lines
from tests.pages.test_desk_shift import recorded_events
from ticketing.db import make_engine
from ticketing.models import CallOutcome, CallRecord

pytestmark = pytest.mark.anyio
CALL = "1796181828.0"


async def _stored(db: Database) -> CallRecord | None:
    async with db.sessions() as session:
        return await session.get(CallRecord, await _id(db))


async def _id(db: Database) -> int | None:
    from sqlalchemy import select

    async with db.sessions() as session:
        return await session.scalar(select(CallRecord.id).where(CallRecord.linkedid == CALL))


async def test_a_call_missed_in_a_gap_is_reconciled_from_queue_log(db: Database, fixtures_dir: Path,
                                                                    tmp_path: Path) -> None:
    ami = fixtures_dir / "ami"
    call_script = Script.load(ami / "exit_with_key")
    events = recorded_events(call_script, "exitkey-0006")
    joined = events.index(b"\r\n\r\n", events.index(b"Event: QueueCallerJoin")) + 4
    peer = Peer(Script.load(ami / "login_and_status"))
    port = await peer.start()
    queue_log = tmp_path / "queue_log"
    queue_log.write_bytes((ami / "exit_with_key.queue_log").read_bytes())
    settings = load_settings(db={"url": db.target.url}, ami={
        "servers": [{"name": "pbx1", "port": port, "secret": "hotline-secret", "queue_log": str(queue_log)}],
        "ping_interval": 5, "action_timeout": 2, "backoff_initial": 0.1, "backoff_max": 0.2,
        "queue_log_lookback": 3650 * 86400})  # the recording is older than the default hour
    app = create_app(settings, engine=db.engine, parts=adapter_parts(settings), run_sweep=False)
    try:
        with json_lines("ticketing.calls") as repaired:
            async with app.router.lifespan_context(app):
                model = app.state.desk.board.model
                for _ in range(200):
                    if peer.connections == 1 and model.snapshot().queues:
                        break
                    await asyncio.sleep(0.05)
                peer.push(events[:joined])  # the caller joins the queue …
                for _ in range(200):
                    if model.open_calls():
                        break
                    await asyncio.sleep(0.05)
                peer.drop_all()  # … and the link drops: the rest of the call is never seen
                for _ in range(400):
                    stored = await _stored(db) if await _id(db) else None
                    if peer.connections >= 2 and stored is not None and stored.final \
                            and stored.outcome is CallOutcome.EXIT_WITH_KEY:
                        break
                    await asyncio.sleep(0.05)
    finally:
        await peer.close()
    stored = await _stored(db)
    _queues, finals = queue_log_truth(queue_log)
    assert finals == {"exit_with_key": 1}
    assert stored is not None and stored.final
    assert (stored.outcome, stored.queue, stored.wait_seconds) == (CallOutcome.EXIT_WITH_KEY, "hotline-12345", 5.0)
    assert [(line["event"], line["linkedid"]) for line in repaired] == [
        (f"call {CALL} on pbx1 backfilled: exit_with_key", CALL)]


# ---- a gap cut out of a recorded run, reconciled from that run's queue_log (file or table) --------

RUN = "ami/resync_during_join"  # 10 callers: 3 answered, 7 gave up after 13 s (truth.json)
GAP = (0.66, 13.2)  # seconds into the recording: the AMI bytes of this window never arrive
ABSENT = "1796181990.60"  # seen joining the queue before the gap; its lines are left out of queue_log
QUEUE_LOG_SQL = Path(__file__).resolve().parents[2] / "deploy" / "asterisk" / "queue_log.sql"


def _main_chunks(base: Path) -> list[tuple[float, bytes]]:
    """What Asterisk sent on the recording's main connection, read by read, with its time."""
    rows = [json.loads(line) for line in Path(f"{base}.jsonl").read_text("utf-8").splitlines()]
    return [(row["t"], row["data"].encode("utf-8")) for row in rows
            if row.get("dir") == "asterisk->client" and row.get("conn", "main") == "main"]


def _truth(base: Path) -> dict[str, tuple[CallOutcome, float, float | None, str | None]]:
    """Per call: outcome, wait, talk time and agent, as the run's truth.json (queue_log only) says."""
    truth = json.loads(Path(f"{base}.truth.json").read_text("utf-8"))
    calls: dict[str, tuple[CallOutcome, float, float | None, str | None]] = {}
    for call in truth["answered_calls"]:
        calls[call["callid"]] = (CallOutcome.ANSWERED, call["holdtime"], call["talktime"], call["agent"])
    for call in truth["abandoned_calls"]:
        calls[call["callid"]] = (CallOutcome.ABANDONED, call["wait"], None, None)
    assert not truth["timeout_calls"] and not truth["transfers"] and len(calls) == truth["totals"]["distinct_calls"]
    return calls


class _AsteriskTable:
    """Asterisk's queue_log table, made by deploy/asterisk/queue_log.sql in a schema of its own."""

    def __init__(self) -> None:
        self.schema = f"asterisk_{uuid.uuid4().hex[:10]}"
        self.engine = make_engine(PG_URL, connect_args={"server_settings": {"search_path": self.schema}})

    async def create(self) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
            await connection.execute(text(f'SET LOCAL search_path TO "{self.schema}"'))
            sql = "\n".join(line for line in QUEUE_LOG_SQL.read_text("utf-8").splitlines()
                            if not line.startswith("--"))
            for statement in sql.split(";"):
                if statement.strip():
                    await connection.execute(text(statement))

    async def write(self, lines: list[str]) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(text(
                "INSERT INTO queue_log (time, callid, queuename, agent, event, data1, data2, data3, data4, data5) "
                "VALUES (CAST(CAST(:time AS VARCHAR) AS TIMESTAMP), :callid, :queuename, :agent, :event, "
                ":data1, :data2, :data3, :data4, :data5)"), [asterisk_row(line) for line in lines])

    async def drop(self) -> None:
        async with self.engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
        await self.engine.dispose()


async def _until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(600):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def _link(port: int, queue_log: dict[str, Any], *, pings: float = 5) -> dict[str, Any]:
    return {"servers": [{"name": "pbx1", "port": port, "secret": "hotline-secret", **queue_log}],
            "ping_interval": pings, "action_timeout": 2, "backoff_initial": 0.1, "backoff_max": 0.2,
            "queue_log_lookback": 3650 * 86400}  # the recording is older than the default hour


async def _linked(app: Any) -> tuple[Any, list[Reconciled]]:
    """Once the app's link is up and its start-up reconciliation done: its live model, and the
    reconciliations so far (the list grows with the next ones)."""
    model = app.state.desk.board.model
    reconciled: list[Reconciled] = []
    model.listen(lambda event: reconciled.append(event) if isinstance(event, Reconciled) else None)

    async def started() -> bool:
        return len(reconciled) == 1 and bool(model.snapshot().queues)

    await _until(started, "the link up and the start-up reconciliation")
    return model, reconciled


async def _run_with_a_gap(db: Database, fixtures_dir: Path, configured: dict[str, Any], *,
                          in_the_gap: Callable[[], Awaitable[None]] | None = None, frozen: bool = False,
                          done: Callable[[list[Reconciled]], Awaitable[bool]]) -> list[Reconciled]:
    """The product linked to a peer that says what the run's Asterisk said, up to `GAP`; then the
    link drops, or freezes until the product finds it dead (no Pong), while `in_the_gap` runs; it
    comes back to an idle PBX and gets the bytes after the gap. Returns the reconciliations, once
    `done` holds."""
    chunks = _main_chunks(fixtures_dir / RUN)
    peer = Peer(Script.load(fixtures_dir / "ami" / "login_and_status"))
    port = await peer.start()
    settings = load_settings(db={"url": db.target.url}, ami=_link(port, configured, pings=0.5 if frozen else 5))
    app = create_app(settings, engine=db.engine, parts=adapter_parts(settings), run_sweep=False)
    lost: list[ConnectionChanged] = []  # the product finds the link dead
    try:
        async with app.router.lifespan_context(app):
            model, reconciled = await _linked(app)
            model.listen(lambda event: lost.append(event) if isinstance(event, ConnectionChanged)
                         and event.state == "disconnected" else None)
            assert reconciled[0].stored == reconciled[0].unresolved == 0
            peer.push(b"".join(data for t, data in chunks if t < GAP[0]))

            async def five_open() -> bool:
                return len(model.open_calls()) == 5

            await _until(five_open, "the five calls seen before the gap")
            if in_the_gap is not None:
                await in_the_gap()
            if frozen:
                peer.frozen = True
            else:
                peer.drop_all()

            async def back() -> bool:
                return peer.connections == 2 and bool(model.snapshot().queues)

            await _until(back, "the reconnect")
            peer.frozen = False
            peer.push(b"".join(data for t, data in chunks if t >= GAP[1]))
            await _until(lambda: done(reconciled), "the gap's reconciliation")
    finally:
        await peer.close()
    # the gap began when the link last heard anything (a frozen link is found dead only later)
    assert lost[0].last_heard is not None and reconciled[1].since == lost[0].last_heard
    return reconciled


@pytest.mark.parametrize("source", ["file", pytest.param("table", marks=pytest.mark.postgres)])
@pytest.mark.parametrize("how", ["dropped", "frozen"])
async def test_a_gap_cut_out_of_a_run_is_reconciled_to_what_its_queue_log_says(
        source: str, how: str, db: Database, fixtures_dir: Path, tmp_path: Path) -> None:
    """The link drops, or freezes, 0.66 s into the run (two callers had joined after three were
    answered) and comes back 12.5 s later, when every caller is gone: five calls were never seen, five were left
    open and are closed `unknown` by the resync. Once the link is ready, queue_log (the run's own,
    as the file or as Asterisk's realtime table) resolves all but the one whose lines it lacks: the
    stored outcomes are the run's truth.json, and that one stays `unknown`, saying why."""
    base = fixtures_dir / RUN
    lines = [line for line in Path(f"{base}.queue_log").read_text("utf-8").splitlines()
             if line.split("|")[1] != ABSENT]
    truth = _truth(base)
    queue_log_file = tmp_path / "queue_log"
    queue_log_file.write_text("")  # this run has written nothing yet when the product starts
    table: _AsteriskTable | None = None
    configured: dict[str, Any] = {"queue_log": str(queue_log_file)}
    if source == "table":
        if not _pg_reachable(PG_URL):
            pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
        table = _AsteriskTable()
        await table.create()
        configured = {"queue_log_table": {"url": PG_URL, "table": f"{table.schema}.queue_log"}}

    async def asterisk_writes_queue_log() -> None:  # while the product's link is frozen
        if table is not None:
            await table.write(lines)
        else:
            queue_log_file.write_text("".join(f"{line}\n" for line in lines))

    async def reconciled_and_stored(reconciled: list[Reconciled]) -> bool:
        async with db.sessions() as session:
            rows = (await session.scalars(select(CallRecord))).all()
        return len(reconciled) == 2 and len(rows) == 10 and all(r.final for r in rows) and \
            sum(r.outcome is CallOutcome.UNKNOWN for r in rows) == 1

    try:
        reconciled = await _run_with_a_gap(db, fixtures_dir, configured, in_the_gap=asterisk_writes_queue_log,
                                           frozen=how == "frozen", done=reconciled_and_stored)
    finally:
        if table is not None:
            await table.drop()
    gap = reconciled[1]
    assert (gap.stored, gap.unresolved) == (9, 1)
    async with db.sessions() as session:
        stored = {r.linkedid: r for r in (await session.scalars(select(CallRecord))).all()}
    assert set(stored) == set(truth)
    lost = stored.pop(ABSENT)
    assert lost.outcome is CallOutcome.UNKNOWN and lost.unknown_reason == gap.reason
    assert re.fullmatch(r"AMI link down \d\d:\d\d:\d\d–\d\d:\d\d:\d\d UTC\+08:00; queue_log has no end for it",
                        gap.reason)
    shanghai = ZoneInfo("Asia/Shanghai")  # the calendar's zone: supervisors read local clock times
    assert f"{gap.since.astimezone(shanghai):%H:%M:%S}–{gap.until.astimezone(shanghai):%H:%M:%S}" in gap.reason
    assert {linkedid: (r.outcome, r.wait_seconds, r.talk_seconds, r.agent) for linkedid, r in stored.items()} \
        == {callid: outcome for callid, outcome in truth.items() if callid != ABSENT}
    assert all(r.unknown_reason is None for r in stored.values())


@pytest.mark.parametrize(("configured", "says"), [
    ({}, "queue_log not configured"),
    ({"queue_log_table": {"url": "postgresql+asyncpg://asterisk@127.0.0.1:1/asterisk"}},
     ("queue_log unreadable (table queue_log at postgresql+asyncpg://asterisk@127.0.0.1:1/asterisk): "
      "ConnectionRefusedError")),
    pytest.param({"queue_log_table": {"url": PG_URL, "table": "no_such_schema.queue_log"}},
                 'relation "no_such_schema.queue_log" does not exist', marks=pytest.mark.postgres),
])
async def test_calls_queue_log_cannot_resolve_stay_unknown_with_the_reason(
        configured: dict[str, Any], says: str, sqlite_db: Database, fixtures_dir: Path) -> None:
    """Without a queue_log, or with one that cannot be read (nothing listens at the table's address;
    no such table), the link still comes up, and the five calls the gap left open end `unknown`
    saying why."""
    if "no_such_schema" in str(configured) and not _pg_reachable(PG_URL):
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")

    async def marked(reconciled: list[Reconciled]) -> bool:
        return len(reconciled) == 2

    reconciled = await _run_with_a_gap(sqlite_db, fixtures_dir, configured, done=marked)
    assert reconciled[1].unresolved == 5 and says in reconciled[1].reason
    async with sqlite_db.sessions() as session:
        rows = (await session.scalars(select(CallRecord))).all()
    assert len(rows) == 5
    assert all(r.final and r.outcome is CallOutcome.UNKNOWN and r.unknown_reason == reconciled[1].reason
               for r in rows)


def test_a_realtime_row_is_the_line_the_file_holds(fixtures_dir: Path) -> None:
    """Asterisk's table, with data1..data5 (CHAR columns padded, as the contrib/realtime schema has
    them) or with the single `data` column, gives back the queue_log file's lines."""
    file_lines = (fixtures_dir / "queue_log" / "example.queue_log").read_text("utf-8").splitlines()
    for line in file_lines:
        row: dict[str, Any] = asterisk_row(line)
        row["time"] = datetime.fromisoformat(row["time"])  # what asyncpg gives for a timestamp column
        split = row_line({k: f"{v:<50}" if isinstance(v, str) else v for k, v in row.items()})
        whole = row_line({**{k: row[k] for k in ("time", "callid", "queuename", "agent", "event")},
                          "data": line.split("|", 5)[5] if line.count("|") >= 5 else None})
        assert whole == line
        assert split == line.rstrip("|")  # an empty last parameter is not told from one not given
    assert parse_queue_log([row_line(asterisk_row(l) | {"time": datetime.fromisoformat(asterisk_row(l)["time"])})
                            for l in file_lines], server="p").calls == \
        parse_queue_log(file_lines, server="p").calls


@pytest.mark.parametrize("zone", ["UTC", "Asia/Shanghai"])
async def test_the_table_is_read_from_the_cutoff_in_the_order_asterisk_wrote_it(zone: str, fixtures_dir: Path,
                                                                                   tmp_path: Path) -> None:
    """On SQLite (where Asterisk's res_config_sqlite3 keeps `time` as text): the rows from the cutoff
    on, in id order where their times are equal, as the file's lines; times written in the PBX's
    zone (no queue_log_realtime_use_gmt) are read in the zone configured."""
    file_lines = (fixtures_dir / "queue_log" / "example.queue_log").read_text("utf-8").splitlines()
    url = f"sqlite+aiosqlite:///{tmp_path}/asterisk.db"
    await sqlite_queue_log(url, file_lines, zone)
    cutoff = int(file_lines[len(file_lines) // 2].split("|")[0])
    reader = QueueLogTableReader(url, timezone=zone)
    try:
        lines = await reader.lines_since(datetime.fromtimestamp(cutoff, UTC))
    finally:
        await reader.close()
    expected = [line.rstrip("|") for line in file_lines if int(line.split("|")[0]) >= cutoff]
    assert 0 < len(lines) < len(file_lines) and lines == expected


def test_a_table_that_is_not_asterisk_s_queue_log_is_named_so() -> None:
    row = {"time": datetime(2026, 12, 2, 10, 2, 3), "callid": "1796181990.46", "queuename": "hotline-12345",
           "agent": "NONE", "event": "ENTERQUEUE"}
    with pytest.raises(QueueLogTableError, match=r"has data1…data5 \(or a single data\) column"):
        row_line(row)
    with pytest.raises(QueueLogTableError, match="not a queue_log row: no column callid, agent"):
        row_line({k: v for k, v in row.items() if k not in ("callid", "agent")} | {"data": ""})
    with pytest.raises(QueueLogTableError, match="queue_log time 1796181990 is not a timestamp"):
        row_line(row | {"time": 1796181990, "data": ""})


def test_a_queue_log_is_a_file_or_a_table_and_a_table_url_is_checked() -> None:
    from ami.settings import AmiServer

    table = {"url": "postgresql+asyncpg://asterisk@pbx-db/asterisk"}
    with pytest.raises(ValidationError, match="give queue_log .* or queue_log_table"):
        AmiServer(name="pbx1", queue_log=Path("/mnt/pbx1/queue_log"), queue_log_table=table)
    with pytest.raises(ValidationError, match="must start with sqlite\\+aiosqlite:// or postgresql\\+asyncpg://"):
        AmiServer(name="pbx1", queue_log_table={"url": "postgresql://asterisk@pbx-db/asterisk"})
    with pytest.raises(ValidationError, match="not a database URL"):
        AmiServer(name="pbx1", queue_log_table={**table, "url": "postgresql+asyncpg://a@pbx-db:port/asterisk"})
    with pytest.raises(ValidationError, match="unknown time zone"):
        AmiServer(name="pbx1", queue_log_table={**table, "timezone": "Asia/Beijing"})
    with pytest.raises(ValidationError, match="should match pattern"):
        AmiServer(name="pbx1", queue_log_table={**table, "table": "queue_log; DROP TABLE cdr"})


async def test_a_restart_mid_traffic_is_reconciled_at_start_up(sqlite_db: Database, fixtures_dir: Path,
                                                               tmp_path: Path) -> None:
    """The product stops 0.66 s into the run with five calls stored in progress and is started again
    when every caller is gone. At start-up the run's queue_log (the file) adds the five calls it
    never saw, finishes the ones it left in progress as truth.json says, and the one queue_log
    lacks ends `unknown`: it ended while no process was linked to the PBX."""
    base = fixtures_dir / RUN
    queue_log = tmp_path / "queue_log"
    queue_log.write_text("")
    truth = _truth(base)
    peer = Peer(Script.load(fixtures_dir / "ami" / "login_and_status"))
    port = await peer.start()
    settings = load_settings(db={"url": sqlite_db.target.url}, ami=_link(port, {"queue_log": str(queue_log)}))

    async def run(until: Callable[[Any, list[Reconciled]], Awaitable[bool]], what: str,
                  push: bytes = b"") -> list[Reconciled]:
        app = create_app(settings, engine=sqlite_db.engine, parts=adapter_parts(settings), run_sweep=False)
        async with app.router.lifespan_context(app):
            model, reconciled = await _linked(app)
            peer.push(push)
            await _until(lambda: until(model, reconciled), what)
        return reconciled

    async def five_in_progress(_model: Any, _events: list[Reconciled]) -> bool:
        async with sqlite_db.sessions() as session:
            rows = (await session.scalars(select(CallRecord))).all()
        return len(rows) == 5 and not any(r.final for r in rows)

    async def done(_model: Any, _events: list[Reconciled]) -> bool:
        return True

    try:
        await run(five_in_progress, "five calls stored in progress",
                  b"".join(data for t, data in _main_chunks(base) if t < GAP[0]))
        peer.drop_all()
        queue_log.write_text("".join(f"{line}\n" for line in Path(f"{base}.queue_log").read_text("utf-8")
                                     .splitlines() if line.split("|")[1] != ABSENT))
        [restart] = await run(done, "the restart")
    finally:
        await peer.close()
    assert (restart.stored, restart.unresolved) == (9, 1)
    assert re.fullmatch(r"ended before the product was linked to the PBX \(\d\d:\d\d:\d\d UTC\+08:00\); "
                        r"queue_log has no end for it", restart.reason)
    async with sqlite_db.sessions() as session:
        stored = {r.linkedid: r for r in (await session.scalars(select(CallRecord))).all()}
    lost = stored.pop(ABSENT)
    assert lost.final and lost.outcome is CallOutcome.UNKNOWN and lost.unknown_reason == restart.reason
    assert {linkedid: (r.outcome, r.wait_seconds, r.talk_seconds, r.agent) for linkedid, r in stored.items()} \
        == {callid: outcome for callid, outcome in truth.items() if callid != ABSENT}
