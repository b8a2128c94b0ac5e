"""The Redis fan-out's protocol against the machine's Redis (6379): a leader's board replaying a
recorded load capture (100 calls, 11,647 events) is mirrored by one mirror from the start and one
that joins halfway; both end equal to the leader, every screen-pop event delivered once, in order.
A lost message is detected by its sequence number and repaired from the state key."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from agent_desk.live.board import LiveBoard
from agent_desk.live.fanout import Message, Mirror, MirrorBoard, Publisher, source_state
from ami.clock import StreamClock
from ami.events import AgentCall
from ami.model import LiveModel
from ami.replay import ReplaySource
from ticketing.models import utcnow

pytestmark = pytest.mark.anyio
SOURCE = "telephony:pbx1"


class Following:
    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self.board = MirrorBoard()
        self.calls: list[AgentCall] = []
        self.mirror = Mirror(redis, self.board, prefix=prefix, on_call=self._on_call)
        self.task = asyncio.create_task(self.mirror.run())

    async def _on_call(self, call: AgentCall) -> None:
        self.calls.append(call)

    async def close(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def _figures(board: LiveBoard) -> dict[str, Any]:
    snap = board.snapshot()
    return {"totals": snap.totals.model_dump(exclude={"longest_wait_seconds"}),
            "queues": [q.model_dump(exclude={"longest_wait_seconds", "callers"}) for q in snap.queues],
            "abandoned": [a.linkedid for a in snap.abandoned]}


async def _until(check: Any, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


async def test_an_early_and_a_late_mirror_end_equal_to_the_leader(redis: aioredis.Redis, fixtures_dir: Path) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    leader = LiveBoard(LiveModel(clock=StreamClock()), mode="live")
    published: list[AgentCall] = []
    leader.model.listen(lambda e: published.append(e) if isinstance(e, AgentCall) else None)
    publisher = Publisher(redis, leader, prefix=prefix, source=SOURCE, epoch=7, interval=0.01)
    early = Following(redis, prefix)
    late: Following | None = None
    try:
        await _until(lambda: early.board.redis_up, 5)
        publisher.start()
        replay = asyncio.create_task(ReplaySource(fixtures_dir / "ami" / "load.jsonl", leader.model, server="pbx1",
                                                  speed=20).run())
        await asyncio.sleep(1.0)  # about half the capture
        late = Following(redis, prefix)
        await replay
        assert published and leader.snapshot().totals.offered >= 100
        joined = late
        await _until(lambda: publisher.backlog() == 0, 10)
        await asyncio.sleep(0.2)  # the last batch is out (the next state comes with the heartbeat, in 2 s)
        await _until(lambda: early.mirror.stats.sources.get(SOURCE) == (7, publisher.seq)
                     and joined.mirror.stats.sources.get(SOURCE) == (7, publisher.seq), 10)
        for mirror in (early, late):
            assert _figures(mirror.board) == _figures(leader)  # no gap, nothing counted twice
            assert not mirror.board.stale
        assert early.calls == published  # every pop event once, in order
        assert late.calls == published[len(published) - len(late.calls):]  # the late one: from its join on
        assert early.mirror.stats.gaps == 0
        # The late one may find pop events between the state it read and its subscription: from before
        # it joined, so it never sees them; it re-reads the state and goes on (figures equal, above).
        assert late.mirror.stats.gaps <= 1
    finally:
        await publisher.stop()
        for following in (early, late):
            if following is not None:
                await following.close()
        await redis.delete(f"{prefix}:live:{SOURCE}:state")


async def test_a_lost_message_is_noticed_and_a_repeated_one_skipped(redis: aioredis.Redis) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    leader = LiveBoard(LiveModel(), mode="live")
    mirror = Following(redis, prefix)
    mirror.task.cancel()  # driven by hand here
    try:
        state = Message(source=SOURCE, epoch=3, seq=1, kind="state", at=utcnow(), state=source_state(leader))
        await mirror.mirror.receive(state)
        call = AgentCall("pbx1", "connected", "q", "PJSIP/1", "one", "1.1", "100", None)

        def event(seq: int) -> Message:
            return Message(source=SOURCE, epoch=3, seq=seq, kind="event", at=utcnow(), event=call.to_dict())

        await mirror.mirror.receive(event(2))
        await mirror.mirror.receive(event(2))  # the same again: skipped
        await mirror.mirror.receive(event(5))  # 3 and 4 never came: a gap
        assert (mirror.mirror.stats.old, mirror.mirror.stats.gaps) == (1, 1)
        assert mirror.calls == [call, call]
        assert mirror.board.position(SOURCE) == (3, 5)
        newer_term = Message(source=SOURCE, epoch=4, seq=1, kind="state", at=utcnow(), state=source_state(leader))
        await mirror.mirror.receive(newer_term)  # a new leader starts over at seq 1 of its epoch
        await mirror.mirror.receive(event(6))  # the old leader's late message: skipped
        assert mirror.board.position(SOURCE) == (4, 1) and mirror.mirror.stats.old == 2
    finally:
        await mirror.close()


async def test_an_api_process_merges_two_pbx_sets(redis: aioredis.Redis, fixtures_dir: Path) -> None:
    """Two telephony leaders (two city PBXs replaying different recorded calls) publish; one mirror
    shows the province: each queue's figures and the totals are the sum of both."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    leaders = {}
    for pbx, capture, city in (("nanjing", "call_answered", "320100"), ("suzhou", "call_abandoned", "320500")):
        board = LiveBoard(LiveModel(clock=StreamClock()), mode="live", cities={pbx: city})
        ReplaySource(fixtures_dir / "ami" / f"{capture}.jsonl", board.model, server=pbx).feed_all()
        leaders[pbx] = board
    following = Following(redis, prefix)
    publishers = [Publisher(redis, board, prefix=prefix, source=f"telephony:{pbx}", epoch=1)
                  for pbx, board in leaders.items()]
    try:
        await _until(lambda: following.board.redis_up, 5)
        for publisher in publishers:
            publisher.start()
        await _until(lambda: len(following.mirror.stats.sources) == 2, 10)
        merged = following.board.snapshot().totals
        parts = [board.snapshot().totals for board in leaders.values()]
        assert merged.answered == sum(p.answered for p in parts) >= 1
        assert merged.abandoned == sum(p.abandoned for p in parts) >= 1
        assert merged.offered == sum(p.offered for p in parts)
        servers = {view.server for view in following.board.queue_views()}
        assert servers == {"nanjing", "suzhou"}
        # … and each PBX's own figures and city, as its leader shows them (the API process need not
        # have the PBXs configured)
        mirrored = {p.name: p.model_dump() for p in following.board.snapshot().pbx}
        assert mirrored == {pbx: board.snapshot().pbx[0].model_dump() for pbx, board in leaders.items()}
        assert following.board.cities == {"nanjing": "320100", "suzhou": "320500"}
    finally:
        for publisher in publishers:
            await publisher.stop()
        await following.close()
        await redis.delete(*(f"{prefix}:live:telephony:{pbx}:state" for pbx in leaders))


