"""The ticket service on real SQLite and PostgreSQL: numbers, intake, routing, SLA, side paths."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Database
from tests.ticketing.helpers import Clock, new_ticket, service, ticket_in
from ticketing.errors import ConcurrentUpdate, IllegalTransition, InvalidAction, TicketNotFound
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
    signed = await svc.act(view.id, "sign", "unit:gulou")
    assert signed.sign_light is Light.YELLOW
    assert signed.due_at is not None and signed.light is Light.NONE
    replied = await svc.act(view.id, "reply", "unit:gulou", answer="已安排维修")
    closed = await svc.act(view.id, "follow_up", "agent:2", rating=Rating.BASICALLY_SATISFIED)
    assert replied.state is TicketState.REPLIED
    assert (closed.state, closed.light) == (TicketState.CLOSED, Light.GREEN)


async def test_late_reply_closes_yellow(db: Database) -> None:
    clock = Clock()
    svc = service(db.sessions, clock)
    ticket_id = await ticket_in(svc, TicketState.HANDLING)
    clock.advance(days=20)
    assert (await svc.get(ticket_id)).light is Light.RED
    await svc.act(ticket_id, "reply", "u", answer="晚了")
    closed = await svc.act(ticket_id, "follow_up", "a", rating="satisfied")
    assert closed.light is Light.YELLOW


async def test_extension_moves_the_due_date_and_must_come_before_the_deadline(db: Database) -> None:
    clock = Clock()
    svc = service(db.sessions, clock)
    ticket_id = await ticket_in(svc, TicketState.HANDLING)
    due = (await svc.get(ticket_id)).due_at
    assert due is not None
    with pytest.raises(InvalidAction, match="after the current due date"):
        await svc.act(ticket_id, "request_extension", "u", until=due - timedelta(days=1), reason="x")
    until = due + timedelta(days=7)
    await svc.act(ticket_id, "request_extension", "u", until=until.isoformat(), reason="需协调")
    approved = await svc.act(ticket_id, "approve_extension", "dispatcher")
    assert (approved.due_at, approved.extension_count, approved.state) == (until, 1, TicketState.HANDLING)
    clock.now = until + timedelta(hours=1)
    with pytest.raises(InvalidAction, match="before the deadline"):
        await svc.act(ticket_id, "request_extension", "u", until=until + timedelta(days=9), reason="x")


async def test_denied_extension_keeps_the_due_date(db: Database) -> None:
    svc = service(db.sessions)
    ticket_id = await ticket_in(svc, TicketState.EXTENSION_REQUESTED)
    before = await svc.get(ticket_id)
    denied = await svc.act(ticket_id, "deny_extension", "dispatcher", reason="理由不充分")
    assert (denied.due_at, denied.extension_until, denied.state) == (before.due_at, None, TicketState.HANDLING)


async def test_return_with_reason_then_ruling_redispatches(db: Database) -> None:
    svc = service(db.sessions)
    ticket_id = await ticket_in(svc, TicketState.DISPATCHED)
    with pytest.raises(InvalidAction, match="missing reason"):
        await svc.act(ticket_id, "return", "unit")
    await svc.act(ticket_id, "return", "unit", reason="非本单位职责")
    await svc.act(ticket_id, "escalate", "dispatcher", reason="双方争议")
    ruled = await svc.act(ticket_id, "rule", "dispatcher", lead_unit_id="dept:320100:urban_management",
                          co_handler_ids=["office:320106"])
    assert (ruled.state, ruled.lead_unit_id, ruled.co_handler_ids) == (
        TicketState.DISPATCHED, "dept:320100:urban_management", ["office:320106"])
    with pytest.raises(IllegalTransition):
        await svc.act(ruled.id, "escalate", "dispatcher", reason="x")


async def test_manual_dispatch_validates_units(db: Database) -> None:
    svc = service(db.sessions)
    ticket_id = await ticket_in(svc, TicketState.ACCEPTED)
    with pytest.raises(InvalidAction, match="unknown unit"):
        await svc.act(ticket_id, "dispatch", "d", lead_unit_id="dept:999999:nothing")
    with pytest.raises(InvalidAction, match="co-handler"):
        await svc.act(ticket_id, "dispatch", "d", lead_unit_id="office:320106", co_handler_ids=["office:320106"])


async def test_unsatisfied_follow_up_redoes_the_work(db: Database) -> None:
    svc = service(db.sessions)
    ticket_id = await ticket_in(svc, TicketState.REPLIED)
    redo = await svc.act(ticket_id, "follow_up", "agent", rating="unsatisfied")
    assert (redo.state, redo.redo_count, redo.replied_at, redo.rating) == (
        TicketState.HANDLING, 1, None, Rating.UNSATISFIED)


async def test_direct_answer_closes_and_may_be_rated_once(db: Database) -> None:
    svc = service(db.sessions)
    view = await svc.create(new_ticket(), "agent")
    closed = await svc.act(view.id, "close_direct", "agent", answer="公积金提取请携带身份证到窗口办理")
    assert (closed.state, closed.light) == (TicketState.CLOSED, Light.GREEN)
    rated = await svc.act(view.id, "follow_up", "ivr", rating="satisfied")
    assert rated.rating is Rating.SATISFIED
    with pytest.raises(InvalidAction, match="already rated"):
        await svc.act(view.id, "follow_up", "ivr", rating="satisfied")


async def test_bad_input_gets_clear_errors(db: Database) -> None:
    svc = service(db.sessions)
    with pytest.raises(InvalidAction, match="unknown region"):
        await svc.create(new_ticket(region_code="999999"), "a")
    with pytest.raises(InvalidAction, match="empty"):
        await svc.create(new_ticket(description="  "), "a")
    ticket_id = await ticket_in(svc, TicketState.ACCEPTED)
    with pytest.raises(InvalidAction, match="unexpected"):
        await svc.act(ticket_id, "sign", "u", colour="red")
    with pytest.raises(TicketNotFound):
        await svc.act(987654, "sign", "u")
    with pytest.raises(ValueError):
        await svc.act(ticket_id, "close_direct", "u", answer="ok", reason="x")


async def test_callers_tickets_for_repeat_caller_detection(db: Database) -> None:
    clock = Clock()
    svc = service(db.sessions, clock)
    old = await svc.create(new_ticket(caller_number="13900000001"), "a")
    clock.advance(days=10)
    recent = await svc.create(new_ticket(caller_number="13900000001"), "a")
    await svc.act(recent.id, "close_direct", "a", answer="done")
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
        from ticketing.db import make_session_factory

        svc2 = service(make_session_factory(other_engine))
        results = await asyncio.gather(
            svc.act(ticket_id, "sign", "unit:a"), svc2.act(ticket_id, "sign", "unit:b"),
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
