"""Every recorded stream, replayed with its real TCP chunking and byte by byte, gives exactly the
call records the recorded calls imply; Asterisk's own counters and queue_log agree with ours."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ami.calldata import CallData
from ami.clock import StreamClock
from ami.model import LiveModel
from ami.parser import AmiParser
from ami.queue_log import import_queue_log
from ami.replay import ReplaySource, replay_file
from tests.ami.helpers import (
    AMI_STREAMS,
    EMPTY_QUEUE,
    WITH_QUEUE_LOG,
    queue_log_truth,
    recorded_chunks,
    records,
    replay_chunks,
    summary,
)
from ticketing.call_kpis import CallKpis, compute_call_kpis
from ticketing.models import CallOutcome


def _base(fixtures_dir: Path, name: str) -> Path:
    return fixtures_dir / name


@pytest.mark.parametrize("name", AMI_STREAMS)
def test_chunked_and_byte_by_byte_replays_agree(fixtures_dir: Path, name: str) -> None:
    base = _base(fixtures_dir, name)
    data = Path(f"{base}.recv").read_bytes()
    if Path(f"{base}.jsonl").exists():
        chunks = recorded_chunks(base)
        assert b"".join(chunks) == data
    else:  # queue_log/example has no journal: use TCP-like 1,460-byte segments
        chunks = [data[i:i + 1460] for i in range(0, len(data), 1460)]
    _, by_chunks = replay_chunks(chunks)
    _, whole = replay_chunks([data])
    assert records(by_chunks) == records(whole)
    if name != "ami/load":
        _, by_byte = replay_chunks(data[i:i + 1] for i in range(len(data)))
        assert records(by_byte) == records(whole)
    assert whole, "every stream holds at least one call"


@pytest.mark.slow
def test_load_byte_by_byte(fixtures_dir: Path) -> None:
    data = (fixtures_dir / "ami" / "load.recv").read_bytes()
    _, by_byte = replay_chunks(data[i:i + 1] for i in range(len(data)))
    _, whole = replay_chunks([data])
    assert records(by_byte) == records(whole)


def _one(fixtures_dir: Path, name: str) -> dict:
    _, calls = replay_chunks(recorded_chunks(_base(fixtures_dir, name)))
    assert len(calls) == 1
    return records(calls)[0]


def test_call_abandoned_is_one_abandon_after_5s(fixtures_dir: Path) -> None:
    r = _one(fixtures_dir, "ami/call_abandoned")
    assert summary(r) == ("abandoned", "hotline-enterprise", None, 5.0, None, 1,
                          (("hotline-enterprise", "abandoned", 5.0, 1, None, None),))
    assert (r["caller_number"], r["caller_name"], r["dnis"], r["server"]) == (
        "13800138000", "Citizen", "enterprise", "pbx1")
    assert r["hangup_cause"] == "16 Normal Clearing"


def test_call_answered_through_ivr(fixtures_dir: Path) -> None:
    r = _one(fixtures_dir, "ami/call_answered")
    assert summary(r) == ("answered", "hotline-12345", "agent1", 0.0, 4.0, 1,
                          (("hotline-12345", "answered", 0.0, 1, "agent1", 4.0),))
    assert r["linkedid"] == "1795868623.2"
    assert r["ivr_result"] == "code=0000;quick"
    assert r["dnis"] == "12345"
    assert r["recording"] == "/srv/pbx0/ast/var/spool/asterisk/monitor/1795868623.2.wav"
    assert r["final"] is True


def test_call_answered_direct_has_no_ivr(fixtures_dir: Path) -> None:
    r = _one(fixtures_dir, "ami/call_answered_direct")
    assert summary(r)[:5] == ("answered", "hotline-12345", "agent2", 0.0, 4.0)
    assert r["ivr_result"] is None and r["ivr_path"] is None


def test_redirect_between_queues_is_a_transfer_not_an_abandon(fixtures_dir: Path) -> None:
    r = _one(fixtures_dir, "ami/agent_ops")  # the call's wait is the wait in the answering queue
    assert summary(r) == ("answered", "hotline-12345", "agent3", 0.0, 2.0, 1, (
        ("hotline-enterprise", "transferred", 2.0, 1, None, None),
        ("hotline-12345", "answered", 0.0, 1, "agent3", 2.0)))


def test_ivr_only_calls_are_self_service(fixtures_dir: Path) -> None:
    for name in ("agi/fastagi_session.ami", "sip/sip_ivr.ami"):
        r = _one(fixtures_dir, name)
        assert (r["outcome"], r["queue"], r["legs"]) == ("self_service", None, [])
        assert r["ivr_result"] == "code=1234;choice=5"
        assert r["dnis"] == "12345"


def test_sip_call_is_answered_with_the_phone_number(fixtures_dir: Path) -> None:
    r = _one(fixtures_dir, "sip/sip_call.ami")
    assert (r["outcome"], r["caller_number"], r["agent"], r["dnis"]) == (
        "answered", "13900000001", "agent3", "12345")


def test_load_gives_100_offered_35_answered_65_abandoned(fixtures_dir: Path) -> None:
    _, calls = replay_chunks(recorded_chunks(fixtures_dir / "ami" / "load"))
    kpis = compute_call_kpis([c.record_fields() for c in calls])
    o = kpis.overall
    assert (o.offered, o.answered, o.abandoned, o.timeout, o.transferred) == (100, 35, 65, 0, 0)
    assert len(kpis.abandoned_calls) == 65
    assert all(a["caller_number"] for a in kpis.abandoned_calls)
    assert set(kpis.agents) == {"agent1", "agent2", "agent3"}
    assert sum(a.answered for a in kpis.agents.values()) == 35
    waits = sorted(c.legs[-1].wait_seconds or 0 for c in calls if c.outcome.value == "abandoned")
    assert 8 <= waits[0] and waits[-1] <= 40  # callers gave up after 8-40 s
    assert o.service_level == round(17 / 35, 4)


def _asterisk_vs_ours(fixtures_dir: Path, name: str, baseline: dict[str, dict[str, str]]) -> int:
    """At every `setqueuevar` burst Asterisk writes its own counters on the caller channel:
    compare them with the model's at that very point of the stream."""
    model = LiveModel(clock=StreamClock())
    for queue, params in baseline.items():
        model.apply("pbx1", {"Event": "QueueParams", "Queue": queue, **params})
        model.apply("pbx1", {"Event": "QueueStatusComplete"})
    current: dict[str, str] = {}
    checked = 0
    for message in AmiParser().feed((fixtures_dir / f"{name}.recv").read_bytes()):
        model.apply("pbx1", message)
        if message.get("Event") == "VarSet" and message["Variable"].startswith("QUEUE"):
            current[message["Variable"]] = message["Value"]
            if message["Variable"] == "QUEUESRVLEVELPERF":
                ours = model.snapshot().queue(current["QUEUENAME"]).params
                assert (ours.completed, ours.abandoned, ours.talktime, ours.service_level_perf) == (
                    int(current["QUEUECOMPLETED"]), int(current["QUEUEABANDONED"]),
                    int(current["QUEUETALKTIME"]), float(current["QUEUESRVLEVELPERF"]))
                checked += 1
    return checked


