"""Backfill call records from Asterisk's `queue_log` (`epoch|callid|queue|member|EVENT|params…`).

The callid is the caller channel's Uniqueid, which for a call that starts on that channel is also
its Linkedid, so imported records and AMI records of the same call share one key. Each ENTERQUEUE
opens a leg; CONNECT answers it; COMPLETECALLER/COMPLETEAGENT/TRANSFER end it with the talk time;
ABANDON, EXITWITHTIMEOUT, EXITEMPTY and EXITWITHKEY end it unanswered. A line names its queue, so
it goes to that queue's leg even after the caller moved on (a caller redirected while talking
gets its first leg's COMPLETECALLER at the very end). As in AMI, a Redirect of a waiting caller
between queues is written as ABANDON followed by ENTERQUEUE of the same callid: that leg becomes
`transferred`. (A Redirect to a non-queue extension cannot be told from an abandon in queue_log.)
Member lines (ADDMEMBER, REMOVEMEMBER, PAUSE, UNPAUSE, PAUSEALL, UNPAUSEALL) feed the agent ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ami.agents import AgentLedger
from ami.calldata import CallData, QueueLeg
from ticketing.models import CallOutcome

_UNANSWERED = {"ABANDON": CallOutcome.ABANDONED, "EXITWITHTIMEOUT": CallOutcome.TIMEOUT,
               "EXITEMPTY": CallOutcome.TIMEOUT, "EXITWITHKEY": CallOutcome.EXIT_WITH_KEY}
_COMPLETE = {"COMPLETECALLER", "COMPLETEAGENT"}


@dataclass
class QueueLogImport:
    calls: list[CallData] = field(default_factory=list)
    agents: AgentLedger = field(default_factory=AgentLedger)
    lines: int = 0
    skipped: int = 0
    last_time: datetime | None = None


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


def parse_queue_log(lines: Iterable[str], *, server: str) -> QueueLogImport:
    result = QueueLogImport()
    calls: dict[str, CallData] = {}
    legs: dict[tuple[str, str], QueueLeg] = {}  # (callid, queue) -> its latest leg there
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        result.lines += 1
        parts = line.split("|")
        if len(parts) < 5 or not parts[0].isdigit():
            result.skipped += 1
            continue
        at = datetime.fromtimestamp(int(parts[0]), UTC)
        result.last_time = at
        callid, queue, member, event, params = parts[1], parts[2], parts[3], parts[4], parts[5:]
        params += [""] * (6 - len(params))
        if callid in ("NONE", "MANAGER") or event in ("ADDMEMBER", "REMOVEMEMBER", "PAUSE", "UNPAUSE",
                                                      "PAUSEALL", "UNPAUSEALL"):
            _member_line(result.agents, queue, member, event, params, at)
            continue
        if event == "ENTERQUEUE":
            call = calls.get(callid)
            if call is None:
                call = calls[callid] = CallData(server, callid, started_at=at)
            call.caller_number = params[1] or call.caller_number
            if call.legs and call.legs[-1].outcome == CallOutcome.ABANDONED:
                call.legs[-1].outcome = CallOutcome.TRANSFERRED
            leg = QueueLeg(queue, callid, at, _int(params[2]))
            call.legs.append(leg)
            legs[(callid, queue)] = leg
            continue
        call = calls.get(callid)
        found = legs.get((callid, queue))
        if call is None or found is None:
            result.skipped += 1
            continue
        leg = found
        call.ended_at = at
        if event == "CONNECT":
            hold = _int(params[0])
            leg.wait_seconds = float(hold)
            leg.answered_at = at
            leg.agent = member
            leg.outcome = CallOutcome.ANSWERED
        elif event in _COMPLETE or event == "TRANSFER":
            offset = 2 if event == "TRANSFER" else 0
            leg.wait_seconds = float(_int(params[offset]))
            leg.talk_seconds = float(_int(params[offset + 1]))
            leg.position = _int(params[offset + 2]) or leg.position
            leg.complete_reason = {"COMPLETECALLER": "caller", "COMPLETEAGENT": "agent"}.get(
                event, "transfer")
            leg.left_at = at
        elif event in _UNANSWERED:
            offset = 1 if event == "EXITWITHKEY" else 0  # key|position|original position|wait
            leg.position = _int(params[offset + 1]) or leg.position
            leg.wait_seconds = float(_int(params[offset + 2]))
            leg.left_at = at
            leg.outcome = _UNANSWERED[event]
        elif event == "RINGNOANSWER":
            leg.ring_no_answer += 1
    for call in calls.values():
        for leg in call.legs:
            if leg.outcome is None:
                leg.outcome = CallOutcome.UNKNOWN
        call.final = True
        result.calls.append(call)
    return result


def _member_line(agents: AgentLedger, queue: str, member: str, event: str, params: list[str],
                 at: datetime) -> None:
    if not member or member == "NONE":
        return
    if event == "ADDMEMBER":
        agents.logged_in(member, queue, at)
    elif event == "REMOVEMEMBER":
        agents.logged_out(member, queue, at)
    elif event in ("PAUSE", "PAUSEALL"):
        if member not in agents.agents:
            agents.logged_in(member, queue, at)  # a static member: logged in before the log began
        agents.paused(member, queue, True, params[0] or None, at)
    elif event in ("UNPAUSE", "UNPAUSEALL"):
        agents.paused(member, queue, False, None, at)


def import_queue_log(path: Path | str, *, server: str) -> QueueLogImport:
    with Path(path).open(encoding="utf-8", errors="replace") as handle:
        return parse_queue_log(handle, server=server)
