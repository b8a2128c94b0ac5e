"""Citizens reading their own request: the number and the phone number it was made with.

Both must match; a wrong phone number answers exactly as an unknown number does, so a guess
reveals nothing, not even that the number exists. Failed look-ups are throttled per request
number and per address (`desk.auth.lookup_*`), and every look-up is audited. The answer is the
request in full (GeoReport fields, unmasked) with its state history, for the citizen portal.
"""

from __future__ import annotations

import hmac
from datetime import datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from agent_desk.api.deps import DeskDep, client_ip
from agent_desk.api.errors import responses
from agent_desk.api.inputs import Phone, phone_digits
from agent_desk.api.open311 import ServiceRequest, full_view, unit_names
from agent_desk.security.addresses import throttle_key
from ticketing.models import Ticket, TicketEvent
from ticketing.vocabulary import TicketState

router = APIRouter(prefix="/api/citizen", tags=["citizen"])
NOT_FOUND = "no request with this number and phone number"


class LookupRequest(BaseModel):
    service_request_id: str = Field(min_length=1, max_length=32, description="the request number, e.g. "
                                                                             "JS20261128-000123")
    phone: Phone = Field(max_length=32, description="the phone number the request was made with")


class StateChange(BaseModel):
    at: datetime
    state: TicketState
    state_label: str


class CitizenRequest(ServiceRequest):
    state: TicketState
    state_label: str
    caller_name: str | None
    phone: str | None
    history: list[StateChange] = Field(description="each change of state, oldest first")


@router.post("/requests/lookup", response_model=CitizenRequest, responses=responses(404, 429))
async def lookup(body: LookupRequest, desk: DeskDep, request: Request) -> CitizenRequest | JSONResponse:
    """Your request in full, given its number and the phone number you made it with."""
    ip = client_ip(request)
    number = body.service_request_id.strip().upper()
    attempt = await desk.lookups.attempt(number, throttle_key(ip))
    if attempt.retry_after > 0:
        await desk.audit.record("citizen", "citizen.lookup", "ticket", number, outcome="throttled", source_ip=ip)
        return JSONResponse({"detail": "too many attempts; try again later"}, status_code=429,
                            headers={"Retry-After": str(int(attempt.retry_after) + 1)})
    async with desk.sessions() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
        events = [] if ticket is None else list((await session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id))).all())
    given = phone_digits(body.phone).encode()
    stored = phone_digits(ticket.caller_number or "").encode() if ticket is not None else b""
    if ticket is None or not stored or not hmac.compare_digest(given, stored):
        await desk.audit.record("citizen", "citizen.lookup", "ticket", number, outcome="denied", source_ip=ip)
        raise HTTPException(404, NOT_FOUND)
    await desk.lookups.succeeded(attempt)
    await desk.audit.record("citizen", "citizen.lookup", "ticket", ticket.id, number=number, source_ip=ip)
    view = full_view(ticket, await unit_names(desk, [ticket]))
    history = [StateChange(at=e.at, state=e.to_state, state_label=e.to_state.label)
               for e in events if e.to_state is not None and e.to_state != e.from_state]
    return CitizenRequest(**view.model_dump(), state=ticket.state, state_label=ticket.state.label,
                          caller_name=ticket.caller_name, phone=ticket.caller_number, history=history)
