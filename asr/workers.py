"""The job workers: claim a transcription job, recognise it off the loop, store the draft.

One asyncio task per engine slot. Each claims a job (a lease), renews its heartbeat while the
engine works, and then, in one transaction, writes the transcript and the extracted fields onto
the draft and finishes the job. Bad audio is final at once (the draft keeps its recording and the
reason); other errors are retried with exponential backoff and parked as failed after
`max_attempts`. A job whose worker died (no heartbeat for `lease_s`) is claimed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from asr.engine import Engine, Recognition
from asr.errors import AudioError
from asr.extraction.extractor import Extractor
from asr.settings import AsrSettings
from ticketing.drafts import ClaimedJob, DraftFields, DraftStore, DraftView
from ticketing.models import DraftStatus, utcnow

log = logging.getLogger(__name__)

DraftListener = Callable[[DraftView], Awaitable[None]]


class TranscriptionWorkers:
    """Start in the FastAPI lifespan (`await start()`, `await stop()`)."""

    def __init__(self, store: DraftStore, engine: Engine, extractor: Extractor,
                 settings: AsrSettings, *, on_draft: DraftListener | None = None,
                 name: str | None = None, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.engine = engine
        self.extractor = extractor
        self.settings = settings
        self.on_draft = on_draft
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self._clock = clock
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._stopping = False

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.lease_s)

    async def start(self) -> None:
        await self.engine.start()
        self._stopping = False
        self._tasks = [asyncio.create_task(self._loop(f"{self.name}/{n}"), name=f"asr-worker-{n}")
                       for n in range(self.engine.capacity)]

    async def stop(self) -> None:
        """Stop claiming; a job in flight is handed back to the queue (or, if this process is
        killed instead, taken over by another worker when its lease expires)."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.engine.close()

    def wake(self) -> None:
        """A job was queued: idle workers look now instead of at the next poll."""
        self._wake.set()

    async def run_once(self, worker_id: str | None = None) -> DraftView | None:
        """Claim and process one job, if any is due. Returns the draft it produced."""
        job = await self.store.claim_job(worker_id or f"{self.name}/once", lease=self.lease)
        return await self.process(job) if job else None

    async def _loop(self, worker_id: str) -> None:
        while not self._stopping:
            try:
                job = await self.store.claim_job(worker_id, lease=self.lease)
                if job is not None:
                    await self.process(job)
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:  # the database was unreachable, say; try again after a pause
                log.exception("ASR worker %s: claiming or storing a job failed", worker_id)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_s)

    async def process(self, job: ClaimedJob) -> DraftView | None:
        if job.attempts > self.settings.max_attempts:
            return await self._finished(await self.store.park_failed(
                job, f"gave up after {job.attempts - 1} attempts; last error: "
                     f"{job.last_error or 'the worker stopped without reporting (lease expired)'}"))
        heartbeat = asyncio.create_task(self._heartbeat(job))
        try:
            recognition = await self.engine.recognise(job.audio_path)
        except AudioError as exc:
            return await self._finished(await self.store.park_failed(job, f"audio {exc}"))
        except asyncio.CancelledError:
            # Stopping: hand the job back now rather than after the lease runs out.
            with contextlib.suppress(Exception):
                await asyncio.shield(self.store.release(job))
            raise
        except Exception as exc:  # noqa: BLE001  # any failure fails the job, never the worker
            return await self._failed(job, f"{type(exc).__name__}: {exc}")
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        draft = await self.store.get(job.draft_id)
        fields, status, reason = self.draft_fields(recognition, draft.caller_number)
        return await self._finished(await self.store.complete(job, fields, status=status,
                                                              reason=reason))

    def draft_fields(self, recognition: Recognition,
                     caller_number: str | None) -> tuple[DraftFields, DraftStatus, str | None]:
        """Judge the result, then extract. Vosk never rejects input, so the verdicts decide."""
        audio = {"codec": recognition.info.codec, "sample_rate": recognition.info.sample_rate,
                 "channels": recognition.info.channels,
                 "duration_s": round(recognition.info.duration_s, 2),
                 "voiced_s": round(recognition.verdict.voiced_s, 2),
                 "recognise_s": round(recognition.recognise_s, 3),
                 "worker_pid": recognition.worker_pid}
        transcript = recognition.transcript
        if transcript is None:
            reason = f"no speech: {recognition.verdict.reason}"
            return DraftFields("", extraction={"audio": audio}), DraftStatus.NO_SPEECH, reason
        text = transcript.text
        words = [w.as_dict() for w in transcript.words]
        if not text:
            return (DraftFields("", extraction={"audio": audio}), DraftStatus.NO_SPEECH,
                    "no speech: no words recognised")
        confidence = transcript.mean_confidence
        quality = {"mean_confidence": round(confidence, 3) if confidence is not None else None,
                   "low_confidence": confidence is not None
                   and confidence < self.settings.min_confidence}
        extraction = self.extractor.extract(text, caller_number=caller_number)
        return DraftFields(
            transcript=text, words=words, **extraction.fields(),
            extraction={**extraction.evidence(), "audio": audio, "quality": quality},
        ), DraftStatus.READY, None

    async def _failed(self, job: ClaimedJob, error: str) -> DraftView | None:
        if job.attempts >= self.settings.max_attempts:
            return await self._finished(await self.store.park_failed(
                job, f"failed {job.attempts} times; last error: {error}"))
        delay = self.settings.retry_backoff_s * 2 ** (job.attempts - 1)
        log.warning("ASR job %s attempt %s failed (%s); retry in %.0f s", job.id, job.attempts,
                    error, delay)
        await self.store.retry_later(job, error, self._clock() + timedelta(seconds=delay))
        self.wake()
        return None

    async def _finished(self, draft: DraftView | None) -> DraftView | None:
        if draft is not None and self.on_draft is not None:
            try:
                await self.on_draft(draft)
            except Exception:  # a listener's bug must not fail the job
                log.exception("draft listener failed for draft %s", draft.id)
        return draft

    async def _heartbeat(self, job: ClaimedJob) -> None:
        interval = max(0.05, self.settings.lease_s / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                if not await self.store.heartbeat(job):
                    log.warning("ASR job %s: lease lost to another worker", job.id)
                    return
            except Exception:  # a missed beat is not fatal; the lease is several beats long
                log.exception("ASR job %s: heartbeat failed", job.id)
