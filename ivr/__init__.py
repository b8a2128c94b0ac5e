"""FastAGI IVR adapter: the voice menu in front of the 12345 queues.

Public API: `IvrService` (server + flows), `IvrBackend` and its value types, `TicketingBackend`
(the production backend over `ticketing`), `FastAgiServer`/`AgiChannel` for other AGI uses.
"""

from ivr.backend import (
    CallInfo,
    IvrBackend,
    RecordedAudio,
    SubmitRecording,
    SurveyAnswer,
    SurveyOutcome,
    TicketProgress,
    WaitEstimator,
)
from ivr.service import IvrService

__all__ = [
    "CallInfo",
    "IvrBackend",
    "IvrService",
    "RecordedAudio",
    "SubmitRecording",
    "SurveyAnswer",
    "SurveyOutcome",
    "TicketProgress",
    "WaitEstimator",
]
