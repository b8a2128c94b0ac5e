"""Finding a ticket (by its number or just its digits, the caller's phone number, or words) and
reading its timeline (events, light, deadlines in working time, attached calls). Scoped like every
ticket query: what the caller may not see is not found."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import selectinload

from agent_desk.api.calls import CallView
from agent_desk.api.deps import Caller, DeskDep
from agent_desk.api.errors import AUTHED, responses
from agent_desk.api.pagination import CursorParam, LimitParam, Page, json_page, keyset_page
from agent_desk.api.tickets import NEWEST_FIRST, TicketId, scoped_ticket
from agent_desk.security.scope import call_scope, ticket_scope
from ticketing.models import CallRecord, Ticket, utcnow
from ticketing.views import EventView, TicketView
from ticketing.vocabulary import Light

router = APIRouter(tags=["tickets"])
_TICKET_NUMBER = re.compile(r"^[A-Za-z]{0,4}\s*\d{8}\s*-?\s*\d{6}$")
_DIGITS = re.compile(r"^[\d\s\-]+$")


class Deadline(BaseModel):
    name: Literal["sign", "resolve"]
    label: str
    due_at: datetime
    met_at: datetime | None  # when it was met (signed, answered); None while open
    working_hours_left: float  # working hours from now to the deadline; negative once overdue
    light: Light


class Timeline(BaseModel):
    ticket: TicketView
    events: list[EventView]
    calls: list[CallView]
    deadlines: list[Deadline]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_condition(q: str) -> ColumnElement[bool]:
    """A full ticket number or its 14 digits → that ticket; other digits → the caller's number or the
    end of a ticket number (…000123); anything else → words in the description or the address."""
    text = q.strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if _TICKET_NUMBER.match(text) and len(digits) == 14:
        return Ticket.digits == digits
    if _DIGITS.match(text) and digits:
        return or_(Ticket.caller_number == digits, Ticket.digits.like(f"%{digits}"))
    pattern = f"%{_escape_like(text)}%"
    return or_(Ticket.description.ilike(pattern, escape="\\"), Ticket.address.ilike(pattern, escape="\\"))


@router.get("/api/search/tickets", response_model=Page[TicketView], responses=responses(400, *AUTHED))
async def search_tickets(desk: DeskDep, who: Caller,
                         q: Annotated[str, Query(min_length=1, max_length=100,
                                                 description="JS20261128-000123, 20261128000123, 000123, "
                                                             "13800138000, or words: 停水")],
                         cursor: CursorParam = None, limit: LimitParam = 20) -> Response:
    """Tickets in your scope matching `q`, newest first."""
    now = utcnow()
    query = select(Ticket).where(ticket_scope(who), search_condition(q)).options(selectinload(Ticket.co_handlers))
    return json_page(await keyset_page(desk.sessions, query, NEWEST_FIRST, cursor=cursor, limit=limit,
                                       key=lambda t: (t.id,), view=lambda t: TicketView.of(t, now)))


@router.get("/api/tickets/{ticket_id}/timeline", response_model=Timeline, responses=responses(404, *AUTHED))
async def timeline(ticket_id: TicketId, desk: DeskDep, who: Caller) -> Timeline:
    """The ticket with its history, its attached calls (those in your scope) and its deadlines counted in
    working time."""
    now = utcnow()
    view = TicketView.of(await scoped_ticket(desk, who, ticket_id), now)
    async with desk.sessions() as session:
        calls = (await session.scalars(select(CallRecord).where(
            CallRecord.ticket_id == ticket_id, call_scope(who, desk.settings.desk.supervision.queue_cities))
            .order_by(CallRecord.id))).all()
    worktime = desk.tickets.sla.worktime

    def deadline(name: Literal["sign", "resolve"], label: str, due: datetime | None, met: datetime | None,
                 light: Light) -> list[Deadline]:
        if due is None:
            return []
        until = met or now
        left = worktime.elapsed(until, due) - worktime.elapsed(due, until)
        return [Deadline(name=name, label=label, due_at=due, met_at=met,
                         working_hours_left=round(left.total_seconds() / 3600, 2), light=light)]

    deadlines = [*deadline("sign", "签收 sign-off", view.sign_due_at, view.signed_at, view.sign_light),
                 *deadline("resolve", "办结 resolution", view.due_at, view.replied_at, view.light)]
    return Timeline(ticket=view, events=await desk.tickets.history(ticket_id),
                    calls=[CallView.of(c) for c in calls], deadlines=deadlines)
