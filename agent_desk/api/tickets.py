"""Tickets: list, read, create (from an ASR draft or by hand), routing advice and lifecycle actions.

Every query runs through `ticket_scope`: a ticket outside the caller's scope answers 404.
Each action of `ticketing.actions` gets its route, `POST /api/tickets/{id}/actions/{action}`, with
its payload as the body; one the role may not take answers 403, one the state forbids 409 with
the actions the state allows.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, and_, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from structlog.contextvars import bind_contextvars

from agent_desk.api.csv_export import CSV_RESPONSE, Format, csv_response
from agent_desk.api.deps import Caller, DeskDep, DeskStaff
from agent_desk.api.errors import AUTHED, responses
from agent_desk.api.inputs import Phone
from agent_desk.api.pagination import (
    CursorParam,
    Keyset,
    LimitParam,
    Page,
    json_rows,
    keyset_rows,
    list_page,
    next_cursor,
)
from agent_desk.desk import Desk
from agent_desk.security.principal import Principal
from agent_desk.security.scope import ticket_scope
from ticketing.actions import ACTIONS, Action, actions_for, authorize
from ticketing.instants import Instant
from ticketing.models import CallRecord, Role, Ticket, TicketCoHandler, utcnow
from ticketing.routing import RoutingRequest
from ticketing.service import NewTicket
from ticketing.views import TICKET_VIEW_COLUMNS, EventView, TicketView, ticket_fields
from ticketing.vocabulary import Category, Channel, Light, TicketState

router = APIRouter(prefix="/api/tickets", tags=["tickets"])
CLOSED = (TicketState.CLOSED, TicketState.ARCHIVED)
NEWEST_FIRST = Keyset((Ticket.id,), (int,), descending=True)
TICKET_ROWS = select(*TICKET_VIEW_COLUMNS)  # built once: its 34 columns are not coerced again per request


class TicketCreate(BaseModel):
    category: Category
    description: str = Field(min_length=1, max_length=4000)
    channel: Channel = Channel.PHONE
    caller_number: Phone | None = Field(None, max_length=32)
    caller_name: str | None = Field(None, max_length=64)
    public: bool = Field(False, description="the caller agreed to publication (masked, on Open311); never for report")
    region_code: str | None = Field(None, pattern=r"^\d{6}$")
    address: str = Field("", max_length=256)
    priority: int = Field(0, ge=0, le=3)
    callback_requested: bool = False
    call_id: int | None = Field(None, ge=1, le=2**31 - 1, description="attach this call record (one ticket per call)")
    draft_id: int | None = Field(None, ge=1, le=2**31 - 1, description="the ASR draft this ticket confirms")
    dispatch: bool = Field(False, description="route and dispatch at once by the routing decision")
    departments: list[str] = Field(default_factory=list, max_length=10,
                                   description="department types for routing, e.g. water_supply")


class AllowedActions(BaseModel):
    ticket_id: int
    state: TicketState
    actions: list[str] = Field(description="what you may do to this ticket now: its state, your role and unit")


class RoutingAdvice(BaseModel):
    lead_unit_id: str
    co_handler_ids: list[str]
    level: str
    rule: str
    reasons: list[str]
    suggested_departments: list[str]


async def scoped_ticket(desk: Desk, who: Principal, ticket_id: int) -> Ticket:
    async with desk.sessions() as session:
        ticket = await session.scalar(
            select(Ticket).where(Ticket.id == ticket_id, ticket_scope(who))
            .options(selectinload(Ticket.co_handlers))
        )
    if ticket is None:
        raise HTTPException(404, "ticket not found")
    bind_contextvars(ticket=ticket.number)  # the rest of the request's lines (agent_desk.request_ids)
    return ticket


async def scoped_ticket_view(desk: Desk, who: Principal, ticket_id: int, now: datetime) -> TicketView:
    """The view of a ticket in `who`'s scope (else 404), read as a row: no ORM entity to build."""
    async with desk.reads() as session:
        row = (await session.execute(TICKET_ROWS.where(Ticket.id == ticket_id, ticket_scope(who)))).first()
        if row is None:
            raise HTTPException(404, "ticket not found")
        co = await co_handler_ids(session, [row.id])
    bind_contextvars(ticket=row.number)
    return TicketView.of(row, now, co[row.id])


async def co_handler_ids(session: AsyncSession, ticket_ids: list[int]) -> dict[int, list[str]]:
    """Each ticket's co-handling units, in the order of `Ticket.co_handlers` (by unit id)."""
    co: dict[int, list[str]] = {i: [] for i in ticket_ids}
    if ticket_ids:
        for ticket_id, unit_id in await session.execute(
                select(TicketCoHandler.ticket_id, TicketCoHandler.unit_id)
                .where(TicketCoHandler.ticket_id.in_(ticket_ids)).order_by(TicketCoHandler.unit_id)):
            co[ticket_id].append(unit_id)
    return co


