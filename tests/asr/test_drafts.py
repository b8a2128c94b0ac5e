"""The draft store and its durable queue, on real SQLite and real PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from ticketing.drafts import DraftFields, DraftStore, NewDraft
from ticketing.errors import DraftNotFound
from ticketing.models import DraftStatus, JobState, utcnow
from ticketing.vocabulary import Channel

pytestmark = pytest.mark.anyio
LEASE = timedelta(seconds=30)


async def test_a_recording_becomes_a_draft_and_a_job_in_one_transaction(db) -> None:
    store = DraftStore(db.sessions)
    draft_id, job_id = await store.create(NewDraft(
        "/var/spool/asterisk/monitor/1700000000.1.wav", caller_number="02584561234",
        call_linkedid="1700000000.1", server="pbx1", callback_requested=True))
    draft = await store.get(draft_id)
    assert draft.status is DraftStatus.PENDING and draft.callback_requested
    assert draft.recording_path.endswith("1700000000.1.wav") and draft.channel is Channel.PHONE
    job = await store.job(job_id)
    assert job.draft_id == draft_id and job.state is JobState.QUEUED and job.attempts == 0
    assert [d.id for d in await store.drafts_for_call("1700000000.1")] == [draft_id]


async def test_claim_complete_and_a_second_claim_finds_nothing(db) -> None:
    store = DraftStore(db.sessions)
    _draft_id, job_id = await store.create(NewDraft("/tmp/a.wav", caller_number="13800000000"))
    job = await store.claim_job("w1", lease=LEASE)
    assert job is not None and job.id == job_id and job.attempts == 1
    assert await store.claim_job("w2", lease=LEASE) is None
    assert await store.heartbeat(job)
    fields = DraftFields("路灯坏了", [{"word": "路灯", "start": 0.0, "end": 0.4, "conf": 0.9}],
                         category="help", region_code="320106", address="中山路",
                         department_type="urban_management", department_reason="路灯 → 城管, matter table row 40",
                         suggested_unit_id="dept:320106:urban_management", summary="路灯坏了",
                         extraction={"category": {"evidence": []}})
    view = await store.complete(job, fields)
    assert view is not None and view.status is DraftStatus.READY
    assert view.words[0]["word"] == "路灯" and view.region_code == "320106"
    assert view.department_reason == "路灯 → 城管, matter table row 40"
    assert (await store.job(job_id)).state is JobState.DONE
    assert await store.claim_job("w2", lease=LEASE) is None
    assert not await store.heartbeat(job)


async def test_many_concurrent_claimers_take_each_job_exactly_once(db) -> None:
    store = DraftStore(db.sessions)
    for n in range(12):
        await store.create(NewDraft(f"/tmp/{n}.wav"))

    async def claimer(name: str) -> list[int]:
        taken = []
        while (job := await store.claim_job(name, lease=LEASE)) is not None:
            taken.append(job.id)
        return taken

    results = await asyncio.gather(*(claimer(f"w{n}") for n in range(4)))
    claimed = [job_id for taken in results for job_id in taken]
    assert len(claimed) == 12 and len(set(claimed)) == 12


async def test_an_expired_lease_is_taken_over_and_the_old_worker_cannot_write(db) -> None:
    now = [utcnow()]
    store = DraftStore(db.sessions, clock=lambda: now[0])
    _draft_id, _ = await store.create(NewDraft("/tmp/a.wav"))
    first = await store.claim_job("dead", lease=LEASE)
    assert first is not None
    now[0] += timedelta(seconds=10)
    assert await store.claim_job("w2", lease=LEASE) is None  # lease still live
    now[0] += timedelta(seconds=31)
    second = await store.claim_job("w2", lease=LEASE)
    assert second is not None and second.id == first.id and second.attempts == 2
    assert await store.complete(first, DraftFields("stale")) is None
    assert not await store.heartbeat(first)
    assert await store.park_failed(first, "stale") is None
    view = await store.complete(second, DraftFields("fresh"))
    assert view is not None and view.transcript == "fresh"


async def test_retry_later_waits_for_its_time_and_keeps_the_error(db) -> None:
    now = [utcnow()]
    store = DraftStore(db.sessions, clock=lambda: now[0])
    _, job_id = await store.create(NewDraft("/tmp/a.wav"))
    job = await store.claim_job("w1", lease=LEASE)
    assert job is not None
    assert await store.retry_later(job, "WorkerCrashed: boom", now[0] + timedelta(seconds=10))
    view = await store.job(job_id)
    assert view.state is JobState.QUEUED and view.last_error == "WorkerCrashed: boom"
    assert await store.claim_job("w1", lease=LEASE) is None
    now[0] += timedelta(seconds=11)
    again = await store.claim_job("w1", lease=LEASE)
    assert again is not None and again.attempts == 2 and again.last_error == "WorkerCrashed: boom"


async def test_a_parked_job_leaves_the_audio_on_a_failed_draft(db) -> None:
    store = DraftStore(db.sessions)
    _draft_id, job_id = await store.create(NewDraft("/spool/message.wav", callback_requested=True))
    job = await store.claim_job("w1", lease=LEASE)
    assert job is not None
    view = await store.park_failed(job, "audio undecodable: message.wav is not audio")
    assert view is not None and view.status is DraftStatus.FAILED
    assert view.recording_path == "/spool/message.wav" and view.callback_requested
    assert view.error == "audio undecodable: message.wav is not audio"
    job_view = await store.job(job_id)
    assert job_view.state is JobState.FAILED and job_view.last_error == view.error
    assert await store.claim_job("w2", lease=timedelta(0)) is None


async def test_unknown_draft(db) -> None:
    with pytest.raises(DraftNotFound):
        await DraftStore(db.sessions).get(999999)
