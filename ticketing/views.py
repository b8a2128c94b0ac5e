"""Immutable snapshots of tickets and their history, safe to hand to adapters and the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Row

from ticketing.actions import allowed_actions
from ticketing.models import Ticket, TicketEvent
from ticketing.models.region import RegionLevel
from ticketing.sla import light, sign_light
from ticketing.vocabulary import Category, Channel, Light, Rating, TicketState


class TicketView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    number: str
    digits: str
    state: TicketState
    state_label: str
    channel: Channel
    category: Category
    caller_number: str | None
    caller_name: str | None
    description: str
    region_code: str | None
    city_code: str | None
    county_code: str | None
    address: str
    priority: int
    level: RegionLevel | None
    lead_unit_id: str | None
    co_handler_ids: list[str]
    created_by: str | None
    created_at: datetime
    dispatched_at: datetime | None
    sign_due_at: datetime | None
    signed_at: datetime | None
    due_at: datetime | None
    replied_at: datetime | None
    closed_at: datetime | None
    answer: str | None
    kb_article_id: int | None = Field(description="the knowledge-base article a direct answer came from")
    rating: Rating | None
    redo_count: int
    extension_count: int
    return_count: int
    extension_until: datetime | None
    callback_requested: bool
    public: bool
    light: Light
    sign_light: Light
    allowed_actions: list[str]
    version: int

    @classmethod
    def of(cls, ticket: Ticket | Row[*tuple[Any, ...]], now: datetime,
           co_handler_ids: list[str] | None = None) -> TicketView:
        """The view of a ticket entity, or of a row of `TICKET_VIEW_COLUMNS` with its co-handlers' ids
        (the desk's lists read rows: no ORM objects to build; docs/benchmarks.md, the desk mix)."""
        return cls(**ticket_fields(ticket, now, co_handler_ids))


def ticket_fields(ticket: Ticket | Row[*tuple[Any, ...]], now: datetime,
                  co_handler_ids: list[str] | None = None) -> dict[str, Any]:
    """`TicketView`'s values in its field order, unvalidated: the desk's lists serialise these as they are
    (`agent_desk.api.pagination.json_rows`; the columns' types already gave the fields' types)."""
    co = co_handler_ids if co_handler_ids is not None else [c.unit_id for c in ticket.co_handlers]
    return {
        "id": ticket.id, "number": ticket.number, "digits": ticket.digits, "state": ticket.state,
        "state_label": ticket.state.label, "channel": ticket.channel, "category": ticket.category,
        "caller_number": ticket.caller_number, "caller_name": ticket.caller_name,
        "description": ticket.description, "region_code": ticket.region_code,
        "city_code": ticket.city_code, "county_code": ticket.county_code, "address": ticket.address,
        "priority": ticket.priority, "level": ticket.level, "lead_unit_id": ticket.lead_unit_id,
        "co_handler_ids": co, "created_by": ticket.created_by, "created_at": ticket.created_at,
        "dispatched_at": ticket.dispatched_at, "sign_due_at": ticket.sign_due_at,
        "signed_at": ticket.signed_at, "due_at": ticket.due_at, "replied_at": ticket.replied_at,
        "closed_at": ticket.closed_at, "answer": ticket.answer, "kb_article_id": ticket.kb_article_id,
        "rating": ticket.rating,
        "redo_count": ticket.redo_count, "extension_count": ticket.extension_count,
        "return_count": ticket.return_count,
        "extension_until": ticket.extension_until, "callback_requested": ticket.callback_requested,
        "public": ticket.public,
        "light": light(ticket.state, now=now, created_at=ticket.created_at, sign_due_at=ticket.sign_due_at,
                       signed_at=ticket.signed_at, due_at=ticket.due_at, replied_at=ticket.replied_at),
        "sign_light": sign_light(now=now, sign_due_at=ticket.sign_due_at, signed_at=ticket.signed_at),
        "allowed_actions": allowed_actions(ticket.state),
        "version": ticket.version,
    }


# The columns `TicketView.of` reads, for reading views without loading ORM entities.
TICKET_VIEW_COLUMNS = (
    Ticket.id, Ticket.number, Ticket.digits, Ticket.state, Ticket.channel, Ticket.category, Ticket.caller_number,
    Ticket.caller_name, Ticket.description, Ticket.region_code, Ticket.city_code, Ticket.county_code, Ticket.address,
    Ticket.priority, Ticket.level, Ticket.lead_unit_id, Ticket.created_by, Ticket.created_at, Ticket.dispatched_at,
    Ticket.sign_due_at, Ticket.signed_at, Ticket.due_at, Ticket.replied_at, Ticket.closed_at, Ticket.answer,
    Ticket.kb_article_id, Ticket.rating, Ticket.redo_count, Ticket.extension_count, Ticket.return_count,
    Ticket.extension_until, Ticket.callback_requested, Ticket.public, Ticket.version,
)


class EventView(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    ticket_id: int
    at: datetime
    actor: str
    action: str
    from_state: TicketState | None
    to_state: TicketState | None
    reason: str | None
    data: dict[str, Any]

    @classmethod
    def of(cls, event: TicketEvent) -> EventView:
        return cls.model_validate(event)


class TicketChange(BaseModel):
    """A committed change to a ticket: intake, or one action (a sweep's 督办 too)."""

    model_config = ConfigDict(frozen=True)

    ticket: TicketView
    action: str
    actor: str
    reason: str | None
    at: datetime
