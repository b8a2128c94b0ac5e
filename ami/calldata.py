"""A call as the AMI client assembles it: one per Asterisk Linkedid, with one leg per queue visit."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ticketing.calls import LEG_COLUMNS
from ticketing.models import CallOutcome


@dataclass(slots=True)
class QueueLeg:
    """One stay of the caller in one queue. `outcome` is None while the caller still waits.

    The fields after `complete_reason` are the model's bookkeeping, not part of the record.
    """

    queue: str
    uniqueid: str
    entered_at: datetime | None
    position: int
    wait_seconds: float | None = None
    agent: str | None = None
    interface: str | None = None
    answered_at: datetime | None = None
    talk_seconds: float | None = None
    outcome: CallOutcome | None = None
    left_at: datetime | None = None
    ring_no_answer: int = 0
    complete_reason: str | None = None
    join_location: str = ""
    hangup_requested: bool = False
    agent_channel: str | None = None

    def record_fields(self) -> dict[str, Any]:
        """The column values of `ticketing.models.CallLeg`."""
        return {name: getattr(self, name) for name in LEG_COLUMNS}


@dataclass(slots=True)
class CallData:
    """Everything known about one call. `final` once every channel of the call has hung up."""

    server: str
    linkedid: str
    started_at: datetime | None = None
    caller_number: str | None = None
    caller_name: str | None = None
    dnis: str | None = None
    ivr_result: str | None = None
    ivr_path: str | None = None
    draft_id: int | None = None
    ticket_id: int | None = None
    recording: str | None = None
    hangup_cause: str | None = None
    ended_at: datetime | None = None
    legs: list[QueueLeg] = field(default_factory=list)
    final: bool = False
    ivr: bool = False  # the call ran the FastAGI IVR
    lost: bool = False  # it ended while the link was down: what happened is unknown

    @property
    def key(self) -> tuple[str, str]:
        return (self.server, self.linkedid)

    @property
    def answered_leg(self) -> QueueLeg | None:
        for leg in reversed(self.legs):
            if leg.answered_at is not None:
                return leg
        return None

    @property
    def outcome(self) -> CallOutcome:
        """The last leg's outcome (docs/metrics.md): `unknown` while it is undecided or if lost."""
        if self.lost:
            return CallOutcome.UNKNOWN
        if not self.legs:
            return CallOutcome.SELF_SERVICE if self.final else CallOutcome.UNKNOWN
        return self.legs[-1].outcome or CallOutcome.UNKNOWN

    def record_fields(self) -> dict[str, Any]:
        """The column values of `ticketing.models.CallRecord` for this call, `legs` included."""
        first = self.legs[0] if self.legs else None
        last = self.legs[-1] if self.legs else None
        answered = self.answered_leg
        return {
            "server": self.server,
            "linkedid": self.linkedid,
            "caller_number": self.caller_number,
            "caller_name": self.caller_name,
            "dnis": self.dnis,
            "ivr_result": self.ivr_result,
            "ivr_path": self.ivr_path,
            "draft_id": self.draft_id,
            "ticket_id": self.ticket_id,
            "queue": last.queue if last else None,
            "started_at": self.started_at,
            "entered_at": first.entered_at if first else None,
            "entry_position": first.position if first else None,
            "wait_seconds": last.wait_seconds if last else None,
            "agent": answered.agent if answered else None,
            "agent_interface": answered.interface if answered else None,
            "answered_at": answered.answered_at if answered else None,
            "talk_seconds": answered.talk_seconds if answered else None,
            "outcome": self.outcome,
            "hangup_cause": self.hangup_cause,
            "recording": self.recording,
            "ended_at": self.ended_at,
            "legs": [leg.record_fields() for leg in self.legs],
            "final": self.final,
        }

    def to_dict(self) -> dict[str, Any]:
        """`record_fields()` as JSON-ready values."""
        result: dict[str, Any] = jsonable(self.record_fields())
        return result


def jsonable(value: Any) -> Any:
    """Datetimes as ISO 8601, enums as their values, inside dicts, lists and tuples."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
