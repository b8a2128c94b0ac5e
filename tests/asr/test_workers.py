"""Job workers: retries with backoff, parking, bad audio, no speech, notifications, and two
worker pools sharing one queue. The engine is a fake here; test_pipeline.py uses real Vosk."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from asr.audio import AudioVerdict
from asr.engine import WorkerCrashed
from asr.errors import AudioError
from asr.extraction.extractor import Extractor
from asr.service import AsrService
from asr.settings import AsrSettings
from asr.workers import TranscriptionWorkers
from ticketing.drafts import DraftStore, DraftView, NewDraft
from ticketing.models import DraftStatus, JobState, utcnow
from ticketing.routing import RoutingTable

from .fakes import FakeEngine, recognition

pytestmark = pytest.mark.anyio
TEXT = "你好 我 要 投诉 南京市 鼓楼区 中山路 的 路灯 坏 了"


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor.build()


def _settings(**overrides: object) -> AsrSettings:
    return AsrSettings(**{"max_attempts": 3, "retry_backoff_s": 5, "lease_s": 30, "poll_s": 0.05,
                          **overrides})


async def test_a_transcribed_job_fills_the_draft_and_notifies(db, extractor) -> None:
    seen: list[DraftView] = []

    async def on_draft(view: DraftView) -> None:
        seen.append(view)

    store = DraftStore(db.sessions)
    workers = TranscriptionWorkers(store, FakeEngine(lambda p, n: recognition(TEXT)), extractor,
                                   _settings(), on_draft=on_draft)
    draft_id, job_id = await store.create(NewDraft("/tmp/a.wav", caller_number="02584561234"))
    view = await workers.run_once()
    assert view is not None and view.id == draft_id and seen == [view]
    assert view.status is DraftStatus.READY
    assert view.transcript == "你好我要投诉南京市鼓楼区中山路的路灯坏了"
    assert view.category == "complaint" and view.region_code == "320106"
    assert view.address == "中山路" and view.department_type == "urban_management"
    assert view.suggested_unit_id == "dept:320106:urban_management"
    assert view.department_reason is not None and view.department_reason.startswith("路灯 → 城管, matter table row")
    assert view.extraction["category"]["evidence"][0]["keyword"] == "投诉"
    assert view.extraction["quality"] == {"mean_confidence": 0.9, "low_confidence": False}
    assert [w["word"] for w in view.words][:2] == ["你好", "我"]
    assert (await store.job(job_id)).state is JobState.DONE


async def test_transient_errors_retry_with_backoff_then_park(db, extractor) -> None:
    now = [utcnow()]
    store = DraftStore(db.sessions, clock=lambda: now[0])

    def crash(path: str, call: int) -> object:
        raise WorkerCrashed(f"worker died on call {call}")

    workers = TranscriptionWorkers(store, FakeEngine(crash), extractor, _settings(),
                                   clock=lambda: now[0])
    _draft_id, job_id = await store.create(NewDraft("/tmp/a.wav"))
    assert await workers.run_once() is None
    job = await store.job(job_id)
    assert job.state is JobState.QUEUED and job.run_after == now[0] + timedelta(seconds=5)
    assert "call 1" in (job.last_error or "")
    assert await workers.run_once() is None  # not due yet
    now[0] += timedelta(seconds=5)
    await workers.run_once()
    assert (await store.job(job_id)).run_after == now[0] + timedelta(seconds=10)  # doubled
    now[0] += timedelta(seconds=10)
    view = await workers.run_once()
    assert view is not None and view.status is DraftStatus.FAILED
    assert view.recording_path == "/tmp/a.wav"
    assert view.error is not None and "failed 3 times" in view.error and "call 3" in view.error
    job = await store.job(job_id)
    assert job.state is JobState.FAILED and job.attempts == 3


async def test_a_transient_error_then_success(db, extractor) -> None:
    now = [utcnow()]
    store = DraftStore(db.sessions, clock=lambda: now[0])

    def flaky(path: str, call: int) -> object:
        if call == 1:
            raise WorkerCrashed("first try died")
        return recognition(TEXT)

    workers = TranscriptionWorkers(store, FakeEngine(flaky), extractor, _settings(),
                                   clock=lambda: now[0])
    _draft_id, job_id = await store.create(NewDraft("/tmp/a.wav"))
    await workers.run_once()
    now[0] += timedelta(seconds=6)
    view = await workers.run_once()
    assert view is not None and view.status is DraftStatus.READY
    assert (await store.job(job_id)).attempts == 2


async def test_bad_audio_fails_at_once_and_keeps_the_recording(db, extractor) -> None:
    def bad(path: str, call: int) -> object:
        raise AudioError("undecodable", "a.wav is not audio ffmpeg can read")

    engine = FakeEngine(bad)
    store = DraftStore(db.sessions)
    workers = TranscriptionWorkers(store, engine, extractor, _settings())
    _draft_id, job_id = await store.create(NewDraft("/tmp/a.wav", callback_requested=True))
    view = await workers.run_once()
    assert view is not None and view.status is DraftStatus.FAILED and view.callback_requested
    assert view.recording_path == "/tmp/a.wav"
    assert view.error == "audio undecodable: a.wav is not audio ffmpeg can read"
    assert engine.calls["/tmp/a.wav"] == 1 and (await store.job(job_id)).state is JobState.FAILED


@pytest.mark.parametrize("verdict, text, reason", [
    (AudioVerdict(False, "silence", 0.0, -90, -90), "", "no speech: silence"),
    (AudioVerdict(True, None, 2.0, -3, -20), "", "no speech: no words recognised"),
])
async def test_no_speech_drafts(db, extractor, verdict, text, reason) -> None:
    store = DraftStore(db.sessions)
    workers = TranscriptionWorkers(
        store, FakeEngine(lambda p, n: recognition(text, verdict=verdict)), extractor, _settings())
    await store.create(NewDraft("/tmp/a.wav"))
    view = await workers.run_once()
    assert view is not None and view.status is DraftStatus.NO_SPEECH and view.error == reason
    assert view.recording_path == "/tmp/a.wav" and view.transcript == ""


async def test_low_confidence_is_flagged_not_dropped(db, extractor) -> None:
    low = recognition(TEXT)
    words = tuple(w.__class__(w.word, w.start, w.end, 0.1) for w in low.transcript.words)
    low = low.__class__(low.info, low.verdict, low.transcript.__class__(
        (low.transcript.segments[0].__class__(TEXT, words),), 4.0), 0, 0, 0, 0)
    store = DraftStore(db.sessions)
    workers = TranscriptionWorkers(store, FakeEngine(lambda p, n: low), extractor, _settings())
    await store.create(NewDraft("/tmp/a.wav"))
    view = await workers.run_once()
    assert view is not None and view.status is DraftStatus.READY
    assert view.extraction["quality"]["low_confidence"] is True


async def test_a_job_beyond_max_attempts_after_dead_workers_is_parked(db, extractor) -> None:
    now = [utcnow()]
    store = DraftStore(db.sessions, clock=lambda: now[0])
    workers = TranscriptionWorkers(store, FakeEngine(lambda p, n: recognition(TEXT)), extractor,
                                   _settings(max_attempts=2), clock=lambda: now[0])
    _, _job_id = await store.create(NewDraft("/tmp/a.wav"))
    for _ in range(2):  # two workers die holding it
        assert await store.claim_job("dead", lease=workers.lease) is not None
        now[0] += timedelta(seconds=31)
    view = await workers.run_once()
    assert view is not None and view.status is DraftStatus.FAILED
    assert "gave up after 2 attempts" in (view.error or "") and "lease expired" in view.error


async def test_two_worker_pools_share_the_queue_without_loss_or_duplication(db, extractor) -> None:
    ready: list[int] = []

    async def on_draft(view: DraftView) -> None:
        ready.append(view.id)

    engines = [FakeEngine(lambda p, n: recognition(TEXT), delay=0.02) for _ in range(2)]
    routing = RoutingTable.load()
    pools = [AsrService.build(db.sessions, _settings(), engine=engine, on_draft=on_draft, routing=routing,
                              name=f"host{n}") for n, engine in enumerate(engines)]
    for pool in pools:
        await pool.start()
    try:
        ids = [await pools[n % 2].submit_recording(f"/tmp/{n}.wav", caller_number="025")
               for n in range(30)]
        async with asyncio.timeout(30):
            while len(ready) < 30:
                await asyncio.sleep(0.05)
    finally:
        for pool in pools:
            await pool.stop()
    assert sorted(ready) == sorted(ids)
    calls = engines[0].calls + engines[1].calls
    assert len(calls) == 30 and set(calls.values()) == {1}
    assert engines[0].calls and engines[1].calls  # both took part
    drafts = [await pools[0].draft(i) for i in ids]
    assert {d.status for d in drafts} == {DraftStatus.READY}
    assert not any(e.started for e in engines)  # stopped


async def test_stopping_hands_a_job_in_flight_back_to_the_queue(db, extractor) -> None:
    engine = FakeEngine(lambda p, n: recognition(TEXT), delay=3600)
    store = DraftStore(db.sessions)
    workers = TranscriptionWorkers(store, engine, extractor, _settings(lease_s=3600))
    _, job_id = await store.create(NewDraft("/tmp/a.wav"))
    await workers.start()
    async with asyncio.timeout(10):
        while not engine.running:
            await asyncio.sleep(0.01)
    await workers.stop()
    job = await store.job(job_id)
    assert job.state is JobState.QUEUED and job.attempts == 0 and job.locked_by is None
    after = TranscriptionWorkers(store, FakeEngine(lambda p, n: recognition(TEXT)), extractor,
                                 _settings(lease_s=3600))
    view = await after.run_once()
    assert view is not None and view.status is DraftStatus.READY
