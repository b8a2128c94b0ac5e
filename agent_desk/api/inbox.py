"""Handlers' inbox: the unit's open tickets, most urgent first (red, then by due date), each with its
deadlines in working time and how many times it was put under 督办 (supervision)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from agent_desk.api.csv_export import CSV_RESPONSE, Format, csv_response
from agent_desk.api.deadlines import Deadline, deadline_fields
from agent_desk.api.deps import DeskDep, HandlerCaller
from agent_desk.api.errors import AUTHED, responses
from agent_desk.api.pagination import (
    CursorParam,
    Keyset,
    LimitParam,
    Page,
    json_rows,
    keyset_rows,
    next_cursor,
)
from agent_desk.api.tickets import co_handler_ids, light_condition
from agent_desk.security.scope import ticket_scope
from ticketing.models import Ticket, TicketEvent, utcnow
from ticketing.views import TICKET_VIEW_COLUMNS, TicketView, ticket_fields
from ticketing.vocabulary import Category, Light, TicketState

router = APIRouter(prefix="/api/inbox", tags=["handlers"])
INBOX_STATES = (TicketState.DISPATCHED, TicketState.HANDLING, TicketState.EXTENSION_REQUESTED)
DEADLINE = func.coalesce(Ticket.due_at, Ticket.sign_due_at)
MOST_URGENT_FIRST = Keyset((DEADLINE, Ticket.id), (datetime, int))


SUPERVISIONS = (select(func.count(TicketEvent.id))
                .where(TicketEvent.ticket_id == Ticket.id, TicketEvent.action == "supervise")
                .correlate(Ticket).scalar_subquery().label("supervisions"))


INBOX_ROWS = select(*TICKET_VIEW_COLUMNS, SUPERVISIONS)


class InboxItem(TicketView):
    deadlines: list[Deadline] = Field(description="sign-off and resolution, in working hours left")
    supervisions: int = Field(description="督办 raised on it so far (by people or the SLA sweep)")


@router.get("", response_model=Page[InboxItem], responses={**CSV_RESPONSE, **responses(400, *AUTHED)})
async def inbox(desk: DeskDep, who: HandlerCaller, cursor: CursorParam = None, limit: LimitParam = 50,
                format: Format = "json", light: Light | None = None,
                state: Annotated[list[TicketState] | None, Query(description="default: all open unit states")] = None,
                role: Annotated[str | None, Query(pattern="^(lead|co)$", description="lead or co-handled only")] = None,
                category: Category | None = None,
                region: Annotated[str | None, Query(pattern=r"^\d{6}$", description="a city or county code")] = None,
                ) -> Any:
    """Tickets waiting for your unit: to sign (by the sign-off deadline) or in hand (by the due
    date). Sorted by deadline, so overdue (red) ones come first."""
    now = utcnow()
    where = [ticket_scope(who), Ticket.state.in_(state or INBOX_STATES), DEADLINE.is_not(None)]
    if light is not None:
        where.append(light_condition(light, now))
    if category is not None:
        where.append(Ticket.category == category)
    if region is not None:
        where.append(or_(Ticket.city_code == region, Ticket.county_code == region, Ticket.region_code == region))
    if role == "lead":
        where.append(Ticket.lead_unit_id == who.unit_id)
    elif role == "co":
        where.append(or_(Ticket.lead_unit_id.is_(None), Ticket.lead_unit_id != who.unit_id))
    worktime = desk.tickets.sla.worktime
    if format == "csv":
        query = select(Ticket).where(*where).options(selectinload(Ticket.co_handlers))

        async def every_row() -> AsyncIterator[TicketView]:
            async with desk.sessions() as session:
                for t in (await session.scalars(MOST_URGENT_FIRST.ordered(query))).all():
                    yield TicketView.of(t, now)
        return csv_response(TicketView, every_row(), "inbox")
    async with desk.reads() as session:  # rows, not ORM entities (docs/benchmarks.md, the desk mix)
        rows = await keyset_rows(session, INBOX_ROWS.where(*where), MOST_URGENT_FIRST, cursor=cursor, limit=limit)
        co = await co_handler_ids(session, [r.id for r in rows])
    items = []
    for row in rows[:limit]:  # `InboxItem`'s values, serialised as they are (`json_rows`)
        item = ticket_fields(row, now, co[row.id])
        item["deadlines"] = deadline_fields(item, worktime, now)
        item["supervisions"] = row.supervisions
        items.append(item)
    return json_rows(items, next_cursor(rows, limit, lambda row: (row.due_at or row.sign_due_at, row.id)))
