"""Live events across processes: the telephony leader publishes, every API process mirrors.

Over Redis pub/sub (redis-py asyncio). Each telephony singleton (a PBX set, `source`) numbers what
it publishes, per term: `(epoch, seq)`, seq 1, 2, 3 … within the leader's epoch
(`ticketing.leadership`). Two kinds of message go on the channel `{prefix}:live:{source}`:

- `state`: the whole live picture of that source — its queues (callers, members), the KPI tallies
  per PBX, the abandoned calls, and what its board says of itself (live or replaying a capture) —
  after a burst of changes (at most every `interval`) and at least every
  `heartbeat`; the latest is also kept under the key `{prefix}:live:{source}:state`;
- `event`: one `AgentCall` (a call ringing at, connected with or finished with an agent), at once,
  for the screen pops.

A mirror (`Mirror`, in an API process) subscribes first, then reads every source's state key, and
from then on takes only messages past the position it holds: a state replaces the source's picture
whole (never added to it, so nothing is counted twice); an event just past its position is delivered;
an event further on means messages were lost, so the mirror re-reads the state key. After Redis
comes back, the mirror subscribes and reads the states again. While Redis is away, or a source has
published nothing for `stale_after` (its leader died; its standby has not taken over yet), the
board says `stale`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import redis.asyncio as aioredis
from pydantic import BaseModel, TypeAdapter
from redis.exceptions import RedisError

from agent_desk.live.board import AbandonedCall, LiveBoard, Mode, Tallies
from ami.events import AgentCall, ChangeEvent, Resynced
from ami.state import QueueView
from ticketing.models import utcnow

log = logging.getLogger(__name__)
QUEUES = TypeAdapter(list[QueueView])
Position = tuple[int, int]  # (epoch, seq)


class SourceState(BaseModel):
    """One telephony source's live picture, as published."""

    mode: Mode  # what the leader's own board says: a PBX (live) or a recorded capture (replay)
    source: str | None  # the capture replayed
    stale: bool
    queues: list[dict[str, Any]]  # ami.state.QueueView, as JSON
    calls: Tallies  # KPI tallies per PBX per call, by the queue it ended in
    legs: Tallies  # KPI tallies per PBX per queue leg
    abandoned: list[AbandonedCall]
    last_event_at: datetime | None
    channels: dict[str, str] = {}  # linkedid → the caller's live channel (transfers, hang-ups)
    cities: dict[str, str] = {}  # PBX → the city it serves (`ami.servers[].city_code` of the leader)


class Message(BaseModel):
    source: str
    epoch: int
    seq: int
    kind: Literal["state", "event"]
    at: datetime
    state: SourceState | None = None
    event: dict[str, Any] | None = None  # an AgentCall's fields

    @property
    def position(self) -> Position:
        return (self.epoch, self.seq)


def source_state(board: LiveBoard) -> SourceState:
    """A telephony board's picture, as published."""
    calls, legs, abandoned = board.export()
    return SourceState(mode=board.mode, source=board.source, stale=board.stale,
                       queues=QUEUES.dump_python(list(board.queue_views()), mode="json"),
                       calls=calls, legs=legs, abandoned=abandoned, last_event_at=board.last_event_at,
                       channels=board.model.caller_channels(), cities=board.cities)


def channel(prefix: str, source: str) -> str:
    return f"{prefix}:live:{source}"


def state_key(prefix: str, source: str) -> str:
    return f"{prefix}:live:{source}:state"


