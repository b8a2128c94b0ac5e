"""Call records stored through ticketing.calls on SQLite and PostgreSQL: idempotent, linkable."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ami.clock import StreamClock
from ami.model import LiveModel
from ami.parser import AmiParser
from ami.queue_log import import_queue_log
from ami.replay import replay_file
from ami.sink import InMemoryCallStore, RecordWriter
from tests.ami.helpers import ALL_CAPTURES, recorded_chunks
from tests.conftest import Database
from ticketing.call_kpis import compute_call_kpis
from ticketing.calls import COLUMNS, KEPT_IF_NULL, CallStore
from ticketing.leadership import Fenced
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


async def test_queue_log_backfill_repairs_what_ami_missed_and_keeps_what_it_knew(
        db: Database, fixtures_dir: Path) -> None:
    """redirect_waiting_to_queue as if a resync had closed it `unknown` (its hang-up cause known):
    queue_log repairs its legs and outcome and keeps the cause. redirect_to_agent, which AMI saw to
    the end as a transfer, keeps it, though queue_log says ABANDON."""
    store = CallStore(db.sessions)
    _, [lost] = replay_file(fixtures_dir / "ami" / "redirect_waiting_to_queue.jsonl", server="pbx1")
    lost.lost = True
    _, [transfer] = replay_file(fixtures_dir / "ami" / "redirect_to_agent.jsonl", server="pbx1")
    assert await store.upsert_many([lost.record_fields(), transfer.record_fields()]) == 2
    imported = [call.record_fields() for name in ("redirect_waiting_to_queue", "redirect_to_agent")
                for call in import_queue_log(fixtures_dir / "ami" / f"{name}.queue_log", server="pbx1").calls]
    assert await store.backfill(imported) == 1
    repaired = await store.get("pbx1", lost.linkedid)
    assert repaired is not None and repaired.outcome is CallOutcome.ANSWERED
    assert [(leg.queue, leg.outcome) for leg in repaired.legs] == [
        ("hotline-enterprise", CallOutcome.TRANSFERRED), ("hotline-12345", CallOutcome.ANSWERED)]
    assert repaired.hangup_cause == lost.hangup_cause == "16 Normal Clearing"
    kept = await store.get("pbx1", transfer.linkedid)
    assert kept is not None and kept.outcome is CallOutcome.TRANSFERRED and kept.hangup_cause


async def test_stored_calls_give_the_kpis_of_the_replay_on_every_capture(db: Database, fixtures_dir: Path) -> None:
    """The SQL form of every call KPI against the Python form, over the calls of every capture."""
    from ticketing.call_kpis import CallDimension, CallKpiSettings, call_kpis

    store = CallStore(db.sessions)
    calls = []
    for capture in ALL_CAPTURES:
        model, finished = replay_file(fixtures_dir / capture, server=capture)
        calls += finished + model.open_calls()
    await store.upsert_many(c.record_fields() for c in calls)
    settings = CallKpiSettings(service_level_seconds=3, short_abandon_seconds=10, wrapup_seconds=1.5)
    reference = compute_call_kpis([c.record_fields() for c in calls], settings=settings, utc_offset_hours=8)
    since, until = datetime(2026, 1, 1, tzinfo=UTC), datetime(2028, 1, 1, tzinfo=UTC)
    async with db.sessions() as session:
        def keyed(rows: list[Any]) -> dict[str | None, dict[str, Any]]:
            return {row.key: row.model_dump(exclude={"key"}) for row in rows}

        [overall] = await call_kpis(session, since=since, until=until, settings=settings)
        assert overall.model_dump(exclude={"key"}) == reference.overall.model_dump()
        for by, expected in ((CallDimension.QUEUE, reference.queues), (CallDimension.AGENT, reference.agents),
                             (CallDimension.HOUR, reference.hours)):
            rows = await call_kpis(session, since=since, until=until, settings=settings, by=by)
            assert keyed(rows) == {k: v.model_dump() for k, v in expected.items()}, by


async def test_the_in_memory_store_keeps_what_the_database_keeps(db: Database, fixtures_dir: Path) -> None:
    """The same updates through `InMemoryCallStore` and `CallStore` leave the same call record: a
    stale in-progress update loses to the final one, and a later update without the IVR's variables,
    the recording or the hangup cause keeps them."""
    _, [call] = replay_file(fixtures_dir / "ami" / "call_answered.recv", server="pbx1")
    final = call.record_fields()
    stale = {"server": "pbx1", "linkedid": call.linkedid, "outcome": CallOutcome.UNKNOWN, "final": False}
    bare = {**final, **dict.fromkeys(KEPT_IF_NULL)}
    memory, database = InMemoryCallStore(), CallStore(db.sessions)
    for update in (final, stale, bare):
        memory.put(update)
        await database.upsert(update)
    row = await database.get("pbx1", call.linkedid)
    assert row is not None
    stored = memory.records[("pbx1", call.linkedid)]
    assert {key: getattr(row, key) for key in COLUMNS} == {key: stored[key] for key in COLUMNS}
    assert stored["ivr_result"] == final["ivr_result"] and stored["hangup_cause"] == final["hangup_cause"]


def test_the_docs_state_each_call_kpi_as_the_code_defines_it() -> None:
    from ticketing.call_kpis import CallKpis

    text = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text("utf-8")
    section = text.split("## Call KPIs", 1)[1].split("\n## ", 1)[0].split("### Fields", 1)[1].split("\n### ", 1)[0]
    rows = {cells[0].strip("` "): cells[1].strip() for line in section.splitlines() if line.startswith("| `")
            for cells in [line.strip("|").split(" | ")]}
    assert rows == {name: field.description for name, field in CallKpis.model_fields.items()}


class _GatedStore(InMemoryCallStore):
    """Stores a batch only once `gate` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.gate, self.writing = asyncio.Event(), asyncio.Event()

    async def upsert_many(self, records: Iterable[Mapping[str, Any]]) -> int:
        self.writing.set()
        await self.gate.wait()
        return await super().upsert_many(records)


