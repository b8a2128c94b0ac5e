"""The live board fed by real Asterisk captures, and the replay that drives it without a PBX."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent_desk.live.board import AgentSignal, LiveBoard
from agent_desk.live.replay import LoopingReplay, bundled_capture, capture_messages
from ami.model import LiveModel
from ami.replay import ReplaySource, read_chunks

pytestmark = pytest.mark.anyio


def fed(fixtures_dir: Path, name: str) -> LiveBoard:
    board = LiveBoard(service_level_seconds=20, short_abandon_seconds=5)
    for message in capture_messages(fixtures_dir / "ami" / f"{name}.recv"):
        board.apply(message)
    return board


def test_bundled_capture_is_a_byte_for_byte_copy(fixtures_dir: Path) -> None:
    assert bundled_capture().read_bytes() == (fixtures_dir / "ami" / "agent_ops.jsonl").read_bytes()


def test_answered_call(fixtures_dir: Path) -> None:
    snap = fed(fixtures_dir, "call_answered").snapshot()
    queue = next(q for q in snap.queues if q.name == "hotline-12345")
    assert (queue.offered, queue.answered, queue.abandoned, queue.waiting) == (1, 1, 0, 0)
    assert queue.answer_rate == 1.0 and queue.service_level == 1.0
    assert queue.aht_seconds == 4.0  # AgentComplete TalkTime: 4


def test_abandoned_call_is_listed_with_its_number(fixtures_dir: Path) -> None:
    snap = fed(fixtures_dir, "call_abandoned").snapshot()
    queue = next(q for q in snap.queues if q.name == "hotline-enterprise")
    assert (queue.offered, queue.answered, queue.abandoned) == (1, 0, 1)
    assert [(a.queue, a.wait_seconds) for a in snap.abandoned] == [("hotline-enterprise", 5.0)]
    assert snap.abandoned[0].caller_number


def test_redirect_counts_as_transfer_not_abandon(fixtures_dir: Path) -> None:
    board = fed(fixtures_dir, "agent_ops")
    snap = board.snapshot()
    enterprise = next(q for q in snap.queues if q.name == "hotline-enterprise")
    assert enterprise.transferred == 1 and enterprise.abandoned == 0
    assert snap.abandoned == []
    assert snap.totals.answered == 1


def test_waiting_caller_and_longest_wait(fixtures_dir: Path) -> None:
    clock = [100.0]
    board = LiveBoard(monotonic=lambda: clock[0])
    board.apply({"Event": "QueueCallerJoin", "Queue": "q1", "Uniqueid": "1.1", "CallerIDNum": "13900000000",
                 "Position": "1"})
    clock[0] = 112.5
    snap = board.snapshot()
    assert snap.totals.waiting == 1 and snap.totals.longest_wait_seconds == 12.5
    assert snap.totals.answer_rate is None  # nobody has been answered or lost yet


async def test_agent_signals_for_screen_pops(fixtures_dir: Path) -> None:
    board = LiveBoard()
    seen: list[AgentSignal] = []
    async with board.agent_signals.listen() as queue:
        for message in capture_messages(fixtures_dir / "ami" / "call_answered.recv"):
            board.apply(message)
        while not queue.empty():
            seen.append(queue.get_nowait())
    assert [s.kind for s in seen] == ["ringing", "connected", "completed"]
    assert {s.interface for s in seen} == {"Local/agent1@agents"}
    assert seen[1].caller_number == "13800138000" and seen[1].linkedid == "1795868623.2"


async def test_replay_paces_by_recorded_time() -> None:
    times = [chunk.t for chunk in read_chunks(bundled_capture()) if chunk.t is not None]
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    source = ReplaySource(bundled_capture(), LiveModel(), speed=4, sleep=fake_sleep)
    await source.run()
    assert source.chunks_fed == len(times) and sleeps
    assert max(sleeps) <= (times[-1] - times[0]) / 4 + 1e-6


async def test_looping_replay_feeds_the_desk_board_through_the_ami_model() -> None:
    from agent_desk.wiring import _tee_model

    board = LiveBoard(mode="replay")
    finished: list[object] = []
    model = _tee_model(board, on_call=lambda call: finished.append(call) if call.final else None)
    replay = LoopingReplay(bundled_capture(), model, speed=1000, loop=False)
    await replay.run()
    assert replay.rounds == 1 and replay.chunks_fed > 10
    assert board.snapshot().totals.answered == 1
    assert finished and {call.server for call in finished} == {"replay"}


def test_a_capture_without_data_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.recv"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="no AMI data"):
        LoopingReplay(empty, LiveModel())


def test_load_capture_agrees_with_asterisks_counts(fixtures_dir: Path) -> None:
    """100 calls in 42 s (11,647 events): the board's counters match the recorded statistics."""
    import json

    stats = json.loads((fixtures_dir / "ami" / "load.stats.json").read_text())
    snap = fed(fixtures_dir, "load").snapshot()
    assert snap.totals.offered == stats["queue_caller_join"] == 100
    assert snap.totals.answered == stats["agent_connect"] == 35
    assert snap.totals.abandoned == stats["queue_caller_abandon"] == 65
    assert snap.totals.waiting == 0 and len(snap.abandoned) == 65