def test_asterisk_queue_figures_agree_with_ours(fixtures_dir: Path) -> None:
    # load ran on the same Asterisk right after the earlier scenarios: 3 calls completed
    # (talk time 3 s, all within the service level) before it started.
    before = {"hotline-12345": {"Completed": "3", "Abandoned": "0", "TalkTime": "3",
                                "ServiceLevel": "20", "ServicelevelPerf": "100.0",
                                "ServicelevelPerf2": "100.0"}}
    assert _asterisk_vs_ours(fixtures_dir, "ami/load", before) == 270
    assert _asterisk_vs_ours(fixtures_dir, "queue_log/example", {}) == 20


def test_queue_params_events_agree_with_our_kpis(fixtures_dir: Path) -> None:
    """agent_ops asks QueueStatus twice; Asterisk's QueueParams then must equal the figures of
    the calls of the earlier scenarios plus ours (recorded in this order on one Asterisk)."""
    calls = []
    for name in ("login_and_status", "call_answered", "call_answered_direct", "call_abandoned"):
        calls += replay_chunks([(fixtures_dir / "ami" / f"{name}.recv").read_bytes()])[1]
    queue_params = [m for m in AmiParser().feed((fixtures_dir / "ami" / "agent_ops.recv").read_bytes())
                    if m.get("Event") == "QueueParams"]
    kpis = compute_call_kpis([c.record_fields() for c in calls]).queues
    for params in queue_params:
        if params["ActionID"] == "ops-0004":
            ours = kpis[params["Queue"]]
            assert int(params["Completed"]) == ours.talked == 0
            assert int(params["Abandoned"]) == asterisk_abandoned(ours) == 2
    twelve = next(p for p in queue_params if p["Queue"] == "hotline-12345")
    assert int(twelve["Completed"]) == kpis["hotline-12345"].talked == 2
    assert float(twelve["ServicelevelPerf"]) == 100 * (kpis["hotline-12345"].service_level or 0)


