"""The desk's live board, a listener of the AMI live model, fed by real Asterisk captures; and the
replay that drives it without a PBX."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent_desk.cli import app
from agent_desk.live.board import LiveBoard
from agent_desk.live.replay import LoopingReplay, bundled_capture
from ami.clock import StreamClock
from ami.events import AgentCall
from ami.model import LiveModel
from ami.replay import ReplaySource, read_chunks
from ami.runtime import AmiRuntime
from ami.settings import AmiSettings
from tests.agent_desk.conftest import DeskClient
from tests.ami.helpers import ALL_CAPTURES, EMPTY_QUEUE, WITH_QUEUE_LOG, queue_log_truth
from tests.conftest import FIXTURES
from ticketing.call_kpis import CallKpis
from ticketing.calls import CallStore

pytestmark = pytest.mark.anyio
KPI_FIELDS = set(CallKpis.model_fields)


def fed(fixtures_dir: Path, name: str) -> LiveBoard:
    board = LiveBoard(LiveModel(clock=StreamClock()))
    ReplaySource(fixtures_dir / "ami" / f"{name}.recv", board.model).feed_all()
    return board


def test_bundled_capture_is_a_byte_for_byte_copy(fixtures_dir: Path) -> None:
    assert bundled_capture().read_bytes() == (fixtures_dir / "ami" / "agent_ops.jsonl").read_bytes()


def test_answered_call(fixtures_dir: Path) -> None:
    snap = fed(fixtures_dir, "call_answered").snapshot()
    queue = next(q for q in snap.queues if q.name == "hotline-12345")
    assert (queue.offered, queue.answered, queue.abandoned, queue.waiting) == (1, 1, 0, 0)
    assert queue.answer_rate == 1.0 and queue.service_level == 1.0
    assert queue.aht_seconds == 4.0  # AgentComplete TalkTime: 4
    assert [(m.name, m.state) for m in queue.members] == [("agent1", "available")]


def test_abandoned_call_is_listed_with_its_number(fixtures_dir: Path) -> None:
    snap = fed(fixtures_dir, "call_abandoned").snapshot()
    queue = next(q for q in snap.queues if q.name == "hotline-enterprise")
    assert (queue.offered, queue.answered, queue.abandoned) == (1, 0, 1)
    assert [(a.queue, a.wait_seconds) for a in snap.abandoned] == [("hotline-enterprise", 5.0)]
    assert snap.abandoned[0].caller_number


def test_redirect_counts_as_transfer_not_abandon(fixtures_dir: Path) -> None:
    snap = fed(fixtures_dir, "agent_ops").snapshot()
    enterprise = next(q for q in snap.queues if q.name == "hotline-enterprise")
    assert enterprise.transferred == 1 and enterprise.abandoned == 0
    assert snap.abandoned == []
    assert snap.totals.answered == 1 and snap.totals.offered == 1  # one call, offered to two queues


def test_timeouts_are_neither_abandons_nor_listed(fixtures_dir: Path) -> None:
    """queue_log/example has one EXITWITHTIMEOUT, which also sent QueueCallerAbandon."""
    board = LiveBoard(LiveModel(clock=StreamClock()))
    ReplaySource(fixtures_dir / "queue_log" / "example.recv", board.model).feed_all()
    snap = board.snapshot()
    assert (snap.totals.timeout, snap.totals.abandoned) == (1, 2)
    assert len(snap.abandoned) == 2


def test_waiting_caller_and_longest_wait() -> None:
    clock = StreamClock(100.0)
    board = LiveBoard(LiveModel(clock=clock))
    board.model.apply("pbx", {"Event": "QueueCallerJoin", "Queue": "q1", "Uniqueid": "1.1", "Linkedid": "1.1",
                              "CallerIDNum": "13900000000", "Position": "1"})
    clock.observe(112.5)
    snap = board.snapshot()
    assert snap.totals.waiting == 1 and snap.totals.longest_wait_seconds == 12.5
    assert (snap.totals.offered, snap.totals.in_queue) == (1, 1)
    assert (snap.queues[0].offered, snap.queues[0].in_queue) == (1, 1)
    assert snap.totals.answer_rate is None  # nobody has been answered or lost yet
    assert snap.queues[0].callers[0].caller_number == "13900000000"


def test_agent_call_events_for_screen_pops(fixtures_dir: Path) -> None:
    model = LiveModel(clock=StreamClock())
    seen: list[AgentCall] = []
    model.listen(lambda event: seen.append(event) if isinstance(event, AgentCall) else None)
    ReplaySource(fixtures_dir / "ami" / "call_answered.recv", model).feed_all()
    assert [s.kind for s in seen] == ["ringing", "connected", "completed"]
    assert {(s.interface, s.member_name) for s in seen} == {("Local/agent1@agents", "agent1")}
    assert {(s.caller_number, s.linkedid) for s in seen} == {("13800138000", "1795868623.2")}


def test_agent_redirected_away_completes_at_once(fixtures_dir: Path) -> None:
    """agent1's caller is redirected to another queue: agent1's screen hears `completed` when its
    channel hangs up, not at the caller's final hang-up 12 s later."""
    model = LiveModel(clock=StreamClock())
    seen: list[tuple[str, str]] = []
    model.listen(lambda e: seen.append((e.kind, e.member_name)) if isinstance(e, AgentCall) else None)
    ReplaySource(fixtures_dir / "ami" / "redirect_bridged_to_queue.jsonl", model).feed_all()
    assert seen == [("ringing", "agent1"), ("connected", "agent1"), ("ringing", "agent4"),
                    ("completed", "agent1"), ("connected", "agent4"), ("completed", "agent4")]


