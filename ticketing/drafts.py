"""The draft-ticket store and its durable transcription queue.

A recording becomes a `Draft` and a `TranscriptionJob` in one transaction, so a caller's words are
never lost between the two. Workers claim jobs with `FOR UPDATE SKIP LOCKED` on PostgreSQL and a
compare-and-set update on SQLite (whose writers are serialised anyway). A claim is a lease: the
worker renews `heartbeat_at`, and a job whose heartbeat is older than the lease is claimed again by
someone else. Every write after a claim is guarded by `locked_by`, so a worker that lost its lease
cannot overwrite the result of the worker that took over.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.db import SessionFactory
from ticketing.errors import DraftNotFound
from ticketing.models.base import utcnow
from ticketing.models.draft import Draft, DraftStatus
from ticketing.models.transcription_job import JobState, TranscriptionJob
from ticketing.vocabulary import Channel

_CLAIM_CANDIDATES = 8


@dataclass(frozen=True, slots=True)
class NewDraft:
    """A recording to transcribe: where the audio is and whose call it came from."""

    audio_path: str
    channel: Channel = Channel.PHONE
    caller_number: str | None = None
    call_linkedid: str | None = None
    server: str | None = None
    callback_requested: bool = False


@dataclass(frozen=True, slots=True)
class DraftFields:
    """What recognition and extraction produced for a draft."""

    transcript: str
    words: list[dict[str, Any]] = field(default_factory=list)
    category: str | None = None
    region_code: str | None = None
    address: str | None = None
    department_type: str | None = None
    department_reason: str | None = None  # why that department: 停水 → 供水, matter table row 1
    suggested_unit_id: str | None = None
    summary: str | None = None
    extraction: dict[str, Any] = field(default_factory=dict)


class DraftView(BaseModel):
    """An immutable snapshot of a draft ticket, as the agent desk shows it."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    status: DraftStatus
    channel: Channel
    caller_number: str | None
    call_linkedid: str | None
    server: str | None
    callback_requested: bool
    recording_path: str | None
    transcript: str | None
    words: list[dict[str, Any]]
    category: str | None
    region_code: str | None
    address: str | None
    department_type: str | None
    department_reason: str | None
    suggested_unit_id: str | None
    summary: str | None
    extraction: dict[str, Any]
    error: str | None
    ticket_id: int | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, draft: Draft) -> DraftView:
        words = (draft.words or {}).get("words", [])
        data = {name: getattr(draft, name) for name in cls.model_fields if name != "words"}
        return cls(**{**data, "words": words, "extraction": draft.extraction or {}})


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    id: int
    draft_id: int
    audio_path: str
    attempts: int  # including this one
    worker_id: str
    last_error: str | None


@dataclass(frozen=True, slots=True)
class JobView:
    id: int
    draft_id: int
    state: JobState
    attempts: int
    locked_by: str | None
    last_error: str | None
    run_after: datetime
    finished_at: datetime | None


