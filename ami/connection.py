"""One AMI connection: login, keepalive, reconnect with backoff and jitter, resync, actions.

Built on Panoramisk 1.4: the socket is a `panoramisk.ami_protocol.AMIProtocol` subclass and
actions are serialised by `panoramisk.actions.Action`. Its known defects are worked around here:
- an action's future is resolved by our own bookkeeping (Panoramisk's never resolves a QueueAdd
  without `as_list=False`, nor a list action that answers `Response: Error`);
- Ping is sent on an interval and the link is declared dead when no Pong arrives within
  `ping_timeout` (Panoramisk never checks), which is how a half-open TCP connection is detected;
- actions are never queued across a disconnect: they fail fast with `AmiNotConnected`, and the
  pending ones fail when the link drops (Panoramisk re-sends them after a reconnect);
- reading never blocks on consumers: messages go through the bounded, filtering `AmiParser`
  straight into the live model.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from panoramisk.actions import Action
from panoramisk.ami_protocol import AMIProtocol

from ami.errors import AmiActionError, AmiAuthError, AmiNotConnected, AmiTimeout
from ami.events import ConnectionChanged
from ami.model import LiveModel
from ami.parser import AmiParser, Message
from ami.settings import AmiServer, AmiSettings

log = logging.getLogger("ami.connection")


@dataclass
class _Pending:
    action: str
    future: asyncio.Future[list[Message]]
    until: str | None  # the event that completes a list action, or OriginateResponse
    messages: list[Message] = field(default_factory=list)


class _Protocol(AMIProtocol):
    """Panoramisk's protocol with our parser and our response bookkeeping."""

    def __init__(self, owner: AmiConnection) -> None:
        self.owner = owner

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        wants = self.owner.model.wants
        self.parser = AmiParser(wants=lambda name, raw: "\r\nActionID: " in raw or wants(name, raw))
        self.owner._attach(self)

    def data_received(self, data: bytes) -> None:
        self.owner.last_heard = datetime.now(UTC)
        for message in self.parser.feed(data):
            self.owner._on_message(message)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.owner._detach(self, exc)