async def test_replay_paces_by_recorded_time() -> None:
    times = [chunk.t for chunk in read_chunks(bundled_capture()) if chunk.t is not None]
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    source = ReplaySource(bundled_capture(), LiveModel(), speed=4, sleep=fake_sleep)
    await source.run()
    assert source.chunks_fed == len(times) and sleeps
    assert max(sleeps) <= (times[-1] - times[0]) / 4 + 1e-6


async def test_looping_replay_feeds_the_board_through_the_ami_model() -> None:
    board = LiveBoard(mode="replay")
    finished: list[object] = []
    board.model.on_call = lambda call: finished.append(call) if call.final else None
    replay = LoopingReplay(bundled_capture(), board.model, speed=1000, loop=False)
    await replay.run()
    assert replay.rounds == 1 and replay.chunks_fed > 10
    assert board.snapshot().totals.answered == 1
    assert finished and {call.server for call in finished} == {"replay"}  # type: ignore[attr-defined]


def test_a_capture_without_data_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.recv"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="no AMI data"):
        LoopingReplay(empty, LiveModel())


def test_load_capture_agrees_with_asterisks_counts(fixtures_dir: Path) -> None:
    """100 calls in 42 s (11,647 events): the board's counters match the recorded statistics."""
    stats = json.loads((fixtures_dir / "ami" / "load.stats.json").read_text())
    snap = fed(fixtures_dir, "load").snapshot()
    assert snap.totals.offered == stats["queue_caller_join"] == 100
    assert snap.totals.answered == stats["agent_connect"] == 35
    assert snap.totals.abandoned == stats["queue_caller_abandon"] == 65
    assert snap.totals.waiting == 0 and len(snap.abandoned) == 65


def _kpis(figures: Any) -> dict[str, Any]:
    return {name: getattr(figures, name) if not isinstance(figures, dict) else figures[name]
            for name in KPI_FIELDS}