async def test_a_mirror_says_what_its_leader_says_replay_or_live(redis: aioredis.Redis, fixtures_dir: Path) -> None:
    """A leader replaying a capture publishes that it replays (and which capture): the API process's
    board and wallboard say REPLAY, as the leader's own board does, not LIVE."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    leader = LiveBoard(LiveModel(clock=StreamClock()), mode="replay", source="agent_ops.jsonl")
    ReplaySource(fixtures_dir / "ami" / "agent_ops.jsonl", leader.model, server="replay").feed_all()
    following = Following(redis, prefix)
    publisher = Publisher(redis, leader, prefix=prefix, source="telephony:replay", epoch=1)
    try:
        assert following.board.snapshot().mode == "live"  # nothing published yet
        await _until(lambda: following.board.redis_up, 5)
        publisher.start()
        await _until(lambda: following.mirror.stats.states >= 1, 10)
        mirrored, own = following.board.snapshot(), leader.snapshot()
        assert (mirrored.mode, mirrored.source) == (own.mode, own.source) == ("replay", "agent_ops.jsonl")
        assert not mirrored.stale
        live = LiveBoard(LiveModel(), mode="live")  # the same source's next leader is connected to its PBX
        await following.mirror.receive(Message(source="telephony:replay", epoch=2, seq=1, kind="state", at=utcnow(),
                                               state=source_state(live)))
        assert (following.board.snapshot().mode, following.board.snapshot().source) == ("live", None)
    finally:
        await publisher.stop()
        await following.close()
        await redis.delete(f"{prefix}:live:telephony:replay:state")
