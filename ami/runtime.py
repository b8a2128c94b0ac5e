"""Wiring for the composition root: model + record writer + client, started and stopped together.

    runtime = AmiRuntime(settings.ami, CallStore(sessions), model=model)
    await runtime.start()          # in the FastAPI lifespan
    runtime.client.snapshot(); runtime.client.subscribe(); await runtime.client.queue_pause(...)
    await runtime.stop()

The runtime makes its record writer the model's `on_call`. `AmiRuntime.replay(FILE, store, speed=N)`
gives the same model and writer, fed by a `ReplaySource` instead of live connections (actions then
fail with `AmiNotConnected`); any other `source` can be set before `start()`.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Protocol

from ami.client import AmiClient
from ami.clock import StreamClock
from ami.model import LiveModel
from ami.replay import ReplaySource
from ami.settings import AmiSettings
from ami.sink import RecordStore, RecordWriter


class Source(Protocol):
    """Something that feeds the model instead of live connections (a capture replay)."""

    async def run(self) -> None: ...


class AmiRuntime:
    def __init__(self, settings: AmiSettings, store: RecordStore, *, model: LiveModel | None = None) -> None:
        self.writer = RecordWriter(store, maxsize=settings.record_backlog)
        self.model = model or LiveModel()
        self.model.on_call = self.writer.submit
        self.client = AmiClient(settings, model=self.model)
        self.source: Source | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def replay(cls, capture: Path | str, store: RecordStore, *, speed: float = 1.0,
               server: str = "replay", settings: AmiSettings | None = None) -> AmiRuntime:
        """Fed by the capture, never by a PBX: the client gets no servers, whatever `settings` says."""
        offline = (settings or AmiSettings()).model_copy(update={"servers": []})
        runtime = cls(offline, store, model=LiveModel(clock=StreamClock()))
        runtime.source = ReplaySource(capture, runtime.model, server=server, speed=speed)
        return runtime

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self.writer.run(), name="ami-record-writer"))
        if self.source is not None:
            self._tasks.append(asyncio.create_task(self.source.run(), name="ami-replay"))
        await self.client.start()

    async def stop(self) -> None:
        await self.client.stop()
        for task in self._tasks[1:]:  # the sources; the writer finishes its batch
            task.cancel()
        self.writer.close()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self.writer.flush()
