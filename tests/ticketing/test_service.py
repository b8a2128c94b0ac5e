"""The ticket service on real SQLite and PostgreSQL: numbers, intake, routing, SLA, side paths."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from tests.conftest import Database
from tests.ticketing.helpers import Clock, new_ticket, service, ticket_in
from ticketing.actions import (
    ApproveExtension,
    CloseDirect,
    DenyExtension,
    Dispatch,
    Escalate,
    FollowUp,
    Reply,
    RequestExtension,
    Return,
    Rule,
    Sign,
)
from ticketing.db import make_session_factory
from ticketing.errors import (
    AlreadyLinked,
    CallNotFound,
    ConcurrentUpdate,
    DraftNotFound,
    IllegalTransition,
    InvalidAction,
    RoutingError,
    TicketNotFound,
)
from ticketing.models import CallOutcome, CallRecord, Draft, Ticket, TicketEvent
from ticketing.vocabulary import Channel, Light, Rating, TicketState

pytestmark = pytest.mark.anyio


async def test_numbers_are_readable_unique_and_found_by_their_digits(db: Database) -> None:
    svc = service(db.sessions, Clock(datetime(2026, 11, 28, 2, 0, tzinfo=UTC)))
    first = await svc.create(new_ticket(), "agent:1")
    second = await svc.create(new_ticket(channel=Channel.WECHAT), "agent:1")
    assert (first.number, first.digits) == ("JS20261128-000001", "20261128000001")
    assert second.number == "JS20261128-000002"
    assert (await svc.find_by_digits("20261128000002")).id == second.id  # type: ignore[union-attr]
    assert (await svc.find_by_digits("JS20261128-000001")).id == first.id  # type: ignore[union-attr]
    assert await svc.find_by_digits("20261128000999") is None
    assert await svc.find_by_digits("12#") is None


async def test_the_number_uses_the_local_date(db: Database) -> None:
    svc = service(db.sessions, Clock(datetime(2026, 11, 27, 17, 30, tzinfo=UTC)))  # 01:30 on the 28th in CST
    assert (await svc.create(new_ticket(), "a")).number.startswith("JS20261128-")


async def test_concurrent_intake_never_reuses_a_number(db: Database) -> None:
    svc = service(db.sessions)
    views = await asyncio.gather(*(svc.create(new_ticket(), "a") for _ in range(20)))
    assert len({v.number for v in views}) == 20


async def test_create_and_dispatch_routes_and_starts_the_sign_off_clock(db: Database) -> None:
    clock = Clock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))  # Monday 09:00 CST
    svc = service(db.sessions, clock)
    view = await svc.create(new_ticket(departments=("water_supply",)), "agent:1", dispatch=True)
    assert view.state is TicketState.DISPATCHED
    assert view.lead_unit_id == "dept:320106:water_supply"
    assert view.sign_due_at == datetime(2026, 11, 23, 6, 30, tzinfo=UTC)  # 09-12, then 13:30-14:30 CST
    assert (view.city_code, view.county_code) == ("320100", "320106")
    history = await svc.history(view.id)
    assert [e.action for e in history] == ["accept", "dispatch"]
    assert history[1].data["rule"] == "county-first"


async def test_sign_off_then_resolution_deadline_and_lights(db: Database) -> None:
    clock = Clock(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))
    svc = service(db.sessions, clock)
    view = await svc.create(new_ticket(), "agent:1", dispatch=True)
    clock.advance(hours=30)  # Tuesday 15:00 CST: past the 4 working hours
    assert (await svc.get(view.id)).light is Light.RED
    signed = await svc.act(view.id, Sign(), "unit:gulou")
    assert signed.sign_light is Light.YELLOW
    assert signed.due_at is not None and signed.light is Light.NONE
    replied = await svc.act(view.id, Reply(answer="已安排维修"), "unit:gulou")
    closed = await svc.act(view.id, FollowUp(rating=Rating.BASICALLY_SATISFIED), "agent:2")
    assert replied.state is TicketState.REPLIED
    assert (closed.state, closed.light) == (TicketState.CLOSED, Light.GREEN)


async def test_late_reply_closes_yellow(db: Database) -> None:
    clock = Clock()
    svc = service(db.sessions, clock)
    ticket_id = await ticket_in(svc, TicketState.HANDLING)
    clock.advance(days=20)
    assert (await svc.get(ticket_id)).light is Light.RED
    await svc.act(ticket_id, Reply(answer="晚了"), "u")
    closed = await svc.act(ticket_id, FollowUp(rating=Rating.SATISFIED), "a")
    assert closed.light is Light.YELLOW


async def test_extension_moves_the_due_date_and_must_come_before_the_deadline(db: Database) -> None:
    clock = Clock()
    svc = service(db.sessions, clock)
    ticket_id = await ticket_in(svc, TicketState.HANDLING)
    due = (await svc.get(ticket_id)).due_at
    assert due is not None
    with pytest.raises(InvalidAction, match="after the current due date"):
        await svc.act(ticket_id, RequestExtension(until=due - timedelta(days=1), reason="x"), "u")
    until = due + timedelta(days=7)
    await svc.act(ticket_id, RequestExtension(until=until, reason="需协调"), "u")
    approved = await svc.act(ticket_id, ApproveExtension(), "dispatcher")
    assert (approved.due_at, approved.extension_count, approved.state) == (until, 1, TicketState.HANDLING)
    clock.now = until + timedelta(hours=1)
    with pytest.raises(InvalidAction, match="before the deadline"):
        await svc.act(ticket_id, RequestExtension(until=until + timedelta(days=9), reason="x"), "u")


async def test_denied_extension_keeps_the_due_date(db: Database) -> None:
    svc = service(db.sessions)
    ticket_id = await ticket_in(svc, TicketState.EXTENSION_REQUESTED)
    before = await svc.get(ticket_id)
    denied = await svc.act(ticket_id, DenyExtension(reason="理由不充分"), "dispatcher")
    assert (denied.due_at, denied.extension_until, denied.state) == (before.due_at, None, TicketState.HANDLING)


async def test_return_with_reason_then_ruling_redispatches(db: Database) -> None:
    svc = service(db.sessions)
    ticket_id = await ticket_in(svc, TicketState.DISPATCHED)
    with pytest.raises(ValidationError, match="reason"):
        Return()  # type: ignore[call-arg]
    await svc.act(ticket_id, Return(reason="非本单位职责"), "unit")
    await svc.act(ticket_id, Escalate(reason="双方争议"), "dispatcher")
    ruled = await svc.act(ticket_id, Rule(lead_unit_id="dept:320100:urban_management",
                                          co_handler_ids=["office:320106"]), "dispatcher")
    assert (ruled.state, ruled.lead_unit_id, ruled.co_handler_ids) == (
        TicketState.DISPATCHED, "dept:320100:urban_management", ["office:320106"])
    with pytest.raises(IllegalTransition):
        await svc.act(ruled.id, Escalate(reason="x"), "dispatcher")


async def test_manual_dispatch_validates_units(db: Database) -> None:
    svc = service(db.sessions)
    ticket_id = await ticket_in(svc, TicketState.ACCEPTED)
    with pytest.raises(InvalidAction, match="unknown unit"):
        await svc.act(ticket_id, Dispatch(lead_unit_id="dept:999999:nothing"), "d")
    with pytest.raises(InvalidAction, match="co-handler"):
        await svc.act(ticket_id, Dispatch(lead_unit_id="office:320106", co_handler_ids=["office:320106"]), "d")


async def test_unsatisfied_follow_up_redoes_the_work(db: Database) -> None:
    svc = service(db.sessions)
    ticket_id = await ticket_in(svc, TicketState.REPLIED)
    redo = await svc.act(ticket_id, FollowUp(rating=Rating.UNSATISFIED), "agent")
    assert (redo.state, redo.redo_count, redo.replied_at, redo.rating) == (
        TicketState.HANDLING, 1, None, Rating.UNSATISFIED)


async def test_direct_answer_closes_and_may_be_rated_once(db: Database) -> None:
    svc = service(db.sessions)
    view = await svc.create(new_ticket(), "agent")
    closed = await svc.act(view.id, CloseDirect(answer="公积金提取请携带身份证到窗口办理"), "agent")
    assert (closed.state, closed.light) == (TicketState.CLOSED, Light.GREEN)
    rated = await svc.act(view.id, FollowUp(rating=Rating.SATISFIED), "ivr")
    assert rated.rating is Rating.SATISFIED
    with pytest.raises(InvalidAction, match="already rated"):
        await svc.act(view.id, FollowUp(rating=Rating.SATISFIED), "ivr")


async def test_bad_input_gets_clear_errors(db: Database) -> None:
    svc = service(db.sessions)
    with pytest.raises(InvalidAction, match="unknown region"):
        await svc.create(new_ticket(region_code="999999"), "a")
    with pytest.raises(InvalidAction, match="empty"):
        await svc.create(new_ticket(description="  "), "a")
    ticket_id = await ticket_in(svc, TicketState.ACCEPTED)
    with pytest.raises(ValidationError, match="colour"):
        Sign(colour="red")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="reason"):
        CloseDirect(answer="ok", reason="x")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="answer"):
        CloseDirect(answer="   ")
    with pytest.raises(TicketNotFound):
        await svc.act(987654, Sign(), "u")
    with pytest.raises(RoutingError, match="unknown department type"):
        await svc.act(ticket_id, Dispatch(departments=["spaceport"]), "u")


async def test_callers_tickets_for_repeat_caller_detection(db: Database) -> None:
    clock = Clock()
    svc = service(db.sessions, clock)
    old = await svc.create(new_ticket(caller_number="13900000001"), "a")
    clock.advance(days=10)
    recent = await svc.create(new_ticket(caller_number="13900000001"), "a")
    await svc.act(recent.id, CloseDirect(answer="done"), "a")
    newest = await svc.create(new_ticket(caller_number="13900000001"), "a")
    since = clock.now - timedelta(days=7)
    assert [t.id for t in await svc.tickets_for_caller("13900000001", since=since)] == [newest.id, recent.id]
    assert [t.id for t in await svc.tickets_for_caller("13900000001", since=since, open_only=True)] == [newest.id]
    assert old.id not in [t.id for t in await svc.tickets_for_caller("13900000001", since=since)]


async def test_two_sign_offs_cannot_both_succeed(db: Database) -> None:
    """Real concurrent sessions from two engines, as two API workers would have."""
    svc = service(db.sessions)
    ticket_id = await ticket_in(svc, TicketState.DISPATCHED)
    other_engine = db.target.engine()
    try:
        svc2 = service(make_session_factory(other_engine))
        results = await asyncio.gather(
            svc.act(ticket_id, Sign(), "unit:a"), svc2.act(ticket_id, Sign(), "unit:b"),
            return_exceptions=True,
        )
    finally:
        await other_engine.dispose()
    successes = [r for r in results if not isinstance(r, BaseException)]
    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(successes) == 1, results
    assert len(failures) == 1 and isinstance(failures[0], (ConcurrentUpdate, IllegalTransition)), failures
    signs = [e for e in await svc.history(ticket_id) if e.action == "sign"]
    assert len(signs) == 1


async def _draft_and_call(db: Database) -> tuple[int, int]:
    async with db.sessions.begin() as session:
        draft = Draft(channel=Channel.PHONE, caller_number="13812345678", call_linkedid="1795868623.2")
        call = CallRecord(server="pbx0", linkedid="1795868623.2", outcome=CallOutcome.ANSWERED)
        session.add_all([draft, call])
    return draft.id, call.id


async def _count(db: Database, model: type[Ticket | TicketEvent]) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_intake_links_its_draft_and_call_in_the_same_transaction(db: Database) -> None:
    svc = service(db.sessions)
    draft_id, call_id = await _draft_and_call(db)
    view = await svc.create(new_ticket(), "agent:1", dispatch=True, draft_id=draft_id, call_id=call_id)
    async with db.sessions() as session:
        assert (await session.get(Draft, draft_id)).ticket_id == view.id  # type: ignore[union-attr]
        assert (await session.get(CallRecord, call_id)).ticket_id == view.id  # type: ignore[union-attr]
    # Either link already made: 409-worthy, naming the ticket; nothing else is written.
    tickets, events = await _count(db, Ticket), await _count(db, TicketEvent)
    for links in ({"draft_id": draft_id}, {"call_id": call_id}):
        with pytest.raises(AlreadyLinked) as err:
            await svc.create(new_ticket(), "agent:2", **links)
        assert (err.value.ticket_id, err.value.ticket_number) == (view.id, view.number)
        assert view.number in str(err.value)
    with pytest.raises(DraftNotFound):
        await svc.create(new_ticket(), "agent:2", draft_id=987654)
    with pytest.raises(CallNotFound):
        await svc.create(new_ticket(), "agent:2", draft_id=None, call_id=987654)
    assert (await _count(db, Ticket), await _count(db, TicketEvent)) == (tickets, events)


async def test_two_agents_confirming_one_draft_make_one_ticket(db: Database) -> None:
    """Real concurrent transactions from two engines, as two API workers would have."""
    draft_id, _ = await _draft_and_call(db)
    other_engine = db.target.engine()
    try:
        services = (service(db.sessions), service(make_session_factory(other_engine)))
        results = await asyncio.gather(*(svc.create(new_ticket(), f"agent:{n}", draft_id=draft_id)
                                         for n, svc in enumerate(services)), return_exceptions=True)
    finally:
        await other_engine.dispose()
    made = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(made) == 1 and len(refused) == 1, results
    assert isinstance(refused[0], AlreadyLinked) and refused[0].ticket_number == made[0].number
    assert await _count(db, Ticket) == 1
    async with db.sessions() as session:
        assert (await session.get(Draft, draft_id)).ticket_id == made[0].id  # type: ignore[union-attr]
