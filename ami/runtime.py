"""Wiring for the composition root: model + record writer + client, started and stopped together.

    runtime = AmiRuntime(settings.ami, CallStore(sessions))
    await runtime.start()          # in the FastAPI lifespan
    runtime.client.snapshot(); runtime.client.subscribe(); await runtime.client.queue_pause(...)
    await runtime.stop()

For `--replay FILE --speed N`, use `AmiRuntime.replay(FILE, store, speed=N)`: the same model and
writer, fed by a `ReplaySource` instead of live connections (actions then fail with
`AmiNotConnected`).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from ami.client import AmiClient
from ami.clock import StreamClock
from ami.model import LiveModel
from ami.replay import ReplaySource
from ami.settings import AmiSettings
from ami.sink import RecordStore, RecordWriter


class AmiRuntime:
    def __init__(self, settings: AmiSettings, store: RecordStore, *,
                 model: LiveModel | None = None) -> None:
        self.writer = RecordWriter(store, maxsize=settings.record_backlog)
        self.model = model or LiveModel(on_call=self.writer.submit)
        self.client = AmiClient(settings, model=self.model)
        self.source: ReplaySource | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def replay(cls, capture: Path | str, store: RecordStore, *, speed: float = 1.0,
               server: str = "replay", settings: AmiSettings | None = None) -> AmiRuntime:
        runtime = cls(settings or AmiSettings.model_validate({}), store, model=None)
        runtime.model = LiveModel(clock=StreamClock(), on_call=runtime.writer.submit)
        runtime.client = AmiClient(AmiSettings.model_validate({}), model=runtime.model)
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
