"""The live model: queues, members, waiting callers and calls, updated from AMI events.

`LiveModel.apply(server, message)` takes parsed messages from any number of servers (live
connections or a replay) and keeps per server: the queues with Asterisk's parameters, the members
and their status, the waiting callers; and one `CallData` per Linkedid, handed to `on_call` when it
joins a queue, is answered and when it ends. Change events go to `subscribe()`rs.

Outcomes follow what Asterisk really sends (see the fixtures README):
- a queue timeout also sends QueueCallerAbandon; the later `VarSet QUEUESTATUS=TIMEOUT` on the
  caller channel turns the leg into `timeout`;
- a Redirect out of a queue also looks like an abandon: the caller channel is already in another
  dialplan place (its Context/Exten in QueueCallerAbandon differ from those at QueueCallerJoin) or
  the same Uniqueid joins another queue; that leg becomes `transferred`. A caller who really hung up
  has a HangupRequest/SoftHangupRequest before the abandon;
- AgentComplete may lack Uniqueid: it is matched by queue and member interface.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from ami.agents import AgentLedger
from ami.bus import EventBus, Subscription
from ami.calldata import CallData, QueueLeg
from ami.clock import StreamClock
from ami.events import (
    CallerJoined,
    CallerLeft,
    CallUpdated,
    ChangeEvent,
    MemberChanged,
    MemberRemoved,
    QueueParamsChanged,
    Resynced,
)
from ami.state import (
    CallerView,
    MemberState,
    MemberStatus,
    QueueParams,
    QueueState,
    QueueView,
    Snapshot,
    WaitingCaller,
)
from ticketing.models import CallOutcome, utcnow

IVR_RESULT = "IVR_RESULT"
IVR_PATH = "IVR_PATH"
DRAFT_ID = "HOTLINE_DRAFT_ID"
TICKET_ID = "HOTLINE_TICKET_ID"
WANTED_VARIABLES = frozenset(
    {IVR_RESULT, IVR_PATH, DRAFT_ID, TICKET_ID, "QUEUESTATUS", "MIXMONITOR_FILENAME"}
)
_UNKNOWN_ID = ("", "<unknown>")
RECENT_CALLS = 1000
_EXIT_STATUS = {"TIMEOUT": CallOutcome.TIMEOUT, "LEAVEEMPTY": CallOutcome.TIMEOUT,
                "LEAVEUNAVAIL": CallOutcome.TIMEOUT}

CallSink = Callable[[CallData], None]


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


def _float(value: str | None) -> float:
    try:
        return float(value) if value else 0.0
    except ValueError:
        return 0.0


def _callerid(value: str | None) -> str | None:
    return None if value is None or value in _UNKNOWN_ID else value


def _epoch(value: str | None) -> datetime | None:
    seconds = _int(value)
    return datetime.fromtimestamp(seconds, utcnow().tzinfo) if seconds > 0 else None


class _Server:
    """Everything the model knows about one Asterisk server."""

    __slots__ = (
        "abandoned_in_sl",
        "calls",
        "channel_count",
        "channels",
        "in_sl",
        "name",
        "open_legs",
        "queues",
        "recent",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self.queues: dict[str, QueueState] = {}
        self.calls: dict[str, CallData] = {}
        self.channels: dict[str, tuple[str, str]] = {}  # channel name -> (uniqueid, linkedid)
        self.channel_count: dict[str, int] = {}
        self.open_legs: dict[str, tuple[CallData, QueueLeg]] = {}  # uniqueid -> current leg
        self.in_sl: dict[str, int] = {}
        self.abandoned_in_sl: dict[str, int] = {}
        # Calls that just ended: the IVR may still set variables on a dead channel afterwards.
        self.recent: OrderedDict[str, CallData] = OrderedDict()

    def queue(self, name: str) -> QueueState:
        state = self.queues.get(name)
        if state is None:
            state = self.queues[name] = QueueState(self.name, name)
        return state


class LiveModel:
    def __init__(self, *, clock: Callable[[], datetime] = utcnow, on_call: CallSink | None = None,
                 service_level_default: int = 20) -> None:
        self.clock = clock
        self._stream_clock = clock if isinstance(clock, StreamClock) else None
        self._on_call = on_call
        self._bus: EventBus[ChangeEvent] = EventBus()
        self._servers: dict[str, _Server] = {}
        self._sl_default = service_level_default
        self.agents = AgentLedger()
        self.events_applied = 0
        self._handlers: dict[str, Callable[[_Server, Mapping[str, str]], None]] = {
            "Newchannel": self._newchannel,
            "Hangup": self._hangup,
            "HangupRequest": self._hangup_request,
            "SoftHangupRequest": self._hangup_request,
            "VarSet": self._varset,
            "AGIExecStart": self._agi,
            "QueueCallerJoin": self._caller_join,
            "QueueCallerLeave": self._caller_leave,
            "QueueCallerAbandon": self._caller_abandon,
            "AgentCalled": self._agent_called,
            "AgentConnect": self._agent_connect,
            "AgentComplete": self._agent_complete,
            "AgentRingNoAnswer": self._agent_ring_no_answer,
            "AgentDump": self._agent_ring_no_answer,
            "QueueMemberStatus": self._member_update,
            "QueueMemberAdded": self._member_added,
            "QueueMemberPause": self._member_update,
            "QueueMemberPaused": self._member_update,
            "QueueMember": self._member_update,
            "QueueMemberRemoved": self._member_removed,
            "QueueParams": self._queue_params,
            "QueueEntry": self._queue_entry,
            "BridgeEnter": self._bridge,
            "BridgeLeave": self._bridge,
            "MixMonitorStart": self._mixmonitor,
        }

    # ------------------------------------------------------------------ public API
    def wants(self, name: str, raw: str) -> bool:
        """Parser filter: only build the events this model reads (VarSet only for our variables)."""
        if name == "VarSet":
            start = raw.find("\r\nVariable: ")
            if start < 0:
                return False
            start += 12
            end = raw.find("\r\n", start)
            return raw[start:end if end >= 0 else None] in WANTED_VARIABLES
        return name in self._handlers

    def apply(self, server: str, message: Mapping[str, str]) -> None:
        name = message.get("Event")
        if name is None:
            return
        handler = self._handlers.get(name)
        if handler is None:
            return
        state = self._servers.get(server)
        if state is None:
            state = self._servers[server] = _Server(server)
        self.events_applied += 1
        handler(state, message)

    def apply_all(self, server: str, messages: Iterable[Mapping[str, str]]) -> None:
        for message in messages:
            self.apply(server, message)

    def subscribe(self, maxsize: int = 1000) -> Subscription[ChangeEvent]:
        return self._bus.subscribe(maxsize)

    def publish(self, event: ChangeEvent) -> None:
        self._bus.publish(event)

    @property
    def servers(self) -> list[str]:
        return list(self._servers)

    def snapshot(self) -> Snapshot:
        now = self.clock()
        views = []
        for server in self._servers.values():
            for queue in server.queues.values():
                callers = tuple(
                    CallerView(c.uniqueid, c.linkedid, c.channel, c.caller_number, c.caller_name,
                               c.position, c.joined_at, c.wait_seconds(now))
                    for c in sorted(queue.callers.values(), key=lambda c: c.position)
                )
                members = tuple(MemberState(**{k: getattr(m, k) for k in MemberState.__slots__})
                                for m in queue.members.values())
                params = QueueParams(**{k: getattr(queue.params, k) for k in QueueParams.__slots__})
                longest = max((c.wait_seconds for c in callers), default=0.0)
                views.append(QueueView(server.name, queue.name, params, callers, members, longest))
        views.sort(key=lambda v: (v.server, v.name))
        return Snapshot(now, tuple(views))

    def open_calls(self, server: str | None = None) -> list[CallData]:
        return [call for s in self._servers.values() if server in (None, s.name)
                for call in s.calls.values()]

    def channel_of(self, linkedid: str, server: str | None = None) -> str | None:
        """The caller's live channel (the call's first channel) if it is still up."""
        for state in self._servers.values():
            if server not in (None, state.name):
                continue
            for channel, (uniqueid, linked) in state.channels.items():
                if linked == linkedid and uniqueid == linkedid:
                    return channel
        return None

    def server_of_queue(self, queue: str) -> str | None:
        for state in self._servers.values():
            if queue in state.queues:
                return state.name
        return None

    def server_of_channel(self, channel: str) -> str | None:
        for state in self._servers.values():
            if channel in state.channels:
                return state.name
        return None

    def server_of_interface(self, interface: str) -> str | None:
        for state in self._servers.values():
            if any(interface in q.members for q in state.queues.values()):
                return state.name
        return None

    # ------------------------------------------------------------------ resync
    def resync(self, server: str, queue_status: Sequence[Mapping[str, str]],
               channels: Sequence[Mapping[str, str]]) -> Resynced:
        """Rebuild a server's state from QueueStatus and CoreShowChannels list events.

        Queues, members and waiting callers become exactly what Asterisk listed. Calls with no live
        channel left ended while we were disconnected: they are closed with outcome `unknown`.
        """
        state = self._servers.get(server)
        if state is None:
            state = self._servers[server] = _Server(server)
        now = self.clock()
        state.channels = {}
        state.channel_count = {}
        for row in channels:
            uniqueid, linkedid = row.get("Uniqueid", ""), row.get("Linkedid", "")
            if not uniqueid:
                continue
            state.channels[row.get("Channel", uniqueid)] = (uniqueid, linkedid or uniqueid)
            state.channel_count[linkedid] = state.channel_count.get(linkedid, 0) + 1
            if uniqueid == linkedid and linkedid not in state.calls:
                state.calls[linkedid] = CallData(
                    server, linkedid, started_at=now - timedelta(seconds=_duration(row.get("Duration"))),
                    caller_number=_callerid(row.get("CallerIDNum")),
                    caller_name=_callerid(row.get("CallerIDName")))
        fresh: dict[str, QueueState] = {}
        for row in queue_status:
            name = row.get("Queue")
            if not name:
                continue
            queue = fresh.get(name)
            if queue is None:
                queue = fresh[name] = QueueState(server, name)
                old = state.queues.get(name)
                if old is not None:
                    queue.params = old.params
            kind = row.get("Event")
            if kind == "QueueParams":
                self._set_params(state, queue, row)
            elif kind == "QueueMember":
                member = self._member_from(row, queue.members.get(row.get("Location", "")))
                queue.members[member.interface] = member
            elif kind == "QueueEntry":
                self._resync_entry(state, queue, row, now)
        live_callers = {uid for q in fresh.values() for uid in q.callers}
        state.queues = fresh
        for uniqueid, (call, leg) in list(state.open_legs.items()):
            if uniqueid not in live_callers and leg.outcome is None and leg.answered_at is None:
                leg.outcome = CallOutcome.UNKNOWN
                leg.left_at = now
                del state.open_legs[uniqueid]
        closed = 0
        for linkedid, call in list(state.calls.items()):
            if state.channel_count.get(linkedid, 0) <= 0:
                call.lost = True
                for leg in call.legs:
                    if leg.outcome is None:
                        leg.outcome = CallOutcome.UNKNOWN
                self._finish(state, call, now)
                closed += 1
        event = Resynced(server, len(fresh), len(live_callers), closed)
        self._bus.publish(event)
        return event

    def _resync_entry(self, state: _Server, queue: QueueState, row: Mapping[str, str],
                      now: datetime) -> None:
        uniqueid = row.get("Uniqueid", "")
        channel = row.get("Channel", "")
        linkedid = state.channels.get(channel, (uniqueid, uniqueid))[1]
        joined = now - timedelta(seconds=_int(row.get("Wait")))
        caller = WaitingCaller(uniqueid, linkedid, channel, _callerid(row.get("CallerIDNum")),
                               _callerid(row.get("CallerIDName")), _int(row.get("Position"), 1), joined)
        queue.callers[uniqueid] = caller
        current = state.open_legs.get(uniqueid)
        if current is not None and current[1].queue == queue.name:
            return
        call = state.calls.get(linkedid)
        if call is None:
            call = state.calls[linkedid] = CallData(state.name, linkedid, started_at=joined,
                                                    caller_number=caller.caller_number,
                                                    caller_name=caller.caller_name)
        leg = QueueLeg(queue.name, uniqueid, joined, caller.position)
        call.legs.append(leg)
        state.open_legs[uniqueid] = (call, leg)

    # ------------------------------------------------------------------ channels
    def _newchannel(self, state: _Server, m: Mapping[str, str]) -> None:
        uniqueid = m.get("Uniqueid", "")
        linkedid = m.get("Linkedid") or uniqueid
        if self._stream_clock is not None:
            self._stream_clock.observe_uniqueid(uniqueid)
        channel = m.get("Channel", "")
        state.channels[channel] = (uniqueid, linkedid)
        state.channel_count[linkedid] = state.channel_count.get(linkedid, 0) + 1
        if uniqueid == linkedid and linkedid not in state.calls:
            state.calls[linkedid] = CallData(
                state.name, linkedid, started_at=self.clock(),
                caller_number=_callerid(m.get("CallerIDNum")), caller_name=_callerid(m.get("CallerIDName")),
                dnis=None if channel.startswith("Local/") else (m.get("Exten") or None))

    def _hangup_request(self, state: _Server, m: Mapping[str, str]) -> None:
        current = state.open_legs.get(m.get("Uniqueid", ""))
        if current is not None:
            current[1].hangup_requested = True

    def _hangup(self, state: _Server, m: Mapping[str, str]) -> None:
        uniqueid = m.get("Uniqueid", "")
        linkedid = m.get("Linkedid") or uniqueid
        state.channels.pop(m.get("Channel", ""), None)
        call = state.calls.get(linkedid)
        if call is not None and uniqueid == linkedid:
            cause, text = m.get("Cause", ""), m.get("Cause-txt", "")
            call.hangup_cause = f"{cause} {text}".strip() or None
            call.caller_number = call.caller_number or _callerid(m.get("CallerIDNum"))
            call.caller_name = call.caller_name or _callerid(m.get("CallerIDName"))
            if call.dnis is None and not call.legs and (call.ivr_result or call.ivr_path):
                call.dnis = m.get("Exten") or None
        remaining = state.channel_count.get(linkedid, 1) - 1
        if remaining > 0:
            state.channel_count[linkedid] = remaining
            return
        state.channel_count.pop(linkedid, None)
        if call is not None:
            self._finish(state, call, self.clock())

    def _finish(self, state: _Server, call: CallData, now: datetime) -> None:
        state.calls.pop(call.linkedid, None)
        for leg in call.legs:
            current = state.open_legs.get(leg.uniqueid)
            if current is not None and current[1] is leg:
                del state.open_legs[leg.uniqueid]
            if leg.outcome is None:
                leg.outcome = CallOutcome.UNKNOWN
        ends = [leg.left_at for leg in call.legs if leg.left_at is not None]
        call.ended_at = max([now, *ends])
        call.final = True
        state.recent[call.linkedid] = call
        if len(state.recent) > RECENT_CALLS:
            state.recent.popitem(last=False)
        if call.legs or call.ivr or call.ivr_result or call.ivr_path or call.draft_id or call.ticket_id:
            self._emit(call)

    def _emit(self, call: CallData) -> None:
        if self._on_call is not None:
            self._on_call(call)
        if self._bus.active:
            self._bus.publish(CallUpdated(call.server, call))

    def _call(self, state: _Server, m: Mapping[str, str]) -> CallData:
        linkedid = m.get("Linkedid") or m.get("Uniqueid", "")
        call = state.calls.get(linkedid)
        if call is None:
            call = state.recent.get(linkedid)
            if call is None:
                call = state.calls[linkedid] = CallData(state.name, linkedid, started_at=self.clock())
        return call

    def _varset(self, state: _Server, m: Mapping[str, str]) -> None:
        variable, value = m.get("Variable", ""), m.get("Value", "")
        if variable == "QUEUESTATUS":
            current = state.open_legs.get(m.get("Uniqueid", ""))
            outcome = _EXIT_STATUS.get(value)
            if current is not None and outcome is not None:
                call, leg = current
                if leg.answered_at is None and leg.outcome in (None, CallOutcome.ABANDONED):
                    leg.outcome = outcome
                    self._emit_update(call)
            return
        call = self._call(state, m)
        if variable == IVR_RESULT:
            call.ivr_result = value or None
        elif variable == IVR_PATH:
            call.ivr_path = value or None
        elif variable == DRAFT_ID:
            call.draft_id = _int(value) or None
        elif variable == TICKET_ID:
            call.ticket_id = _int(value) or None
        elif variable == "MIXMONITOR_FILENAME":
            call.recording = value or None
        if call.final:  # set on a channel that already hung up: update the stored record
            self._emit(call)

    def _agi(self, state: _Server, m: Mapping[str, str]) -> None:
        call = self._call(state, m)
        if call.dnis is None and m.get("Uniqueid") == call.linkedid:
            call.dnis = m.get("Exten") or None
        call.ivr = True

    # ------------------------------------------------------------------ queue callers
    def _caller_join(self, state: _Server, m: Mapping[str, str]) -> None:
        now = self.clock()
        uniqueid = m.get("Uniqueid", "")
        queue = state.queue(m.get("Queue", ""))
        call = self._call(state, m)
        number, name = _callerid(m.get("CallerIDNum")), _callerid(m.get("CallerIDName"))
        if number:
            call.caller_number = number
        if name:
            call.caller_name = name
        if call.dnis is None and uniqueid == call.linkedid:
            call.dnis = m.get("Exten") or None
        previous = state.open_legs.get(uniqueid)
        if previous is not None and previous[1].outcome == CallOutcome.ABANDONED:
            previous[1].outcome = CallOutcome.TRANSFERRED
        position = _int(m.get("Position"), 1)
        leg = QueueLeg(queue.name, uniqueid, now, position,
                       join_location=f"{m.get('Context', '')},{m.get('Exten', '')}")
        call.legs.append(leg)
        state.open_legs[uniqueid] = (call, leg)
        queue.callers[uniqueid] = WaitingCaller(uniqueid, call.linkedid, m.get("Channel", ""),
                                                number, name, position, now)
        if self._bus.active:
            self._bus.publish(CallerJoined(state.name, queue.name, uniqueid, call.linkedid,
                                           number, name, position, now))
        self._emit_update(call)

    def _caller_leave(self, state: _Server, m: Mapping[str, str]) -> None:
        uniqueid = m.get("Uniqueid", "")
        queue = state.queue(m.get("Queue", ""))
        caller = queue.callers.pop(uniqueid, None)
        if caller is not None:
            for other in queue.callers.values():
                if other.position > caller.position:
                    other.position -= 1
        if self._bus.active:
            current = state.open_legs.get(uniqueid)
            leg = current[1] if current is not None else None
            reason = leg.outcome.value if leg is not None and leg.outcome is not None else "answered"
            self._bus.publish(CallerLeft(state.name, queue.name, uniqueid, reason,
                                         leg.wait_seconds if leg else None, self.clock()))

    def _caller_abandon(self, state: _Server, m: Mapping[str, str]) -> None:
        queue = state.queue(m.get("Queue", ""))
        hold = _int(m.get("HoldTime"))
        params = queue.params
        params.abandoned += 1
        if hold <= params.service_level:
            state.abandoned_in_sl[queue.name] = state.abandoned_in_sl.get(queue.name, 0) + 1
        self._recompute_sl(state, queue)
        current = state.open_legs.get(m.get("Uniqueid", ""))
        if current is None or current[1].queue != queue.name:
            return
        call, leg = current
        leg.wait_seconds = float(hold)
        leg.left_at = leg.entered_at + timedelta(seconds=hold)
        location = f"{m.get('Context', '')},{m.get('Exten', '')}"
        if not leg.hangup_requested and location != leg.join_location:
            leg.outcome = CallOutcome.TRANSFERRED
        else:
            leg.outcome = CallOutcome.ABANDONED
        self._emit_update(call)

    # ------------------------------------------------------------------ agents on calls
    def _agent_called(self, state: _Server, m: Mapping[str, str]) -> None:
        member = state.queue(m.get("Queue", "")).members.get(m.get("Interface", ""))
        if member is not None:
            member.status = MemberStatus.RINGING
            if self._bus.active:
                self._bus.publish(MemberChanged(state.name, m.get("Queue", ""), member))

    def _agent_connect(self, state: _Server, m: Mapping[str, str]) -> None:
        queue = state.queue(m.get("Queue", ""))
        interface = m.get("Interface", "")
        member = queue.members.get(interface)
        if member is not None:
            member.in_call = True
            member.status = MemberStatus.IN_USE
        current = state.open_legs.get(m.get("Uniqueid", ""))
        if current is None or current[1].queue != queue.name:
            return
        call, leg = current
        hold = _int(m.get("HoldTime"))
        leg.wait_seconds = float(hold)
        leg.answered_at = leg.entered_at + timedelta(seconds=hold)
        leg.agent = m.get("MemberName") or interface
        leg.interface = interface
        leg.outcome = CallOutcome.ANSWERED
        self._emit_update(call)

    def _agent_complete(self, state: _Server, m: Mapping[str, str]) -> None:
        queue = state.queue(m.get("Queue", ""))
        interface = m.get("Interface", "")
        hold, talk = _int(m.get("HoldTime")), _int(m.get("TalkTime"))
        params = queue.params
        params.completed += 1
        if hold <= params.service_level:
            state.in_sl[queue.name] = state.in_sl.get(queue.name, 0) + 1
        params.talktime = talk if params.completed == 1 else (params.talktime * 3 + talk) // 4
        self._recompute_sl(state, queue)
        member = queue.members.get(interface)
        if member is not None:
            member.in_call = False
            member.calls_taken += 1
        found = self._leg_for_complete(state, queue.name, interface, m.get("Uniqueid"))
        if found is None:
            return
        call, leg = found
        leg.talk_seconds = float(talk)
        leg.complete_reason = m.get("Reason") or None
        if leg.answered_at is not None:
            leg.left_at = leg.answered_at + timedelta(seconds=talk)
            if member is not None:
                member.last_call = leg.left_at
        del state.open_legs[leg.uniqueid]
        self._emit_update(call)

    def _leg_for_complete(self, state: _Server, queue: str, interface: str,
                          uniqueid: str | None) -> tuple[CallData, QueueLeg] | None:
        if uniqueid:
            current = state.open_legs.get(uniqueid)
            if current is not None and current[1].queue == queue:
                return current
        for call, leg in state.open_legs.values():
            if leg.queue == queue and leg.interface == interface and leg.talk_seconds is None \
                    and leg.answered_at is not None:
                return call, leg
        return None

    def _agent_ring_no_answer(self, state: _Server, m: Mapping[str, str]) -> None:
        current = state.open_legs.get(m.get("Uniqueid", ""))
        if current is not None:
            current[1].ring_no_answer += 1

    def _bridge(self, state: _Server, m: Mapping[str, str]) -> None:
        return  # member in-call state comes from QueueMemberStatus (InCall); kept for completeness

    def _mixmonitor(self, state: _Server, m: Mapping[str, str]) -> None:
        call = self._call(state, m)
        if call.recording is None:
            call.recording = ""  # started; the file name arrives as MIXMONITOR_FILENAME

    # ------------------------------------------------------------------ members and params
    def _member_from(self, m: Mapping[str, str], old: MemberState | None) -> MemberState:
        interface = m.get("Interface") or m.get("Location", "")
        member = old or MemberState(interface, m.get("MemberName") or m.get("Name") or interface)
        member.name = m.get("MemberName") or m.get("Name") or member.name
        member.state_interface = m.get("StateInterface", member.state_interface)
        member.membership = m.get("Membership", member.membership)
        member.penalty = _int(m.get("Penalty"), member.penalty)
        member.status = MemberStatus.from_code(m.get("Status", ""))
        paused = m.get("Paused") == "1"
        if paused and not member.paused:
            member.paused_since = _epoch(m.get("LastPause")) or self.clock()
        member.paused = paused
        member.paused_reason = (m.get("PausedReason") or None) if paused else None
        if not paused:
            member.paused_since = None
        member.calls_taken = _int(m.get("CallsTaken"), member.calls_taken)
        member.last_call = _epoch(m.get("LastCall")) or member.last_call
        member.logged_in_since = _epoch(m.get("LoginTime")) or member.logged_in_since
        member.in_call = m.get("InCall") == "1"
        return member

    def _observe_member_epochs(self, m: Mapping[str, str]) -> None:
        if self._stream_clock is not None:
            for key in ("LastCall", "LastPause", "LoginTime"):
                self._stream_clock.observe(_int(m.get(key)))

    def _member_update(self, state: _Server, m: Mapping[str, str]) -> None:
        self._observe_member_epochs(m)
        queue = state.queue(m.get("Queue", ""))
        interface = m.get("Interface") or m.get("Location", "")
        old = queue.members.get(interface)
        was_paused = old.paused if old is not None else False
        member = self._member_from(m, old)
        queue.members[interface] = member
        if old is None:
            self.agents.logged_in(member.name, queue.name, member.logged_in_since or self.clock())
        if member.paused != was_paused:
            at = member.paused_since if member.paused and member.paused_since else self.clock()
            self.agents.paused(member.name, queue.name, member.paused, member.paused_reason, at)
        if self._bus.active:
            self._bus.publish(MemberChanged(state.name, queue.name, member))

    def _member_added(self, state: _Server, m: Mapping[str, str]) -> None:
        self._member_update(state, m)

    def _member_removed(self, state: _Server, m: Mapping[str, str]) -> None:
        self._observe_member_epochs(m)
        queue = state.queue(m.get("Queue", ""))
        interface = m.get("Interface", "")
        member = queue.members.pop(interface, None)
        if member is not None:
            self.agents.logged_out(member.name, queue.name, self.clock())
        if self._bus.active:
            self._bus.publish(MemberRemoved(state.name, queue.name, interface))

    def _set_params(self, state: _Server, queue: QueueState, m: Mapping[str, str]) -> None:
        p = queue.params
        p.max = _int(m.get("Max"))
        p.strategy = m.get("Strategy", "")
        p.holdtime = _int(m.get("Holdtime"))
        p.talktime = _int(m.get("TalkTime"))
        p.completed = _int(m.get("Completed"))
        p.abandoned = _int(m.get("Abandoned"))
        p.service_level = _int(m.get("ServiceLevel"), self._sl_default)
        p.service_level_perf = _float(m.get("ServicelevelPerf"))
        p.service_level_perf2 = _float(m.get("ServicelevelPerf2"))
        state.in_sl[queue.name] = round(p.service_level_perf * p.completed / 100)
        both = p.completed + p.abandoned
        state.abandoned_in_sl[queue.name] = round(p.service_level_perf2 * both / 100) - state.in_sl[queue.name]

    def _queue_params(self, state: _Server, m: Mapping[str, str]) -> None:
        queue = state.queue(m.get("Queue", ""))
        self._set_params(state, queue, m)
        if self._bus.active:
            self._bus.publish(QueueParamsChanged(state.name, queue.name, queue.params))

    def _queue_entry(self, state: _Server, m: Mapping[str, str]) -> None:
        queue = state.queue(m.get("Queue", ""))
        uniqueid = m.get("Uniqueid", "")
        if uniqueid in queue.callers:
            queue.callers[uniqueid].position = _int(m.get("Position"), 1)
            return
        self._resync_entry(state, queue, m, self.clock())

    def _recompute_sl(self, state: _Server, queue: QueueState) -> None:
        p = queue.params
        in_sl = state.in_sl.get(queue.name, 0)
        abandoned_in_sl = state.abandoned_in_sl.get(queue.name, 0)
        p.service_level_perf = round(100.0 * in_sl / p.completed, 1) if p.completed else 0.0
        both = p.completed + p.abandoned
        p.service_level_perf2 = round(100.0 * (in_sl + abandoned_in_sl) / both, 1) if both else 0.0

    def _emit_update(self, call: CallData) -> None:
        self._emit(call)


def _duration(value: str | None) -> int:
    """CoreShowChannel `Duration: HH:MM:SS` in seconds."""
    if not value:
        return 0
    seconds = 0
    for part in value.split(":"):
        seconds = seconds * 60 + _int(part)
    return seconds

