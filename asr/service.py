"""What the composition root wires: recording intake, the worker pool, and draft notifications.

    asr = AsrService.build(sessions, settings.asr, routing=tickets.routing, on_draft=desk.push_draft)
    ivr = IvrServer(..., submit_recording=asr.submit_recording)
    # lifespan: await asr.start() ... await asr.stop()

With `asr.workers = 0` this process only queues recordings; another process (`--role asr`)
sharing the database transcribes them.
"""

from __future__ import annotations

import logging
from pathlib import Path

from asr.audio import ffmpeg_missing
from asr.engine import Engine, ProcessEngine, RecognitionOptions, ThreadEngine
from asr.extraction.extractor import Extractor
from asr.model import resolve_model_dir
from asr.settings import AsrSettings
from asr.workers import DraftListener, TranscriptionWorkers
from ticketing.db import SessionFactory
from ticketing.drafts import DraftStore, DraftView, NewDraft
from ticketing.routing import RoutingTable
from ticketing.vocabulary import Channel

log = logging.getLogger(__name__)


def recognition_options(settings: AsrSettings) -> RecognitionOptions:
    return RecognitionOptions(max_duration_s=settings.max_duration_s,
                              silence_dbfs=settings.silence_dbfs,
                              min_speech_s=settings.min_speech_s, chunk_ms=settings.chunk_ms,
                              pause_s=settings.pause_s)


def make_engine(settings: AsrSettings) -> Engine:
    model_dir = resolve_model_dir(settings.model_dir)
    if settings.engine == "threads":
        return ThreadEngine(model_dir, workers=settings.workers,
                            options=recognition_options(settings),
                            timeout_s=settings.job_timeout_s)
    return ProcessEngine(model_dir, workers=settings.workers,
                         options=recognition_options(settings), timeout_s=settings.job_timeout_s,
                         jobs_per_process=settings.jobs_per_process)


class AsrService:
    def __init__(self, drafts: DraftStore, workers: TranscriptionWorkers | None,
                 extractor: Extractor) -> None:
        self.drafts = drafts
        self.workers = workers
        self.extractor = extractor

    @classmethod
    def build(cls, sessions: SessionFactory, settings: AsrSettings, *,
              routing: RoutingTable, on_draft: DraftListener | None = None, engine: Engine | None = None,
              name: str | None = None) -> AsrService:
        """`routing` is the ticketing core's table: its province's places are the ones resolved."""
        drafts = DraftStore(sessions)
        extractor = Extractor.build(rules_path=settings.rules_path,
                                    province_code=routing.province_code, routing=routing)
        if engine is None and settings.workers > 0:
            engine = make_engine(settings)
        workers = (TranscriptionWorkers(drafts, engine, extractor, settings, on_draft=on_draft,
                                        name=name) if engine is not None else None)
        return cls(drafts, workers, extractor)

    async def submit_recording(self, audio_path: str | Path, *, caller_number: str | None = None,
                               call_linkedid: str | None = None, server: str | None = None,
                               channel: Channel = Channel.PHONE,
                               callback_requested: bool = False) -> int:
        """Queue a recording: the draft and its job in one transaction. Returns the draft id.

        The IVR's callback for both "report a problem" and "leave a message"
        (`callback_requested=True`). Nothing is recognised here; the call goes on at once.
        """
        draft_id, _ = await self.drafts.create(NewDraft(
            audio_path=str(audio_path), channel=channel, caller_number=caller_number,
            call_linkedid=call_linkedid, server=server, callback_requested=callback_requested))
        if self.workers is not None:
            self.workers.wake()
        return draft_id

    async def draft(self, draft_id: int) -> DraftView:
        return await self.drafts.get(draft_id)

    async def start(self) -> None:
        if self.workers is not None:
            missing = ffmpeg_missing()
            if missing:
                log.warning("ASR: %s", missing)
            await self.workers.start()

    async def stop(self) -> None:
        if self.workers is not None:
            await self.workers.stop()
