"""A fake recognition engine, for the job and pipeline logic only (the issue allows it there)."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from collections.abc import Callable

from asr.audio import AudioInfo, AudioVerdict
from asr.engine import Recognition
from asr.recognizer import Segment, Transcript, Word

SPEECH = AudioVerdict(True, None, 3.0, -1.0, -20.0)


def recognition(text: str, *, verdict: AudioVerdict = SPEECH) -> Recognition:
    words = tuple(Word(w, i * 0.5, i * 0.5 + 0.4, 0.9) for i, w in enumerate(text.split()))
    transcript = Transcript((Segment(text, words),), 4.0) if verdict.speech else None
    return Recognition(AudioInfo("wav", "pcm_s16le", 8000, 1, 4.0), verdict, transcript, 0.01,
                       0.1, os.getpid(), 0.0)


class FakeEngine:
    """Answers from a script: path → text, or an exception to raise. Counts every call."""

    def __init__(self, script: Callable[[str, int], Recognition], *, capacity: int = 1,
                 delay: float = 0.0) -> None:
        self.script = script
        self.delay = delay
        self.calls: Counter[str] = Counter()
        self.running = 0
        self.max_running = 0
        self._capacity = capacity
        self.started = False

    @property
    def capacity(self) -> int:
        return self._capacity

    async def start(self) -> None:
        self.started = True

    async def recognise(self, audio_path: str) -> Recognition:
        self.calls[audio_path] += 1
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            await asyncio.sleep(self.delay)
            return self.script(audio_path, self.calls[audio_path])
        finally:
            self.running -= 1

    async def close(self) -> None:
        self.started = False