async def ticket_page(desk: Desk, where: list[ColumnElement[bool]], *, cursor: str | None, limit: int,
                      now: datetime) -> Response:
    """A page of the tickets matching `where`, newest first, read as rows of `TICKET_VIEW_COLUMNS` and
    their co-handlers (two queries, no ORM entities), as `Page[TicketView]`'s JSON."""
    async with desk.reads() as session:
        rows = await keyset_rows(session, TICKET_ROWS.where(*where), NEWEST_FIRST, cursor=cursor, limit=limit)
        co = await co_handler_ids(session, [r.id for r in rows])
    return json_rows([ticket_fields(r, now, co[r.id]) for r in rows[:limit]],
                     next_cursor(rows, limit, lambda r: (r.id,)))


def light_condition(light: Light, now: datetime) -> ColumnElement[bool]:
    """The SLA light as SQL, from the outcome columns the ticket service keeps (`ticketing.outcomes`),
    so lists filter exactly as `TicketView.light` reports."""
    closed = Ticket.state.in_(CLOSED)
    return {
        Light.GREEN: and_(closed, Ticket.close_ok == 1),
        Light.YELLOW: and_(closed, Ticket.close_ok == 0),
        Light.RED: and_(not_(closed), Ticket.red_after < now),
        Light.NONE: and_(not_(closed), or_(Ticket.red_after.is_(None), Ticket.red_after >= now)),
    }[light]


@router.get("", response_model=Page[TicketView], responses={**CSV_RESPONSE, **responses(400, *AUTHED)})
async def list_tickets(
    desk: DeskDep, who: Caller, cursor: CursorParam = None, limit: LimitParam = 50, format: Format = "json",
    state: Annotated[list[TicketState] | None, Query()] = None,
    category: Category | None = None, channel: Channel | None = None,
    city_code: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    county_code: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
    unit_id: Annotated[str | None, Query(max_length=48, description="lead or co-handler")] = None,
    light: Light | None = None,
    caller_number: Annotated[str | None, Query(max_length=32)] = None,
    created_from: Instant | None = None, created_to: Instant | None = None,
) -> Any:
    """Tickets in your scope, newest first."""
    now = utcnow()
    where: list[ColumnElement[bool]] = [ticket_scope(who)]
    if state:
        where.append(Ticket.state.in_(state))
    if category:
        where.append(Ticket.category == category)
    if channel:
        where.append(Ticket.channel == channel)
    if city_code:
        where.append(Ticket.city_code == city_code)
    if county_code:
        where.append(Ticket.county_code == county_code)
    if unit_id:
        co = select(TicketCoHandler.ticket_id).where(TicketCoHandler.unit_id == unit_id)
        where.append(or_(Ticket.lead_unit_id == unit_id, Ticket.id.in_(co)))
    if light:
        where.append(light_condition(light, now))
    if caller_number:
        where.append(Ticket.caller_number == caller_number)
    if created_from:
        where.append(Ticket.created_at >= created_from)
    if created_to:
        where.append(Ticket.created_at < created_to)
    if format == "csv":
        query = select(Ticket).where(*where).options(selectinload(Ticket.co_handlers))
        return csv_response(TicketView, _stream(desk, NEWEST_FIRST.ordered(query), now), "tickets")
    return await ticket_page(desk, where, cursor=cursor, limit=limit, now=now)


async def _stream(desk: Desk, query: Any, now: datetime) -> AsyncIterator[TicketView]:
    async with desk.sessions() as session:
        result = await session.stream_scalars(query.execution_options(yield_per=500))
        async for ticket in result:
            yield TicketView.of(ticket, now)


@router.post("", response_model=TicketView, status_code=201, responses=responses(400, 404, 409, *AUTHED))
async def create_ticket(body: TicketCreate, desk: DeskDep, who: DeskStaff) -> TicketView:
    """受理: create a ticket, e.g. from the screen pop's ASR draft with the agent's edits.

    The ticket, the call record (`call_id`) and the draft (`draft_id`) are linked in one transaction.
    A draft or call that already belongs to a ticket answers 409 with that ticket's `ticket_id` and
    `ticket_number`, and nothing is created."""
    if body.call_id is not None:
        async with desk.sessions() as session:
            call = await session.scalar(select(CallRecord.id).where(
                CallRecord.id == body.call_id, desk.call_scope(who)))
        if call is None:
            raise HTTPException(404, "call not found")
    new = NewTicket(channel=body.channel, category=body.category, description=body.description,
                    caller_number=body.caller_number, caller_name=body.caller_name,
                    region_code=body.region_code, address=body.address, priority=body.priority,
                    callback_requested=body.callback_requested, departments=tuple(body.departments),
                    creator_id=who.user_id, public=body.public)
    view = await desk.tickets.create(new, who.username, dispatch=body.dispatch, call_id=body.call_id,
                                     draft_id=body.draft_id)
    bind_contextvars(ticket=view.number)
    await desk.audit.record(who.username, "ticket.create", "ticket", view.id, number=view.number,
                            call_id=body.call_id, draft_id=body.draft_id, dispatched=body.dispatch)
    return view


