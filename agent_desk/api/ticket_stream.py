"""Live ticket changes for the workbench pages: new dispatches, 督办 and notes without a reload.

`GET /api/ticket-changes/stream` sends a `change` event for every committed change (intake, any action, the
sweep's 督办) to a ticket in the caller's scope: a handler hears of its unit's cases (lead or
co-handler), a dispatcher of every case. Whether a ticket is in scope is asked of the database with
the one scope rule (`ticket_scope`), so the stream never shows what the API would not.

A process's streams share each change (`ChangeStreams`): it is encoded once for all of them, and
whether it is in scope is asked once, in one statement for the scopes of all the open streams (a
column each: a unit's handlers share one, `ticket_scope_key`), not once per stream.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections import Counter
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import select
from sse_starlette import EventSourceResponse, ServerSentEvent

from agent_desk.api.agent import SSE_RESPONSE, ping_every
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
# Scopes asked about a change in one statement (a column each).
SCOPES_A_STATEMENT = 100


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
    """One change as every stream sends it: encoded once, and which scopes see it asked of the database
    once, for the scopes of all the streams open when it came."""

    def __init__(self, change: TicketChange, scopes: dict[Hashable, Principal]) -> None:
        self.change = change
        self._scopes = scopes
        self._encoded: bytes | None = None
        self._seen: asyncio.Task[set[Hashable]] | None = None

    @property
    def encoded(self) -> bytes:
        if self._encoded is None:
            self._encoded = ServerSentEvent(event="change", data=ChangeEvent.of(self.change).model_dump_json()).encode()
        return self._encoded

    async def visible_to(self, desk: Desk, who: Principal) -> bool:
        if who.sees_everything:  # dispatchers hear of every change: no query per change
            return True
        if self._seen is None:
            self._seen = asyncio.create_task(_scopes_seeing(desk, self._scopes, self.change.ticket.id))
        # shielded: a stream that closes meanwhile leaves the answer to the others
        return ticket_scope_key(who) in await asyncio.shield(self._seen)


async def _scopes_seeing(desk: Desk, scopes: dict[Hashable, Principal], ticket_id: int) -> set[Hashable]:
    """The scopes that see the ticket: a column each, SCOPES_A_STATEMENT to a statement."""
    keys = list(scopes)
    seen: set[Hashable] = set()
    async with desk.sessions() as session:
        for at in range(0, len(keys), SCOPES_A_STATEMENT):
            part = keys[at:at + SCOPES_A_STATEMENT]
            row = (await session.execute(select(*(ticket_scope(scopes[k]) for k in part))
                                         .select_from(Ticket).where(Ticket.id == ticket_id))).one_or_none()
            seen.update(k for k, sees in zip(part, row or (), strict=False) if sees)
    return seen


class ChangeStreams:
    """This process's open change streams: each change of the feed becomes one `Delivery` they share."""

    def __init__(self, feed: EventBus[TicketChange]) -> None:
        self._deliveries: EventBus[Delivery] = EventBus()
        self._scopes: dict[Hashable, Principal] = {}  # the scopes of the open streams that need a query
        self._streams: Counter[Hashable] = Counter()  # and how many streams each
        self.close = feed.listen(self._on_change)

    def _on_change(self, change: TicketChange) -> None:
        if self._deliveries.active:
            self._deliveries.publish(Delivery(change, dict(self._scopes)))

    @asynccontextmanager
    async def subscribe(self, who: Principal) -> AsyncIterator[Subscription[Delivery]]:
        key = ticket_scope_key(who)
        if not who.sees_everything:
            self._scopes[key] = who
            self._streams[key] += 1
        try:
            async with self._deliveries.subscribe(maxsize=BACKLOG) as deliveries:
                yield deliveries
        finally:
            if not who.sees_everything:
                self._streams[key] -= 1
                if not self._streams[key]:
                    del self._streams[key], self._scopes[key]


@router.get("/stream", response_class=EventSourceResponse, responses={**SSE_RESPONSE, **responses(*AUTHED)})
async def ticket_changes(request: Request, desk: DeskDep, who: Caller,
                         credentials: Credentials) -> EventSourceResponse:
    """Server-sent events: `hello` at once, then a `change` (a ChangeEvent) for each change to a ticket in
    your scope, within a second. `resync` (`{"missed": n}`) says changes were dropped after a burst larger
    than the stream's backlog: read the lists again. A comment ping every 12–15 s keeps proxies from
    closing the stream. The stream ends when its token expires or is revoked (the page reconnects with a fresh
    one, or logs in)."""
    assert credentials is not None  # `Caller` refused the request without one
    token = credentials.credentials
    streams: ChangeStreams = request.app.state.change_streams

    async def events() -> AsyncIterator[ServerSentEvent | bytes]:
        loop = asyncio.get_running_loop()
        async with streams.subscribe(who) as deliveries:
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

    return EventSourceResponse(events(), ping=ping_every())
