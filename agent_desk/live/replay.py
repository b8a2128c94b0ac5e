"""Replay a recorded AMI capture into the desk, at real or scaled speed, as if a PBX were there.

The bytes go through the AMI adapter's own parser and live model (`ami.replay.ReplaySource`), so a
replayed capture moves the wallboard, the screen pops and the call records exactly as the same
bytes from a PBX would. This module adds what a demo needs on top: looping, and the small real
capture bundled with the package.
"""

from __future__ import annotations

import asyncio
from importlib.resources import as_file, files
from pathlib import Path

from ami.model import LiveModel
from ami.parser import AmiParser, Message
from ami.replay import ReplaySource, read_chunks

BUNDLED_CAPTURE = "agent_ops.jsonl"


def bundled_capture() -> Path:
    """The small real capture shipped with the package (agent_ops from the recorded fixtures)."""
    resource = files("agent_desk.data").joinpath(BUNDLED_CAPTURE)
    with as_file(resource) as path:
        return Path(path)


def capture_messages(path: Path) -> list[Message]:
    """Every message (events and responses) of a capture, parsed by the AMI adapter's parser."""
    parser = AmiParser()
    return [message for chunk in read_chunks(path) for message in parser.feed(chunk.data)]


class LoopingReplay:
    """Feeds a capture into `model` under the server name `server`, looping if asked, until cancelled."""

    def __init__(self, path: Path, model: LiveModel, *, server: str = "replay", speed: float = 1.0,
                 loop: bool = True, pause_between_loops: float = 3.0) -> None:
        if next(read_chunks(path), None) is None:
            raise ValueError(f"{path}: no AMI data found")
        self.path = path
        self.model = model
        self.server = server
        self.speed = speed
        self.loop = loop
        self.pause = pause_between_loops
        self.chunks_fed = 0
        self.rounds = 0

    async def run(self) -> None:
        while True:
            source = ReplaySource(self.path, self.model, server=self.server, speed=self.speed)
            await source.run()
            self.chunks_fed += source.chunks_fed
            self.rounds += 1
            if not self.loop:
                return
            await asyncio.sleep(self.pause)
