"""Handlers' inbox: the unit's open tickets, most urgent first (red, then by due date)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from agent_desk.api.csv_export import CSV_RESPONSE, Format, csv_response
from agent_desk.api.deps import DeskDep, HandlerCaller
from agent_desk.api.errors import AUTHED, responses
from agent_desk.api.pagination import CursorParam, Keyset, LimitParam, Page, json_page, keyset_page
from agent_desk.api.tickets import light_condition
from agent_desk.security.scope import ticket_scope
from ticketing.models import Ticket, utcnow
from ticketing.views import TicketView
from ticketing.vocabulary import Light, TicketState

router = APIRouter(prefix="/api/inbox", tags=["handlers"])
INBOX_STATES = (TicketState.DISPATCHED, TicketState.HANDLING, TicketState.EXTENSION_REQUESTED)
DEADLINE = func.coalesce(Ticket.due_at, Ticket.sign_due_at)
MOST_URGENT_FIRST = Keyset((DEADLINE, Ticket.id), (datetime, int))


@router.get("", response_model=Page[TicketView], responses={**CSV_RESPONSE, **responses(400, *AUTHED)})
async def inbox(desk: DeskDep, who: HandlerCaller, cursor: CursorParam = None, limit: LimitParam = 50,
                format: Format = "json", light: Light | None = None,
                state: Annotated[list[TicketState] | None, Query(description="default: all open unit states")] = None,
                role: Annotated[str | None, Query(pattern="^(lead|co)$", description="lead or co-handled only")] = None,
                ) -> Any:
    """Tickets waiting for your unit: to sign (by the sign-off deadline) or in hand (by the due
    date). Sorted by deadline, so overdue (red) ones come first."""
    now = utcnow()
    where = [ticket_scope(who), Ticket.state.in_(state or INBOX_STATES), DEADLINE.is_not(None)]
    if light is not None:
        where.append(light_condition(light, now))
    if role == "lead":
        where.append(Ticket.lead_unit_id == who.unit_id)
    elif role == "co":
        where.append(or_(Ticket.lead_unit_id.is_(None), Ticket.lead_unit_id != who.unit_id))
    query = select(Ticket).where(*where).options(selectinload(Ticket.co_handlers))
    if format == "csv":
        async def every_row() -> AsyncIterator[TicketView]:
            async with desk.sessions() as session:
                for t in (await session.scalars(MOST_URGENT_FIRST.ordered(query))).all():
                    yield TicketView.of(t, now)
        return csv_response(TicketView, every_row(), "inbox")
    return json_page(await keyset_page(desk.sessions, query, MOST_URGENT_FIRST, cursor=cursor, limit=limit,
                                       key=lambda t: (t.due_at or t.sign_due_at, t.id),
                                       view=lambda t: TicketView.of(t, now)))