class Publisher:
    """In the telephony leader: publishes its board's changes for one term."""

    def __init__(self, redis: aioredis.Redis, board: LiveBoard, *, prefix: str, source: str, epoch: int,
                 interval: float = 0.1, heartbeat: float = 2.0) -> None:
        self._redis = redis
        self.board = board
        self._prefix = prefix
        self.source = source
        self.epoch = epoch
        self.seq = 0
        self._interval = interval
        self._heartbeat = heartbeat
        self._pending: asyncio.Queue[AgentCall | None] = asyncio.Queue()  # None: "something changed"
        self._dirty = False
        self._task: asyncio.Task[None] | None = None
        self._unlisten: Callable[[], None] | None = None
        self.published = 0
        self.failures = 0
        self.healthy = True  # the last message reached Redis

    def start(self) -> None:
        self._unlisten = self.board.model.listen(self._on_change)
        self._task = asyncio.create_task(self._run(), name=f"publish {self.source}")

    async def stop(self) -> None:
        if self._unlisten is not None:
            self._unlisten()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def backlog(self) -> int:
        """Changes waiting to be published."""
        return self._pending.qsize()

    def _on_change(self, event: ChangeEvent) -> None:
        if isinstance(event, AgentCall):
            self._pending.put_nowait(event)
        elif not self._dirty:  # one "something changed" per burst is enough
            self._dirty = True
            self._pending.put_nowait(None)

    async def _run(self) -> None:
        batch: list[AgentCall | None] = []  # the term opens with its state: mirrors start from it
        while True:
            try:
                for call in batch:
                    if call is not None:
                        await self._send(self._message("event", event=call.to_dict()))
                await self._send(self._message("state", state=source_state(self.board)), keep=True)
                self.healthy = True
            except (RedisError, OSError) as exc:
                self.healthy = False
                self.failures += 1
                log.warning("publishing live events to Redis failed (%s); retrying", exc)
                await asyncio.sleep(1.0)
            await asyncio.sleep(self._interval)  # coalesce the next burst
            try:
                batch = [await asyncio.wait_for(self._pending.get(), self._heartbeat)]
            except TimeoutError:
                batch = []
            while not self._pending.empty():
                batch.append(self._pending.get_nowait())
            self._dirty = False

    def _message(self, kind: Literal["state", "event"], **body: Any) -> Message:
        self.seq += 1
        return Message(source=self.source, epoch=self.epoch, seq=self.seq, kind=kind, at=utcnow(), **body)

    async def _send(self, message: Message, *, keep: bool = False) -> None:
        data = message.model_dump_json()
        async with self._redis.pipeline(transaction=True) as pipe:
            if keep:
                pipe.set(state_key(self._prefix, self.source), data, ex=60)
            pipe.publish(channel(self._prefix, self.source), data)
            await pipe.execute()
        self.published += 1


@dataclass
class _Source:
    position: Position
    at: datetime
    state: SourceState
    queues: list[QueueView]


@dataclass
class MirrorStats:
    gaps: int = 0  # times a lost message made the mirror re-read a state
    old: int = 0  # messages at or before the position held (already reflected), skipped
    reconnects: int = 0
    events: int = 0
    states: int = 0
    sources: dict[str, Position] = field(default_factory=dict)


class MirrorBoard(LiveBoard):
    """The live board of an API process: the telephony leaders' published pictures, merged."""

    def __init__(self, *, stale_after: float = 5.0, **kwargs: Any) -> None:
        super().__init__(mode="live", **kwargs)
        self._configured = dict(self.cities)
        self._sources: dict[str, _Source] = {}
        self._stale_after = timedelta(seconds=stale_after)
        self.redis_up = False

    def _on_event(self, event: ChangeEvent) -> None:
        """Counts come from the published tallies, never from events."""

    @property
    def stale(self) -> bool:
        now = utcnow()
        return not self.redis_up or any(now - s.at > self._stale_after or s.state.stale
                                        for s in self._sources.values())

    def position(self, source: str) -> Position | None:
        held = self._sources.get(source)
        return held.position if held is not None else None

    def queue_views(self) -> Iterable[QueueView]:
        for held in self._sources.values():
            yield from held.queues

    def channel_of(self, linkedid: str) -> str | None:
        return next((s.state.channels[linkedid] for s in self._sources.values() if linkedid in s.state.channels),
                    None)

    def source_of_interface(self, interface: str | None) -> str | None:
        """The PBX set whose queues have this member (or the only one, or none)."""
        for name, held in self._sources.items():
            if any(m.interface == interface for queue in held.queues for m in queue.members):
                return name
        return self._only_source()

    def source_of_channel(self, channel: str) -> str | None:
        for name, held in self._sources.items():
            if channel in held.state.channels.values():
                return name
        return self._only_source()

    def _only_source(self) -> str | None:
        return next(iter(self._sources)) if len(self._sources) == 1 else None

    def take(self, message: Message) -> None:
        """Replace a source's picture with a published state."""
        assert message.state is not None
        state = message.state
        queues = QUEUES.validate_python(state.queues)
        self._sources[message.source] = _Source(message.position, message.at, state, queues)
        self._merge()
        # wakes the wallboard streams
        self.model.publish(Resynced(message.source, len(state.queues), 0, 0))

    def advance(self, message: Message) -> None:
        held = self._sources.get(message.source)
        if held is not None:
            held.position, held.at = message.position, message.at

    def _merge(self) -> None:
        """Each source's PBXs are its own (a PBX set): their tallies and cities sit side by side. A
        leader replaying a capture makes the board say so, as the leader's own board does."""
        states = [held.state for held in self._sources.values()]
        last = max((s.last_event_at for s in states if s.last_event_at), default=None)
        self.replace({pbx: queues for s in states for pbx, queues in s.calls.items()},
                     {pbx: queues for s in states for pbx, queues in s.legs.items()},
                     [a for s in states for a in s.abandoned], last)
        self.cities = {**self._configured, **{pbx: city for s in states for pbx, city in s.cities.items()}}
        replaying = next((s for s in states if s.mode == "replay"), None)
        self.mode = "replay" if replaying else "live"
        self.source = replaying.source if replaying else None