TicketId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/{ticket_id}", response_model=TicketView, responses=responses(404, *AUTHED))
async def get_ticket(ticket_id: TicketId, desk: DeskDep, who: Caller) -> TicketView:
    return await scoped_ticket_view(desk, who, ticket_id, utcnow())


@router.get("/{ticket_id}/events", response_model=Page[EventView],
            responses={**CSV_RESPONSE, **responses(400, 404, *AUTHED)})
async def ticket_events(ticket_id: TicketId, desk: DeskDep, who: Caller, cursor: CursorParam = None,
                        limit: LimitParam = 100, format: Format = "json") -> Any:
    """The ticket's history, oldest first: who did what, when, from which state to which."""
    await scoped_ticket(desk, who, ticket_id)
    events = await desk.tickets.history(ticket_id)
    if format == "csv":
        return csv_response(EventView, events, f"ticket-{ticket_id}-events")
    return list_page(events, cursor, limit)


@router.get("/{ticket_id}/routing", response_model=RoutingAdvice, responses=responses(404, *AUTHED))
async def routing_advice(ticket_id: TicketId, desk: DeskDep, who: DeskStaff) -> RoutingAdvice:
    """The routing decision for this ticket, to dispatch as is or edit first."""
    ticket = await scoped_ticket(desk, who, ticket_id)
    suggestions = desk.tickets.routing.suggest_departments(ticket.description)
    departments = tuple(s.dept_type for s in suggestions)
    decision = await desk.tickets.route(RoutingRequest(ticket.region_code, ticket.category.value, departments))
    return RoutingAdvice(lead_unit_id=decision.lead_unit_id, co_handler_ids=list(decision.co_handler_ids),
                         level=decision.level.value, rule=decision.rule, reasons=list(decision.reasons),
                         suggested_departments=list(departments))


@router.get("/{ticket_id}/actions", response_model=AllowedActions, responses=responses(404, *AUTHED))
async def my_actions(ticket_id: TicketId, desk: DeskDep, who: Caller) -> AllowedActions:
    """The actions you may take on this ticket now (the buttons to show)."""
    ticket = await scoped_ticket(desk, who, ticket_id)
    return AllowedActions(ticket_id=ticket.id, state=ticket.state, actions=actions_for(
        ticket.state, who.role, unit_id=who.unit_id, lead_unit_id=ticket.lead_unit_id))


async def act(ticket_id: int, action: Action, desk: Desk, who: Principal, version: int | None = None) -> TicketView:
    """Apply one lifecycle action: scope (404), role and lead unit (403), then the version the caller
    read and the state machine (409)."""
    ticket = await scoped_ticket(desk, who, ticket_id)
    authorize(type(action), who.role, unit_id=who.unit_id, lead_unit_id=ticket.lead_unit_id)
    view = await desk.tickets.act(ticket_id, action, who.username, expected_version=version, unit_id=who.unit_id)
    await desk.audit.record(who.username, f"ticket.{action.name}", "ticket", ticket_id,
                            from_state=ticket.state.value, to_state=view.state.value)
    return view


VersionParam = Annotated[int | None, Query(ge=1, le=2**31 - 1, description=(
    "the ticket's `version` you read: if it changed since, 409 and nothing is done (reload and retry)"))]


def _action_route(action: type[Action]) -> None:
    async def route(ticket_id: TicketId, body: Action, desk: DeskDep, who: Caller,
                    version: VersionParam = None) -> TicketView:
        return await act(ticket_id, body, desk, who, version)

    route.__annotations__["body"] = action  # FastAPI reads the body's model from the signature
    roles = ", ".join(sorted(r.value for r in action.roles | {Role.ADMIN}))
    lead = " (handlers of the lead unit only)" if action.lead_only else ""
    states = ", ".join(s.value for s in TicketState if s in action.moves)
    router.add_api_route(
        f"/{{ticket_id}}/actions/{action.name}", route, methods=["POST"], response_model=TicketView,
        responses=responses(400, 404, 409, *AUTHED), name=f"act_{action.name}",
        summary=f"{action.name}: {(action.__doc__ or '').split(':')[0]}",
        description=f"{inspect.cleandoc(action.__doc__ or '')}\n\nFrom: {states}. Who: {roles}{lead}.",
    )


for _action in ACTIONS.values():
    _action_route(_action)
