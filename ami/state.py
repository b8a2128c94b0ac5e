"""The live picture of the queues: parameters, waiting callers and members, per server."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

AgentState = Literal["available", "ringing", "on_call", "paused", "unavailable"]


class MemberStatus(enum.StrEnum):
    """Asterisk device states as QueueMemberStatus/QueueMember report them (`Status:` 0-8)."""

    UNKNOWN = "unknown"
    NOT_IN_USE = "not_in_use"
    IN_USE = "in_use"
    BUSY = "busy"
    INVALID = "invalid"
    UNAVAILABLE = "unavailable"
    RINGING = "ringing"
    RING_IN_USE = "ring_in_use"
    ON_HOLD = "on_hold"

    @classmethod
    def from_code(cls, code: str) -> MemberStatus:
        return _STATUS_CODES.get(code, cls.UNKNOWN)


_STATUS_CODES = {str(i): status for i, status in enumerate(MemberStatus)}
_AGENT_STATES: dict[MemberStatus, AgentState] = {
    MemberStatus.UNKNOWN: "available",  # Asterisk rings a member whose device state it does not know
    MemberStatus.NOT_IN_USE: "available",
    MemberStatus.IN_USE: "on_call", MemberStatus.BUSY: "on_call", MemberStatus.ON_HOLD: "on_call",
    MemberStatus.RINGING: "ringing", MemberStatus.RING_IN_USE: "ringing",
    MemberStatus.INVALID: "unavailable", MemberStatus.UNAVAILABLE: "unavailable",
}


@dataclass(slots=True)
class MemberState:
    interface: str
    name: str
    state_interface: str = ""
    membership: str = "static"
    penalty: int = 0
    status: MemberStatus = MemberStatus.UNKNOWN
    paused: bool = False
    paused_reason: str | None = None
    paused_since: datetime | None = None
    calls_taken: int = 0
    last_call: datetime | None = None
    logged_in_since: datetime | None = None
    in_call: bool = False

    @property
    def state(self) -> AgentState:
        """What the agent is doing, as a wallboard says it."""
        return "paused" if self.paused else _AGENT_STATES[self.status]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "state": self.state}


@dataclass(slots=True)
class WaitingCaller:
    uniqueid: str
    linkedid: str
    channel: str
    caller_number: str | None
    caller_name: str | None
    position: int
    joined_at: datetime
    wait_seconds: float = 0.0  # as of the snapshot that copied it


@dataclass(slots=True)
class QueueParams:
    """Asterisk's own counters (QueueParams): cumulative since Asterisk started or reset."""

    max: int = 0
    strategy: str = ""
    holdtime: int = 0
    talktime: int = 0
    completed: int = 0
    abandoned: int = 0
    service_level: int = 20
    service_level_perf: float = 0.0
    service_level_perf2: float = 0.0


@dataclass(slots=True)
class QueueState:
    server: str
    name: str
    params: QueueParams = field(default_factory=QueueParams)
    callers: dict[str, WaitingCaller] = field(default_factory=dict)
    members: dict[str, MemberState] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class QueueView:
    server: str
    name: str
    params: QueueParams
    callers: tuple[WaitingCaller, ...]
    members: tuple[MemberState, ...]
    longest_wait_seconds: float

    @property
    def logged_in(self) -> int:
        return len(self.members)

    @property
    def available(self) -> int:
        return sum(1 for m in self.members if m.state == "available")


@dataclass(frozen=True, slots=True)
class Snapshot:
    taken_at: datetime
    queues: tuple[QueueView, ...]

    @property
    def longest_wait_seconds(self) -> float:
        return max((q.longest_wait_seconds for q in self.queues), default=0.0)

    def queue(self, name: str, server: str | None = None) -> QueueView:
        for view in self.queues:
            if view.name == name and (server is None or view.server == server):
                return view
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "taken_at": self.taken_at.isoformat(),
            "longest_wait_seconds": self.longest_wait_seconds,
            "queues": [
                {**asdict(q), "members": [m.to_dict() for m in q.members], "logged_in": q.logged_in,
                 "available": q.available} for q in self.queues
            ],
        }