def asterisk_abandoned(kpis: CallKpis) -> int:
    """Asterisk's QueueParams Abandoned: every QueueCallerAbandon, so timeouts and redirects of
    waiting callers too, but not key exits (which send none)."""
    return kpis.abandoned + kpis.timeout + kpis.transferred


def test_queue_log_and_ami_describe_the_same_calls(fixtures_dir: Path) -> None:
    imported = import_queue_log(fixtures_dir / "queue_log" / "example.queue_log", server="pbx1")
    _, calls = replay_chunks([(fixtures_dir / "queue_log" / "example.recv").read_bytes()])
    from_log = {r["linkedid"]: summary(r) for r in records(imported.calls)}
    from_ami = {r["linkedid"]: summary(r) for r in records(calls)}
    assert from_log == from_ami
    assert len(from_ami) == 10
    outcomes = sorted(s[0] for s in from_ami.values())
    assert outcomes == ["abandoned"] * 2 + ["answered"] * 7 + ["timeout"]
    assert from_ami["1795872319.20"][-1][0][1] == "transferred"
    assert from_ami["1795872317.8"][0] == "answered"
    kpi_log = compute_call_kpis([c.record_fields() for c in imported.calls])
    kpi_ami = compute_call_kpis([c.record_fields() for c in calls])
    assert kpi_log == kpi_ami
    assert kpi_ami.queues["hotline-12345"].transferred == 1
    report = {a["agent"]: a for a in imported.agents.report(imported.last_time)}
    assert report["agent3"]["pause_seconds"] == {"break": 14.0}


def test_pause_time_by_reason_from_ami(fixtures_dir: Path) -> None:
    model, _ = replay_file(fixtures_dir / "ami" / "agent_ops.recv")
    report = {a["agent"]: a for a in model.agents.report(model.clock())}
    assert set(report["agent4"]["pause_seconds"]) == {"lunch-break"}
    assert set(report["agent1"]["pause_seconds"]) == {"training"}


@pytest.mark.anyio
async def test_replay_source_paces_by_the_journal(fixtures_dir: Path) -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    calls = []
    model = LiveModel(clock=StreamClock(), on_call=lambda c: calls.append(c) if c.final else None)
    source = ReplaySource(fixtures_dir / "ami" / "call_abandoned.jsonl", model, speed=1000.0,
                          sleep=fake_sleep)
    await source.run()
    assert len(calls) == 1 and calls[0].outcome.value == "abandoned"
    assert slept and max(slept) < 0.1
    assert calls[0].started_at is not None and calls[0].started_at.year == 2026


def test_variables_set_after_the_last_hangup_still_reach_the_record() -> None:
    from ami.model import LiveModel

    updates = []
    model = LiveModel(clock=StreamClock(), on_call=updates.append)
    for message in (
        {"Event": "Newchannel", "Channel": "PJSIP/c-1", "Uniqueid": "5.1", "Linkedid": "5.1",
         "CallerIDNum": "13912345678", "Exten": "12345"},
        {"Event": "AGIExecStart", "Channel": "PJSIP/c-1", "Uniqueid": "5.1", "Linkedid": "5.1",
         "Exten": "12345"},
        {"Event": "Hangup", "Channel": "PJSIP/c-1", "Uniqueid": "5.1", "Linkedid": "5.1",
         "Cause": "16", "Cause-txt": "Normal Clearing"},
        {"Event": "VarSet", "Channel": "PJSIP/c-1", "Uniqueid": "5.1", "Linkedid": "5.1",
         "Variable": "IVR_PATH", "Value": "greeting>menu:2>progress:found>hangup"},
        {"Event": "VarSet", "Channel": "PJSIP/c-1", "Uniqueid": "5.1", "Linkedid": "5.1",
         "Variable": "HOTLINE_TICKET_ID", "Value": "42"},
    ):
        model.apply("pbx1", message)
    last = updates[-1]
    assert last.final and last.ivr_path == "greeting>menu:2>progress:found>hangup"
    assert last.ticket_id == 42 and last.outcome.value == "self_service"
    assert model.open_calls() == []


