"""Typed change events the live model publishes (the agent desk pushes them to browsers).

Every event has a `type` string and `to_dict()` for JSON. They describe what changed; a consumer
that fell behind (see `Subscription.dropped`) should take a fresh `snapshot()`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal

from ami.calldata import CallData, jsonable
from ami.state import MemberState, QueueParams


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    type: ClassVar[str] = "change"
    server: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **jsonable(asdict(self))}


@dataclass(frozen=True, slots=True)
class CallerJoined(ChangeEvent):
    type: ClassVar[str] = "caller_joined"
    queue: str
    uniqueid: str
    linkedid: str
    caller_number: str | None
    caller_name: str | None
    position: int
    at: datetime


@dataclass(frozen=True, slots=True)
class CallerLeft(ChangeEvent):
    """`reason`: answered, abandoned, timeout, transferred, or left (resync/unknown)."""

    type: ClassVar[str] = "caller_left"
    queue: str
    uniqueid: str
    reason: str
    wait_seconds: float | None
    at: datetime


@dataclass(frozen=True, slots=True)
class MemberChanged(ChangeEvent):
    type: ClassVar[str] = "member_changed"
    queue: str
    member: MemberState


@dataclass(frozen=True, slots=True)
class MemberRemoved(ChangeEvent):
    type: ClassVar[str] = "member_removed"
    queue: str
    interface: str


@dataclass(frozen=True, slots=True)
class QueueParamsChanged(ChangeEvent):
    type: ClassVar[str] = "queue_params"
    queue: str
    params: QueueParams


AgentCallKind = Literal["ringing", "connected", "completed"]


@dataclass(frozen=True, slots=True)
class AgentCall(ChangeEvent):
    """A queue call offered to (`ringing`), connected with, or finished with (`completed`) a member:
    what a screen pop needs."""

    type: ClassVar[str] = "agent_call"
    kind: AgentCallKind
    queue: str
    interface: str
    member_name: str
    linkedid: str
    caller_number: str | None
    caller_name: str | None


@dataclass(frozen=True, slots=True)
class CallUpdated(ChangeEvent):
    """A call record changed (joined a queue, was answered, ended). `call.final` once it ended."""

    type: ClassVar[str] = "call_updated"
    call: CallData

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "server": self.server, "call": self.call.to_dict()}


@dataclass(frozen=True, slots=True)
class ConnectionChanged(ChangeEvent):
    """`state`: connecting, connected, resyncing, ready, disconnected, auth_failed, stopped.
    `last_heard`: when the link last received bytes (a frozen link is declared dead only later)."""

    type: ClassVar[str] = "connection"
    state: str
    detail: str = ""
    last_heard: datetime | None = None


@dataclass(frozen=True, slots=True)
class Resynced(ChangeEvent):
    """A QueueStatus or CoreShowChannels list replaced what the model knew (`closed_calls` had ended
    unseen)."""

    type: ClassVar[str] = "resynced"
    queues: int
    callers: int
    closed_calls: int


@dataclass(frozen=True, slots=True)
class Reconciled(ChangeEvent):
    """The gap `since`…`until` was reconciled from queue_log (`ami.reconcile`): `stored` calls added
    or repaired, `unresolved` left `unknown` for `reason`."""

    type: ClassVar[str] = "reconciled"
    since: datetime
    until: datetime
    stored: int
    unresolved: int
    reason: str
