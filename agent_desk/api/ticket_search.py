"""Finding a ticket (by its number or just its digits, the caller's phone number, or words) and
reading its timeline (events, light, deadlines in working time, attached calls). Scoped like every
ticket query: what the caller may not see is not found."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from sqlalchemy import ColumnElement, or_, select

from agent_desk.api.calls import CallView
from agent_desk.api.deadlines import Deadline, deadlines
from agent_desk.api.deps import Caller, DeskDep
from agent_desk.api.errors import AUTHED, responses
from agent_desk.api.pagination import CursorParam, LimitParam, Page
from agent_desk.api.regions import region_path
from agent_desk.api.routing_preview import UnitRef
from agent_desk.api.tickets import TicketId, scoped_ticket_view, ticket_page
from agent_desk.security.scope import ticket_scope
from ticketing.models import CallRecord, CallSurvey, Ticket, Unit, utcnow
from ticketing.views import EventView, TicketView
from ticketing.vocabulary import Rating

router = APIRouter(tags=["tickets"])
_TICKET_NUMBER = re.compile(r"^[A-Za-z]{0,4}\s*\d{8}\s*-?\s*\d{6}$")
_DIGITS = re.compile(r"^[\d\s\-]+$")


class RoutingExplanation(BaseModel):
    """Why the case went where it is: the last dispatch's (or ruling's) decision."""

    at: datetime
    action: str  # dispatch or rule
    rule: str
    level: str | None
    reasons: list[str]


class SurveyView(BaseModel):
    rating: Rating
    applied: bool  # it became the ticket's 回访 rating
    at: datetime
    note: str | None  # why it was not applied


class Timeline(BaseModel):
    ticket: TicketView
    events: list[EventView]
    calls: list[CallView]
    deadlines: list[Deadline]
    units: list[UnitRef]  # the lead unit first, then the co-handlers, with their names
    routing: RoutingExplanation | None
    surveys: list[SurveyView]  # the caller's IVR survey answers about this ticket, oldest first
    region_path: str | None  # 江苏省 › 南京市 › 玄武区


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
    return await ticket_page(desk, [ticket_scope(who), search_condition(q)], cursor=cursor, limit=limit, now=now)


@router.get("/api/tickets/{ticket_id}/timeline", response_model=Timeline, responses=responses(404, *AUTHED))
async def timeline(ticket_id: TicketId, desk: DeskDep, who: Caller) -> Timeline:
    """The ticket with its history, its attached calls (those in your scope), its deadlines counted in
    working time, its units, the routing explanation and the caller's IVR survey answers."""
    now = utcnow()
    view = await scoped_ticket_view(desk, who, ticket_id, now)
    unit_ids = [u for u in (view.lead_unit_id, *view.co_handler_ids) if u]
    async with desk.sessions() as session:
        calls = (await session.scalars(select(CallRecord).where(
            CallRecord.ticket_id == ticket_id, desk.call_scope(who))
            .order_by(CallRecord.id))).all()
        names = dict((await session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids)))).all())
        surveys = (await session.scalars(select(CallSurvey).where(CallSurvey.ticket_id == ticket_id)
                                         .order_by(CallSurvey.id))).all()
    await desk.tickets.refresh()  # the administrators' calendar entries, as the deadlines were set
    events = await desk.tickets.history(ticket_id)
    regions = desk.tickets.routing.regions
    region = regions.get(view.region_code) if view.region_code else None
    return Timeline(ticket=view, events=events, calls=[CallView.of(c) for c in calls],
                    deadlines=deadlines(view, desk.tickets.sla.worktime, now),
                    units=[UnitRef(id=u, name=names.get(u, u)) for u in unit_ids],
                    routing=_routing_explanation(events),
                    region_path=region_path(region, regions) if region else None,
                    surveys=[SurveyView(rating=s.rating, applied=s.applied, at=s.created_at, note=s.note)
                             for s in surveys])


def _routing_explanation(events: list[EventView]) -> RoutingExplanation | None:
    routed = next((e for e in reversed(events) if e.action in ("dispatch", "rule") and "rule" in e.data), None)
    if routed is None:
        return None
    return RoutingExplanation(at=routed.at, action=routed.action, rule=str(routed.data["rule"]),
                              level=routed.data.get("level"), reasons=[str(r) for r in routed.data.get("reasons", [])])
