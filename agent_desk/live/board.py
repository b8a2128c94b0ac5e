"""The live contact-center model, fed AMI events one by one (from a PBX or from a replay).

It keeps what the wallboard and the supervisor's live view show: per queue the waiting callers,
the members and their states, and today's counters; plus the recent abandoned callers. Definitions
(DESIGN §3): offered = calls that entered a queue; answer rate = answered ÷ (offered − short
abandons), leaving out callers still waiting; service level = answered within T ÷ answered. A caller that leaves a queue through a
Redirect looks like an abandon in AMI; when the same Uniqueid joins another queue it is counted
as a transfer instead and leaves the abandoned list.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from agent_desk.live.broadcast import Broadcast
from ticketing.models import utcnow

Mode = Literal["live", "replay", "offline"]
AgentState = Literal["available", "ringing", "on_call", "paused", "unavailable"]
# Asterisk device states as QueueMemberStatus reports them.
_STATUS = {"1": "available", "2": "on_call", "3": "on_call", "6": "ringing", "7": "ringing",
           "8": "on_call", "4": "unavailable", "5": "unavailable", "0": "available"}


class WaitingCaller(BaseModel):
    uniqueid: str
    caller_number: str | None
    position: int
    since: datetime
    wait_seconds: float


class MemberView(BaseModel):
    interface: str
    name: str
    state: AgentState
    paused_reason: str | None
    calls_taken: int


class QueueView(BaseModel):
    name: str
    waiting: int
    longest_wait_seconds: float
    callers: list[WaitingCaller]
    members: list[MemberView]
    logged_in: int
    available: int
    on_call: int
    paused: int
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    transferred: int
    answered_within_sl: int
    answer_rate: float | None
    service_level: float | None
    asa_seconds: float | None
    aht_seconds: float | None


class AbandonedCall(BaseModel):
    uniqueid: str
    queue: str
    caller_number: str | None
    at: datetime
    wait_seconds: float


class LiveSnapshot(BaseModel):
    mode: Mode
    source: str | None
    at: datetime
    last_event_at: datetime | None
    queues: list[QueueView]
    abandoned: list[AbandonedCall]
    totals: QueueView


@dataclass
class _Member:
    interface: str
    name: str
    status: str = "1"
    paused: bool = False
    reason: str | None = None
    calls_taken: int = 0

    @property
    def state(self) -> AgentState:
        if self.paused:
            return "paused"
        return _STATUS.get(self.status, "available")  # type: ignore[return-value]


@dataclass
class _Caller:
    uniqueid: str
    number: str | None
    position: int
    since_wall: datetime
    since_mono: float


@dataclass
class _Queue:
    name: str
    callers: dict[str, _Caller] = field(default_factory=dict)
    members: dict[str, _Member] = field(default_factory=dict)
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    transferred: int = 0
    within_sl: int = 0
    wait_total: float = 0.0
    talk_total: float = 0.0
    completed: int = 0


@dataclass(frozen=True)
class AgentSignal:
    """A queue call offered to (`ringing`) or connected with (`connected`) one member."""

    kind: Literal["ringing", "connected", "completed"]
    interface: str
    member_name: str
    queue: str
    caller_number: str | None
    caller_name: str | None
    linkedid: str
    server: str


class LiveBoard:
    def __init__(self, *, service_level_seconds: float = 20, short_abandon_seconds: float = 5,
                 mode: Mode = "offline", source: str | None = None, abandoned_kept: int = 200,
                 monotonic: Callable[[], float] = time.monotonic,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.mode: Mode = mode
        self.source = source
        self._sl = service_level_seconds
        self._short = short_abandon_seconds
        self._mono = monotonic
        self._clock = clock
        self._queues: dict[str, _Queue] = {}
        self._abandoned: deque[AbandonedCall] = deque(maxlen=abandoned_kept)
        self._last_event_at: datetime | None = None
        self.changes: Broadcast[None] = Broadcast(backlog=1)
        self.agent_signals: Broadcast[AgentSignal] = Broadcast()

    # ---- input ---------------------------------------------------------------------------

    def apply(self, event: Mapping[str, str], server: str = "pbx") -> bool:
        """Apply one AMI event. Returns whether the live picture changed (listeners are told)."""
        handler = getattr(self, f"_on_{event.get('Event', '').lower()}", None)
        if handler is None:
            return False
        handler(event, server)
        self._last_event_at = self._clock()
        self.changes.publish(None)
        return True

    def reset(self) -> None:
        self._queues.clear()
        self._abandoned.clear()
        self.changes.publish(None)

    def _queue(self, name: str) -> _Queue:
        return self._queues.setdefault(name, _Queue(name))

    def _member(self, event: Mapping[str, str]) -> _Member | None:
        interface = event.get("Interface") or event.get("Location") or event.get("StateInterface")
        if not interface or not event.get("Queue"):
            return None
        queue = self._queue(event["Queue"])
        member = queue.members.get(interface)
        if member is None:
            member = queue.members[interface] = _Member(interface, event.get("MemberName") or interface)
        return member

    def _on_queueparams(self, event: Mapping[str, str], server: str) -> None:
        self._queue(event.get("Queue", "?"))

    def _on_queuemember(self, event: Mapping[str, str], server: str) -> None:
        member = self._member(event)
        if member is not None:
            member.name = event.get("Name") or event.get("MemberName") or member.name
            member.status = event.get("Status", member.status)
            member.paused = event.get("Paused") == "1"
            member.reason = event.get("PausedReason") or None
            member.calls_taken = _int(event.get("CallsTaken"), member.calls_taken)

    _on_queuememberstatus = _on_queuemember
    _on_queuememberadded = _on_queuemember
    _on_queuememberpause = _on_queuemember

    def _on_queuememberremoved(self, event: Mapping[str, str], server: str) -> None:
        queue = self._queues.get(event.get("Queue", ""))
        if queue is not None:
            queue.members.pop(event.get("Interface", ""), None)

    def _on_queuecallerjoin(self, event: Mapping[str, str], server: str) -> None:
        queue = self._queue(event.get("Queue", "?"))
        uid = event.get("Uniqueid", "")
        queue.callers[uid] = _Caller(uid, _number(event.get("CallerIDNum")), _int(event.get("Position"), 1),
                                     self._clock(), self._mono())
        queue.offered += 1
        # Joined again after a Redirect: a transfer, not an abandon.
        for index, abandoned in enumerate(list(self._abandoned)):
            if abandoned.uniqueid == uid:
                del self._abandoned[index]
                origin = self._queues.get(abandoned.queue)
                if origin is not None:
                    origin.abandoned -= 1
                    origin.transferred += 1
                    if abandoned.wait_seconds < self._short:
                        origin.short_abandoned -= 1
                break

    _on_queueentry = _on_queuecallerjoin

    def _on_queuecallerleave(self, event: Mapping[str, str], server: str) -> None:
        queue = self._queues.get(event.get("Queue", ""))
        if queue is not None:
            queue.callers.pop(event.get("Uniqueid", ""), None)

    def _on_queuecallerabandon(self, event: Mapping[str, str], server: str) -> None:
        queue = self._queue(event.get("Queue", "?"))
        uid = event.get("Uniqueid", "")
        caller = queue.callers.pop(uid, None)
        wait = float(_int(event.get("HoldTime"), 0))
        if wait < self._short:
            queue.short_abandoned += 1
        queue.abandoned += 1
        self._abandoned.appendleft(AbandonedCall(
            uniqueid=uid, queue=queue.name, at=self._clock(), wait_seconds=wait,
            caller_number=caller.number if caller else _number(event.get("CallerIDNum")),
        ))

    def _on_agentcalled(self, event: Mapping[str, str], server: str) -> None:
        member = self._member(event)
        if member is not None:
            member.status = "6"
            self._signal("ringing", event, member, server)

    def _on_agentconnect(self, event: Mapping[str, str], server: str) -> None:
        queue = self._queue(event.get("Queue", "?"))
        queue.callers.pop(event.get("Uniqueid", ""), None)
        wait = float(_int(event.get("HoldTime"), 0))
        queue.answered += 1
        queue.wait_total += wait
        if wait <= self._sl:
            queue.within_sl += 1
        member = self._member(event)
        if member is not None:
            member.status = "2"
            self._signal("connected", event, member, server)

    def _on_agentcomplete(self, event: Mapping[str, str], server: str) -> None:
        queue = self._queue(event.get("Queue", "?"))
        queue.completed += 1
        queue.talk_total += float(_int(event.get("TalkTime"), 0))
        member = self._member(event)
        if member is not None:
            member.status = "1"
            member.calls_taken += 1
            self._signal("completed", event, member, server)

    def _signal(self, kind: Literal["ringing", "connected", "completed"], event: Mapping[str, str],
                member: _Member, server: str) -> None:
        self.agent_signals.publish(AgentSignal(
            kind, member.interface, member.name, event.get("Queue", ""),
            _number(event.get("CallerIDNum")), event.get("CallerIDName") or None,
            event.get("Linkedid") or event.get("Uniqueid") or "", server,
        ))

    # ---- output --------------------------------------------------------------------------

    def snapshot(self, queues: Callable[[str], bool] = lambda _name: True) -> LiveSnapshot:
        now_mono = self._mono()
        views = [self._view(q, now_mono) for name, q in sorted(self._queues.items()) if queues(name)]
        visible = {v.name for v in views}
        return LiveSnapshot(
            mode=self.mode, source=self.source, at=self._clock(), last_event_at=self._last_event_at,
            queues=views, abandoned=[a for a in self._abandoned if a.queue in visible],
            totals=self._totals(views),
        )

    def members(self) -> dict[str, list[tuple[str, MemberView]]]:
        """interface → [(queue, member)] for every queue the interface is in."""
        result: dict[str, list[tuple[str, MemberView]]] = {}
        for queue in self._queues.values():
            for member in queue.members.values():
                result.setdefault(member.interface, []).append((queue.name, _member_view(member)))
        return result

    def queue_names(self) -> list[str]:
        return sorted(self._queues)

    def _view(self, q: _Queue, now_mono: float) -> QueueView:
        callers = sorted(q.callers.values(), key=lambda c: c.position)
        members = [_member_view(m) for m in q.members.values()]
        waits = [max(0.0, now_mono - c.since_mono) for c in callers]
        states = [m.state for m in members]
        return QueueView(
            name=q.name, waiting=len(callers), longest_wait_seconds=round(max(waits, default=0.0), 1),
            callers=[WaitingCaller(uniqueid=c.uniqueid, caller_number=c.number, position=c.position,
                                   since=c.since_wall, wait_seconds=round(w, 1))
                     for c, w in zip(callers, waits, strict=True)],
            members=members, logged_in=len(members),
            available=states.count("available"), on_call=states.count("on_call") + states.count("ringing"),
            paused=states.count("paused"), offered=q.offered, answered=q.answered,
            abandoned=q.abandoned, short_abandoned=q.short_abandoned, transferred=q.transferred,
            answered_within_sl=q.within_sl,
            answer_rate=_ratio(q.answered, q.offered - q.short_abandoned - q.transferred - len(callers)),
            service_level=_ratio(q.within_sl, q.answered),
            asa_seconds=_ratio(q.wait_total, q.answered), aht_seconds=_ratio(q.talk_total, q.completed),
        )

    def _totals(self, views: list[QueueView]) -> QueueView:
        agents = {m.interface: m for v in views for m in v.members}
        states = [m.state for m in agents.values()]
        answered = sum(v.answered for v in views)
        offered = sum(v.offered - v.short_abandoned - v.transferred - v.waiting for v in views)
        completed = sum(q.completed for q in self._queues.values() if q.name in {v.name for v in views})
        talk = sum(q.talk_total for q in self._queues.values() if q.name in {v.name for v in views})
        wait = sum(q.wait_total for q in self._queues.values() if q.name in {v.name for v in views})
        within = sum(v.answered_within_sl for v in views)
        return QueueView(
            name="all", waiting=sum(v.waiting for v in views),
            longest_wait_seconds=max((v.longest_wait_seconds for v in views), default=0.0),
            callers=[], members=[], logged_in=len(agents), available=states.count("available"),
            on_call=states.count("on_call") + states.count("ringing"), paused=states.count("paused"),
            offered=sum(v.offered for v in views), answered=answered,
            abandoned=sum(v.abandoned for v in views), short_abandoned=sum(v.short_abandoned for v in views),
            transferred=sum(v.transferred for v in views), answered_within_sl=within,
            answer_rate=_ratio(answered, offered), service_level=_ratio(within, answered),
            asa_seconds=_ratio(wait, answered), aht_seconds=_ratio(talk, completed),
        )


def _member_view(m: _Member) -> MemberView:
    return MemberView(interface=m.interface, name=m.name, state=m.state,
                      paused_reason=m.reason if m.paused else None, calls_taken=m.calls_taken)


def _ratio(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole > 0 else None


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def _number(value: str | None) -> str | None:
    return value if value and value not in ("<unknown>", "unknown") else None
