"""Ticket changes across processes: a change made in any process reaches every `api` process's streams.

`desk.ticket_feed` (what `GET /api/ticket-changes/stream` sends, agent_desk/api/ticket_stream.py)
hears only of changes made in its own process: an API request, the sweep's 督办, an IVR intake.
Split over processes, each process's `TicketRelay` PUBLISHes its own changes on `{prefix}:tickets`;
in an `api` process it also subscribes and puts the other processes' changes into its feed (a
process skips its own, by `origin`). Best effort, like the live board's events: a change published
while Redis is away, or while an API process is reconnecting, reaches only the pages of its own
process; the others show it on their next read of the case.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable

import redis.asyncio as aioredis
from pydantic import BaseModel
from redis.exceptions import RedisError

from ami.bus import EventBus
from ticketing.views import TicketChange

log = logging.getLogger(__name__)


class RelayedChange(BaseModel):
    origin: str  # the relay (process) that made it
    change: TicketChange


def tickets_channel(prefix: str) -> str:
    return f"{prefix}:tickets"


class TicketRelay:
    def __init__(self, redis: aioredis.Redis, feed: EventBus[TicketChange], *, prefix: str, subscribe: bool,
                 retry: float = 1.0) -> None:
        self._redis = redis
        self._feed = feed
        self._channel = tickets_channel(prefix)
        self._subscribe = subscribe
        self._retry = retry
        self.origin = uuid.uuid4().hex
        self._outbox: asyncio.Queue[TicketChange] = asyncio.Queue(maxsize=10000)
        self._relaying = False  # putting another process's change into the feed: not ours to publish
        self._tasks: list[asyncio.Task[None]] = []
        self._unlisten: Callable[[], None] | None = None
        self.subscribed = asyncio.Event()

    async def start(self, wait: float = 5.0) -> None:
        """Listen to the feed; in an API process, subscribe too (waiting up to `wait` for Redis)."""
        self._unlisten = self._feed.listen(self._on_change)
        self._tasks.append(asyncio.create_task(self._publish(), name="ticket changes → Redis"))
        if self._subscribe:
            self._tasks.append(asyncio.create_task(self._follow(), name="Redis → ticket changes"))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.subscribed.wait(), wait)

    async def stop(self) -> None:
        if self._unlisten is not None:
            self._unlisten()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _on_change(self, change: TicketChange) -> None:
        if self._relaying:
            return
        try:
            self._outbox.put_nowait(change)
        except asyncio.QueueFull:
            log.warning("ticket change %s not relayed: Redis is behind", change.ticket.number)

    async def _publish(self) -> None:
        while True:
            change = await self._outbox.get()
            data = RelayedChange(origin=self.origin, change=change).model_dump_json()
            try:
                await self._redis.publish(self._channel, data)
            except (RedisError, OSError) as exc:
                log.warning("ticket change %s reached only this process (Redis: %s)", change.ticket.number, exc)

    async def _follow(self) -> None:
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                while True:
                    raw = await pubsub.get_message(timeout=1.0)
                    if raw is None:
                        continue
                    if raw["type"] == "subscribe":
                        self.subscribed.set()
                    elif raw["type"] == "message":
                        self._take(RelayedChange.model_validate_json(raw["data"]))
            except (RedisError, OSError) as exc:
                if self.subscribed.is_set():
                    log.warning("ticket changes from other processes stopped (Redis: %s); resubscribing", exc)
                self.subscribed.clear()
                await asyncio.sleep(self._retry)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()

    def _take(self, relayed: RelayedChange) -> None:
        if relayed.origin == self.origin:
            return
        self._relaying = True
        try:
            self._feed.publish(relayed.change)
        finally:
            self._relaying = False
