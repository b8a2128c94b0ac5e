"""Reconciliation from queue_log after a gap, on both databases: a recorded call (exit_with_key)
whose end the AMI link missed — it dropped after QueueCallerJoin — is stored `unknown` by the
resync, then repaired to what the queue_log of the same run says (the caller left by key 9 after
5 s), automatically once the link is ready again; the repair's log line names the call's Linkedid."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent_desk.app import create_app
from agent_desk.settings import load_settings
from agent_desk.wiring import adapter_parts
from tests.ami.helpers import queue_log_truth
from tests.ami.peer import Peer, Script
from tests.conftest import Database
from tests.json_logs import json_lines
from tests.pages.test_desk_shift import recorded_events
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
