"""End to end with real Vosk: recordings submitted as the IVR would, transcribed by two worker
processes, drafts stored and announced. Also a worker process killed in the middle of a job."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from asr.audio import AudioSegment
from asr.engine import ProcessEngine, RecognitionOptions, WorkerCrashed
from asr.errors import ModelError
from asr.service import AsrService
from asr.settings import AsrSettings
from ticketing.drafts import DraftView
from ticketing.models import DraftStatus, JobState
from ticketing.routing import RoutingTable

pytestmark = [pytest.mark.anyio, pytest.mark.vosk, pytest.mark.slow]
ROUTING = RoutingTable.load()

SPEECH = ["slin8k.wav", "ulaw8k.wav", "alaw8k.wav", "speech.ulaw", "stereo.mp3", "stereo.m4a",
          "speech.wav", "three_sentences.wav"]
EXPECTED = {**{name: DraftStatus.READY for name in SPEECH},
            "silence.wav": DraftStatus.NO_SPEECH, "noise.ulaw": DraftStatus.NO_SPEECH,
            "empty.wav": DraftStatus.FAILED, "truncated.wav": DraftStatus.FAILED,
            "random.bin": DraftStatus.FAILED, "three_hours.wav": DraftStatus.FAILED}


async def _wait_for(ready: dict[int, DraftView], ids: list[int], seconds: float) -> None:
    async with asyncio.timeout(seconds):
        while not set(ids) <= set(ready):
            await asyncio.sleep(0.05)


@pytest.mark.timeout(300)  # two processes load the model: a hang guard, not a speed test
async def test_two_vosk_worker_processes_turn_recordings_into_drafts(
        sqlite_db, audio_dir: Path, model_dir: Path, tmp_path: Path) -> None:
    ready: dict[int, DraftView] = {}

    async def on_draft(view: DraftView) -> None:
        assert view.id not in ready, "a draft was announced twice"
        ready[view.id] = view

    settings = AsrSettings(model_dir=model_dir, workers=2, poll_s=0.05, lease_s=30,
                           retry_backoff_s=0, max_attempts=3)
    asr = AsrService.build(sqlite_db.sessions, settings, on_draft=on_draft, routing=ROUTING)
    await asr.start()
    try:
        pids = asr.workers.engine.worker_pids()  # type: ignore[union-attr]
        assert len(pids) == 2
        ids = {name: await asr.submit_recording(audio_dir / name, caller_number="02584561234",
                                                call_linkedid=f"call-{name}")
               for name in EXPECTED}
        await _wait_for(ready, list(ids.values()), 120)
        for name, draft_id in ids.items():
            draft = ready[draft_id]
            assert draft.status is EXPECTED[name], (name, draft.error)
            assert draft.recording_path == str(audio_dir / name)
            if draft.status is DraftStatus.READY:
                assert draft.transcript and draft.words and draft.category
                starts = [w["start"] for w in draft.words]
                assert starts == sorted(starts)
            else:
                assert draft.error
        assert "too_long" in (ready[ids["three_hours.wav"]].error or "")
        assert "noise" in (ready[ids["noise.ulaw"]].error or "")
        used = {ready[ids[n]].extraction["audio"]["worker_pid"] for n in SPEECH}
        assert used == set(pids), "both worker processes should have taken jobs"

        # Kill the worker processes in the middle of a long recording: the job is retried.
        long_audio = tmp_path / "long.wav"
        with (audio_dir / "three_sentences.wav").open("rb") as handle:
            three = AudioSegment.from_file(handle, format="wav")
        (three * 6).export(str(long_audio), format="wav").close()
        draft_id = await asr.submit_recording(long_audio)
        (job,) = await asr.drafts.jobs_for_draft(draft_id)
        async with asyncio.timeout(30):
            while (await asr.drafts.job(job.id)).state is not JobState.RUNNING:
                await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        await _wait_for(ready, [draft_id], 120)
        assert ready[draft_id].status is DraftStatus.READY
        assert len(ready[draft_id].transcript or "") > 20
        job_view = await asr.drafts.job(job.id)
        assert job_view.attempts == 2 and "WorkerCrashed" in (job_view.last_error or "")
        assert set(asr.workers.engine.worker_pids()).isdisjoint(pids)  # type: ignore[union-attr]
    finally:
        await asr.stop()


async def test_a_hung_recognition_is_killed_and_workers_can_be_recycled(
        audio_dir: Path, model_dir: Path) -> None:
    engine = ProcessEngine(model_dir, workers=1, options=RecognitionOptions(),
                           jobs_per_process=2)  # the start-up warm-up counts as one
    await engine.start()
    try:
        first = await engine.recognise(str(audio_dir / "slin8k.wav"))
        second = await engine.recognise(str(audio_dir / "slin8k.wav"))
        assert first.transcript is not None and second.transcript is not None
        assert first.worker_pid != second.worker_pid  # recycled after its jobs
        engine.timeout_s = 0.05
        with pytest.raises(WorkerCrashed, match="exceeded"):
            await engine.recognise(str(audio_dir / "three_sentences.wav"))
        engine.timeout_s = 120
        after = await engine.recognise(str(audio_dir / "ulaw8k.wav"))
        assert after.transcript is not None and after.transcript.text
    finally:
        await engine.close()


async def test_a_bad_model_directory_stops_start_up(tmp_path: Path) -> None:
    engine = ProcessEngine(tmp_path, workers=1, options=RecognitionOptions())
    with pytest.raises(ModelError, match="vosk-model-small-cn-0.22"):
        await engine.start()


async def test_the_thread_engine_shares_one_model_between_two_recognizers(
        sqlite_db, audio_dir: Path, model_dir: Path) -> None:
    ready: dict[int, DraftView] = {}

    async def on_draft(view: DraftView) -> None:
        ready[view.id] = view

    settings = AsrSettings(model_dir=model_dir, workers=2, engine="threads", poll_s=0.05)
    asr = AsrService.build(sqlite_db.sessions, settings, on_draft=on_draft, routing=ROUTING)
    await asr.start()
    try:
        ids = [await asr.submit_recording(audio_dir / name)
               for name in ("slin8k.wav", "ulaw8k.wav", "alaw8k.wav", "stereo.mp3", "silence.wav")]
        await _wait_for(ready, ids, 60)
    finally:
        await asr.stop()
    statuses = [ready[i].status for i in ids]
    assert statuses == [DraftStatus.READY] * 4 + [DraftStatus.NO_SPEECH]
    assert all(ready[i].transcript for i in ids[:4])
    assert {ready[i].extraction["audio"]["worker_pid"] for i in ids[:4]} == {os.getpid()}
