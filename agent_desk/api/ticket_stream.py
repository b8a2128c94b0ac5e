"""Live ticket changes for the workbench pages: new dispatches, 督办 and notes without a reload.

`GET /api/ticket-changes/stream` sends a `change` event for every committed change (intake, any action, the
sweep's 督办) to a ticket in the caller's scope: a handler hears of its unit's cases (lead or
co-handler), a dispatcher of every case. Whether a ticket is in scope is asked of the database with
the one scope rule (`ticket_scope`), so the stream never shows what the API would not.

A process's streams share each change (`ChangeStreams`): it is encoded once for all of them, and its
scope is asked once per scope (`ticket_scope_key`: a unit's handlers, a city's supervisors), not once
per stream.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Hashable
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
from agent_desk.security.scope import ticket_scope, ticket_scope_key
from ami.bus import EventBus, Subscription
from ticketing.models import Ticket
from ticketing.views import TicketChange
from ticketing.vocabulary import TicketState

router = APIRouter(prefix="/api/ticket-changes", tags=["tickets"])

# Changes a stream holds for its page. A burst beyond it (the sweep's 督办 of every case that turned
# red at once) drops the oldest; the page is then told to read its lists again (`resync`).
BACKLOG = 256
# A stream sends a change at most this long after it last found its client there and its token valid.
CHECK_EVERY = 1.0


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


class Delivery:
    """One change as every stream sends it: encoded once, and whether a scope sees it asked once."""

    def __init__(self, change: TicketChange) -> None:
        self.change = change
        self._encoded: bytes | None = None
        self._seen_by: dict[Hashable, asyncio.Task[bool]] = {}

    @property
    def encoded(self) -> bytes:
        if self._encoded is None:
            self._encoded = ServerSentEvent(event="change", data=ChangeEvent.of(self.change).model_dump_json()).encode()
        return self._encoded

    async def visible_to(self, desk: Desk, who: Principal) -> bool:
        if who.sees_everything:  # dispatchers hear of every change: no query per change
            return True
        key = ticket_scope_key(who)
        answer = self._seen_by.get(key)
        if answer is None:
            answer = self._seen_by[key] = asyncio.create_task(_in_scope(desk, who, self.change.ticket.id))
        return await asyncio.shield(answer)  # a stream that closes meanwhile leaves the answer to the others


async def _in_scope(desk: Desk, who: Principal, ticket_id: int) -> bool:
    async with desk.sessions() as session:
        return await session.scalar(select(Ticket.id).where(Ticket.id == ticket_id, ticket_scope(who))) is not None


class ChangeStreams:
    """This process's open change streams: each change of the feed becomes one `Delivery` they share."""

    def __init__(self, feed: EventBus[TicketChange]) -> None:
        self._deliveries: EventBus[Delivery] = EventBus()
        self.close = feed.listen(self._on_change)

    def _on_change(self, change: TicketChange) -> None:
        if self._deliveries.active:
            self._deliveries.publish(Delivery(change))

    def subscribe(self) -> Subscription[Delivery]:
        return self._deliveries.subscribe(maxsize=BACKLOG)


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
    streams: ChangeStreams = request.app.state.change_streams

    async def events() -> AsyncIterator[ServerSentEvent | bytes]:
        loop = asyncio.get_running_loop()
        async with streams.subscribe() as deliveries:
            yield ServerSentEvent(event="hello", retry=1000, data=json.dumps({"user": who.username}))
            told = 0  # changes the page has been told it missed
            checked = -math.inf
            while True:
                if loop.time() >= checked + CHECK_EVERY:  # not per change: a burst costs one check, not one each
                    if await request.is_disconnected() or not await still_valid(desk, token):
                        return
                    checked = loop.time()
                if deliveries.dropped > told:
                    yield ServerSentEvent(event="resync", data=json.dumps({"missed": deliveries.dropped - told}))
                    told = deliveries.dropped
                delivery = deliveries.get_nowait()
                if delivery is None:
                    try:
                        async with asyncio.timeout_at(checked + CHECK_EVERY):
                            delivery = await deliveries.get()
                    except TimeoutError:
                        continue
                if await delivery.visible_to(desk, who):
                    yield delivery.encoded

    return EventSourceResponse(events(), ping=15)
