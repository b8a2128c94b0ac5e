"""The SLA sweep raises one 督办 per breach, and only as tickets turn red."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import pytest
from sqlalchemy import func, select

from tests.conftest import Database
from tests.json_logs import json_lines
from tests.ticketing.helpers import Clock, service, ticket_in
from ticketing import rollups
from ticketing.actions import ApproveExtension, RequestExtension
from ticketing.kpi import ticket_kpis
from ticketing.leadership import Fenced
from ticketing.models import TicketRollup
from ticketing.sweep import SWEEP_ACTOR, Breach, SlaSweeper, sweep_breaches
from ticketing.vocabulary import TicketState

pytestmark = pytest.mark.anyio


async def test_sweep_raises_once_per_breach(db: Database) -> None:
    clock = Clock()
    svc = service(db.sessions, clock)
    unsigned = await ticket_in(svc, TicketState.DISPATCHED)
    handling = await ticket_in(svc, TicketState.HANDLING)
    fine = await ticket_in(svc, TicketState.ACCEPTED)
    assert await sweep_breaches(db.sessions, clock.now) == []
    clock.advance(days=1)
    first = await sweep_breaches(db.sessions, clock.now)
    assert [(b.ticket_id, b.kind) for b in first] == [(unsigned, "sign_off")]
    assert await sweep_breaches(db.sessions, clock.now) == []
    clock.advance(days=14)
    second = await sweep_breaches(db.sessions, clock.now)
    assert sorted((b.ticket_id, b.kind) for b in second) == [(handling, "resolution")]
    events = [e for e in await svc.history(unsigned) if e.action == "supervise"]
    assert len(events) == 1 and events[0].actor == SWEEP_ACTOR and events[0].data["automatic"]
    assert not [e for e in await svc.history(fine) if e.action == "supervise"]


async def test_an_approved_extension_re_arms_the_resolution_breach(db: Database) -> None:
    clock = Clock()
    svc = service(db.sessions, clock)
    ticket_id = await ticket_in(svc, TicketState.HANDLING)
    due = (await svc.get(ticket_id)).due_at
    assert due is not None
    from datetime import timedelta

    await svc.act(ticket_id, RequestExtension(until=due + timedelta(days=3), reason="r"), "u")
    await svc.act(ticket_id, ApproveExtension(), "d")
    clock.now = due + timedelta(hours=1)
    assert await sweep_breaches(db.sessions, clock.now) == []
    clock.now = due + timedelta(days=4)
    assert [b.kind for b in await sweep_breaches(db.sessions, clock.now)] == ["resolution"]


async def test_the_sweeper_logs_each_breach_with_the_ticket_number(db: Database) -> None:
    clock = Clock()
    svc = service(db.sessions, clock)
    unsigned = await ticket_in(svc, TicketState.DISPATCHED)
    number = (await svc.get(unsigned)).number
    clock.advance(days=1)
    logger = logging.getLogger("ticketing.sweep")
    notified: list[Breach] = []
    sweeper = SlaSweeper(db.sessions, 0.05, clock=lambda: clock.now,
                         on_breach=lambda breach: (notified.append(breach), logger.info("notified")))
    with json_lines("ticketing.sweep", logging.INFO) as lines:
        sweeper.start()
        try:
            async with asyncio.timeout(20):
                while not notified:
                    await asyncio.sleep(0.01)
        finally:
            await sweeper.stop()
    assert [(b.ticket_id, b.number) for b in notified] == [(unsigned, number)]
    breach, told = lines
    assert breach["event"] == f"SLA breach on ticket {number}: sign_off" and breach["ticket"] == number
    assert told["event"] == "notified" and told["ticket"] == number  # what on_breach logs carries it too


async def test_the_sweeper_counts_red_tickets_in_the_rollups(db: Database) -> None:
    clock = Clock()
    svc = service(db.sessions, clock)
    await ticket_in(svc, TicketState.DISPATCHED)
    clock.advance(days=1)
    sweeper = SlaSweeper(db.sessions, 0.01, clock=lambda: clock.now, zone=svc.sla.worktime.tz)
    sweeper.start()
    try:
        for _ in range(500):  # a deadline, not a duration: the first round is enough
            async with db.sessions() as session:
                if await rollups.watermark(session, create=False) == clock.now:
                    break
            await asyncio.sleep(0.01)
    finally:
        await sweeper.stop()
    async with db.sessions() as session:
        assert await rollups.watermark(session, create=False) == clock.now
        assert await session.scalar(select(func.sum(TicketRollup.red)).where(TicketRollup.grain == 0)) == 1
        [overall] = await ticket_kpis(session, now=clock.now)
    assert overall.red == 1 and overall.total == 1


async def test_a_fenced_sweeper_warns_without_a_traceback(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    def fenced_clock() -> datetime:
        raise Fenced("sla-sweep: term 2 is over (now 3); not writing")

    sweeper = SlaSweeper(db.sessions, 0.01, clock=fenced_clock)
    with caplog.at_level(logging.WARNING, "ticketing.sweep"):
        sweeper.start()
        try:
            async with asyncio.timeout(20):
                while not caplog.records:
                    await asyncio.sleep(0.01)
        finally:
            await sweeper.stop()
    assert caplog.records and all(r.levelname == "WARNING" and r.exc_info is None for r in caplog.records)
    assert "term 2 is over" in caplog.records[0].getMessage()
