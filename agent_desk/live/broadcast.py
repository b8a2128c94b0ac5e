"""Fan-out of live changes to any number of SSE listeners. Slow listeners drop old items, never block."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


class Broadcast(Generic[T]):
    def __init__(self, backlog: int = 64) -> None:
        self._queues: set[asyncio.Queue[T]] = set()
        self._backlog = backlog

    def publish(self, item: T) -> None:
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()  # keep the newest: a wallboard wants the present, not history
            queue.put_nowait(item)

    @asynccontextmanager
    async def listen(self) -> AsyncIterator[asyncio.Queue[T]]:
        queue: asyncio.Queue[T] = asyncio.Queue(self._backlog)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    @property
    def listeners(self) -> int:
        return len(self._queues)