@pytest.mark.parametrize("capture", ALL_CAPTURES)
async def test_replay_cli_and_desk_board_give_the_same_figures(fixtures_dir: Path, capture: str,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    """Every recorded capture through `hotline ami replay` and through the desk's board (the desk's
    replay feeding the model the board listens to): every figure the board shows is the CLI's."""
    monkeypatch.setenv("HOTLINE_CONFIG", str(tmp_path / "none.toml"))
    path = fixtures_dir / capture
    result = CliRunner().invoke(app, ["ami", "replay", str(path), "--json"])
    assert result.exit_code == 0, result.output
    cli = json.loads(result.stdout)
    board = LiveBoard(LiveModel(clock=StreamClock()), mode="replay")
    await LoopingReplay(path, board.model, speed=0, loop=False).run()
    snap = board.snapshot()

    assert _kpis(snap.totals) == _kpis(cli["kpis"]["overall"])
    assert {q.name: _kpis(q) for q in snap.queues if q.offered} == {
        name: _kpis(figures) for name, figures in cli["kpis"]["queues"].items()}
    live = {q["name"]: q for q in cli["snapshot"]["queues"]}
    for queue in snap.queues:
        theirs = live.get(queue.name, {"callers": [], "members": [], "available": 0})
        assert [c.uniqueid for c in queue.callers] == [c["uniqueid"] for c in theirs["callers"]]
        assert [(m.interface, m.state, m.paused_reason, m.calls_taken) for m in queue.members] == [
            (m["interface"], m["state"], m["paused_reason"], m["calls_taken"]) for m in theirs["members"]]
        assert (queue.waiting, queue.logged_in, queue.available) == (
            len(theirs["callers"]), len(theirs["members"]), theirs["available"])
    assert sorted(a.linkedid for a in snap.abandoned) == sorted(
        c["linkedid"] for c in cli["calls"] + cli["open_calls"] if c["outcome"] == "abandoned" and c["legs"])


# Where AMI knows more than queue_log: (per-queue corrections, per-call outcome corrections).
AMI_KNOWS_MORE: dict[str, tuple[dict[str, dict[str, Any]], dict[str, int]]] = {
    # queue_log cannot tell a Redirect to an agent from an abandon (ABANDON); AMI sees the caller
    # already in the transfer context when QueueCallerAbandon arrives, with no hang-up requested.
    "ami/redirect_to_agent": ({"hotline-enterprise": {"abandoned": 0, "transferred": 1}},
                              {"abandoned": 0, "transferred": 1}),
    # queue_log's COMPLETECALLER of the first leg comes at the caller's final hang-up with the talk
    # time of both agents (15 s); AMI ends that leg when agent1's channel hangs up, after 3 s.
    "ami/redirect_bridged_to_queue": ({"hotline-12345": {"aht_seconds": 3.0}}, {}),
}
TRUTH_CAPTURES = [(name, "main") for name in WITH_QUEUE_LOG] + [("ami/resync_during_join", "resync")]
ALL_TIME = {"since": "2026-01-01T00:00:00+00:00", "until": "2028-01-01T00:00:00+00:00"}


@pytest.fixture
def board() -> LiveBoard:
    """The desk's board on a model that keeps the recording's clock (for `client`)."""
    return LiveBoard(LiveModel(clock=StreamClock()), mode="replay")


def _expected(name: str) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    queues, finals = queue_log_truth(FIXTURES / f"{name}.queue_log")
    fixes, final_fixes = AMI_KNOWS_MORE.get(name, ({}, {}))
    for queue, fix in fixes.items():
        queues[queue].update(fix)
    finals = {k: v for k, v in {**finals, **final_fixes}.items() if v}
    return queues, finals


def _queues(rows: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: {key: (row[key] if isinstance(row, dict) else getattr(row, key)) for key in EMPTY_QUEUE}
            for name, row in rows.items()}


def _finals(overall: Any) -> dict[str, int]:
    get = overall.get if isinstance(overall, dict) else lambda key: getattr(overall, key)
    return {k: get(k) for k in ("answered", "abandoned", "timeout", "exit_with_key", "transferred") if get(k)}


@pytest.mark.parametrize(("name", "connection"), TRUTH_CAPTURES)
async def test_calls_and_kpis_equal_queue_log_in_replay_api_and_wallboard(
        client: DeskClient, name: str, connection: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Asterisk's queue_log is the arbiter: `hotline ami replay`, the API (from the stored records)
    and the wallboard give its per-queue KPIs and final outcomes, except where AMI knows more."""
    queues, finals = _expected(name)
    path = FIXTURES / (f"{name}.jsonl" if name.startswith("ami/") else f"{name}.recv")

    monkeypatch.setenv("HOTLINE_CONFIG", str(tmp_path / "none.toml"))
    result = CliRunner().invoke(app, ["ami", "replay", str(path), "--connection", connection, "--json"])
    cli = json.loads(result.stdout)
    assert _queues(cli["kpis"]["queues"]) == queues
    assert _finals(cli["kpis"]["overall"]) == finals
    assert sum(finals.values()) == len(cli["calls"]) and cli["open_calls"] == []

    runtime = AmiRuntime(AmiSettings(), CallStore(client.desk.sessions), model=client.desk.board.model)
    ReplaySource(path, runtime.model, connections=[connection]).feed_all()
    await runtime.writer.flush()
    auth = client.auth("sup_province")
    by_queue = (await client.http.get("/api/supervisor/kpi/calls", params={**ALL_TIME, "by": "queue"},
                                      headers=auth)).json()["items"]
    assert _queues({row["key"]: row for row in by_queue}) == queues
    [overall] = (await client.http.get("/api/supervisor/kpi/calls", params=ALL_TIME, headers=auth)).json()["items"]
    assert _finals(overall) == finals

    wall = (await client.http.get("/api/wallboard/snapshot", headers=client.kiosk)).json()
    assert _queues({q["name"]: q for q in wall["queues"] if q["offered"]}) == queues
    assert _finals(wall["totals"]) == finals
    assert len(wall["abandoned"]) == finals.get("abandoned", 0)


def test_counts_start_again_at_local_midnight(fixtures_dir: Path) -> None:
    """"Today" on the wallboard is the hotline's day: at local midnight the figures start from zero, and
    a call that entered its queue yesterday (the replayed capture's day) does not count today."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Shanghai")
    stream = StreamClock()
    now: list[datetime] = []
    board = LiveBoard(LiveModel(clock=stream), zone=zone, clock=lambda: now[0] if now else stream())
    ReplaySource(fixtures_dir / "ami" / "call_answered.recv", board.model).feed_all()
    taken = stream()
    queue = next(q for q in board.snapshot().queues if q.name == "hotline-12345")
    assert (queue.offered, queue.answered) == (1, 1)

    local = taken.astimezone(zone)
    now.append((local + timedelta(days=1)).replace(hour=0, minute=0, second=1))
    assert board.export()[:2] == ({}, {})  # what a telephony leader publishes to the API processes
    snap = board.snapshot()
    assert snap.totals.offered == 0 and all(q.offered == 0 for q in snap.queues)

    ReplaySource(fixtures_dir / "ami" / "call_abandoned.recv", board.model).feed_all()
    snap = board.snapshot()
    assert snap.totals.offered == 0, "a call from before midnight counted today"
    assert [a.queue for a in snap.abandoned] == ["hotline-enterprise"]  # still to be called back
