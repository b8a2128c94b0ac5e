"""回访 (follow-up) from a page: call the citizen about their answered case (AMI Originate).

The rating itself is the lifecycle action `follow_up` (`POST /api/tickets/{id}/actions/follow_up`);
this route only places the call, for the staff who may call people back, when the case's state
allows a follow-up. The call carries the ticket's id (`HOTLINE_TICKET_ID`), so its record and an
IVR survey on it belong to the case.
"""

from __future__ import annotations

from fastapi import APIRouter

from agent_desk.api.calls import Accepted, CallBackCaller, dial
from agent_desk.api.deps import DeskDep
from agent_desk.api.errors import AUTHED, responses
from agent_desk.api.tickets import TicketId, scoped_ticket
from ticketing.actions import FollowUp, target
from ticketing.vocabulary import HOTLINE_TICKET_ID

router = APIRouter(prefix="/api/tickets", tags=["tickets"])


@router.post("/{ticket_id}/follow-up-call", response_model=Accepted, status_code=202,
             responses=responses(404, 409, 502, 503, *AUTHED))
async def follow_up_call(ticket_id: TicketId, desk: DeskDep, who: CallBackCaller) -> Accepted:
    """Call the citizen for the 回访 of an answered case: their line first, then your extension (or, for
    dispatchers and supervisors, `desk.agents.callback_queue`). 409 when the case awaits no follow-up
    or has no number to dial."""
    ticket = await scoped_ticket(desk, who, ticket_id)
    target(ticket.state, FollowUp.name)  # IllegalTransition (409) names what the state allows
    number = await dial(desk, who, ticket.caller_number, {HOTLINE_TICKET_ID: str(ticket.id)}, "ticket")
    await desk.audit.record(who.username, "ticket.follow_up_call", "ticket", ticket.id, number=number)
    return Accepted(detail=f"calling {number} for the follow-up of {ticket.number}")
