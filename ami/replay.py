"""Replay a recorded AMI capture through the same parser and model as live traffic.

A capture is either the raw bytes Asterisk sent (`<name>.recv`) or the fixture journal
(`<name>.jsonl`: every socket read, with its monotonic `t` and `wall` time; the `asterisk->client`
reads of the named connections are fed, `main` by default, each through its own parser, in the
order they were read: `("main", "after")` replays a reconnect as the product would have seen it).
With a journal the model's clock is the recorded wall time and `speed` scales the recorded pace
(1 = real time, 10 = ten times faster, 0 = as fast as possible). A raw `.recv` has no timing: its
clock follows the epochs inside the stream (see `StreamClock`) and it is fed as fast as possible,
in chunks of `chunk_size` bytes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ami.calldata import CallData
from ami.clock import StreamClock
from ami.model import LiveModel
from ami.parser import AmiParser, Message

MAIN = "main"


@dataclass(frozen=True, slots=True)
class Chunk:
    t: float | None
    wall: float | None
    data: bytes
    conn: str = MAIN


def read_chunks(path: Path, *, chunk_size: int = 65536,
                connections: Sequence[str] = (MAIN,)) -> Iterator[Chunk]:
    """The capture's Asterisk->client reads, as recorded (journal) or in fixed-size chunks (raw)."""
    if path.suffix == ".jsonl":
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                if row.get("dir") == "asterisk->client" and row.get("conn", MAIN) in connections:
                    yield Chunk(row["t"], row["wall"], row["data"].encode("utf-8", "surrogateescape"),
                                row.get("conn", MAIN))
        return
    data = path.read_bytes()
    for start in range(0, len(data), chunk_size):
        yield Chunk(None, None, data[start:start + chunk_size])


class ReplaySource:
    """Feeds one capture into `model` under the server name `server`.

    `run()` honours the recorded pace (journal only) divided by `speed`; `feed_all()` feeds
    everything at once, synchronously. `on_message` sees every parsed message (responses too).
    """

    def __init__(self, path: Path | str, model: LiveModel, *, server: str = "replay",
                 speed: float = 0.0, chunk_size: int = 65536, connections: Sequence[str] = (MAIN,),
                 on_message: Callable[[Message], None] | None = None,
                 sleep: Callable[[float], object] = asyncio.sleep) -> None:
        self.path = Path(path)
        self.model = model
        self.server = server
        self.speed = speed
        self.chunk_size = chunk_size
        self.connections = tuple(connections)
        self.parsers = {conn: AmiParser(wants=model.wants) for conn in self.connections}
        self._on_message = on_message
        self._sleep = sleep
        self.chunks_fed = 0

    @property
    def parser(self) -> AmiParser:
        """The first connection's parser (its statistics)."""
        return self.parsers[self.connections[0]]

    def _chunks(self) -> Iterator[Chunk]:
        return read_chunks(self.path, chunk_size=self.chunk_size, connections=self.connections)

    def _feed(self, chunk: Chunk) -> None:
        clock = self.model.clock
        if chunk.wall is not None and isinstance(clock, StreamClock):
            clock.observe(chunk.wall)
        apply, server, hook = self.model.apply, self.server, self._on_message
        for message in self.parsers.get(chunk.conn, self.parser).feed(chunk.data):
            if hook is not None:
                hook(message)
            apply(server, message)
        self.chunks_fed += 1

    def feed_all(self) -> None:
        for chunk in self._chunks():
            self._feed(chunk)

    async def run(self) -> None:
        first: float | None = None
        started = asyncio.get_running_loop().time()
        for chunk in self._chunks():
            if self.speed > 0 and chunk.t is not None:
                if first is None:
                    first = chunk.t
                due = started + (chunk.t - first) / self.speed
                delay = due - asyncio.get_running_loop().time()
                if delay > 0:
                    await self._sleep(delay)  # type: ignore[misc]
            else:
                await asyncio.sleep(0)
            self._feed(chunk)


def replay_file(path: Path | str, *, server: str = "replay", chunk_size: int = 65536,
                connections: Sequence[str] = (MAIN,)) -> tuple[LiveModel, list[CallData]]:
    """Replay a capture synchronously; returns the model and every finished call, in the order
    they finished."""
    finished: dict[tuple[str, str], CallData] = {}

    def keep(call: CallData) -> None:
        if call.final:
            finished.setdefault(call.key, call)

    model = LiveModel(clock=StreamClock(), on_call=keep)
    ReplaySource(path, model, server=server, chunk_size=chunk_size, connections=connections).feed_all()
    return model, list(finished.values())
