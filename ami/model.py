"""The live model: queues, members, waiting callers and calls, updated from AMI events.

`LiveModel.apply(server, message)` takes parsed messages from any number of servers (live
connections or a replay) and keeps per server: the queues with Asterisk's parameters, the members
and their status, the waiting callers; and one `CallData` per Linkedid, handed to `on_call` when it
joins a queue, changes and ends. Typed change events go to the bus (`subscribe()`, `listen()`).

Outcomes follow what Asterisk really sends (tests/fixtures/asterisk/README.md):
- a queue timeout also sends QueueCallerAbandon; the later `VarSet QUEUESTATUS=TIMEOUT` on the
  caller channel makes the leg a `timeout`;
- a Redirect out of a queue also looks like an abandon, but the channel is already elsewhere in the
  dialplan (the abandon's Context/Exten differ from the join's) and no hang-up was requested, or the
  same Uniqueid joins another queue: the leg is `transferred`;
- a key exit (EXITWITHKEY) sends only QueueCallerLeave, already at the key's dialplan place:
  `exit_with_key`;
- a caller redirected while talking joins the next queue at once, but its first leg's AgentComplete
  only comes when the caller finally hangs up, with the talk time of both legs: that leg ends when
  the agent's channel hangs up;
- AgentComplete may lack Uniqueid: it is matched by queue and member interface.

QueueStatus and CoreShowChannels replies (after every login, or asked by anyone) are applied whole
where they stand in the stream, when their `...Complete` event arrives: Asterisk never writes an
event inside a list, so the model then holds exactly what it held before the list plus what the
list says, and events after the list apply on top. A list never closes what arrived after it,
callers it lists are not counted again, calls in progress that the model never saw (a restart of
the product) are adopted, and members it no longer lists (a restart of Asterisk) are gone.
"""

from __future__ import annotations

import logging
import re
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from structlog.contextvars import bind_contextvars, reset_contextvars

from ami.agents import AgentLedger, Membership, MembershipSink
from ami.bus import EventBus, Subscription
from ami.calldata import CallData, QueueLeg
from ami.clock import StreamClock
from ami.events import (
    AgentCall,
    AgentCallKind,
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
    MemberState,
    MemberStatus,
    QueueParams,
    QueueState,
    QueueView,
    Snapshot,
    WaitingCaller,
)
from ticketing.models import CallOutcome, utcnow
from ticketing.vocabulary import (
    HOTLINE_DRAFT_ID,
    HOTLINE_TICKET_ID,
    IVR_PATH,
    IVR_RESULT,
    clip_path,
    known_caller_id,
)

log = logging.getLogger(__name__)
WANTED_VARIABLES = frozenset(
    {IVR_RESULT, IVR_PATH, HOTLINE_DRAFT_ID, HOTLINE_TICKET_ID, "QUEUESTATUS", "MIXMONITOR_FILENAME"}
)
RECENT_CALLS = 1000
_EXIT_STATUS = {"TIMEOUT": CallOutcome.TIMEOUT, "LEAVEEMPTY": CallOutcome.TIMEOUT,
                "LEAVEUNAVAIL": CallOutcome.TIMEOUT}
_LIST_ITEMS = frozenset({"QueueParams", "QueueMember", "QueueEntry", "CoreShowChannel"})
_CHANNEL_SUFFIX = re.compile(r"-[0-9a-f]+(;\d)?$")

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


def _epoch(value: str | None) -> datetime | None:
    seconds = _int(value)
    return datetime.fromtimestamp(seconds, utcnow().tzinfo) if seconds > 0 else None


def _seconds(since: datetime, until: datetime) -> float:
    """Whole seconds between two moments, as Asterisk gives durations."""
    return float(max(0, round((until - since).total_seconds())))


def _location(m: Mapping[str, str]) -> str:
    return f"{m.get('Context', '')},{m.get('Exten', '')}"


