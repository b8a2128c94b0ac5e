"""Wiring for the composition root: model + record writer + client, started and stopped together.

    runtime = AmiRuntime(settings.ami, CallStore(sessions))
    await runtime.start()          # in the FastAPI lifespan
    runtime.client.snapshot(); runtime.client.subscribe(); await runtime.client.queue_pause(...)
    await runtime.stop()

`AmiRuntime.replay(FILE, store, speed=N)` gives the same model and writer, fed by a `ReplaySource`
instead of live connections (actions then fail with `AmiNotConnected`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ami.calldata import CallData
from ami.client import AmiClient
from ami.clock import StreamClock
from ami.model import LiveModel
from ami.replay import ReplaySource
from ami.settings import AmiSettings
from ami.sink import RecordStore, RecordWriter

ModelFactory = Callable[[Callable[[CallData], None]], LiveModel]
"""Builds the live model, given the function that hands finished calls to the record writer."""


class Source(Protocol):
    """Something that feeds the model instead of live connections (a capture replay)."""

    async def run(self) -> None: ...


def _live_model(on_call: Callable[[CallData], None]) -> LiveModel:
    return LiveModel(on_call=on_call)


class AmiRuntime:
    def __init__(self, settings: AmiSettings, store: RecordStore, *,
                 model_factory: ModelFactory = _live_model) -> None:
        self.writer = RecordWriter(store, maxsize=settings.record_backlog)
        self.model = model_factory(self.writer.submit)
        self.client = AmiClient(settings, model=self.model)
        self.source: Source | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def replay(cls, capture: Path | str, store: RecordStore, *, speed: float = 1.0,
               server: str = "replay", settings: AmiSettings | None = None,
               model_factory: ModelFactory | None = None) -> AmiRuntime:
        """Fed by the capture, never by a PBX: the client gets no servers, whatever `settings` says."""
        offline = (settings or AmiSettings.model_validate({})).model_copy(update={"servers": []})
        runtime = cls(offline, store, model_factory=model_factory or (
            lambda on_call: LiveModel(clock=StreamClock(), on_call=on_call)))
        runtime.source = ReplaySource(capture, runtime.model, server=server, speed=speed)
        return runtime

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self.writer.run(), name="ami-record-writer"))
        if self.source is not None:
            self._tasks.append(asyncio.create_task(self.source.run(), name="ami-replay"))
        await self.client.start()

    async def stop(self) -> None:
        await self.client.stop()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self.writer.flush()
