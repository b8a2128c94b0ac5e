"""The production backend over real SQLite and PostgreSQL, alone and behind the live FastAGI server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from ivr.app import IvrApp
from ivr.backend import CallInfo, RecordedAudio, SurveyAnswer
from ivr.settings import IvrSettings
from ivr.ticketing_backend import TicketingBackend, recording_submitter
from tests.conftest import Database
from tests.ivr.conftest import CATALOGUE, LOCAL, serving
from tests.ivr.peer import Listen, Press, SimulatedChannel, Speak, Transcript, run_call
from tests.ticketing.helpers import Clock, service, ticket_in
from ticketing.actions import CloseDirect, Reply
from ticketing.db import SessionFactory
from ticketing.models import CallSurvey, Draft, DraftStatus, JobState, Ticket, TranscriptionJob
from ticketing.service import TicketService
from ticketing.vocabulary import Channel, Rating, TicketState

pytestmark = pytest.mark.anyio

CALL = CallInfo("1795868652.16", "1795868652.16", "Local/ivr@caller-sim-00000008;1", "13812345678", "Citizen", "pbx0")


def queue_for_asr(sessions: SessionFactory) -> tuple[list[str], object]:
    """What the composition root wires in: draft + transcription job in one transaction."""
    calls: list[str] = []

    async def submit(audio_path: str, *, caller_number: str | None = None, call_linkedid: str | None = None,
                     server: str | None = None, callback_requested: bool = False) -> int:
        calls.append(str(audio_path))
        async with sessions() as session, session.begin():
            draft = Draft(server=server, call_linkedid=call_linkedid, caller_number=caller_number,
                          channel=Channel.PHONE, callback_requested=callback_requested,
                          recording_path=str(audio_path))
            session.add(draft)
            await session.flush()
            session.add(TranscriptionJob(draft_id=draft.id, audio_path=str(audio_path)))
            return draft.id

    return calls, submit


def backend_for(db: Database, clock: Clock) -> tuple[TicketService, TicketingBackend, list[str]]:
    svc = service(db.sessions, clock)
    calls, submit = queue_for_asr(db.sessions)
    return svc, TicketingBackend(svc, db.sessions, recording_submitter(submit), clock=clock), calls  # type: ignore[arg-type]


async def test_progress_by_digits(db: Database) -> None:
    clock = Clock()
    svc, backend, _ = backend_for(db, clock)
    ticket_id = await ticket_in(svc, TicketState.HANDLING)
    view = await svc.get(ticket_id)
    found = await backend.ticket_progress(view.digits)
    assert found is not None and (found.ticket_id, found.state, found.due_at) == (ticket_id, TicketState.HANDLING,
                                                                                  view.due_at)
    assert found.due_at is not None
    assert await backend.ticket_progress("20991231999999") is None
    assert await backend.ticket_progress("12") is None


async def test_repeat_caller_means_an_open_ticket_in_the_last_7_days(db: Database) -> None:
    clock = Clock()
    svc, backend, _ = backend_for(db, clock)
    week = timedelta(days=7)
    assert await backend.open_ticket_for_caller("13812345678", week) is None
    await ticket_in(svc, TicketState.CLOSED)
    assert await backend.open_ticket_for_caller("13812345678", week) is None  # closed does not count
    open_id = await ticket_in(svc, TicketState.DISPATCHED)
    assert (await backend.open_ticket_for_caller("13812345678", week)).ticket_id == open_id  # type: ignore[union-attr]
    assert await backend.open_ticket_for_caller("13900000000", week) is None
    clock.advance(days=8)
    assert await backend.open_ticket_for_caller("13812345678", week) is None


async def test_recording_goes_to_the_asr_queue(db: Database) -> None:
    _, backend, calls = backend_for(db, Clock())
    audio = RecordedAudio(CALL, "/var/spool/asterisk/hotline/1795868652-16-message.wav", "wav", 9000, "dtmf",
                          callback_requested=True, purpose="message")
    draft_id = await backend.submit_recording(audio)
    async with db.sessions() as session:
        draft = await session.get(Draft, draft_id)
        job = await session.scalar(select(TranscriptionJob).where(TranscriptionJob.draft_id == draft_id))
    assert draft is not None and job is not None and job.state is JobState.QUEUED
    assert (draft.callback_requested, draft.channel, draft.call_linkedid, draft.server, draft.caller_number) == (
        True, Channel.PHONE, "1795868652.16", "pbx0", "13812345678")
    assert calls == [audio.path]


async def test_when_the_asr_queue_fails_a_bare_draft_keeps_the_recording(db: Database) -> None:
    async def broken(audio: RecordedAudio) -> int:
        raise ConnectionError("queue down")

    backend = TicketingBackend(service(db.sessions), db.sessions, broken)
    audio = RecordedAudio(CALL, "/rec/x.wav", "wav", 4000, "timeout", callback_requested=False, purpose="report")
    draft_id = await backend.submit_recording(audio)
    async with db.sessions() as session:
        draft = await session.get(Draft, draft_id)
    assert draft is not None and draft.status is DraftStatus.FAILED and draft.recording_path == "/rec/x.wav"
    assert "queue down" in (draft.error or "")


async def _surveys(db: Database) -> list[CallSurvey]:
    async with db.sessions() as session:
        return list((await session.scalars(select(CallSurvey).order_by(CallSurvey.id))).all())


async def test_survey_lands_on_the_tickets_follow_up(db: Database) -> None:
    svc, backend, _ = backend_for(db, Clock())
    ticket_id = await ticket_in(svc, TicketState.REPLIED)
    outcome = await backend.record_survey(SurveyAnswer(CALL, Rating.BASICALLY_SATISFIED, ticket_id, None))
    assert outcome.applied and outcome.ticket_id == ticket_id
    view = await svc.get(ticket_id)
    assert view.rating is Rating.BASICALLY_SATISFIED and view.state is TicketState.CLOSED
    (row,) = await _surveys(db)
    assert row.applied and row.rating is Rating.BASICALLY_SATISFIED and row.call_uniqueid == CALL.uniqueid


async def test_unsatisfied_sends_the_ticket_back_to_handling(db: Database) -> None:
    svc, backend, _ = backend_for(db, Clock())
    ticket_id = await ticket_in(svc, TicketState.REPLIED)
    assert (await backend.record_survey(SurveyAnswer(CALL, Rating.UNSATISFIED, ticket_id, None))).applied
    view = await svc.get(ticket_id)
    assert view.state is TicketState.HANDLING and view.redo_count == 1


async def test_a_survey_the_ticket_cannot_take_yet_is_kept(db: Database) -> None:
    svc, backend, _ = backend_for(db, Clock())
    ticket_id = await ticket_in(svc, TicketState.HANDLING)
    outcome = await backend.record_survey(SurveyAnswer(CALL, Rating.SATISFIED, ticket_id, None))
    assert not outcome.applied and "follow_up" in outcome.detail
    assert (await svc.get(ticket_id)).rating is None
    no_ticket = await backend.record_survey(SurveyAnswer(CALL, Rating.UNSATISFIED, None, None))
    gone = await backend.record_survey(SurveyAnswer(CALL, Rating.SATISFIED, 999_999, None))
    assert (no_ticket.ticket_id, gone.ticket_id) == (None, None)
    rows = await _surveys(db)
    assert [(r.ticket_id, r.applied) for r in rows] == [(ticket_id, False), (None, False), (None, False)]
    assert all(r.note for r in rows)


async def test_survey_finds_the_ticket_through_the_calls_draft(db: Database) -> None:
    svc, backend, _ = backend_for(db, Clock())
    ticket_id = await ticket_in(svc, TicketState.ACCEPTED)
    await svc.act(ticket_id, CloseDirect(answer="已当场答复"), "agent:1")
    async with db.sessions() as session, session.begin():
        draft = Draft(channel=Channel.PHONE, ticket_id=ticket_id, recording_path="/rec/a.wav")
        session.add(draft)
        await session.flush()
        draft_id = draft.id
    outcome = await backend.record_survey(SurveyAnswer(CALL, Rating.SATISFIED, None, draft_id))
    assert outcome.applied and outcome.ticket_id == ticket_id
    (row,) = await _surveys(db)
    assert row.draft_id == draft_id


async def test_survey_finds_the_ticket_the_agent_attached_the_live_call_to(db: Database) -> None:
    """No ticket or draft variable on the channel: the agent created the ticket from the call on the desk."""
    from ticketing.calls import CallStore

    svc, backend, _ = backend_for(db, Clock())
    ticket_id = await ticket_in(svc, TicketState.ACCEPTED)
    await svc.act(ticket_id, CloseDirect(answer="已当场答复"), "agent:1")
    store = CallStore(db.sessions)
    await store.upsert({"server": "pbx0", "linkedid": CALL.linkedid, "final": False})
    await store.upsert({"server": "pbx1", "linkedid": CALL.linkedid, "final": True})
    await store.link_ticket("pbx0", CALL.linkedid, ticket_id)
    outcome = await backend.record_survey(SurveyAnswer(CALL, Rating.SATISFIED, None, None))
    assert outcome.applied and outcome.ticket_id == ticket_id
    assert (await svc.get(ticket_id)).state is TicketState.CLOSED


# ---- the whole path: Asterisk peer → FastAGI server → flows → ticketing ------------------------------


async def _call(app: IvrApp, script: str, channel: SimulatedChannel) -> None:
    env = Transcript.load("agi/fastagi_session").environment_for(script, callerid="13812345678")
    async with serving(app.route) as server:
        log = await run_call(server.bound_port, env, channel)
        await server.stop()
        assert server.stats.failed == 0
    assert log.closed_by_server


async def test_end_to_end_progress_report_and_survey(db: Database) -> None:
    clock = Clock()
    svc, backend, calls = backend_for(db, clock)
    app = IvrApp(backend, IvrSettings(server_name="pbx0"), prompts=CATALOGUE, tz=LOCAL, clock=clock)
    ticket_id = await ticket_in(svc, TicketState.HANDLING)
    view = await svc.get(ticket_id)
    assert view.due_at is not None

    progress = SimulatedChannel([Press("2"), Press(view.digits + "#")])
    await _call(app, "progress", progress)
    assert progress.variables["IVR_RESULT"] == "progress"
    assert progress.variables["HOTLINE_TICKET_ID"] == str(ticket_id)

    report = SimulatedChannel([Listen(), Press("1"), Speak()])
    await _call(app, "ivr", report)
    assert report.variables["HOTLINE_TICKET_ID"] == str(ticket_id)  # repeat caller: open ticket linked
    assert report.variables["QUEUE_PRIO"] == "10"
    draft_id = int(report.variables["HOTLINE_DRAFT_ID"])
    async with db.sessions() as session:
        draft = await session.get(Draft, draft_id)
    assert draft is not None and draft.recording_path == calls[0] == "/var/spool/asterisk/hotline/1795868652-16.wav"

    await svc.act(ticket_id, Reply(answer="已处理"), "unit:1")
    survey = SimulatedChannel([Press("1")], variables={"HOTLINE_TICKET_ID": str(ticket_id)})
    await _call(app, "survey", survey)
    async with db.sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
    assert ticket is not None and ticket.rating is Rating.SATISFIED and ticket.state is TicketState.CLOSED


async def test_a_concurrent_edit_is_retried_and_nothing_is_dropped(db: Database) -> None:
    from ticketing.errors import ConcurrentUpdate

    clock = Clock()
    svc = service(db.sessions, clock)
    ticket_id = await ticket_in(svc, TicketState.REPLIED)
    ticket2 = await ticket_in(svc, TicketState.REPLIED)
    real_act = svc.act
    collisions = [2]

    async def colliding_act(tid: int, action: str, actor: str, **params: object):  # type: ignore[no-untyped-def]
        if collisions[0]:
            collisions[0] -= 1
            raise ConcurrentUpdate(tid)
        return await real_act(tid, action, actor, **params)

    svc.act = colliding_act  # type: ignore[method-assign,assignment]
    backend = TicketingBackend(svc, db.sessions, queue_for_asr(db.sessions)[1], clock=clock)  # type: ignore[arg-type]
    first = await backend.record_survey(SurveyAnswer(CALL, Rating.SATISFIED, ticket_id, None))
    assert first.applied, first
    collisions[0] = 5
    outcome = await backend.record_survey(SurveyAnswer(CALL, Rating.SATISFIED, ticket2, None))
    assert not outcome.applied and "kept changing" in outcome.detail
    assert [row.applied for row in await _surveys(db)] == [True, False]
