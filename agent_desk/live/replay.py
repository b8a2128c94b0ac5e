"""Replay a recorded AMI capture into the desk, at real or scaled speed, as if a PBX were there.

The bytes go through the AMI adapter's own parser and live model (`ami.replay.ReplaySource`), so a
replayed capture moves the wallboard, the screen pops and the call records exactly as the same
bytes from a PBX would. This module adds what a demo needs on top: looping, and the small real
capture bundled with the package.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from importlib.resources import as_file, files
from pathlib import Path

from ami.model import LiveModel
from ami.replay import ReplaySource, read_chunks

BUNDLED_CAPTURE = "agent_ops.jsonl"
# Played after the bundled capture in each round, so the demo agent (Local/agent1@agents) gets a call.
DEMO_CALL_CAPTURE = "call_answered.jsonl"
DEMO_CALL_LINKEDID = "1795868623.2"


def bundled_capture() -> Path:
    """The small real capture shipped with the package (agent_ops from the recorded fixtures)."""
    resource = files("agent_desk.data").joinpath(BUNDLED_CAPTURE)
    with as_file(resource) as path:
        return Path(path)


def demo_captures(first: Path) -> list[Path]:
    """What a replay of `first` plays each round: the bundled capture is followed by the recorded
    call that agent1 answers (`call_answered`), so the demo has a screen pop; any other file alone."""
    if first != bundled_capture():
        return [first]
    with as_file(files("agent_desk.data").joinpath(DEMO_CALL_CAPTURE)) as path:
        return [first, Path(path)]


class LoopingReplay:
    """Feeds captures into `model` under the server name `server`, one after another, looping if
    asked, until cancelled."""

    def __init__(self, path: Path | Sequence[Path], model: LiveModel, *, server: str = "replay",
                 speed: float = 1.0, loop: bool = True, pause_between_loops: float = 3.0) -> None:
        self.paths = [path] if isinstance(path, Path) else list(path)
        for one in self.paths:
            if next(read_chunks(one), None) is None:
                raise ValueError(f"{one}: no AMI data found")
        self.path = self.paths[0]
        self.model = model
        self.server = server
        self.speed = speed
        self.loop = loop
        self.pause = pause_between_loops
        self.chunks_fed = 0
        self.rounds = 0

    async def run(self) -> None:
        while True:
            for path in self.paths:
                source = ReplaySource(path, self.model, server=self.server, speed=self.speed)
                await source.run()
                self.chunks_fed += source.chunks_fed
            self.rounds += 1
            if not self.loop:
                return
            await asyncio.sleep(self.pause)
