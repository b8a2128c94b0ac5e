"""Who may open a FastAGI session: only the configured Asterisk addresses, at most `max_sessions` at
once; every refused or dropped connection is logged at WARNING."""

from __future__ import annotations

import asyncio
import logging
from ipaddress import ip_network
from zoneinfo import ZoneInfo

import pytest

from ivr.channel import AgiChannel
from ivr.service import IvrService
from ivr.settings import IvrSettings
from tests.ivr.conftest import MemoryBackend, serving
from tests.ivr.peer import Transcript

pytestmark = pytest.mark.anyio


async def answer(channel: AgiChannel) -> None:
    await channel.answer()


async def closed_by_server(port: int, payload: bytes = b"") -> bool:
    """The server closes (or resets) the connection without a word."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if payload:
        writer.write(payload)
    try:
        data = await asyncio.wait_for(reader.read(), 2)
    except ConnectionResetError:
        data = b""
    finally:
        writer.close()
    return data == b""


async def test_a_peer_that_is_not_an_allowed_asterisk_is_refused(caplog: pytest.LogCaptureFixture,
                                                                 session: Transcript) -> None:
    caplog.set_level(logging.WARNING, logger="ivr.server")
    async with serving(lambda env: answer, allowed_peers=[ip_network("10.0.0.5/32")]) as server:
        assert await closed_by_server(server.bound_port, session.environment)
        assert server.stats.rejected == 1 and server.stats.accepted == 0
    assert any("refused FastAGI connection" in r.message and "allowed_peers" in r.message and
               r.levelno == logging.WARNING for r in caplog.records)


async def test_sessions_beyond_the_cap_are_refused_until_one_ends(caplog: pytest.LogCaptureFixture,
                                                                  session: Transcript) -> None:
    caplog.set_level(logging.WARNING, logger="ivr.server")
    async with serving(lambda env: answer, allowed_peers=[ip_network("127.0.0.0/8")], max_sessions=2,
                       environment_timeout=0.5) as server:
        idle = [await asyncio.open_connection("127.0.0.1", server.bound_port) for _ in range(2)]
        for _ in range(100):
            if server.active_calls == 2:
                break
            await asyncio.sleep(0.01)
        assert await closed_by_server(server.bound_port, session.environment)
        assert server.stats.rejected == 1
        for _, writer in idle:
            writer.close()
        for _ in range(200):  # the idle ones time out or close: room again
            if server.active_calls == 0:
                break
            await asyncio.sleep(0.01)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.bound_port)
        writer.write(session.environment)
        assert (await asyncio.wait_for(reader.readline(), 2)).startswith(b"ANSWER")
        writer.close()
    messages = [r.message for r in caplog.records if r.levelno == logging.WARNING]
    assert any("max_sessions" in m for m in messages)
    assert any("dropped FastAGI connection" in m for m in messages)  # the idle ones, at WARNING too


async def test_garbage_is_dropped_and_logged_at_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ivr.server")
    async with serving(lambda env: answer, environment_timeout=0.5) as server:
        assert await closed_by_server(server.bound_port, b"GET / HTTP/1.1\r\n\r\n")
        assert server.stats.dropped == 1
    assert any("dropped FastAGI connection" in r.message for r in caplog.records)


def test_the_service_passes_the_settings_to_the_server() -> None:
    defaults = IvrSettings()
    assert [str(n) for n in defaults.allowed_peers] == ["127.0.0.1/32", "::1/128"]
    settings = IvrSettings.model_validate({"allowed_peers": ["192.0.2.10", "2001:db8::/64"], "max_sessions": 7})
    service = IvrService(settings, MemoryBackend(), tz=ZoneInfo("Asia/Shanghai"))
    assert service.server._allowed_peers == settings.allowed_peers and service.server._max_sessions == 7
