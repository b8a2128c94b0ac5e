"""Handlers' inbox: the unit's open tickets, most urgent first (red, then by due date)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import and_, func, or_, select, type_coerce
from sqlalchemy.orm import selectinload

from agent_desk.api.csv_export import CSV_RESPONSE, Format, csv_response
from agent_desk.api.deps import DeskDep, HandlerCaller
from agent_desk.api.errors import AUTHED, responses
from agent_desk.api.pagination import (
    CursorParam,
    LimitParam,
    Page,
    decode_cursor,
    encode_cursor,
    json_page,
)
from agent_desk.api.tickets import light_condition
from agent_desk.security.scope import ticket_scope
from ticketing.models import Ticket, UTCDateTime, utcnow
from ticketing.views import TicketView
from ticketing.vocabulary import Light, TicketState

router = APIRouter(prefix="/api/inbox", tags=["handlers"])
INBOX_STATES = (TicketState.DISPATCHED, TicketState.HANDLING, TicketState.EXTENSION_REQUESTED)


@router.get("", response_model=Page[TicketView], responses={**CSV_RESPONSE, **responses(400, *AUTHED)})
async def inbox(desk: DeskDep, who: HandlerCaller, cursor: CursorParam = None, limit: LimitParam = 50,
                format: Format = "json", light: Light | None = None,
                state: Annotated[list[TicketState] | None, Query(description="default: all open unit states")] = None,
                role: Annotated[str | None, Query(pattern="^(lead|co)$", description="lead or co-handled only")] = None,
                ) -> Any:
    """Tickets waiting for your unit: to sign (by the sign-off deadline) or in hand (by the due
    date). Sorted by deadline, so overdue (red) ones come first."""
    now = utcnow()
    deadline = func.coalesce(Ticket.due_at, Ticket.sign_due_at)
    where = [ticket_scope(who), Ticket.state.in_(state or INBOX_STATES), deadline.is_not(None)]
    if light is not None:
        where.append(light_condition(light, now))
    if role == "lead":
        where.append(Ticket.lead_unit_id == who.unit_id)
    elif role == "co":
        where.append(or_(Ticket.lead_unit_id.is_(None), Ticket.lead_unit_id != who.unit_id))
    query = (select(Ticket).where(*where).options(selectinload(Ticket.co_handlers))
             .order_by(deadline, Ticket.id))
    if format == "csv":
        async def every_row() -> AsyncIterator[TicketView]:
            async with desk.sessions() as session:
                for t in (await session.scalars(query)).all():
                    yield TicketView.of(t, now)
        return csv_response(TicketView, every_row(), "inbox")
    if cursor:
        at, last_id = decode_cursor(cursor, 2)
        try:
            after = datetime.fromisoformat(at)
        except (TypeError, ValueError):
            raise HTTPException(400, "malformed cursor") from None
        if after.tzinfo is None or not isinstance(last_id, int):
            raise HTTPException(400, "malformed cursor")
        bound = type_coerce(after, UTCDateTime())
        query = query.where(or_(deadline > bound, and_(deadline == bound, Ticket.id > last_id)))
    async with desk.sessions() as session:
        rows = (await session.scalars(query.limit(limit + 1))).all()
    items = [TicketView.of(t, now) for t in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor((last.due_at or last.sign_due_at).isoformat(), last.id)  # type: ignore[union-attr]
    return json_page(Page[TicketView](items=items, next_cursor=next_cursor))
