"""A worker killed mid-job (SIGKILL: no cleanup at all) loses nothing: after its lease runs out,
a restarted worker claims the job again and completes it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from asr.extraction.extractor import Extractor
from asr.settings import AsrSettings
from asr.workers import TranscriptionWorkers
from ticketing.drafts import DraftStore, NewDraft
from ticketing.models import DraftStatus, JobState

from .fakes import FakeEngine, recognition

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]

VICTIM = """
import asyncio, json, sys
from asr.settings import AsrSettings
from asr.extraction.extractor import Extractor
from asr.workers import TranscriptionWorkers
from ticketing.db import make_engine, make_session_factory
from ticketing.drafts import DraftStore
from tests.asr.fakes import FakeEngine, recognition

async def main():
    url, kwargs = sys.argv[1], json.loads(sys.argv[2])
    store = DraftStore(make_session_factory(make_engine(url, **kwargs)))
    engine = FakeEngine(lambda p, n: recognition("永远 不 会 完成"), delay=3600)
    workers = TranscriptionWorkers(store, engine, Extractor.build(),
                                   AsrSettings(lease_s=1, poll_s=0.05), name="victim")
    await workers.start()
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def test_a_job_killed_mid_run_completes_after_restart(db) -> None:
    store = DraftStore(db.sessions)
    draft_id, job_id = await store.create(NewDraft("/spool/call-1.wav", caller_number="02511112222"))
    victim = subprocess.Popen(  # noqa: ASYNC220  # the worker under test runs in its own process
        [sys.executable, "-c", VICTIM, db.target.url, json.dumps(db.target.engine_kwargs)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        async with asyncio.timeout(60):
            while (job := await store.job(job_id)).state is not JobState.RUNNING:
                assert victim.poll() is None, "the victim worker exited early"
                await asyncio.sleep(0.1)
        assert job.locked_by is not None and job.locked_by.startswith("victim/")
        await asyncio.sleep(0.8)  # it heartbeats while it "works"
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait(10)
    assert (await store.job(job_id)).state is JobState.RUNNING  # nobody cleaned up

    engine = FakeEngine(lambda p, n: recognition("南京 江宁区 停水 了"))
    restarted = TranscriptionWorkers(store, engine, Extractor.build(),
                                     AsrSettings(lease_s=1, poll_s=0.05), name="restarted")
    await restarted.start()
    try:
        async with asyncio.timeout(30):
            while (await store.get(draft_id)).status is DraftStatus.PENDING:
                await asyncio.sleep(0.05)
    finally:
        await restarted.stop()
    draft = await store.get(draft_id)
    assert draft.status is DraftStatus.READY and draft.region_code == "320115"
    job = await store.job(job_id)
    assert job.state is JobState.DONE and job.attempts == 2
    assert job.locked_by is not None and job.locked_by.startswith("restarted/")
    assert engine.calls["/spool/call-1.wav"] == 1
