"""A call as the AMI client assembles it: one per Asterisk Linkedid, with one leg per queue visit."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from ticketing.models import CallOutcome


@dataclass(slots=True)
class QueueLeg:
    """One stay of the caller in one queue. `outcome` is None while the caller still waits."""

    queue: str
    uniqueid: str
    entered_at: datetime
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

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("entered_at", "answered_at", "left_at"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        data["outcome"] = self.outcome.value if self.outcome is not None else None
        del data["join_location"], data["hangup_requested"]
        return data


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
    lost: bool = False  # closed by a resync: it ended while we were disconnected

    @property
    def key(self) -> tuple[str, str]:
        return (self.server, self.linkedid)

    @property
    def first_leg(self) -> QueueLeg | None:
        return self.legs[0] if self.legs else None

    @property
    def answered_leg(self) -> QueueLeg | None:
        for leg in reversed(self.legs):
            if leg.answered_at is not None:
                return leg
        return None

    @property
    def queue(self) -> str | None:
        return self.legs[-1].queue if self.legs else None

    @property
    def wait_seconds(self) -> float | None:
        """The caller's total time in queues until answered (or until leaving the last queue)."""
        total = 0.0
        for leg in self.legs:
            if leg.wait_seconds is None:
                return None
            total += leg.wait_seconds
            if leg.answered_at is not None:
                break
        return total if self.legs else None

    @property
    def outcome(self) -> CallOutcome:
        if self.lost:
            return CallOutcome.UNKNOWN
        if not self.legs:
            return CallOutcome.SELF_SERVICE if self.final else CallOutcome.UNKNOWN
        if self.answered_leg is not None:
            return CallOutcome.ANSWERED
        last = self.legs[-1].outcome
        return last if last is not None else CallOutcome.UNKNOWN

    def record_fields(self) -> dict[str, Any]:
        """The column values of `ticketing.models.CallRecord` for this call."""
        first, answered = self.first_leg, self.answered_leg
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
            "queue": self.queue,
            "started_at": self.started_at,
            "entered_at": first.entered_at if first else None,
            "entry_position": first.position if first else None,
            "wait_seconds": self.wait_seconds,
            "agent": answered.agent if answered else None,
            "answered_at": answered.answered_at if answered else None,
            "talk_seconds": answered.talk_seconds if answered else None,
            "outcome": self.outcome,
            "hangup_cause": self.hangup_cause,
            "recording": self.recording,
            "ended_at": self.ended_at,
            "legs": [leg.to_dict() for leg in self.legs],
            "final": self.final,
        }

    def to_dict(self) -> dict[str, Any]:
        data = self.record_fields()
        data["outcome"] = self.outcome.value
        for key in ("started_at", "entered_at", "answered_at", "ended_at"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        return data
