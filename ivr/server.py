"""The FastAGI server: asyncio streams, one task per call, nothing one call does can stop another.

Asterisk connects, writes the `agi_*` block and a blank line, then waits for commands. The block
is read line by line under one deadline; a peer that closes early, stops half-way, floods or
sends something that is not an AGI environment is dropped and counted, and the server goes on.
Only the configured Asterisk addresses may connect, and at most `max_sessions` at once; a refused
or dropped connection is logged at WARNING.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Self

from structlog.contextvars import bind_contextvars

from ivr.channel import AgiChannel, CommandObserver
from ivr.errors import AgiEnvironmentError, AgiError, AgiHangup
from ivr.protocol import (
    MAX_ENVIRONMENT_LINES,
    AgiEnvironment,
    parse_environment,
    parse_environment_line,
)

log = logging.getLogger(__name__)

CallHandler = Callable[[AgiChannel], Awaitable[None]]
Router = Callable[[AgiEnvironment], CallHandler | None]


@dataclass
class ServerStats:
    accepted: int = 0
    completed: int = 0
    hung_up: int = 0
    failed: int = 0
    dropped: int = 0  # closed early, half a block, garbage, too slow
    unrouted: int = 0
    rejected: int = 0  # not an allowed peer, or too many sessions (never accepted)

    @property
    def active(self) -> int:
        return self.accepted - self.completed - self.hung_up - self.failed - self.dropped - self.unrouted


async def read_environment(reader: asyncio.StreamReader, timeout: float) -> AgiEnvironment:
    """Read the `agi_*` block up to its blank line, within `timeout` seconds."""

    async def read() -> AgiEnvironment:
        lines: list[str] = []
        while True:
            try:
                raw = await reader.readline()
            except (asyncio.LimitOverrunError, ValueError):
                raise AgiEnvironmentError("environment line too long") from None
            if not raw.endswith(b"\n"):
                raise AgiEnvironmentError(f"connection closed after {len(lines)} environment lines")
            line = raw.rstrip(b"\r\n").decode("utf-8", errors="replace")
            if parse_environment_line(line) is None:
                return parse_environment(lines)
            lines.append(line)
            if len(lines) > MAX_ENVIRONMENT_LINES:
                raise AgiEnvironmentError("environment block too large")

    try:
        return await asyncio.wait_for(read(), timeout)
    except TimeoutError:
        raise AgiEnvironmentError(f"no complete environment within {timeout:g} s") from None


class FastAgiServer:
    """Serve FastAGI calls. `router` picks the handler for a call from its environment."""

    def __init__(
        self,
        router: Router,
        *,
        host: str = "127.0.0.1",
        port: int = 4573,
        environment_timeout: float = 5.0,
        reply_timeout: float = 900.0,
        observer: CommandObserver | None = None,
        line_limit: int = 64 * 1024,
        allowed_peers: Sequence[IPv4Network | IPv6Network] | None = None,
        max_sessions: int | None = None,
    ) -> None:
        """`allowed_peers` None: any address may connect; `max_sessions` None: no cap."""
        self._router = router
        self.host = host
        self.port = port
        self.environment_timeout = environment_timeout
        self.reply_timeout = reply_timeout
        self._observer = observer
        self._line_limit = line_limit
        self._allowed_peers = allowed_peers
        self._max_sessions = max_sessions
        self._server: asyncio.Server | None = None
        self._calls: set[asyncio.Task[None]] = set()
        self.stats = ServerStats()

    @property
    def bound_port(self) -> int:
        """The port actually bound (useful with port 0)."""
        assert self._server is not None and self._server.sockets, "server not started"
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def active_calls(self) -> int:
        return len(self._calls)

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, self.host, self.port, limit=self._line_limit, reuse_address=True
        )
        log.info("FastAGI listening on %s:%s", self.host, self.bound_port)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop listening, give live calls `grace` seconds, then cancel what is left."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        if self._calls:
            _, pending = await asyncio.wait(set(self._calls), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    def _refusal(self, peer: object) -> str | None:
        """Why a connection from `peer` is refused, or None."""
        host = peer[0] if isinstance(peer, tuple) and peer else None
        if self._allowed_peers is not None:
            try:
                address = ip_address(str(host))
            except ValueError:
                return "no peer address"
            if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
                address = address.ipv4_mapped
            if not any(address in net for net in self._allowed_peers):
                return "not an allowed Asterisk address (ivr.allowed_peers)"
        if self._max_sessions is not None and len(self._calls) >= self._max_sessions:
            return f"{len(self._calls)} sessions already (ivr.max_sessions)"
        return None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        refusal = self._refusal(writer.get_extra_info("peername"))
        if refusal is not None:
            self.stats.rejected += 1
            log.warning("refused FastAGI connection from %s: %s", writer.get_extra_info("peername"), refusal)
            writer.close()
            return
        # asyncio runs this callback as its own task: one task per call.
        task = asyncio.current_task()
        assert task is not None
        self._calls.add(task)
        self.stats.accepted += 1
        try:
            await self._serve(reader, writer)
        finally:
            self._calls.discard(task)
            if not writer.is_closing():
                writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            env = await read_environment(reader, self.environment_timeout)
        except (AgiEnvironmentError, ConnectionError) as exc:
            self.stats.dropped += 1
            log.warning("dropped FastAGI connection from %s: %s", peer, exc)
            return
        bind_contextvars(uniqueid=env.uniqueid)  # this task is the call's: every line of its session
        handler = self._router(env)
        if handler is None:
            self.stats.unrouted += 1
            log.warning("no handler for AGI script %r (call %s)", env.script, env.uniqueid)
            return
        channel = AgiChannel(reader, writer, env, reply_timeout=self.reply_timeout, observer=self._observer)
        try:
            await handler(channel)
        except AgiHangup as exc:
            self.stats.hung_up += 1
            log.debug("call %s hung up: %s", env.uniqueid, exc)
            return
        except AgiError as exc:
            self.stats.failed += 1
            log.warning("call %s (%s) ended on an AGI error: %s", env.uniqueid, env.script, exc)
            return
        except asyncio.CancelledError:
            self.stats.failed += 1
            raise
        except Exception:
            self.stats.failed += 1
            log.exception("call %s (%s) failed", env.uniqueid, env.script)
            return
        self.stats.completed += 1