class Mirror:
    """In an API process: keeps a `MirrorBoard` equal to what the telephony leaders publish, and hands
    each `AgentCall` to `on_call` (the screen pops)."""

    def __init__(self, redis: aioredis.Redis, board: MirrorBoard, *, prefix: str,
                 on_call: Callable[[AgentCall], Awaitable[None]], retry: float = 1.0) -> None:
        self._redis = redis
        self.board = board
        self._prefix = prefix
        self._on_call = on_call
        self._retry = retry
        self.stats = MirrorStats()

    async def run(self) -> None:
        while True:
            try:
                await self._follow()
            except (RedisError, OSError) as exc:
                if self.board.redis_up:
                    log.warning("the live feed from Redis is down (%s); the board is stale until it is back", exc)
                self.board.redis_up = False
                self.board.model.publish(Resynced("redis", 0, 0, 0))  # the streams say "stale" now
                self.stats.reconnects += 1
                await asyncio.sleep(self._retry)

    async def _follow(self) -> None:
        pubsub = self._redis.pubsub()
        try:
            await pubsub.psubscribe(channel(self._prefix, "*"))
            async with asyncio.timeout(10):  # subscribed for sure before the states are read
                while (await pubsub.get_message(timeout=1.0) or {}).get("type") != "psubscribe":
                    pass
            async for key in self._redis.scan_iter(match=state_key(self._prefix, "*")):
                await self._read_state(key)
            self.board.redis_up = True
            log.info("following the live feed on Redis")
            self.board.model.publish(Resynced("redis", 0, 0, 0))
            while True:
                raw = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if raw is None or raw.get("type") != "pmessage":
                    continue
                await self.receive(Message.model_validate_json(raw["data"]))
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()

    async def _read_state(self, key: str | bytes) -> None:
        data = await self._redis.get(key)
        if data is None:
            return
        message = Message.model_validate_json(data)
        held = self.board.position(message.source)
        if held is None or message.position > held:
            self._take(message)

    def _take(self, message: Message) -> None:
        self.board.take(message)
        self.stats.states += 1
        self.stats.sources[message.source] = message.position

    async def receive(self, message: Message) -> None:
        held = self.board.position(message.source)
        if held is not None and message.position <= held:
            self.stats.old += 1
            return
        if message.kind == "state":
            self._take(message)
            return
        if held is None or held != (message.epoch, message.seq - 1):  # lost something: read the state
            self.stats.gaps += 1
            await self._read_state(state_key(self._prefix, message.source))
            held = self.board.position(message.source)
            if held is not None and message.position <= held:
                self.stats.old += 1
                return
        self.board.advance(message)
        self.stats.sources[message.source] = message.position
        self.stats.events += 1
        assert message.event is not None
        fields = {k: v for k, v in message.event.items() if k != "type"}
        await self._on_call(AgentCall(**fields))