def test_a_path_longer_than_its_column_is_clipped_from_any_dialplan() -> None:
    """Another dialplan may set IVR_PATH too: what is stored fits call_records.ivr_path."""
    from ami.model import LiveModel
    from ticketing.vocabulary import IVR_PATH_MAX_LENGTH

    updates = []
    model = LiveModel(clock=StreamClock(), on_call=updates.append)
    long_path = ">".join(["menu:9"] * 100)
    for message in (
        {"Event": "Newchannel", "Channel": "PJSIP/c-2", "Uniqueid": "6.1", "Linkedid": "6.1",
         "CallerIDNum": "13912345678", "Exten": "12345"},
        {"Event": "VarSet", "Channel": "PJSIP/c-2", "Uniqueid": "6.1", "Linkedid": "6.1",
         "Variable": "IVR_PATH", "Value": long_path},
        {"Event": "Hangup", "Channel": "PJSIP/c-2", "Uniqueid": "6.1", "Linkedid": "6.1",
         "Cause": "16", "Cause-txt": "Normal Clearing"},
    ):
        model.apply("pbx1", message)
    stored = updates[-1].ivr_path
    assert stored is not None and len(stored) == IVR_PATH_MAX_LENGTH
    assert stored.startswith("menu:9>menu:9") and stored.endswith(">~")


@pytest.mark.parametrize("name", [n for n in WITH_QUEUE_LOG if n.startswith("ami/")])
def test_the_queue_log_truth_of_the_tests_is_the_recordings(fixtures_dir: Path, name: str) -> None:
    """`queue_log_truth` reads each queue_log as the recordings' own truth.json does."""
    recorded = json.loads((fixtures_dir / f"{name}.truth.json").read_text())
    queues, finals = queue_log_truth(fixtures_dir / f"{name}.queue_log")
    for queue, theirs in recorded["per_queue"].items():
        ours = queues.get(queue, EMPTY_QUEUE)
        assert (ours["offered"], ours["answered"], ours["abandoned"], ours["timeout"], ours["transferred"],
                ours["exit_with_key"], ours["answered_within_15s"], ours["answered_within_sl"]) == (
            theirs["offered"], theirs["answered"], theirs["abandoned"], theirs["timeouts"],
            theirs["transfers_out"], theirs.get("other_EXITWITHKEY", 0), theirs["answered_within_15s"],
            theirs["answered_within_20s"])
        if theirs["offered"]:
            assert (ours["asa_seconds"], ours["aht_seconds"]) == (
                theirs["avg_holdtime_answered"], theirs["avg_talktime"])
    names = {"answered": "answered", "ABANDON": "abandoned", "EXITWITHKEY": "exit_with_key",
             "EXITWITHTIMEOUT": "timeout"}
    assert finals == {names[k]: v for k, v in recorded["totals"]["final_outcome_per_distinct_call"].items()}


def _journal(fixtures_dir: Path, name: str, connections: tuple[str, ...] = ("main",)) -> list[CallData]:
    _, calls = replay_file(fixtures_dir / "ami" / f"{name}.jsonl", server="pbx1", connections=connections)
    return calls


def test_a_key_exit_is_its_own_outcome(fixtures_dir: Path) -> None:
    """exit_with_key: only QueueCallerLeave, already at queue-exit,9; queue_log: EXITWITHKEY|9|1|1|5."""
    [call] = _journal(fixtures_dir, "exit_with_key")
    [leg] = call.legs
    assert (call.outcome, leg.outcome, leg.wait_seconds) == (
        CallOutcome.EXIT_WITH_KEY, CallOutcome.EXIT_WITH_KEY, 5.0)
    [imported] = import_queue_log(fixtures_dir / "ami" / "exit_with_key.queue_log", server="pbx1").calls
    assert (imported.outcome, imported.legs[0].wait_seconds) == (CallOutcome.EXIT_WITH_KEY, 5.0)


