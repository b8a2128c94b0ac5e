"""Adapter to the Asterisk Manager Interface (via Panoramisk 1.4): connection life, live queue
model, typed queue/agent actions, call-record assembly, queue_log import. See docs/ami.md."""

from ami.calldata import CallData, QueueLeg
from ami.client import AmiClient, OriginateResult
from ami.errors import AmiActionError, AmiAuthError, AmiError, AmiNotConnected, AmiTimeout
from ami.events import (
    AgentCall,
    CallerJoined,
    CallerLeft,
    CallUpdated,
    ChangeEvent,
    ConnectionChanged,
    MemberChanged,
    MemberRemoved,
    QueueParamsChanged,
    Resynced,
)
from ami.model import LiveModel
from ami.replay import ReplaySource
from ami.runtime import AmiRuntime
from ami.state import MemberState, MemberStatus, QueueView, Snapshot

__all__ = [
    "AgentCall", "AmiActionError", "AmiAuthError", "AmiClient", "AmiError", "AmiNotConnected", "AmiRuntime",
    "AmiTimeout", "CallData", "CallUpdated", "CallerJoined", "CallerLeft", "ChangeEvent",
    "ConnectionChanged", "LiveModel", "MemberChanged", "MemberRemoved", "MemberState",
    "MemberStatus", "OriginateResult", "QueueLeg", "QueueParamsChanged", "QueueView",
    "ReplaySource", "Resynced", "Snapshot",
]