class DraftStore:
    """Drafts and their transcription jobs. Every method is one transaction."""

    def __init__(self, sessions: SessionFactory, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    async def create(self, new: NewDraft) -> tuple[int, int]:
        """Create the draft and its queued job together; return (draft id, job id)."""
        now = self._clock()
        async with self._sessions.begin() as session:
            draft = Draft(
                channel=new.channel, caller_number=new.caller_number,
                call_linkedid=new.call_linkedid, server=new.server,
                callback_requested=new.callback_requested, recording_path=new.audio_path,
                status=DraftStatus.PENDING, words={}, extraction={}, created_at=now, updated_at=now,
            )
            session.add(draft)
            await session.flush()
            job = TranscriptionJob(draft_id=draft.id, audio_path=new.audio_path,
                                   state=JobState.QUEUED, attempts=0, run_after=now, created_at=now)
            session.add(job)
            await session.flush()
            return draft.id, job.id

    async def get(self, draft_id: int) -> DraftView:
        async with self._sessions() as session:
            draft = await session.get(Draft, draft_id)
            if draft is None:
                raise DraftNotFound(draft_id)
            return DraftView.of(draft)

    async def drafts_for_call(self, call_linkedid: str) -> list[DraftView]:
        async with self._sessions() as session:
            rows = await session.scalars(
                select(Draft).where(Draft.call_linkedid == call_linkedid).order_by(Draft.id))
            return [DraftView.of(d) for d in rows]

    # --- the queue -------------------------------------------------------------------------

    async def claim_job(self, worker_id: str, *, lease: timedelta) -> ClaimedJob | None:
        """Take the oldest runnable job: queued and due, or running under an expired lease."""
        now = self._clock()
        claimable = or_(
            and_(TranscriptionJob.state == JobState.QUEUED, TranscriptionJob.run_after <= now),
            and_(TranscriptionJob.state == JobState.RUNNING,
                 TranscriptionJob.heartbeat_at < now - lease),
        )
        async with self._sessions.begin() as session:
            candidates = select(TranscriptionJob.id).where(claimable).order_by(
                TranscriptionJob.run_after, TranscriptionJob.id)
            if _dialect(session) == "postgresql":
                ids: Sequence[int] = (await session.scalars(
                    candidates.limit(1).with_for_update(skip_locked=True))).all()
            else:
                ids = (await session.scalars(candidates.limit(_CLAIM_CANDIDATES))).all()
            for job_id in ids:
                claimed = await session.execute(
                    update(TranscriptionJob)
                    .where(TranscriptionJob.id == job_id, claimable)
                    .values(state=JobState.RUNNING, locked_by=worker_id, heartbeat_at=now,
                            attempts=TranscriptionJob.attempts + 1)
                    .returning(TranscriptionJob.draft_id, TranscriptionJob.audio_path,
                               TranscriptionJob.attempts, TranscriptionJob.last_error)
                )
                row = claimed.one_or_none()
                if row is not None:
                    return ClaimedJob(job_id, row.draft_id, row.audio_path, row.attempts,
                                      worker_id, row.last_error)
            return None

    async def heartbeat(self, job: ClaimedJob) -> bool:
        """Renew the lease; False when the job is no longer ours."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(TranscriptionJob)
                .where(*_owned(job))
                .values(heartbeat_at=self._clock())
            )
            return _rowcount(result) == 1

    async def complete(self, job: ClaimedJob, fields: DraftFields, *,
                       status: DraftStatus = DraftStatus.READY,
                       reason: str | None = None) -> DraftView | None:
        """Store the result on the draft and finish the job; None when the lease was lost."""
        now = self._clock()
        async with self._sessions.begin() as session:
            done = await session.execute(
                update(TranscriptionJob).where(*_owned(job))
                .values(state=JobState.DONE, finished_at=now, heartbeat_at=now)
            )
            if _rowcount(done) != 1:
                return None
            draft = await session.get(Draft, job.draft_id)
            if draft is None:
                return None
            _apply(draft, fields, now)
            draft.status = status
            draft.error = reason
            return DraftView.of(draft)

    async def retry_later(self, job: ClaimedJob, error: str, run_after: datetime) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(TranscriptionJob).where(*_owned(job))
                .values(state=JobState.QUEUED, locked_by=None, heartbeat_at=None,
                        last_error=error, run_after=run_after)
            )
            return _rowcount(result) == 1

    async def release(self, job: ClaimedJob) -> bool:
        """Give a job back unfinished (graceful shutdown): queued again, the attempt not counted."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(TranscriptionJob).where(*_owned(job))
                .values(state=JobState.QUEUED, locked_by=None, heartbeat_at=None,
                        attempts=TranscriptionJob.attempts - 1, run_after=self._clock())
            )
            return _rowcount(result) == 1

    async def park_failed(self, job: ClaimedJob, error: str) -> DraftView | None:
        """Give up on the job; the draft turns FAILED and keeps its recording for the agent."""
        now = self._clock()
        async with self._sessions.begin() as session:
            parked = await session.execute(
                update(TranscriptionJob).where(*_owned(job))
                .values(state=JobState.FAILED, last_error=error, finished_at=now)
            )
            if _rowcount(parked) != 1:
                return None
            draft = await session.get(Draft, job.draft_id)
            if draft is None:
                return None
            draft.status = DraftStatus.FAILED
            draft.error = error
            draft.updated_at = now
            return DraftView.of(draft)

    async def job(self, job_id: int) -> JobView:
        async with self._sessions() as session:
            row = await session.get(TranscriptionJob, job_id)
            if row is None:
                raise LookupError(f"transcription job {job_id} not found")
            return JobView(row.id, row.draft_id, row.state, row.attempts, row.locked_by,
                           row.last_error, row.run_after, row.finished_at)

    async def jobs_for_draft(self, draft_id: int) -> list[JobView]:
        async with self._sessions() as session:
            rows = await session.scalars(select(TranscriptionJob).where(
                TranscriptionJob.draft_id == draft_id).order_by(TranscriptionJob.id))
            return [JobView(r.id, r.draft_id, r.state, r.attempts, r.locked_by, r.last_error,
                            r.run_after, r.finished_at) for r in rows]


def _owned(job: ClaimedJob) -> tuple[Any, ...]:
    return (TranscriptionJob.id == job.id, TranscriptionJob.locked_by == job.worker_id,
            TranscriptionJob.state == JobState.RUNNING, TranscriptionJob.attempts == job.attempts)


def _apply(draft: Draft, fields: DraftFields, now: datetime) -> None:
    draft.transcript = fields.transcript
    draft.words = {"words": list(fields.words)}
    draft.category = fields.category
    draft.region_code = fields.region_code
    draft.address = fields.address
    draft.department_type = fields.department_type
    draft.department_reason = fields.department_reason
    draft.suggested_unit_id = fields.suggested_unit_id
    draft.summary = fields.summary
    draft.extraction = dict(fields.extraction)
    draft.updated_at = now


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _rowcount(result: Any) -> int:
    return int(result.rowcount)
