"""The FastAGI server and channel on loopback: replayed transcripts, bad peers, hang-ups, many calls."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from ivr.channel import AgiChannel
from ivr.errors import AgiCommandError, AgiHangup
from ivr.protocol import AgiEnvironment
from ivr.server import FastAgiServer
from tests.ivr.conftest import serving
from tests.ivr.peer import Transcript, check_command, replay, run_call

pytestmark = pytest.mark.anyio


async def lab_script(channel: AgiChannel) -> None:
    """What the recording client did in agi/fastagi_session, written with the typed helpers."""
    await channel.answer()
    await channel.stream_file("beep")
    assert (await channel.get_data("custom/ivr-menu", 10000, 4)).digits == "1234"
    assert await channel.wait_for_digit(10000) == "5"
    await channel.stream_file("custom/ivr-record-prompt")
    uid = channel.env.uniqueid.replace(".", "-")
    recording = await channel.record_file(f"/srv/pbx0/recordings/ivr-{uid}", "wav", escape_digits="#",
                                          timeout_ms=25000, beep=True, silence_seconds=2)
    assert recording.ended_by == "timeout" and recording.endpos > 0
    await channel.set_variable("IVR_RESULT", "code=1234;choice=5")
    assert await channel.get_variable("IVR_RESULT") == "code=1234;choice=5"
    assert await channel.get_variable("NO_SUCH_VARIABLE") is None
    full = await channel.get_full_variable("${CALLERID(num)}|${IVR_RESULT}|${CHANNEL}")
    assert full == f"{channel.env.caller_number}|code=1234;choice=5|{channel.env.channel}"
    assert await channel.exec("Playback", "beep") == 0
    with pytest.raises(AgiHangup):
        await channel.wait_for_digit(20000)  # "200 result=-1": the caller hung up
    with pytest.raises(AgiHangup):
        await channel.stream_file("beep")  # HANGUP, then 511
    assert channel.hung_up
    with pytest.raises(AgiHangup):
        await channel.stream_file("beep")  # refused locally now: nothing is sent
    assert await channel.get_variable("IVR_RESULT") == "code=1234;choice=5"  # allowed on a dead channel
    await channel.verbose("fastagi lab session done")


@pytest.mark.parametrize("name", ["agi/fastagi_session", "agi/fastagi_session_en", "sip/sip_ivr.agi"])
async def test_typed_helpers_say_exactly_what_the_recording_client_said(name: str) -> None:
    transcript = Transcript.load(name)
    finished: list[bool] = []

    async def handler(channel: AgiChannel) -> None:
        await lab_script(channel)
        finished.append(True)

    async with serving(lambda env: handler) as server:
        log = await run_call(server.bound_port, transcript.environment, replay(transcript),
                             closing=transcript.trailer)
    assert finished == [True]
    assert log.commands == transcript.sent  # byte for byte, in order
    assert log.closed_by_server


async def test_quick_ivr_transcript() -> None:
    transcript = Transcript.load("agi/call_answered_quick_ivr")

    async def handler(channel: AgiChannel) -> None:
        await channel.verbose("quick ivr for queue scenario")
        await channel.set_variable("IVR_RESULT", "code=0000;quick")

    async with serving(lambda env: handler) as server:
        log = await run_call(server.bound_port, transcript.environment, replay(transcript))
        assert server.stats.completed == 1
    assert log.commands == transcript.sent


async def _raw(port: int, payload: bytes, *, then_close: bool = True, read: bool = True) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    if then_close:
        writer.write_eof()
    data = await asyncio.wait_for(reader.read(), 5) if read else b""
    writer.close()
    await writer.wait_closed()
    return data


async def _serves_a_good_call(server: FastAgiServer, transcript: Transcript) -> None:
    log = await run_call(server.bound_port, transcript.environment, replay(transcript))
    assert log.commands == ["VERBOSE \"still serving\" 1"]


def _still_serving_handler(env: AgiEnvironment):  # type: ignore[no-untyped-def]
    async def handler(channel: AgiChannel) -> None:
        await channel.verbose("still serving")

    return handler


@pytest.mark.parametrize("payload", [
    b"",  # connect and close
    b"agi_network: yes\nagi_network_script: ivr\nagi_request: agi://127.0.0.1:4573/ivr\n",  # half a block
    b"agi_network: yes\nagi_netw",  # half a line
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # garbage
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)),  # a TLS hello, binary
    b"\n",  # a blank line and no environment at all
], ids=["close", "half-block", "half-line", "http", "binary", "empty-block"])
async def test_bad_peers_are_dropped_and_the_server_keeps_serving(payload: bytes, session: Transcript) -> None:
    async with serving(_still_serving_handler, environment_timeout=2.0) as server:
        assert await _raw(server.bound_port, payload) == b""  # nothing said, connection closed
        await _serves_a_good_call(server, session)
        assert server.stats.dropped == 1 and server.stats.completed == 1


async def test_a_silent_peer_is_dropped_after_the_environment_timeout(session: Transcript) -> None:
    async with serving(_still_serving_handler, environment_timeout=0.3) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.bound_port)
        writer.write(session.environment[:100])  # and then nothing
        started = time.monotonic()
        assert await asyncio.wait_for(reader.read(), 5) == b""
        assert 0.25 < time.monotonic() - started < 3
        writer.close()
        await _serves_a_good_call(server, session)
        assert server.stats.dropped == 1


async def test_an_endless_line_or_block_is_dropped(session: Transcript) -> None:
    async with serving(_still_serving_handler, line_limit=4096) as server:
        assert await _raw(server.bound_port, b"agi_x: " + b"a" * 100_000 + b"\n") == b""
        block = b"".join(b"agi_k%d: v\n" % i for i in range(300)) + b"\n"
        assert await _raw(server.bound_port, block) == b""
        await _serves_a_good_call(server, session)
        assert server.stats.dropped == 2


async def test_asterisk_closing_mid_call_ends_the_call_only(session: Transcript) -> None:
    results: list[str] = []

    async def handler(channel: AgiChannel) -> None:
        try:
            await channel.answer()
        except AgiHangup:
            results.append("hangup")
            raise

    async with serving(lambda env: handler) as server:
        log = await run_call(server.bound_port, session.environment, lambda line: None)
        assert log.commands == ["ANSWER"]
        await asyncio.sleep(0.05)
        assert results == ["hangup"] and server.stats.hung_up == 1


async def test_half_a_reply_then_close_is_a_hangup(session: Transcript) -> None:
    async def handler(channel: AgiChannel) -> None:
        await channel.answer()

    async with serving(lambda env: handler) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.bound_port)
        writer.write(session.environment)
        assert await reader.readline() == b"ANSWER\n"
        writer.write(b"200 res")
        writer.write_eof()
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
        await asyncio.sleep(0.05)
        assert server.stats.hung_up == 1


async def test_garbage_reply_fails_the_call_not_the_server(session: Transcript) -> None:
    async def handler(channel: AgiChannel) -> None:
        await channel.answer()

    async with serving(lambda env: handler) as server:
        await run_call(server.bound_port, session.environment, lambda line: b"hello there\n")
        await asyncio.sleep(0.05)
        assert server.stats.failed == 1
        await _serves_a_good_call_on(server, session)


async def _serves_a_good_call_on(server: FastAgiServer, session: Transcript) -> None:
    log = await run_call(server.bound_port, session.environment, lambda line: b"200 result=0\n")
    assert log.commands == ["ANSWER"]


async def test_510_and_multiline_520_are_command_errors(session: Transcript) -> None:
    seen: list[tuple[int, str]] = []

    async def handler(channel: AgiChannel) -> None:
        for line in ("FROB", "STREAM FILE"):
            try:
                await channel.command(line)
            except AgiCommandError as exc:
                seen.append((exc.code, exc.detail))
        await channel.verbose("after errors")

    replies = iter([
        b"510 Invalid or unknown command\n",
        (b"520-Invalid command syntax.  Proper usage follows:\n"
         b" Usage: STREAM FILE <filename> <escape digits> [sample offset]\n"
         b"520 End of proper usage.\n"),
        b"200 result=1\n",
    ])
    async with serving(lambda env: handler) as server:
        log = await run_call(server.bound_port, session.environment, lambda line: next(replies))
        assert server.stats.completed == 1
    assert [code for code, _ in seen] == [510, 520]
    assert "Usage: STREAM FILE" in seen[1][1]
    assert log.commands[-1] == 'VERBOSE "after errors" 1'


async def test_hangup_notice_between_commands_is_not_a_reply(session: Transcript) -> None:
    async def handler(channel: AgiChannel) -> None:
        await channel.set_variable("A", "1")  # reply comes with a HANGUP notice in front
        assert channel.hung_up
        with pytest.raises(AgiHangup):
            await channel.get_data("hotline/menu", 1000, 1)
        await channel.set_variable("IVR_RESULT", "agent")

    replies = iter([b"HANGUP\n200 result=1\n", b"200 result=1\n"])
    async with serving(lambda env: handler) as server:
        log = await run_call(server.bound_port, session.environment, lambda line: next(replies))
        assert server.stats.completed == 1
    assert log.commands == ['SET VARIABLE A "1"', 'SET VARIABLE IVR_RESULT "agent"']


async def test_a_crashing_call_does_not_touch_the_others(session: Transcript) -> None:
    async def handler(channel: AgiChannel) -> None:
        if channel.env.uniqueid.endswith(".3"):
            raise ZeroDivisionError("bug in one call")
        await channel.verbose("fine")

    async with serving(lambda env: handler) as server:
        logs = await asyncio.gather(*(
            run_call(server.bound_port, session.environment_for("ivr", uniqueid=f"1795868652.{i}"),
                     lambda line: b"200 result=1\n")
            for i in range(6)))
        await asyncio.sleep(0.05)
        assert server.stats.failed == 1 and server.stats.completed == 5
    assert sorted(len(log.commands) for log in logs) == [0, 1, 1, 1, 1, 1]


async def test_stop_cancels_calls_that_outlive_the_grace_period(session: Transcript) -> None:
    started = asyncio.Event()

    async def handler(channel: AgiChannel) -> None:
        started.set()
        await channel.wait_for_digit(60000)  # the peer never answers

    server = FastAgiServer(lambda env: handler, port=0)
    await server.start()
    _, writer = await asyncio.open_connection("127.0.0.1", server.bound_port)
    writer.write(session.environment)
    await started.wait()
    await server.stop(grace=0.2)
    assert server.active_calls == 0
    writer.close()


@pytest.mark.slow
async def test_500_concurrent_sessions(session: Transcript, record_property: Callable[[str, object], None]) -> None:
    durations: list[float] = []

    async def handler(channel: AgiChannel) -> None:
        await channel.answer()
        for _ in range(3):
            await channel.stream_file("hotline/greeting", "0123")
            await channel.get_data("hotline/menu", 5000, 1)
        await channel.set_variable("IVR_RESULT", "agent")

    def respond(line: str) -> bytes:
        verb, _ = check_command(line)
        return {"ANSWER": b"200 result=0\n", "STREAM FILE": b"200 result=0 endpos=3404\n",
                "GET DATA": b"200 result=1\n", "SET VARIABLE": b"200 result=1\n"}[verb]

    async with serving(lambda env: handler, observer=lambda verb, seconds: durations.append(seconds)) as server:
        started = time.perf_counter()
        logs = await asyncio.gather(*(
            run_call(server.bound_port, session.environment_for("ivr", uniqueid=f"1795868652.{i}"), respond,
                     timeout=60)
            for i in range(500)))
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.05)
        assert server.stats.completed == 500 and server.active_calls == 0
    assert all(len(log.commands) == 8 and log.closed_by_server for log in logs)
    assert len(durations) == 4000
    durations.sort()
    record_property("sessions_per_second", round(500 / elapsed, 1))
    record_property("command_round_trip_p50_ms", round(durations[2000] * 1000, 3))
    record_property("command_round_trip_p99_ms", round(durations[3960] * 1000, 3))


async def test_a_reply_that_never_comes_ends_the_call(session: Transcript) -> None:
    async def handler(channel: AgiChannel) -> None:
        await channel.answer()

    async with serving(lambda env: handler, reply_timeout=0.2) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.bound_port)
        writer.write(session.environment)
        assert await reader.readline() == b"ANSWER\n"
        assert await asyncio.wait_for(reader.read(), 5) == b""  # we never answered; the server gave up
        writer.close()
        await asyncio.sleep(0.05)
        assert server.stats.hung_up == 1 and server.active_calls == 0
