"""PBX actions relayed from an API process to the telephony leader over the machine's Redis (6379):
done, refused by Asterisk (409 on the API), or nobody leading (503)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis
from structlog.contextvars import bound_contextvars

from agent_desk.live.board import LiveBoard
from agent_desk.live.fanout import Message, MirrorBoard, source_state
from agent_desk.live.relay import ActionServer, RelayTelephony
from agent_desk.telephony import TelephonyError, TelephonyUnavailable
from ami.model import LiveModel
from tests.json_logs import json_lines
from ticketing.models import utcnow

pytestmark = pytest.mark.anyio
SOURCE = "telephony:pbx1"


class Pbx:
    """The leader's side of the desk's Telephony, as the AMI client answers: it records what it is
    asked and refuses a pause for an interface that is not a member (as Asterisk does)."""

    def __init__(self) -> None:
        self.done: list[tuple[str, str, bool, str | None]] = []

    async def queue_pause(self, interface: str, paused: bool, reason: str | None = None,
                          queue: str | None = None) -> None:
        if interface != "PJSIP/1001":
            raise TelephonyError("Interface not found")
        self.done.append(("queue_pause", interface, paused, reason))


def _mirror_of_one_source() -> MirrorBoard:
    board = MirrorBoard()
    board.take(Message(source=SOURCE, epoch=1, seq=1, kind="state", at=utcnow(),
                       state=source_state(LiveBoard(LiveModel(), mode="live"))))
    return board


async def test_an_action_is_carried_out_by_the_leader_or_refused_in_its_words(redis: aioredis.Redis) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    pbx = Pbx()
    server = ActionServer(redis, pbx, prefix=prefix, source=SOURCE)  # type: ignore[arg-type]
    relay = RelayTelephony(redis, _mirror_of_one_source(), prefix=prefix, timeout=3)
    with pytest.raises(TelephonyUnavailable, match="no telephony leader"):  # nobody leads yet
        await relay.queue_pause("PJSIP/1001", True, "lunch-break")
    server.start()
    try:
        await asyncio.sleep(0.3)  # subscribed
        await relay.queue_pause("PJSIP/1001", True, "lunch-break")
        assert pbx.done == [("queue_pause", "PJSIP/1001", True, "lunch-break")]
        with pytest.raises(TelephonyError, match="Interface not found") as refused:
            await relay.queue_pause("PJSIP/9999", True, "lunch-break")
        assert not isinstance(refused.value, TelephonyUnavailable)
    finally:
        await server.stop()


async def test_without_any_published_source_actions_are_unavailable(redis: aioredis.Redis) -> None:
    relay = RelayTelephony(redis, MirrorBoard(), prefix="unused", timeout=1)
    with pytest.raises(TelephonyUnavailable, match="no telephony leader is publishing"):
        await relay.hangup("PJSIP/1001-00000001")
    assert relay.channel_of("1795868623.2") is None


async def test_the_leaders_line_about_a_refused_action_carries_the_api_requests_id(redis: aioredis.Redis) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    server = ActionServer(redis, Pbx(), prefix=prefix, source=SOURCE)  # type: ignore[arg-type]
    relay = RelayTelephony(redis, _mirror_of_one_source(), prefix=prefix, timeout=3)
    server.start()  # its task began before the request id was bound: the id travels in the message
    try:
        await asyncio.sleep(0.3)  # subscribed
        with json_lines("agent_desk.live.relay") as lines, bound_contextvars(request_id="desk-req-1"), \
                pytest.raises(TelephonyError):
            await relay.queue_pause("PJSIP/9999", True, "lunch-break")
    finally:
        await server.stop()
    [line] = lines
    assert line["event"] == "PBX action queue_pause refused: Interface not found"
    assert line["request_id"] == "desk-req-1"
