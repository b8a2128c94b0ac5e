"""Live ticket changes for the workbench pages: new dispatches, 督办 and notes without a reload.

`GET /api/ticket-changes/stream` sends a `change` event for every committed change (intake, any action, the
sweep's 督办) to a ticket in the caller's scope: a handler hears of its unit's cases (lead or
co-handler), a dispatcher of every case. Whether a ticket is in scope is asked of the database with
the one scope rule (`ticket_scope`), so the stream never shows what the API would not.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import select
from sse_starlette import EventSourceResponse, ServerSentEvent

from agent_desk.api.agent import SSE_RESPONSE
from agent_desk.api.deps import Caller, Credentials, DeskDep, still_valid
from agent_desk.api.errors import AUTHED, responses
from agent_desk.desk import Desk
from agent_desk.security.principal import Principal
from agent_desk.security.scope import ticket_scope
from ticketing.models import Ticket
from ticketing.views import TicketChange
from ticketing.vocabulary import TicketState

router = APIRouter(prefix="/api/ticket-changes", tags=["tickets"])

# Changes a stream holds for its page. A burst beyond it (the sweep's 督办 of every case that turned
# red at once) drops the oldest; the page is then told to read its lists again (`resync`).
BACKLOG = 256


class ChangeEvent(BaseModel):
    """What a page needs to know that a case changed; it reads the case itself for the rest."""

    ticket_id: int
    number: str
    state: TicketState
    state_label: str
    action: str
    actor: str
    reason: str | None
    lead_unit_id: str | None
    at: datetime

    @classmethod
    def of(cls, change: TicketChange) -> ChangeEvent:
        t = change.ticket
        return cls(ticket_id=t.id, number=t.number, state=t.state, state_label=t.state_label,
                   action=change.action, actor=change.actor, reason=change.reason, lead_unit_id=t.lead_unit_id,
                   at=change.at)


async def _in_scope(desk: Desk, who: Principal, ticket_id: int) -> bool:
    if who.sees_everything:  # dispatchers hear of every change: no query per change
        return True
    async with desk.sessions() as session:
        return await session.scalar(select(Ticket.id).where(Ticket.id == ticket_id, ticket_scope(who))) is not None


@router.get("/stream", response_class=EventSourceResponse, responses={**SSE_RESPONSE, **responses(*AUTHED)})
async def ticket_changes(request: Request, desk: DeskDep, who: Caller,
                         credentials: Credentials) -> EventSourceResponse:
    """Server-sent events: `hello` at once, then a `change` (a ChangeEvent) for each change to a ticket in
    your scope, within a second. `resync` (`{"missed": n}`) says changes were dropped after a burst larger
    than the stream's backlog: read the lists again. A comment ping every 15 s keeps proxies from closing
    the stream. The stream ends when its token expires or is revoked (the page reconnects with a fresh
    one, or logs in)."""
    assert credentials is not None  # `Caller` refused the request without one
    token = credentials.credentials

    async def events() -> AsyncIterator[ServerSentEvent]:
        async with desk.ticket_feed.subscribe(maxsize=BACKLOG) as changes:
            yield ServerSentEvent(event="hello", retry=1000, data=json.dumps({"user": who.username}))
            told = 0  # changes the page has been told it missed
            while not await request.is_disconnected() and await still_valid(desk, token):
                if changes.dropped > told:
                    yield ServerSentEvent(event="resync", data=json.dumps({"missed": changes.dropped - told}))
                    told = changes.dropped
                try:
                    change = await asyncio.wait_for(changes.get(), timeout=1.0)
                except TimeoutError:
                    continue
                if await _in_scope(desk, who, change.ticket.id):
                    yield ServerSentEvent(event="change", data=ChangeEvent.of(change).model_dump_json())

    return EventSourceResponse(events(), ping=15)