class AmiConnection:
    """One server's link. `settings` gives the timing (its `servers` list is not read here)."""

    def __init__(self, server: AmiServer, *, model: LiveModel, settings: AmiSettings | None = None,
                 rng: random.Random | None = None) -> None:
        self.name, self.host, self.port, self.username = server.name, server.host, server.port, server.username
        self._secret = server.secret.get_secret_value()
        self.model = model
        self.settings = settings or AmiSettings()
        self._rng = rng or random.Random()
        self._protocol: _Protocol | None = None
        self._pending: dict[str, _Pending] = {}
        self._counter = 0
        self._lost: asyncio.Event = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.state = "stopped"
        self.ready = asyncio.Event()
        self.attempts = 0
        self.connects = 0
        self.last_heard: datetime | None = None

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> asyncio.Task[None]:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name=f"ami-{self.name}")
        return self._task

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, AmiAuthError):
                pass
        self._close_transport()
        self._set_state("stopped")

    async def run(self) -> None:
        """Connect, log in, resync and watch the link until stopped; reconnect on any failure."""
        while True:
            try:
                await self._session()
            except AmiAuthError as exc:
                self._set_state("auth_failed", str(exc))
                raise
            except (OSError, AmiTimeout, AmiNotConnected, AmiActionError, ConnectionError) as exc:
                self._set_state("disconnected", f"{type(exc).__name__}: {exc}")
            finally:
                self.ready.clear()
                self._close_transport()
                self._fail_pending(AmiNotConnected(f"{self.name}: connection lost"))
            delay = self.next_backoff()
            log.info("ami %s: reconnecting in %.2fs (attempt %d)", self.name, delay, self.attempts)
            await asyncio.sleep(delay)

    def next_backoff(self) -> float:
        """Exponential backoff with equal jitter: half fixed, half random."""
        base = min(self.settings.backoff_max, self.settings.backoff_initial * (2 ** self.attempts))
        self.attempts += 1
        return base / 2 + self._rng.uniform(0, base / 2)

    async def _session(self) -> None:
        self._set_state("connecting", f"{self.host}:{self.port}")
        loop = asyncio.get_running_loop()
        self._lost = asyncio.Event()
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation.
        async with asyncio.timeout(self.settings.connect_timeout):
            await loop.create_connection(lambda: _Protocol(self), self.host, self.port)
        self._set_state("connected")
        await self._login()
        self._set_state("resyncing")
        await self.resync()
        self.attempts = 0
        self.connects += 1
        self.ready.set()
        self._set_state("ready")
        keepalive = asyncio.create_task(self._keepalive())
        lost = asyncio.create_task(self._lost.wait())
        try:
            done, _ = await asyncio.wait({keepalive, lost}, return_when=asyncio.FIRST_COMPLETED)
            if keepalive in done:
                keepalive.result()
            raise ConnectionError("connection closed by peer")
        finally:
            for task in (keepalive, lost):
                task.cancel()

    async def _login(self) -> None:
        try:
            await self.send({"Action": "Login", "Username": self.username, "Secret": self._secret},
                            timeout=self.settings.action_timeout, require_ready=False)
        except AmiActionError as exc:
            raise AmiAuthError(self.name, self.host, self.port, self.username,
                               exc.asterisk_message) from None

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self.settings.ping_interval)
            try:
                await self.send({"Action": "Ping"}, timeout=self.settings.ping_timeout)
            except AmiTimeout:
                log.warning("ami %s: no Pong within %.1fs, link is dead", self.name,
                            self.settings.ping_timeout)
                raise

    async def resync(self) -> None:
        """Ask for QueueStatus and CoreShowChannels; the model applies each list where it stands in
        the event stream (see `ami.model`)."""
        for action, complete in (("QueueStatus", "QueueStatusComplete"),
                                 ("CoreShowChannels", "CoreShowChannelsComplete")):
            await self.send({"Action": action}, until=complete, timeout=self.settings.resync_timeout,
                            require_ready=False)
        snapshot = self.model.snapshot()
        log.info("ami %s: resynced %d queues, %d waiting callers, %d calls in progress", self.name,
                 len(snapshot.queues), sum(len(q.callers) for q in snapshot.queues),
                 len(self.model.open_calls(self.name)))

    # ---------------------------------------------------------------- actions
    async def send(self, fields: Mapping[str, str], *, until: str | None = None,
                   timeout: float | None = None, require_ready: bool = True) -> list[Message]:
        """Send one action; return [response, *events up to `until`]. Raises AmiActionError with
        Asterisk's Message on `Response: Error`, AmiTimeout, or AmiNotConnected (fails fast)."""
        protocol = self._protocol
        if protocol is None or protocol.closed or (require_ready and not self.ready.is_set()):
            raise AmiNotConnected(f"{self.name} is not connected ({self.state})")
        self._counter += 1
        action_id = f"hotline-{self.name}-{self._counter:06d}"
        action = Action(dict(fields), as_list=until is not None)
        action["ActionID"] = action_id
        future: asyncio.Future[list[Message]] = asyncio.get_running_loop().create_future()
        name = str(fields.get("Action", "?"))
        self._pending[action_id] = _Pending(name, future, until)
        try:
            protocol.transport.write(str(action).encode("utf-8"))
            async with asyncio.timeout(timeout or self.settings.action_timeout):
                return await future
        except TimeoutError:
            raise AmiTimeout(f"{name} on {self.name}: no answer within "
                             f"{timeout or self.settings.action_timeout:.1f}s") from None
        finally:
            self._pending.pop(action_id, None)

    # ---------------------------------------------------------------- protocol callbacks
    def _attach(self, protocol: _Protocol) -> None:
        self._protocol = protocol

    def _detach(self, protocol: _Protocol, exc: Exception | None) -> None:
        if self._protocol is protocol:
            self._protocol = None
            self._lost.set()
            self._fail_pending(AmiNotConnected(f"{self.name}: connection lost ({exc or 'closed'})"))

    def _on_message(self, message: Message) -> None:
        action_id = message.get("ActionID")
        pending = self._pending.get(action_id) if action_id else None
        is_event = "Event" == next(iter(message), "")
        if is_event:
            self.model.apply(self.name, message)
        if pending is None or pending.future.done():
            return
        pending.messages.append(message)
        if not is_event:
            if message.get("Response") in ("Error", "Failure", "Fail"):
                pending.future.set_exception(
                    AmiActionError(self.name, pending.action, message.get("Message", "error")))
            elif pending.until is None:
                pending.future.set_result(pending.messages)
            return
        if message.get("Event") == pending.until:
            if message.get("Event") == "OriginateResponse" and message.get("Response") != "Success":
                pending.future.set_exception(AmiActionError(
                    self.name, pending.action, f"originate failed (Reason {message.get('Reason', '?')})"))
            else:
                pending.future.set_result(pending.messages)

    def _fail_pending(self, error: Exception) -> None:
        for pending in list(self._pending.values()):
            if not pending.future.done():
                pending.future.set_exception(error)

    def _close_transport(self) -> None:
        protocol = self._protocol
        if protocol is not None and getattr(protocol, "transport", None) is not None:
            protocol.transport.abort()

    def _set_state(self, state: str, detail: str = "") -> None:
        if state != self.state:
            log.info("ami %s: %s -> %s %s", self.name, self.state, state, detail)
        self.state = state
        self.model.publish(ConnectionChanged(self.name, state, detail, self.last_heard))
