"""Wiring for the composition root: model + record writer + client, started and stopped together.

    runtime = AmiRuntime(settings.ami, CallStore(sessions), model=model)
    await runtime.start()          # in the FastAPI lifespan
    runtime.client.snapshot(); runtime.client.subscribe(); await runtime.client.queue_pause(...)
    await runtime.stop()

The runtime makes its record writer the model's `on_call`, and, given a `presence` store, a second
writer its `on_membership` (members' logins and logouts, for staffing reports).
`AmiRuntime.replay(FILE, store, speed=N)` gives the same model and writer, fed by a `ReplaySource`
instead of live connections (actions then fail with `AmiNotConnected`); any other `source` can be
set before `start()`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from ami.client import AmiClient
from ami.clock import StreamClock
from ami.model import LiveModel
from ami.replay import ReplaySource
from ami.settings import AmiSettings
from ami.sink import MembershipStore, RecordStore, RecordWriter
from ticketing.models import utcnow


class Source(Protocol):
    """Something that feeds the model instead of live connections (a capture replay)."""

    async def run(self) -> None: ...


def _logged_out(row: Mapping[str, Any]) -> bool:
    return row["logged_out_at"] is not None


class AmiRuntime:
    def __init__(self, settings: AmiSettings, store: RecordStore, *, model: LiveModel | None = None,
                 presence: MembershipStore | None = None) -> None:
        self.writer = RecordWriter(store, maxsize=settings.record_backlog)
        self.model = model or LiveModel()
        self.model.on_call = self.writer.submit
        self._servers = [server.name for server in settings.servers]
        self._presence = presence
        self.presence_writer: RecordWriter | None = None
        if presence is not None:
            writer = self.presence_writer = RecordWriter(presence, maxsize=settings.record_backlog,
                                                         finished=_logged_out)
            self.model.on_membership = lambda stay: writer.put(stay.key, stay.record_fields())
        self.client = AmiClient(settings, model=self.model)
        self.source: Source | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def replay(cls, capture: Path | str, store: RecordStore, *, speed: float = 1.0,
               server: str = "replay", settings: AmiSettings | None = None,
               presence: MembershipStore | None = None) -> AmiRuntime:
        """Fed by the capture, never by a PBX: the client gets no servers, whatever `settings` says."""
        offline = (settings or AmiSettings()).model_copy(update={"servers": []})
        runtime = cls(offline, store, model=LiveModel(clock=StreamClock()), presence=presence)
        runtime.source = ReplaySource(capture, runtime.model, server=server, speed=speed)
        return runtime

    async def start(self) -> None:
        """Starts the writers, the source and the connections. Memberships the live servers left open
        when the product stopped end now: the model knows none until Asterisk lists them again."""
        if self._presence is not None and self._servers:
            await self._presence.close_open(self._servers, utcnow())
        self._tasks.append(asyncio.create_task(self.writer.run(), name="ami-record-writer"))
        if self.presence_writer is not None:
            self._tasks.append(asyncio.create_task(self.presence_writer.run(), name="ami-presence-writer"))
        if self.source is not None:
            self._tasks.append(asyncio.create_task(self.source.run(), name="ami-replay"))
        await self.client.start()

    async def stop(self) -> None:
        await self.client.stop()
        writers = [w for w in (self.writer, self.presence_writer) if w is not None]
        for task in self._tasks[len(writers):]:  # the sources; the writers finish their batch
            task.cancel()
        for writer in writers:
            writer.close()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for writer in writers:
            await writer.flush()