async def test_drained_waits_for_the_batch_being_written(fixtures_dir: Path) -> None:
    _, [call] = replay_file(fixtures_dir / "ami" / "call_answered.recv", server="pbx1")
    store = _GatedStore()
    writer = RecordWriter(store)
    await writer.drained()  # nothing put yet
    runner = asyncio.create_task(writer.run())
    writer.submit(call)
    await store.writing.wait()
    assert writer.pending() == 0  # out of the backlog, not stored yet
    drained = asyncio.create_task(writer.drained())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not drained.done()
    store.gate.set()
    await drained
    assert store.records[call.key]["final"]
    writer.close()
    await runner


class _FailingOnceStore(InMemoryCallStore):
    def __init__(self, failure: Exception) -> None:
        super().__init__()
        self.failure: Exception | None = failure

    async def upsert_many(self, records: Iterable[Mapping[str, Any]]) -> int:
        if self.failure is not None:
            failure, self.failure = self.failure, None
            raise failure
        return await super().upsert_many(records)


@pytest.mark.parametrize("failure", [Fenced("ami: term 3 is over (now 4); not writing"), OSError("connection reset")])
async def test_a_failed_write_is_retried_without_new_traffic_and_a_fenced_one_logs_no_traceback(
        fixtures_dir: Path, failure: Exception, caplog: pytest.LogCaptureFixture) -> None:
    _, [call] = replay_file(fixtures_dir / "ami" / "call_answered.recv", server="pbx1")
    store = _FailingOnceStore(failure)
    writer = RecordWriter(store)
    runner = asyncio.create_task(writer.run())
    writer.submit(call)
    await asyncio.wait_for(writer.drained(), timeout=5)  # no second submit: the retry comes by itself
    assert store.records[call.key]["final"]
    writer.close()
    await runner
    [line] = [r for r in caplog.records if r.name == "ami.sink"]
    if isinstance(failure, Fenced):
        assert line.levelname == "WARNING" and line.exc_info is None and "term 3 is over" in line.getMessage()
    else:
        assert line.levelname == "ERROR" and line.exc_info is not None


async def test_mark_unresolved_gives_the_gap_s_calls_a_reason_until_they_are_resolved(db: Database) -> None:
    """Marked: calls closed `unknown` within the gap, and calls stored in progress that are not open
    any more; not marked: an `unknown` end outside the gap, one with a reason already, a call still
    open. A later `unknown` update keeps the reason; a resolved outcome drops it."""
    store = CallStore(db.sessions)
    gap = (datetime(2026, 12, 2, 10, 2, 3, tzinfo=UTC), datetime(2026, 12, 2, 10, 2, 23, tzinfo=UTC))
    inside, before = gap[0] + timedelta(seconds=20), gap[0] - timedelta(seconds=60)

    def call(linkedid: str, **fields: Any) -> dict[str, Any]:
        return {"server": "pbx1", "linkedid": linkedid, "outcome": CallOutcome.UNKNOWN, "final": True,
                "queue": "hotline-12345", "ended_at": inside, **fields}

    await store.upsert_many([call("lost"), call("earlier", ended_at=before), call("told", unknown_reason="kept"),
                             call("left", final=False, ended_at=None), call("open", final=False, ended_at=None),
                             call("other", outcome=CallOutcome.ABANDONED)])
    await store.upsert(call("elsewhere") | {"server": "pbx2"})
    marked = await store.mark_unresolved("pbx1", since=gap[0], until=datetime.now(UTC), reason="the gap",
                                         still_open={"open"})
    assert marked == 2

    async def state(linkedid: str, server: str = "pbx1") -> tuple[Any, ...]:
        row = await store.get(server, linkedid)
        assert row is not None
        return row.final, row.outcome, row.unknown_reason

    assert await state("lost") == await state("left") == (True, CallOutcome.UNKNOWN, "the gap")
    assert await state("earlier") == (True, CallOutcome.UNKNOWN, None)
    assert await state("told") == (True, CallOutcome.UNKNOWN, "kept")
    assert await state("open") == (False, CallOutcome.UNKNOWN, None)
    assert await state("elsewhere", "pbx2") == (True, CallOutcome.UNKNOWN, None)
    await store.upsert(call("lost"))
    assert await state("lost") == (True, CallOutcome.UNKNOWN, "the gap")
    await store.backfill([call("lost", outcome=CallOutcome.ABANDONED)])
    assert await state("lost") == (True, CallOutcome.ABANDONED, None)
