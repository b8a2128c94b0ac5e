"""Replay a recorded AMI capture into the live model, at real or scaled speed, as if a PBX were there.

A capture is one of the shared fixture formats: `<name>.jsonl` (every socket read with its
monotonic time `t`; only `asterisk->client` reads of the main connection are used) or a bare
`<name>.recv` (the raw bytes; without timing, frames are spaced `RECV_GAP` seconds apart).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path

RECV_GAP = 0.05
BUNDLED_CAPTURE = "agent_ops.jsonl"


@dataclass(frozen=True)
class TimedFrame:
    t: float  # seconds since the start of the capture
    message: dict[str, str]


def parse_frame(text: str) -> dict[str, str]:
    message: dict[str, str] = {}
    for line in text.split("\r\n"):
        key, sep, value = line.partition(":")
        if sep:
            message.setdefault(key.strip(), value.strip())
    return message


def _frames(chunks: Iterator[tuple[float, str]]) -> Iterator[TimedFrame]:
    buffer = ""
    banner_seen = False
    for t, data in chunks:
        buffer += data
        if not banner_seen and "\r\n" in buffer:
            first, rest = buffer.split("\r\n", 1)
            if first.startswith("Asterisk Call Manager"):
                buffer = rest
            banner_seen = True
        *complete, buffer = buffer.split("\r\n\r\n")
        for frame in complete:
            if frame.strip():
                yield TimedFrame(t, parse_frame(frame))


def read_capture(path: Path) -> list[TimedFrame]:
    if path.suffix == ".jsonl":
        def chunks() -> Iterator[tuple[float, str]]:
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    row = json.loads(line)
                    if row.get("dir") == "asterisk->client" and row.get("conn", "main") == "main":
                        yield float(row["t"]), row["data"]
        return list(_frames(chunks()))
    text = path.read_bytes().decode("utf-8", errors="replace")
    frames = list(_frames(iter([(0.0, text)])))
    return [TimedFrame(i * RECV_GAP, f.message) for i, f in enumerate(frames)]


def bundled_capture() -> Path:
    """The small real capture shipped with the package (agent_ops from the recorded fixtures)."""
    resource = files("agent_desk.data").joinpath(BUNDLED_CAPTURE)
    with as_file(resource) as path:
        return Path(path)


async def replay_events(frames: list[TimedFrame], *, speed: float = 1.0,
                        sleep: Callable[[float], object] = asyncio.sleep) -> AsyncIterator[dict[str, str]]:
    """Yield the capture's events (not responses) at their recorded pace divided by `speed`."""
    start = frames[0].t if frames else 0.0
    elapsed = 0.0
    for frame in frames:
        due = (frame.t - start) / speed
        if due > elapsed:
            await sleep(due - elapsed)  # type: ignore[misc]
            elapsed = due
        if "Event" in frame.message:
            yield frame.message


class Replayer:
    """Feeds a capture into `sink` (e.g. `LiveBoard.apply`), looping if asked, until cancelled."""

    def __init__(self, path: Path, sink: Callable[[Mapping[str, str]], object], *, speed: float = 1.0,
                 loop: bool = True, on_restart: Callable[[], object] | None = None,
                 pause_between_loops: float = 3.0) -> None:
        self.path = path
        self._frames = read_capture(path)
        if not self._frames:
            raise ValueError(f"{path}: no AMI frames found")
        self._sink = sink
        self._speed = speed
        self._loop = loop
        self._on_restart = on_restart
        self._pause = pause_between_loops
        self.events_fed = 0
        self.rounds = 0

    async def run(self) -> None:
        while True:
            if self.rounds and self._on_restart is not None:
                self._on_restart()
            async for event in replay_events(self._frames, speed=self._speed):
                self._sink(event)
                self.events_fed += 1
            self.rounds += 1
            if not self._loop:
                return
            await asyncio.sleep(self._pause)
