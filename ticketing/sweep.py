"""The periodic SLA sweep: raise one 督办 (supervise) event per breach as a ticket turns red, and
count the tickets that turned red in the KPI roll-ups (`ticketing.rollups.advance_red`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm.exc import StaleDataError
from structlog.contextvars import bound_contextvars

from ticketing import rollups
from ticketing.db import SessionFactory
from ticketing.leadership import Fenced
from ticketing.models import Ticket, TicketEvent, utcnow
from ticketing.vocabulary import OPEN_STATES, UNSIGNED_STATES

log = logging.getLogger(__name__)
SWEEP_ACTOR = "system:sla-sweep"


@dataclass(frozen=True)
class Breach:
    ticket_id: int
    kind: str  # "sign_off" or "resolution"
    due: datetime
    number: str  # the ticket's


async def sweep_breaches(sessions: SessionFactory, now: datetime, batch: int = 500) -> list[Breach]:
    """Find newly red tickets, flag them and record a supervise event. Idempotent per breach."""
    sign_breach = and_(Ticket.state.in_(UNSIGNED_STATES), Ticket.signed_at.is_(None),
                       Ticket.sign_due_at < now, Ticket.sign_breach_raised.is_(False))
    due_breach = and_(Ticket.state.in_(OPEN_STATES), Ticket.replied_at.is_(None), Ticket.due_at < now,
                      Ticket.due_breach_raised.is_(False))
    raised: list[Breach] = []
    while True:
        async with sessions() as session:
            ids = list(await session.scalars(
                select(Ticket.id).where(or_(sign_breach, due_breach)).order_by(Ticket.id).limit(batch)
            ))
        if not ids:
            return raised
        progressed = False
        for ticket_id in ids:
            try:
                found = await _raise_one(sessions, ticket_id, now)
            except StaleDataError:
                continue  # changed under us; the next sweep looks again
            raised.extend(found)
            progressed = progressed or bool(found)
        if not progressed:
            return raised


async def _raise_one(sessions: SessionFactory, ticket_id: int, now: datetime) -> list[Breach]:
    found: list[Breach] = []
    async with sessions() as session, session.begin():
        ticket = await session.get(Ticket, ticket_id)
        if ticket is None or ticket.state not in OPEN_STATES:
            return found
        if (ticket.state in UNSIGNED_STATES and ticket.signed_at is None and ticket.sign_due_at
                and ticket.sign_due_at < now and not ticket.sign_breach_raised):
            ticket.sign_breach_raised = True
            found.append(Breach(ticket.id, "sign_off", ticket.sign_due_at, ticket.number))
        if (ticket.replied_at is None and ticket.due_at and ticket.due_at < now
                and not ticket.due_breach_raised):
            ticket.due_breach_raised = True
            found.append(Breach(ticket.id, "resolution", ticket.due_at, ticket.number))
        for breach in found:
            session.add(TicketEvent(
                ticket_id=ticket.id, at=now, actor=SWEEP_ACTOR, action="supervise",
                from_state=ticket.state, to_state=ticket.state,
                reason=f"{breach.kind.replace('_', '-')} overdue since {breach.due.isoformat()} (督办)",
                data={"kind": breach.kind, "due": breach.due.isoformat(), "automatic": True},
            ))
    return found


class SlaSweeper:
    """Runs `sweep_breaches` every `interval` seconds until stopped; survives errors."""

    def __init__(self, sessions: SessionFactory, interval: float,
                 clock: Callable[[], datetime] = utcnow,
                 on_breach: Callable[[Breach], None] | None = None, zone: ZoneInfo | None = None) -> None:
        self._sessions, self._interval, self._clock = sessions, interval, clock
        self._zone = zone  # the calendar's: with it, each round also advances the roll-ups' red watermark
        self._on_breach = on_breach
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sla-sweep")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                for breach in await sweep_breaches(self._sessions, self._clock()):
                    with bound_contextvars(ticket=breach.number):
                        log.info("SLA breach on ticket %s: %s", breach.number, breach.kind)
                        if self._on_breach:
                            self._on_breach(breach)
                if self._zone is not None:
                    async with self._sessions.begin() as session:
                        await rollups.advance_red(session, self._clock(), self._zone)
            except Fenced as over:  # a newer leader sweeps; this process is stepping down
                log.warning("SLA sweep skipped: %s", over)
            except Exception:
                log.exception("SLA sweep failed; retrying in %.0f s", self._interval)
            await asyncio.sleep(self._interval)
