"""The production `IvrBackend`: ticket look-ups and survey answers over `ticketing`.

Recordings go to ASR through `submit_recording`, a callback the composition root passes in (it
creates the draft and its transcription job in one transaction). If that callback fails, a bare
draft is still written here with the error, so the recording stays visible to agents.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.backend import RecordedAudio, SubmitRecording, SurveyAnswer, SurveyOutcome, TicketProgress
from ticketing.actions import FollowUp
from ticketing.db import SessionFactory
from ticketing.errors import ConcurrentUpdate, IllegalTransition, InvalidAction, TicketNotFound
from ticketing.models import CallRecord, CallSurvey, Draft, DraftStatus, utcnow
from ticketing.service import TicketService, TicketView
from ticketing.vocabulary import Channel

log = logging.getLogger(__name__)

ACTOR = "ivr"
_RETRIES = 3


class _Submitter(Protocol):
    def __call__(self, audio_path: str | Path, *, caller_number: str | None = ..., call_linkedid: str | None = ...,
                 server: str | None = ..., callback_requested: bool = ...) -> Awaitable[int]: ...


def recording_submitter(submit: _Submitter) -> SubmitRecording:
    """Adapt a `submit(audio_path, *, caller_number, call_linkedid, server, callback_requested) -> draft id`
    function (ASR's `AsrService.submit_recording`) to the IVR's `SubmitRecording` callback."""

    async def forward(audio: RecordedAudio) -> int:
        return await submit(audio.path, caller_number=audio.call.caller_number,
                            call_linkedid=audio.call.linkedid, server=audio.call.server,
                            callback_requested=audio.callback_requested)

    return forward


def _progress(view: TicketView) -> TicketProgress:
    return TicketProgress(view.id, view.number, view.digits, view.state, view.due_at, view.closed_at)


class TicketingBackend:
    def __init__(
        self,
        tickets: TicketService,
        sessions: SessionFactory,
        submit_recording: SubmitRecording,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._tickets = tickets
        self._sessions = sessions
        self._submit = submit_recording
        self._clock = clock

    async def ticket_progress(self, digits: str) -> TicketProgress | None:
        view = await self._tickets.find_by_digits(digits)
        return _progress(view) if view else None

    async def open_ticket_for_caller(self, caller_number: str, within: timedelta) -> TicketProgress | None:
        views = await self._tickets.tickets_for_caller(caller_number, since=self._clock() - within,
                                                       open_only=True, limit=1)
        return _progress(views[0]) if views else None

    async def submit_recording(self, audio: RecordedAudio) -> int:
        try:
            return await self._submit(audio)
        except Exception as exc:
            log.exception("recording %s could not be queued for ASR; keeping a bare draft", audio.path)
            return await self._bare_draft(audio, f"could not queue transcription: {exc!r}")

    async def _bare_draft(self, audio: RecordedAudio, error: str) -> int:
        async with self._sessions() as session, session.begin():
            draft = Draft(
                server=audio.call.server, call_linkedid=audio.call.linkedid,
                caller_number=audio.call.caller_number, channel=Channel.PHONE,
                callback_requested=audio.callback_requested, recording_path=audio.path,
                status=DraftStatus.FAILED, error=error,
            )
            session.add(draft)
            await session.flush()
            return draft.id

    async def record_survey(self, answer: SurveyAnswer) -> SurveyOutcome:
        """Keep the answer; apply it as the ticket's 回访 (follow_up) when the ticket's state allows."""
        ticket_id = (answer.ticket_id or await self._ticket_of_draft(answer.draft_id)
                     or await self._ticket_of_call(answer.call.linkedid, answer.call.server))
        applied, note = False, None
        if ticket_id is not None:
            applied, note, known = await self._follow_up(ticket_id, answer)
            ticket_id = ticket_id if known else None
        else:
            note = "no ticket linked to the call yet"
        async with self._sessions() as session, session.begin():
            row = CallSurvey(
                server=answer.call.server, call_uniqueid=answer.call.uniqueid, call_linkedid=answer.call.linkedid,
                caller_number=answer.call.caller_number, ticket_id=ticket_id,
                draft_id=answer.draft_id if await self._draft_exists(session, answer.draft_id) else None,
                rating=answer.rating, applied=applied, note=note, created_at=self._clock(),
            )
            session.add(row)
            await session.flush()
            return SurveyOutcome(row.id, ticket_id, applied, note or "")

    async def _follow_up(self, ticket_id: int, answer: SurveyAnswer) -> tuple[bool, str | None, bool]:
        """(applied, why not, ticket exists). A concurrent edit is retried; the answer is never dropped."""
        for _ in range(_RETRIES):
            try:
                await self._tickets.act(ticket_id, FollowUp(rating=answer.rating), ACTOR)
                return True, None, True
            except (IllegalTransition, InvalidAction) as exc:
                return False, str(exc), True
            except TicketNotFound:
                return False, f"ticket {ticket_id} not found", False
            except ConcurrentUpdate:
                continue
        return False, f"ticket {ticket_id} kept changing; not applied", True

    async def _ticket_of_draft(self, draft_id: int | None) -> int | None:
        if draft_id is None:
            return None
        async with self._sessions() as session:
            draft = await session.get(Draft, draft_id)
            return draft.ticket_id if draft else None

    async def _ticket_of_call(self, linkedid: str, server: str | None) -> int | None:
        """The ticket the agent attached this call to (the desk stores in-progress call records)."""
        if not linkedid:
            return None
        query = (select(CallRecord.ticket_id)
                 .where(CallRecord.linkedid == linkedid, CallRecord.ticket_id.is_not(None))
                 .order_by((CallRecord.server == (server or "")).desc()).limit(1))
        async with self._sessions() as session:
            ticket_id: int | None = await session.scalar(query)
            return ticket_id

    @staticmethod
    async def _draft_exists(session: AsyncSession, draft_id: int | None) -> bool:
        return draft_id is not None and await session.get(Draft, draft_id) is not None
