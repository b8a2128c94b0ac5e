"""PBX actions from an API process, carried out by the telephony leader, over Redis.

Split over processes, an `api` process holds no AMI connection. Its `RelayTelephony` (the desk's
`Telephony`) publishes each action on `{prefix}:act:{source}` with a reply channel of its own, and
waits up to `timeout` for the answer. The leader's `ActionServer`, subscribed while it leads,
calls its own `Telephony` (the AMI client) and answers `ok`, `refused` (Asterisk said no: 409 on
the API) or `unavailable` (503). No leader listening (PUBLISH reached nobody) or no answer in time
is `unavailable`. The source is the PBX set whose published board has the agent's interface (queue
actions) or the call (transfer, hang-up); with one source, that one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any, Literal

import redis.asyncio as aioredis
from pydantic import BaseModel
from redis.exceptions import RedisError
from structlog.contextvars import bound_contextvars, get_contextvars

from agent_desk.live.fanout import MirrorBoard
from agent_desk.telephony import Telephony, TelephonyError, TelephonyUnavailable

log = logging.getLogger(__name__)
Method = Literal["queue_add", "queue_remove", "queue_pause", "redirect", "hangup", "originate"]


class ActionRequest(BaseModel):
    id: str
    reply_to: str
    method: Method
    args: dict[str, Any]
    request_id: str = ""  # the API request's (agent_desk.request_ids): the leader's lines carry it too


class ActionReply(BaseModel):
    id: str
    result: Literal["ok", "refused", "unavailable"]
    message: str = ""


def action_channel(prefix: str, source: str) -> str:
    return f"{prefix}:act:{source}"


class ActionServer:
    """In the telephony leader: carries out the API processes' actions on `telephony`."""

    def __init__(self, redis: aioredis.Redis, telephony: Telephony, *, prefix: str, source: str) -> None:
        self._redis = redis
        self._telephony = telephony
        self._channel = action_channel(prefix, source)
        self._task: asyncio.Task[None] | None = None
        self.served = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"actions {self._channel}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                while True:
                    raw = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if raw is not None and raw.get("type") == "message":
                        request = ActionRequest.model_validate_json(raw["data"])
                        reply = await self.carry_out(request)
                        await self._redis.publish(request.reply_to, reply.model_dump_json())
            except (RedisError, OSError) as exc:
                log.warning("taking PBX actions from Redis failed (%s); retrying", exc)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()

    async def carry_out(self, request: ActionRequest) -> ActionReply:
        self.served += 1
        with bound_contextvars(**({"request_id": request.request_id} if request.request_id else {})):
            reply = await self._reply(request)
            if reply.result != "ok":
                log.info("PBX action %s %s: %s", request.method, reply.result, reply.message)
        return reply

    async def _reply(self, request: ActionRequest) -> ActionReply:
        try:
            await getattr(self._telephony, request.method)(**request.args)
        except TelephonyUnavailable as exc:
            return ActionReply(id=request.id, result="unavailable", message=str(exc))
        except TelephonyError as exc:
            return ActionReply(id=request.id, result="refused", message=str(exc))
        except TypeError as exc:  # a request from another version
            return ActionReply(id=request.id, result="refused", message=f"bad request: {exc}")
        return ActionReply(id=request.id, result="ok")


class RelayTelephony:
    """The desk's `Telephony` in a split `api` process."""

    def __init__(self, redis: aioredis.Redis, board: MirrorBoard, *, prefix: str, timeout: float = 5.0) -> None:
        self._redis = redis
        self._board = board
        self._prefix = prefix
        self._timeout = timeout

    async def queue_add(self, queue: str, interface: str, member_name: str) -> None:
        await self._ask(self._board.source_of_interface(interface), "queue_add",
                        queue=queue, interface=interface, member_name=member_name)

    async def queue_remove(self, queue: str, interface: str) -> None:
        await self._ask(self._board.source_of_interface(interface), "queue_remove", queue=queue, interface=interface)

    async def queue_pause(self, interface: str, paused: bool, reason: str | None = None,
                          queue: str | None = None) -> None:
        await self._ask(self._board.source_of_interface(interface), "queue_pause",
                        interface=interface, paused=paused, reason=reason, queue=queue)

    async def redirect(self, channel: str, context: str, exten: str, priority: int = 1) -> None:
        await self._ask(self._board.source_of_channel(channel), "redirect",
                        channel=channel, context=context, exten=exten, priority=priority)

    async def hangup(self, channel: str) -> None:
        await self._ask(self._board.source_of_channel(channel), "hangup", channel=channel)

    async def originate(self, channel: str, context: str, exten: str, caller_id: str,
                        variables: dict[str, str] | None = None) -> None:
        await self._ask(self._board.source_of_interface(None), "originate", channel=channel, context=context,
                        exten=exten, caller_id=caller_id, variables=variables)

    def channel_of(self, linkedid: str) -> str | None:
        return self._board.channel_of(linkedid)

    async def _ask(self, source: str | None, method: Method, **args: Any) -> None:
        if source is None:
            raise TelephonyUnavailable("no telephony leader is publishing (is its PBX set known here?)")
        reply_to = f"{self._prefix}:reply:{uuid.uuid4().hex}"
        request = ActionRequest(id=uuid.uuid4().hex, reply_to=reply_to, method=method, args=args,
                                request_id=get_contextvars().get("request_id", ""))
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(reply_to)
            async with asyncio.timeout(self._timeout):
                while (await pubsub.get_message(timeout=1.0) or {}).get("type") != "subscribe":
                    pass
                if not await self._redis.publish(action_channel(self._prefix, source), request.model_dump_json()):
                    raise TelephonyUnavailable(f"no telephony leader for {source} is listening")
                while True:
                    raw = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if raw is not None and raw.get("type") == "message":
                        reply = ActionReply.model_validate_json(raw["data"])
                        if reply.id == request.id:
                            break
        except TimeoutError:
            raise TelephonyUnavailable(f"the telephony leader for {source} did not answer in time") from None
        except (RedisError, OSError) as exc:
            raise TelephonyUnavailable(f"Redis is unreachable: {exc}") from None
        finally:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.aclose()
        if reply.result == "unavailable":
            raise TelephonyUnavailable(reply.message)
        if reply.result == "refused":
            raise TelephonyError(reply.message)
