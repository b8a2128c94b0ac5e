"""Fan-out of change events: to async subscribers, each with a bounded backlog, and to listeners.

Publishing never blocks and never grows memory without limit: when a subscriber's backlog is
full its oldest event is dropped and `dropped` counts it, so a slow browser tab cannot stall the
AMI reader. A subscriber that sees `dropped` grow should re-read the snapshot. A listener is a
plain function called at once with every event, for consumers that must see each one and are
cheap (the desk's board); one that raises is logged and skipped, never the reader's problem.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger("ami.bus")


class Subscription(Generic[T]):
    def __init__(self, bus: EventBus[T], maxsize: int) -> None:
        self._bus = bus
        self._items: deque[T] = deque()
        self._maxsize = maxsize
        self._ready = asyncio.Event() if _has_loop() else None
        self.dropped = 0
        self.closed = False

    def _push(self, item: T) -> None:
        if len(self._items) >= self._maxsize:
            self._items.popleft()
            self.dropped += 1
        self._items.append(item)
        if self._ready is not None:
            self._ready.set()

    def pending(self) -> int:
        return len(self._items)

    def get_nowait(self) -> T | None:
        return self._items.popleft() if self._items else None

    async def get(self) -> T:
        if self._ready is None:
            self._ready = asyncio.Event()
        while not self._items:
            if self.closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def close(self) -> None:
        self.closed = True
        self._bus._remove(self)
        if self._ready is not None:
            self._ready.set()

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        return await self.get()

    async def __aenter__(self) -> Subscription[T]:
        return self

    async def __aexit__(self, *_: object) -> None:
        self.close()


def _has_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class EventBus(Generic[T]):
    def __init__(self) -> None:
        self._subscribers: list[Subscription[T]] = []
        self._listeners: list[Callable[[T], None]] = []

    def listen(self, listener: Callable[[T], None]) -> Callable[[], None]:
        """Call `listener` with every event from now on; returns the function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def subscribe(self, maxsize: int = 1000) -> Subscription[T]:
        subscription = Subscription(self, maxsize)
        self._subscribers.append(subscription)
        return subscription

    def _remove(self, subscription: Subscription[T]) -> None:
        if subscription in self._subscribers:
            self._subscribers.remove(subscription)

    @property
    def active(self) -> bool:
        return bool(self._subscribers or self._listeners)

    def publish(self, item: T) -> None:
        for listener in self._listeners:
            try:
                listener(item)
            except Exception:
                log.exception("event listener failed on %s", type(item).__name__)  # not its repr: caller numbers
        for subscription in self._subscribers:
            subscription._push(item)
