"""Call records stored through ticketing.calls on SQLite and PostgreSQL: idempotent, linkable."""

from __future__ import annotations

from pathlib import Path

import pytest

from ami.clock import StreamClock
from ami.model import LiveModel
from ami.parser import AmiParser
from ami.sink import InMemoryCallStore, RecordWriter
from tests.ami.helpers import recorded_chunks
from tests.conftest import Database
from ticketing.call_kpis import compute_call_kpis
from ticketing.calls import CallStore
from ticketing.models import CallOutcome

pytestmark = pytest.mark.anyio


async def _store_stream(store: CallStore, chunks: list[bytes]) -> RecordWriter:
    writer = RecordWriter(store)
    model = LiveModel(clock=StreamClock(), on_call=writer.submit)
    parser = AmiParser(wants=model.wants)
    for chunk in chunks:
        for message in parser.feed(chunk):
            model.apply("pbx1", message)
    await writer.flush()
    return writer


async def test_replaying_twice_never_duplicates(db: Database, fixtures_dir: Path) -> None:
    store = CallStore(db.sessions)
    chunks = recorded_chunks(fixtures_dir / "ami" / "load")
    await _store_stream(store, chunks)
    assert await store.count() == 100
    await _store_stream(store, chunks)
    assert await store.count() == 100
    rows = await store.between()
    kpis = compute_call_kpis(rows)
    assert (kpis.overall.offered, kpis.overall.answered, kpis.overall.abandoned) == (100, 35, 65)
    abandoned = await store.abandoned()
    assert len(abandoned) == 65 and all(r.caller_number for r in abandoned)


async def test_fields_round_trip_and_final_is_not_overwritten(db: Database, fixtures_dir: Path) -> None:
    store = CallStore(db.sessions)
    await _store_stream(store, [(fixtures_dir / "ami" / "call_answered.recv").read_bytes()])
    row = await store.get("pbx1", "1795868623.2")
    assert row is not None and row.final
    assert (row.outcome, row.agent, row.talk_seconds, row.wait_seconds, row.queue) == (
        CallOutcome.ANSWERED, "agent1", 4.0, 0.0, "hotline-12345")
    assert row.recording and row.recording.endswith("1795868623.2.wav")
    assert row.ivr_result == "code=0000;quick"
    assert row.legs[0].agent == "agent1" and row.answered_at.tzinfo is not None
    stale = {"server": "pbx1", "linkedid": "1795868623.2", "outcome": CallOutcome.UNKNOWN,
             "final": False}
    await store.upsert(stale)
    again = await store.get("pbx1", "1795868623.2")
    assert again is not None and again.outcome == CallOutcome.ANSWERED


async def test_link_to_a_ticket_survives_later_updates(db: Database, fixtures_dir: Path) -> None:
    from tests.ticketing.helpers import new_ticket, service

    store = CallStore(db.sessions)
    await _store_stream(store, [(fixtures_dir / "ami" / "call_abandoned.recv").read_bytes()])
    ticket_id = (await service(db.sessions).create(new_ticket(), "agent1")).id
    await store.link_ticket("pbx1", "1795868636.10", ticket_id)
    await _store_stream(store, [(fixtures_dir / "ami" / "call_abandoned.recv").read_bytes()])
    linked = await store.for_ticket(ticket_id)
    assert [r.linkedid for r in linked] == ["1795868636.10"]
    assert linked[0].outcome == CallOutcome.ABANDONED


async def test_unknown_ticket_id_from_the_ivr_is_not_a_broken_link(db: Database) -> None:
    store = CallStore(db.sessions)
    await store.upsert({"server": "pbx1", "linkedid": "1.1", "ticket_id": 987654321,
                        "outcome": CallOutcome.SELF_SERVICE, "final": True, "ivr_path": "greeting>menu:2"})
    row = await store.get("pbx1", "1.1")
    assert row is not None and row.ticket_id is None and row.ivr_path == "greeting>menu:2"
    with pytest.raises(LookupError):
        await store.link_ticket("pbx1", "1.1", 987654321)


async def test_in_memory_store_has_the_same_idempotency(fixtures_dir: Path) -> None:
    memory = InMemoryCallStore()
    chunks = recorded_chunks(fixtures_dir / "ami" / "load")
    await _store_stream(memory, chunks)  # type: ignore[arg-type]
    await _store_stream(memory, chunks)  # type: ignore[arg-type]
    assert len(memory.records) == 100
