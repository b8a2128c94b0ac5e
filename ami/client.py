"""The AMI adapter's face: several Asterisk servers, one live model, typed actions.

The composition root builds one `AmiClient(settings, model=LiveModel(on_call=...))`, awaits
`start()` in its lifespan and `stop()` on shutdown. Everything the agent desk needs is here:
`snapshot()`, `subscribe()`, and the actions below. Each action picks its server from the
`server` argument, else from where the queue/interface/channel lives, else the first server.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass

from ami.bus import Subscription
from ami.connection import AmiConnection
from ami.errors import AmiNotConnected
from ami.events import ChangeEvent
from ami.model import LiveModel
from ami.parser import Message
from ami.settings import AmiSettings
from ami.state import Snapshot


@dataclass(frozen=True)
class OriginateResult:
    server: str
    channel: str
    uniqueid: str


def _flag(value: bool) -> str:
    return "true" if value else "false"


class AmiClient:
    def __init__(self, settings: AmiSettings, *, model: LiveModel | None = None) -> None:
        self.settings = settings
        self.model = model or LiveModel()
        self.connections: dict[str, AmiConnection] = {
            server.name: AmiConnection(server, model=self.model, settings=settings)
            for server in settings.servers
        }

    # ---------------------------------------------------------------- lifecycle and views
    async def start(self) -> None:
        for connection in self.connections.values():
            connection.start()

    async def stop(self) -> None:
        await asyncio.gather(*(c.stop() for c in self.connections.values()))

    async def wait_ready(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(
            asyncio.gather(*(c.ready.wait() for c in self.connections.values())), timeout)

    def status(self) -> dict[str, str]:
        return {name: c.state for name, c in self.connections.items()}

    def snapshot(self) -> Snapshot:
        return self.model.snapshot()

    def subscribe(self, maxsize: int = 1000) -> Subscription[ChangeEvent]:
        return self.model.subscribe(maxsize)

    def channel_of(self, linkedid: str) -> str | None:
        return self.model.channel_of(linkedid)

    def _connection(self, server: str | None, guess: str | None = None) -> AmiConnection:
        name = server or guess
        if name is None:
            if not self.connections:
                raise AmiNotConnected("no Asterisk server configured")
            return next(iter(self.connections.values()))
        try:
            return self.connections[name]
        except KeyError:
            raise AmiNotConnected(f"unknown Asterisk server {name!r}") from None

    # ---------------------------------------------------------------- agent actions
    async def queue_add(self, queue: str, interface: str, member_name: str, *, penalty: int = 0,
                        state_interface: str | None = None, paused: bool = False,
                        server: str | None = None) -> None:
        """Log an agent in (QueueAdd). Panoramisk would hang here without as_list=False."""
        await self._connection(server, self.model.server_of_queue(queue)).send({
            "Action": "QueueAdd", "Queue": queue, "Interface": interface, "Penalty": str(penalty),
            "Paused": _flag(paused), "MemberName": member_name,
            "StateInterface": state_interface or interface})

    async def queue_remove(self, queue: str, interface: str, *, server: str | None = None) -> None:
        await self._connection(server, self.model.server_of_queue(queue)).send(
            {"Action": "QueueRemove", "Queue": queue, "Interface": interface})

    async def queue_pause(self, interface: str, paused: bool, reason: str | None = None,
                          queue: str | None = None, *, server: str | None = None) -> None:
        """Pause or unpause in one queue, or in all queues when `queue` is None."""
        fields = {"Action": "QueuePause", "Interface": interface, "Paused": _flag(paused)}
        if queue:
            fields["Queue"] = queue
        if reason:
            fields["Reason"] = reason
        await self._connection(server, self.model.server_of_interface(interface)).send(fields)

    async def redirect(self, channel: str, context: str, exten: str, priority: int = 1, *,
                       server: str | None = None) -> None:
        await self._connection(server, self.model.server_of_channel(channel)).send({
            "Action": "Redirect", "Channel": channel, "Context": context, "Exten": exten,
            "Priority": str(priority)})

    async def hangup(self, channel: str, cause: int = 16, *, server: str | None = None) -> None:
        await self._connection(server, self.model.server_of_channel(channel)).send(
            {"Action": "Hangup", "Channel": channel, "Cause": str(cause)})

    async def originate(self, channel: str, context: str, exten: str, caller_id: str,
                        variables: Mapping[str, str] | None = None, *, priority: int = 1,
                        ring_timeout: float = 30.0, server: str | None = None) -> OriginateResult:
        """Call `channel` and connect it to context,exten (e.g. a callback into a queue).
        Waits for OriginateResponse; a failed call raises AmiActionError."""
        connection = self._connection(server)
        fields: dict[str, str | list[str]] = {
            "Action": "Originate", "Channel": channel, "Context": context, "Exten": exten,
            "Priority": str(priority), "CallerID": caller_id,
            "Timeout": str(int(ring_timeout * 1000)), "Async": "true"}
        if variables:
            fields["Variable"] = [f"{k}={v}" for k, v in variables.items()]
        messages = await connection.send(fields, until="OriginateResponse",  # type: ignore[arg-type]
                                         timeout=ring_timeout + connection.settings.action_timeout)
        final = messages[-1]
        return OriginateResult(connection.name, final.get("Channel", ""), final.get("Uniqueid", ""))

    async def queue_status(self, queue: str | None = None, *,
                           server: str | None = None) -> list[Message]:
        """QueueStatus list events (QueueParams, QueueMember, QueueEntry); the model applies them too."""
        return await self._list("QueueStatus", queue, server)

    async def queue_summary(self, queue: str | None = None, *,
                            server: str | None = None) -> list[Message]:
        return await self._list("QueueSummary", queue, server)

    async def _list(self, action: str, queue: str | None, server: str | None) -> list[Message]:
        fields = {"Action": action, **({"Queue": queue} if queue else {})}
        messages = await self._connection(server, self.model.server_of_queue(queue or "")).send(
            fields, until=f"{action}Complete")
        return messages[1:-1]
