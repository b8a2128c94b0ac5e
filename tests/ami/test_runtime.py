"""The desk-facing wiring: replay runtime into the store, typed change events, snapshot."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ami import AmiNotConnected, AmiRuntime, CallerJoined, CallerLeft, CallUpdated, MemberChanged
from tests.conftest import Database
from ticketing.calls import CallStore

pytestmark = pytest.mark.anyio


async def test_replay_runtime_stores_records_and_publishes_typed_events(
        sqlite_db: Database, fixtures_dir: Path) -> None:
    store = CallStore(sqlite_db.sessions)
    runtime = AmiRuntime.replay(fixtures_dir / "ami" / "agent_ops.jsonl", store, speed=500.0)
    events = runtime.client.subscribe(maxsize=10_000)
    await runtime.start()
    assert runtime.source is not None
    for _ in range(500):
        await asyncio.sleep(0.01)
        if runtime.source.chunks_fed and all(t.done() for t in runtime._tasks[1:]):
            break
    with pytest.raises(AmiNotConnected):
        await runtime.client.queue_pause("Local/agent1@agents", True, "break")
    await runtime.stop()
    seen = []
    while (event := events.get_nowait()) is not None:
        seen.append(event)
        json.dumps(event.to_dict())  # every event is JSON-ready for SSE
    kinds = {type(e) for e in seen}
    assert {CallerJoined, CallerLeft, CallUpdated, MemberChanged} <= kinds
    left = [e.reason for e in seen if isinstance(e, CallerLeft)]
    assert "transferred" in left and "answered" in left
    row = await store.get("replay", "1795868644.12")
    assert row is not None and row.final and row.outcome.value == "answered"
    assert [leg.outcome for leg in row.legs] == ["transferred", "answered"]
    snapshot = runtime.client.snapshot()
    assert snapshot.queue("hotline-12345").longest_wait_seconds == 0.0
    json.dumps(snapshot.to_dict(), default=str)