def test_a_caller_redirected_while_talking_ends_its_first_leg_at_once(fixtures_dir: Path) -> None:
    """redirect_bridged_to_queue: agent1's leg ends when agent1's channel hangs up (3 s of talk), not
    at the late AgentComplete (TalkTime 15, after the caller's final hang-up, without Uniqueid)."""
    states: list[tuple[float | None, bool, int]] = []
    model = LiveModel(clock=StreamClock(), on_call=lambda c: states.append(
        (c.legs[0].talk_seconds, c.final, len(c.legs)) if c.legs else None))
    ReplaySource(fixtures_dir / "ami" / "redirect_bridged_to_queue.jsonl", model).feed_all()
    first_closed = next(s for s in states if s[0] is not None)
    assert first_closed == (3.0, False, 2)  # while the caller waits in, or talks to, hotline-enterprise
    [call] = _journal(fixtures_dir, "redirect_bridged_to_queue")
    assert [(leg.queue, leg.agent, leg.talk_seconds, leg.outcome) for leg in call.legs] == [
        ("hotline-12345", "agent1", 3.0, CallOutcome.ANSWERED),
        ("hotline-enterprise", "agent4", 12.0, CallOutcome.ANSWERED)]
    assert call.legs[0].left_at == call.legs[1].entered_at


def test_asa_counts_the_wait_in_the_answering_queue(fixtures_dir: Path) -> None:
    """redirect_waiting_to_queue: 3 s in hotline-enterprise, then answered at once in hotline-12345."""
    [call] = _journal(fixtures_dir, "redirect_waiting_to_queue")
    kpis = compute_call_kpis([call.record_fields()])
    assert call.record_fields()["wait_seconds"] == kpis.overall.asa_seconds == 0.0
    assert (kpis.queues["hotline-enterprise"].transferred, kpis.queues["hotline-12345"].answered) == (1, 1)


def test_a_snapshot_never_counts_a_caller_twice(fixtures_dir: Path) -> None:
    """login_and_status: a caller joins, then QueueStatus lists it as a QueueEntry: one leg, offered
    once. resync_during_join: the second QueueStatus lists seven callers already known."""
    model, calls = replay_file(fixtures_dir / "ami" / "login_and_status.recv")
    [call] = calls + model.open_calls()
    assert len(call.legs) == 1
    kpis = compute_call_kpis([c.record_fields() for c in _journal(fixtures_dir, "resync_during_join",
                                                                   ("resync",))])
    assert (kpis.overall.offered, kpis.queues["hotline-12345"].offered) == (10, 10)


def test_a_late_login_adopts_what_only_the_snapshot_shows(fixtures_dir: Path) -> None:
    """resync_during_join, the connection that logged in during the burst: callers 1-3 talk (only
    CoreShowChannels shows them), 4-5 wait (QueueStatus), 6-10 join afterwards. All ten calls end
    as queue_log says, none `unknown`: no snapshot closed what came after it."""
    calls = _journal(fixtures_dir, "resync_during_join", ("resync",))
    outcomes = sorted((c.outcome.value, c.legs[0].agent, c.legs[0].wait_seconds, c.legs[0].talk_seconds)
                      for c in calls)
    assert outcomes == [("abandoned", None, 13.0, None)] * 7 + [
        ("answered", f"agent{i}", 0.0, 13.0) for i in (1, 2, 3)]
    assert all(len(c.legs) == 1 and c.caller_number for c in calls)


def test_after_an_asterisk_restart_the_fresh_queue_status_replaces_the_members(fixtures_dir: Path) -> None:
    """asterisk_restart: Shutdown, then a new connection whose QueueStatus no longer lists the
    dynamic members (agent4, agent5) nor agent2's pause; no event ever said so."""
    model, _ = replay_file(fixtures_dir / "ami" / "asterisk_restart.jsonl", connections=("main", "after"))
    snapshot = model.snapshot()
    assert snapshot.queue("hotline-enterprise").members == ()
    twelve = snapshot.queue("hotline-12345")
    assert sorted((m.name, m.paused) for m in twelve.members) == [(f"agent{i}", False) for i in (1, 2, 3)]
    ledger = model.agents.agents
    assert ledger["agent2"].paused_since is None and set(ledger["agent2"].pause_seconds) == {"lunch"}
    assert ledger["agent4"].queues == set() and ledger["agent4"].logged_in_since is None
