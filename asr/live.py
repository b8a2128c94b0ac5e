"""Live audio (e.g. 20 ms RTP frames for captions) from async code, off the event loop.

Each `LiveStream` owns one recognizer and one thread: Vosk recognizers must never be used from
two threads, and the model they share is thread-safe. Open one per live call.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Self

from asr.recognizer import Recognizer, StreamEvent, StreamingSession, Transcript


class LiveStream:
    def __init__(self, model: Any, sample_rate: int, *, pause_s: float | None = 0.8,
                 silence_dbfs: float = -45.0) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asr-live")
        self._model = model
        self._rate = sample_rate
        self._pause_s = pause_s
        self._silence_dbfs = silence_dbfs
        self._session: StreamingSession | None = None

    async def open(self) -> Self:
        def start() -> StreamingSession:
            recognizer = Recognizer(self._model, self._rate, pause_s=self._pause_s,
                                    silence_dbfs=self._silence_dbfs)
            return recognizer.stream()

        self._session = await self._run(start)
        return self

    async def feed(self, chunk: bytes) -> StreamEvent:
        """16-bit mono PCM at the stream's rate; returns the partial text or a finished segment."""
        session = self._require()
        return await self._run(session.feed, chunk)

    async def finish(self) -> Transcript:
        session = self._require()
        try:
            return await self._run(session.finish)
        finally:
            self._session = None
            self._executor.shutdown(wait=False)

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await self._run(session.close)
        self._executor.shutdown(wait=False)

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    def _require(self) -> StreamingSession:
        if self._session is None:
            raise RuntimeError("the live stream is not open")
        return self._session

    async def _run(self, func: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)