def _duration(value: str | None) -> int:
    """CoreShowChannel `Duration: HH:MM:SS` in seconds."""
    seconds = 0
    for part in (value or "").split(":"):
        seconds = seconds * 60 + _int(part)
    return seconds


class _Server:
    """Everything the model knows about one Asterisk server."""

    __slots__ = (
        "abandoned_in_sl",
        "agent_legs",
        "calls",
        "channel_count",
        "channels",
        "in_sl",
        "lists",
        "memberships",
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
        self.open_legs: dict[str, tuple[CallData, QueueLeg]] = {}  # caller uniqueid -> current leg
        self.agent_legs: dict[str, tuple[CallData, QueueLeg]] = {}  # agent channel -> answered leg
        self.in_sl: dict[str, int] = {}
        self.abandoned_in_sl: dict[str, int] = {}
        self.lists: dict[str, list[Mapping[str, str]]] = {}  # ActionID -> list items so far
        self.memberships: dict[tuple[str, str], Membership] = {}  # (queue, interface) -> its stay
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
        self.on_call = on_call  # where every new state of a call goes (the record writer)
        self.on_membership: MembershipSink | None = None  # where members' logins and logouts go
        self._stream_clock = clock if isinstance(clock, StreamClock) else None
        self._bus: EventBus[ChangeEvent] = EventBus()
        self._servers: dict[str, _Server] = {}
        self.applied: Counter[str] = Counter()  # events applied, per server (events per second)
        self._sl_default = service_level_default
        self.agents = AgentLedger()
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
            "QueueMemberAdded": self._member_update,
            "QueueMemberPause": self._member_update,
            "QueueMemberPaused": self._member_update,
            "QueueMemberRemoved": self._member_removed,
            "MixMonitorStart": self._mixmonitor,
            "FullyBooted": self._fully_booted,
            "QueueStatusComplete": self._queue_status,
            "CoreShowChannelsComplete": self._core_show_channels,
            **dict.fromkeys(_LIST_ITEMS, self._list_item),
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
        self.applied[server] += 1
        state = self._servers.get(server)
        if state is None:
            state = self._servers[server] = _Server(server)
        handler(state, message)

    def subscribe(self, maxsize: int = 1000) -> Subscription[ChangeEvent]:
        return self._bus.subscribe(maxsize)

    def listen(self, listener: Callable[[ChangeEvent], None]) -> Callable[[], None]:
        """Call `listener` with every change event, synchronously; returns the function that stops it."""
        return self._bus.listen(listener)

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
                    replace(c, wait_seconds=max(0.0, (now - c.joined_at).total_seconds()))
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
        return self.caller_channels(server).get(linkedid)

    def caller_channels(self, server: str | None = None) -> dict[str, str]:
        """Linkedid → the caller's live channel, for every call whose first channel is up."""
        return {linked: channel for state in self._servers.values() if server in (None, state.name)
                for channel, (uniqueid, linked) in state.channels.items() if uniqueid == linked}

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

    # ------------------------------------------------------------------ calls out
    def _emit(self, call: CallData) -> None:
        # Bound here, not per event: only what a call's change reaches (the writer, listeners) logs.
        tokens = bind_contextvars(linkedid=call.linkedid)
        try:
            if call.final:
                log.debug("call %s on %s ended: %s", call.linkedid, call.server, call.outcome.value)
            if self.on_call is not None:
                self.on_call(call)
            if self._bus.active:
                self._bus.publish(CallUpdated(call.server, call))
        finally:
            reset_contextvars(**tokens)

    def _agent_call(self, state: _Server, kind: AgentCallKind, queue: str, interface: str,
                    member_name: str | None, call: CallData, m: Mapping[str, str]) -> None:
        if self._bus.active:
            tokens = bind_contextvars(linkedid=call.linkedid)
            try:
                self._bus.publish(AgentCall(
                    state.name, kind, queue, interface, member_name or interface, call.linkedid,
                    call.caller_number or known_caller_id(m.get("CallerIDNum")),
                    call.caller_name or known_caller_id(m.get("CallerIDName"))))
            finally:
                reset_contextvars(**tokens)

    def _call(self, state: _Server, m: Mapping[str, str]) -> CallData:
        linkedid = m.get("Linkedid") or m.get("Uniqueid", "")
        call = state.calls.get(linkedid)
        if call is None:
            call = state.recent.get(linkedid)
            if call is None:
                call = state.calls[linkedid] = CallData(state.name, linkedid, started_at=self.clock())
        return call

    def _finish(self, state: _Server, call: CallData, now: datetime) -> None:
        state.calls.pop(call.linkedid, None)
        for leg in call.legs:
            current = state.open_legs.get(leg.uniqueid)
            if current is not None and current[1] is leg:
                del state.open_legs[leg.uniqueid]
            if leg.outcome is None:
                leg.outcome = CallOutcome.UNKNOWN
            answered = state.agent_legs.get(leg.agent_channel or "")
            if answered is not None and answered[1] is leg:
                del state.agent_legs[leg.agent_channel or ""]
        ends = [leg.left_at for leg in call.legs if leg.left_at is not None]
        call.ended_at = max([now, *ends])
        call.final = True
        state.recent[call.linkedid] = call
        if len(state.recent) > RECENT_CALLS:
            state.recent.popitem(last=False)
        if call.legs or call.ivr or call.ivr_result or call.ivr_path or call.draft_id or call.ticket_id:
            self._emit(call)

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
                caller_number=known_caller_id(m.get("CallerIDNum")),
                caller_name=known_caller_id(m.get("CallerIDName")),
                dnis=None if channel.startswith("Local/") else (m.get("Exten") or None))

    def _hangup_request(self, state: _Server, m: Mapping[str, str]) -> None:
        current = state.open_legs.get(m.get("Uniqueid", ""))
        if current is not None:
            current[1].hangup_requested = True

    def _hangup(self, state: _Server, m: Mapping[str, str]) -> None:
        uniqueid = m.get("Uniqueid", "")
        linkedid = m.get("Linkedid") or uniqueid
        channel = m.get("Channel", "")
        state.channels.pop(channel, None)
        answered = state.agent_legs.pop(channel, None)
        if answered is not None:
            self._agent_left(state, *answered)
        call = state.calls.get(linkedid)
        if call is not None and uniqueid == linkedid:
            cause, text = m.get("Cause", ""), m.get("Cause-txt", "")
            call.hangup_cause = f"{cause} {text}".strip() or None
            call.caller_number = call.caller_number or known_caller_id(m.get("CallerIDNum"))
            call.caller_name = call.caller_name or known_caller_id(m.get("CallerIDName"))
            if call.dnis is None and not call.legs and (call.ivr_result or call.ivr_path):
                call.dnis = m.get("Exten") or None
        remaining = state.channel_count.get(linkedid, 1) - 1
        if remaining > 0:
            state.channel_count[linkedid] = remaining
            return
        state.channel_count.pop(linkedid, None)
        if call is not None:
            self._finish(state, call, self.clock())

    def _agent_left(self, state: _Server, call: CallData, leg: QueueLeg) -> None:
        """The agent's channel of an answered leg hung up before its AgentComplete: the caller was
        redirected away (or the agent's line dropped). The leg ends now; a late AgentComplete, whose
        talk time runs to the caller's final hang-up, no longer applies to it."""
        if leg.talk_seconds is not None or leg.answered_at is None:
            return
        now = self.clock()
        leg.talk_seconds = _seconds(leg.answered_at, now)
        leg.left_at = now
        current = state.open_legs.get(leg.uniqueid)
        if current is not None and current[1] is leg:
            del state.open_legs[leg.uniqueid]
        self._emit(call)
        self._agent_call(state, "completed", leg.queue, leg.interface or "", leg.agent, call, {})

    def _varset(self, state: _Server, m: Mapping[str, str]) -> None:
        variable, value = m.get("Variable", ""), m.get("Value", "")
        if variable == "QUEUESTATUS":
            current = state.open_legs.get(m.get("Uniqueid", ""))
            outcome = _EXIT_STATUS.get(value)
            if current is not None and outcome is not None:
                call, leg = current
                if leg.answered_at is None and leg.outcome in (None, CallOutcome.ABANDONED):
                    leg.outcome = outcome
                    self._emit(call)
            return
        call = self._call(state, m)
        if variable == IVR_RESULT:
            call.ivr_result = value or None
        elif variable == IVR_PATH:
            call.ivr_path = clip_path(value) or None
        elif variable == HOTLINE_DRAFT_ID:
            call.draft_id = _int(value) or None
        elif variable == HOTLINE_TICKET_ID:
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

    def _mixmonitor(self, state: _Server, m: Mapping[str, str]) -> None:
        call = self._call(state, m)
        if call.recording is None:
            call.recording = ""  # started; the file name arrives as MIXMONITOR_FILENAME

    # ------------------------------------------------------------------ queue callers
    def _caller_join(self, state: _Server, m: Mapping[str, str]) -> None:
        now = self.clock()
        uniqueid = m.get("Uniqueid", "")
        queue = state.queue(m.get("Queue", ""))
        call = self._call(state, m)
        number, name = known_caller_id(m.get("CallerIDNum")), known_caller_id(m.get("CallerIDName"))
        call.caller_number = number or call.caller_number
        call.caller_name = name or call.caller_name
        if call.dnis is None and uniqueid == call.linkedid:
            call.dnis = m.get("Exten") or None
        position = _int(m.get("Position"), 1)
        previous = state.open_legs.get(uniqueid)
        if previous is not None and previous[1].queue == queue.name and previous[1].outcome is None \
                and previous[1].answered_at is None:
            leg = previous[1]  # already listed by a QueueStatus: the same stay, not a second one
            leg.join_location = _location(m)
        else:
            if previous is not None and previous[1].outcome == CallOutcome.ABANDONED:
                previous[1].outcome = CallOutcome.TRANSFERRED
            leg = QueueLeg(queue.name, uniqueid, now, position, join_location=_location(m))
            call.legs.append(leg)
            state.open_legs[uniqueid] = (call, leg)
        queue.callers[uniqueid] = WaitingCaller(uniqueid, call.linkedid, m.get("Channel", ""),
                                                call.caller_number, call.caller_name, position,
                                                leg.entered_at or now)
        if self._bus.active:
            self._bus.publish(CallerJoined(state.name, queue.name, uniqueid, call.linkedid,
                                           call.caller_number, call.caller_name, position, now))
        self._emit(call)

    def _caller_leave(self, state: _Server, m: Mapping[str, str]) -> None:
        uniqueid = m.get("Uniqueid", "")
        queue = state.queue(m.get("Queue", ""))
        caller = queue.callers.pop(uniqueid, None)
        if caller is not None:
            for other in queue.callers.values():
                if other.position > caller.position:
                    other.position -= 1
        current = state.open_legs.get(uniqueid)
        leg = None
        if current is not None and current[1].queue == queue.name:
            call, leg = current
            if leg.outcome is None and leg.answered_at is None and leg.join_location \
                    and _location(m) != leg.join_location:
                now = self.clock()  # a key exit: the channel already runs the key's extension
                leg.outcome = CallOutcome.EXIT_WITH_KEY
                leg.left_at = now
                leg.wait_seconds = _seconds(leg.entered_at, now) if leg.entered_at else None
                self._emit(call)
        if self._bus.active:
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
        if leg.entered_at is None:
            leg.entered_at = self.clock() - timedelta(seconds=hold)
        leg.left_at = leg.entered_at + timedelta(seconds=hold)
        if not leg.hangup_requested and leg.join_location and _location(m) != leg.join_location:
            leg.outcome = CallOutcome.TRANSFERRED
        else:
            leg.outcome = CallOutcome.ABANDONED
        self._emit(call)

    # ------------------------------------------------------------------ agents on calls
    def _agent_called(self, state: _Server, m: Mapping[str, str]) -> None:
        queue, interface = m.get("Queue", ""), m.get("Interface", "")
        member = state.queue(queue).members.get(interface)
        if member is not None:
            member.status = MemberStatus.RINGING
            if self._bus.active:
                self._bus.publish(MemberChanged(state.name, queue, member))
        linkedid = m.get("Linkedid") or m.get("Uniqueid", "")
        call = state.calls.get(linkedid) or CallData(state.name, linkedid)
        self._agent_call(state, "ringing", queue, interface, m.get("MemberName"), call, m)

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
        if leg.entered_at is None:
            leg.entered_at = self.clock() - timedelta(seconds=hold)
        leg.answered_at = leg.entered_at + timedelta(seconds=hold)
        leg.agent = m.get("MemberName") or interface
        leg.interface = interface
        leg.outcome = CallOutcome.ANSWERED
        leg.agent_channel = m.get("DestChannel") or None
        if leg.agent_channel:
            state.agent_legs[leg.agent_channel] = current
        self._emit(call)
        self._agent_call(state, "connected", queue.name, interface, leg.agent, call, m)

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
        now = self.clock()
        if leg.wait_seconds is None:  # adopted from a snapshot while it talked: now we know
            leg.wait_seconds = float(hold)
            leg.answered_at = now - timedelta(seconds=talk)
            leg.entered_at = leg.answered_at - timedelta(seconds=hold)
        leg.talk_seconds = float(talk)
        leg.complete_reason = m.get("Reason") or None
        leg.left_at = (leg.answered_at or now) + timedelta(seconds=talk)
        if member is not None:
            member.last_call = leg.left_at
        del state.open_legs[leg.uniqueid]
        if leg.agent_channel:
            state.agent_legs.pop(leg.agent_channel, None)
        self._emit(call)
        self._agent_call(state, "completed", queue.name, interface, leg.agent, call, m)

    def _leg_for_complete(self, state: _Server, queue: str, interface: str,
                          uniqueid: str | None) -> tuple[CallData, QueueLeg] | None:
        if uniqueid:
            current = state.open_legs.get(uniqueid)
            if current is not None and current[1].queue == queue and current[1].answered_at is not None:
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

    def _member_update(self, state: _Server, m: Mapping[str, str]) -> None:
        if self._stream_clock is not None:
            for key in ("LastCall", "LastPause", "LoginTime"):
                self._stream_clock.observe(_int(m.get(key)))
        queue = state.queue(m.get("Queue", ""))
        interface = m.get("Interface") or m.get("Location", "")
        old = queue.members.get(interface)
        was_paused = old.paused if old is not None else False
        member = self._member_from(m, old)
        queue.members[interface] = member
        if old is None:
            since = member.logged_in_since or self.clock()
            self.agents.logged_in(member.name, queue.name, since)
            stay = state.memberships[queue.name, interface] = Membership(
                state.name, queue.name, interface, member.name, since)
            if self.on_membership is not None:
                self.on_membership(stay)
        if member.paused != was_paused:
            at = member.paused_since if member.paused and member.paused_since else self.clock()
            self.agents.paused(member.name, queue.name, member.paused, member.paused_reason, at)
        if self._bus.active:
            self._bus.publish(MemberChanged(state.name, queue.name, member))

    def _member_removed(self, state: _Server, m: Mapping[str, str]) -> None:
        self._remove_member(state, state.queue(m.get("Queue", "")), m.get("Interface", ""))

    def _remove_member(self, state: _Server, queue: QueueState, interface: str) -> None:
        member = queue.members.pop(interface, None)
        if member is not None:
            now = self.clock()
            self.agents.logged_out(member.name, queue.name, now)
            stay = state.memberships.pop((queue.name, interface), None)
            if stay is not None and self.on_membership is not None:
                self.on_membership(replace(stay, logged_out_at=max(now, stay.logged_in_at)))
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
        if self._bus.active:
            self._bus.publish(QueueParamsChanged(state.name, queue.name, p))

    def _recompute_sl(self, state: _Server, queue: QueueState) -> None:
        p = queue.params
        in_sl = state.in_sl.get(queue.name, 0)
        abandoned_in_sl = state.abandoned_in_sl.get(queue.name, 0)
        p.service_level_perf = round(100.0 * in_sl / p.completed, 1) if p.completed else 0.0
        both = p.completed + p.abandoned
        p.service_level_perf2 = round(100.0 * (in_sl + abandoned_in_sl) / both, 1) if both else 0.0

    # ------------------------------------------------------------------ lists (snapshots)
    def _fully_booted(self, state: _Server, m: Mapping[str, str]) -> None:
        state.lists.clear()  # a new session: lists of a closed one never complete

    def _list_item(self, state: _Server, m: Mapping[str, str]) -> None:
        state.lists.setdefault(m.get("ActionID", ""), []).append(m)

    def _queue_status(self, state: _Server, m: Mapping[str, str]) -> None:
        """A QueueStatus list, whole: the listed queues' parameters, members and waiting callers
        become what it says. A caller it no longer lists has left unseen: CoreShowChannels or the
        call's end settles how."""
        rows = state.lists.pop(m.get("ActionID", ""), [])
        now = self.clock()
        listed: dict[str, set[str]] = {}
        waiting: dict[str, set[str]] = {}
        for row in rows:
            queue = state.queue(row.get("Queue", ""))
            kind = row.get("Event")
            if kind == "QueueParams":
                self._set_params(state, queue, row)
                listed.setdefault(queue.name, set())
            elif kind == "QueueMember":
                self._member_update(state, row)
                listed.setdefault(queue.name, set()).add(row.get("Location") or row.get("Interface", ""))
            elif kind == "QueueEntry":
                self._adopt_waiting(state, queue, row, now)
                waiting.setdefault(queue.name, set()).add(row.get("Uniqueid", ""))
        for name, members in listed.items():
            queue = state.queue(name)
            for interface in [i for i in queue.members if i not in members]:
                self._remove_member(state, queue, interface)
            still = waiting.get(name, set())
            queue.callers = {uid: c for uid, c in queue.callers.items() if uid in still}
        if self._bus.active:
            self._bus.publish(Resynced(state.name, len(state.queues),
                                       sum(len(q.callers) for q in state.queues.values()), 0))

    def _adopt_waiting(self, state: _Server, queue: QueueState, row: Mapping[str, str], now: datetime) -> None:
        uniqueid, channel = row.get("Uniqueid", ""), row.get("Channel", "")
        position = _int(row.get("Position"), 1)
        current = state.open_legs.get(uniqueid)
        if current is not None and current[1].queue == queue.name and current[1].outcome is None:
            call, leg = current
            adopted = False
        else:  # QueueEntry has no Linkedid: unless the channel is known, it is the call's first one
            linkedid = state.channels.get(channel, (uniqueid, uniqueid))[1]
            call = state.calls.setdefault(linkedid, CallData(state.name, linkedid))
            leg = QueueLeg(queue.name, uniqueid, now - timedelta(seconds=_int(row.get("Wait"))), position)
            call.legs.append(leg)
            state.open_legs[uniqueid] = (call, leg)
            call.started_at = call.started_at or leg.entered_at
            call.caller_number = call.caller_number or known_caller_id(row.get("CallerIDNum"))
            call.caller_name = call.caller_name or known_caller_id(row.get("CallerIDName"))
            adopted = True
        caller = queue.callers.get(uniqueid)
        if caller is not None:
            caller.position = position
        else:
            queue.callers[uniqueid] = WaitingCaller(uniqueid, call.linkedid, channel, call.caller_number,
                                                    call.caller_name, position, leg.entered_at or now)
        if adopted:
            self._emit(call)

    def _core_show_channels(self, state: _Server, m: Mapping[str, str]) -> None:
        """A CoreShowChannels list, whole: the channels that are up. Calls with none left ended
        unseen (`unknown`); calls never seen are adopted, a caller talking to a queue member with its
        leg answered by that member; a leg no longer waiting nor talking ended unseen."""
        rows = state.lists.pop(m.get("ActionID", ""), [])
        now = self.clock()
        state.channels = {}
        state.channel_count = {}
        bridges: dict[str, list[Mapping[str, str]]] = {}
        for row in rows:
            uniqueid = row.get("Uniqueid", "")
            linkedid = row.get("Linkedid") or uniqueid
            state.channels[row.get("Channel", uniqueid)] = (uniqueid, linkedid)
            state.channel_count[linkedid] = state.channel_count.get(linkedid, 0) + 1
            if row.get("BridgeId"):
                bridges.setdefault(row["BridgeId"], []).append(row)
            if uniqueid == linkedid and linkedid not in state.calls:
                state.calls[linkedid] = CallData(
                    state.name, linkedid, started_at=now - timedelta(seconds=_duration(row.get("Duration"))),
                    caller_number=known_caller_id(row.get("CallerIDNum")),
                    caller_name=known_caller_id(row.get("CallerIDName")))
        for row in rows:
            if row.get("Application") != "Queue":
                continue
            if row.get("BridgeId"):
                agent = next((r for r in bridges[row["BridgeId"]] if r.get("Application") == "AppQueue"), None)
                if agent is not None:
                    self._adopt_talking(state, row, agent, now)
            elif (waiting := state.open_legs.get(row.get("Uniqueid", ""))) and not waiting[1].join_location:
                waiting[1].join_location = _location(row)  # adopted from QueueStatus, which has no place
        for uniqueid, (call, leg) in list(state.open_legs.items()):
            if leg.outcome is None and uniqueid not in state.queue(leg.queue).callers:
                leg.outcome = CallOutcome.UNKNOWN
                leg.left_at = now
                self._emit(call)
        closed = 0
        for linkedid, call in list(state.calls.items()):
            if state.channel_count.get(linkedid, 0) <= 0:
                call.lost = True
                self._finish(state, call, now)
                closed += 1
        if self._bus.active:
            self._bus.publish(Resynced(state.name, len(state.queues),
                                       sum(len(q.callers) for q in state.queues.values()), closed))

    def _adopt_talking(self, state: _Server, row: Mapping[str, str], agent: Mapping[str, str],
                       now: datetime) -> None:
        """A queue caller bridged with a member (Application Queue, the member's channel AppQueue)."""
        uniqueid = row.get("Uniqueid", "")
        queue = state.queue(row.get("ApplicationData", "").split(",", 1)[0])
        current = state.open_legs.get(uniqueid)
        if current is not None and current[1].queue == queue.name and current[1].answered_at is not None:
            return
        call = state.calls[row.get("Linkedid") or uniqueid]
        interface = _CHANNEL_SUFFIX.sub("", agent.get("Channel", ""))
        member = queue.members.get(interface) or next(
            (m for m in queue.members.values() if m.state_interface == interface), None)
        if current is not None and current[1].queue == queue.name:
            leg = current[1]  # we saw it wait; it was answered while we were not looking
        else:
            leg = QueueLeg(queue.name, uniqueid, call.started_at, 1)
            call.legs.append(leg)
            state.open_legs[uniqueid] = (call, leg)
        queue.callers.pop(uniqueid, None)
        leg.outcome = CallOutcome.ANSWERED
        leg.answered_at = now - timedelta(seconds=_duration(agent.get("Duration")))
        leg.left_at = None
        leg.interface = member.interface if member else interface
        leg.agent = member.name if member else interface
        leg.agent_channel = agent.get("Channel") or None
        if leg.agent_channel:
            state.agent_legs[leg.agent_channel] = (call, leg)
        self._emit(call)
