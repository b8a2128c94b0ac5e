"""What the call flows need from the rest of the product, as a Protocol.

The IVR never imports ASR or the web layer. The composition root hands the flows an object with
these four methods: `ivr.ticketing_backend.TicketingBackend` in production, or any stand-in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from ticketing.vocabulary import Rating, TicketState


@dataclass(frozen=True)
class CallInfo:
    """Who is calling, as Asterisk named it. `linkedid` joins the AMI call record."""

    uniqueid: str
    linkedid: str
    channel: str
    caller_number: str | None
    caller_name: str | None
    server: str | None = None  # the Asterisk server's name in settings (ami.servers[].name)


@dataclass(frozen=True)
class TicketProgress:
    """What a caller may hear about a ticket."""

    ticket_id: int
    number: str
    digits: str
    state: TicketState
    due_at: datetime | None
    closed_at: datetime | None = None


@dataclass(frozen=True)
class RecordedAudio:
    """A recording the caller left: a problem report, or a message with a callback request.

    `path` is the file as Asterisk wrote it, extension included, e.g.
    `/var/spool/asterisk/hotline/1795868652-16.wav`.
    """

    call: CallInfo
    path: str
    format: str
    duration_ms: int
    ended_by: str  # dtmf, timeout, hangup
    callback_requested: bool
    purpose: str  # "report" or "message"
    open_ticket_id: int | None = None  # the repeat caller's open ticket, if any


@dataclass(frozen=True)
class SurveyAnswer:
    call: CallInfo
    rating: Rating
    ticket_id: int | None
    draft_id: int | None


@dataclass(frozen=True)
class SurveyOutcome:
    """`applied`: the rating landed on the ticket's 回访. Otherwise it is kept for later."""

    survey_id: int
    ticket_id: int | None
    applied: bool
    detail: str = ""


SubmitRecording = Callable[[RecordedAudio], Awaitable[int]]
"""Queue a recording for transcription; returns the new draft's id (draft and job in one transaction)."""

WaitEstimator = Callable[[str], Awaitable[float | None]]
"""Estimated wait in seconds for a queue name, or None when unknown (fed by the AMI live model)."""


class IvrBackend(Protocol):
    async def ticket_progress(self, digits: str) -> TicketProgress | None:
        """The ticket whose number has these digits (`20261128000123`), or None."""

    async def open_ticket_for_caller(self, caller_number: str, within: timedelta) -> TicketProgress | None:
        """The caller's most recent ticket still open and created within `within`, or None."""

    async def submit_recording(self, audio: RecordedAudio) -> int:
        """Hand a recording over for transcription; returns the draft id."""

    async def record_survey(self, answer: SurveyAnswer) -> SurveyOutcome:
        """Keep a satisfaction answer; apply it to the ticket's 回访 when the ticket allows it."""
