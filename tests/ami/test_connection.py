"""The connection against a loopback AMI peer that says exactly what the recorded Asterisk said."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from ami.calldata import CallData
from ami.client import AmiClient
from ami.connection import AmiConnection
from ami.errors import AmiActionError, AmiAuthError, AmiNotConnected
from ami.events import Resynced
from ami.model import LiveModel
from ami.settings import AmiServer, AmiSettings
from tests.ami.peer import Peer, Script

pytestmark = pytest.mark.anyio
FAST = AmiSettings(ping_interval=0.1, ping_timeout=0.2, action_timeout=1.0,
                   connect_timeout=1.0, backoff_initial=0.05, backoff_max=0.2)


_OPEN: list[tuple[AmiConnection, Peer]] = []


@pytest.fixture(autouse=True)
async def _stopped_after_each_test() -> AsyncIterator[None]:
    """A failed assertion must not leave a connection reconnecting forever in the event loop."""
    yield
    while _OPEN:
        conn, peer = _OPEN.pop()
        await conn.stop()
        await peer.close()


def _script(fixtures_dir: Path, *names: str) -> Script:
    return Script.merge(*(fixtures_dir / "ami" / name for name in names))


async def _connect(peer: Peer, model: LiveModel | None = None,
                   settings: AmiSettings = FAST) -> AmiConnection:
    port = await peer.start()
    conn = AmiConnection(AmiServer(name="pbx1", port=port, secret="hotline-secret"),
                         model=model or LiveModel(), settings=settings)
    conn.start()
    _OPEN.append((conn, peer))
    return conn


async def test_wrong_secret_is_a_clear_error_and_not_retried(fixtures_dir: Path) -> None:
    recorded = (fixtures_dir / "ami" / "login_and_status.badlogin.recv").read_bytes()
    assert b"Message: Authentication failed" in recorded
    peer = Peer(_script(fixtures_dir, "login_and_status"), mode="reject")
    conn = await _connect(peer)
    with pytest.raises(AmiAuthError) as caught:
        await asyncio.wait_for(conn._task, 2)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "127.0.0.1" in message and "'hotline'" in message and "Authentication failed" in message
    assert conn.state == "auth_failed"
    await asyncio.sleep(0.3)
    assert peer.connections == 1  # never retried
    await conn.stop()
    await peer.close()


async def test_login_then_resync_builds_the_state(fixtures_dir: Path) -> None:
    peer = Peer(_script(fixtures_dir, "login_and_status"))
    model = LiveModel()
    conn = await _connect(peer, model)
    await asyncio.wait_for(conn.ready.wait(), 2)
    snap = model.snapshot()
    q = snap.queue("hotline-12345")
    assert sorted(m.name for m in q.members) == ["agent1", "agent2", "agent3"]
    assert all(m.status.value == "not_in_use" for m in q.members)
    assert q.params.service_level == 20 and q.params.strategy == "rrmemory"
    assert [a["Action"] for a in peer.received[:3]] == ["Login", "QueueStatus", "CoreShowChannels"]
    await conn.stop()
    await peer.close()


async def test_half_open_link_is_detected_by_ping_timeout(fixtures_dir: Path) -> None:
    peer = Peer(_script(fixtures_dir, "login_and_status"), mode="mute_ping")
    model = LiveModel()
    states: list[str] = []
    sub = model.subscribe()
    conn = await _connect(peer, model)
    await asyncio.wait_for(conn.ready.wait(), 2)
    for _ in range(200):
        await asyncio.sleep(0.02)
        if peer.connections >= 2:
            break
    assert peer.connections >= 2, "no reconnect after the Pong timeout"
    while (event := sub.get_nowait()) is not None:
        states.append(getattr(event, "state", ""))
    assert "disconnected" in states and states.index("ready") < states.index("disconnected")
    await conn.stop()
    await peer.close()


async def test_disconnect_reconnects_and_resync_closes_calls_that_ended(fixtures_dir: Path) -> None:
    script = _script(fixtures_dir, "login_and_status")
    join = (fixtures_dir / "ami" / "call_abandoned.recv").read_bytes()
    start = join.index(b"Event: Newchannel")
    end = join.index(b"Event: QueueCallerAbandon")
    peer = Peer(script)
    calls = []
    model = LiveModel(on_call=calls.append)
    resyncs: list[Resynced] = []
    model.listen(lambda event: resyncs.append(event) if isinstance(event, Resynced) else None)
    conn = await _connect(peer, model)
    await asyncio.wait_for(conn.ready.wait(), 2)
    peer.push(join[start:end])  # a caller joins the queue, then the link drops
    for _ in range(100):
        await asyncio.sleep(0.01)
        if model.open_calls():
            break
    assert any(c.legs for c in model.open_calls())
    assert model.snapshot().queue("hotline-enterprise").callers
    conn.ready.clear()
    peer.drop_all()
    for _ in range(200):
        await asyncio.sleep(0.02)
        if peer.connections >= 2 and conn.ready.is_set():
            break
    assert conn.connects == 2
    finals = list({id(c): c for c in calls if c.final}.values())  # updates share one object
    assert len(finals) == 1 and finals[0].outcome.value == "unknown" and finals[0].lost
    assert [e.closed_calls for e in resyncs if e.closed_calls] == [1]
    assert model.open_calls() == []
    await conn.stop()
    await peer.close()


async def test_action_errors_carry_asterisks_message(fixtures_dir: Path) -> None:
    peer = Peer(_script(fixtures_dir, "login_and_status", "agent_ops"))
    port = await peer.start()
    settings = AmiSettings(servers=[AmiServer(name="pbx1", port=port, secret="hotline-secret")],
                           ping_interval=5, action_timeout=1)
    client = AmiClient(settings)
    await client.start()
    await client.wait_ready(2)
    await client.queue_add("hotline-enterprise", "Local/agent4@agents", "agent4")
    await client.queue_pause("Local/agent4@agents", True, "lunch-break", "hotline-enterprise")
    assert client.snapshot().queue("hotline-enterprise").members[0].paused_reason == "lunch-break"
    await client.queue_remove("hotline-enterprise", "Local/agent4@agents")
    with pytest.raises(AmiActionError, match="Unable to remove interface: Not there"):
        await client.queue_remove("hotline-enterprise", "Local/agent4@agents")
    with pytest.raises(AmiActionError, match="No such queue"):
        await client.queue_add("no-such-queue", "Local/agent4@agents", "agent4")
    with pytest.raises(AmiActionError, match="Interface not found"):
        await client.queue_pause("Local/nobody@agents", True)
    with pytest.raises(AmiActionError, match="Channel does not exist"):
        await client.redirect("Local/nope@caller-sim-00000000;1", "direct", "12345")
    with pytest.raises(AmiActionError, match="No such channel"):
        await client.hangup("Local/nope@caller-sim-00000000;1")
    sent = next(a for a in peer.received if a["Action"] == "QueueAdd")
    assert sent["MemberName"] == "agent4" and sent["StateInterface"] == "Local/agent4@agents"
    await client.stop()
    with pytest.raises(AmiNotConnected):
        await client.queue_pause("Local/agent4@agents", False)
    await peer.close()


async def test_action_while_disconnected_fails_fast() -> None:
    client = AmiClient(AmiSettings(servers=[AmiServer(name="pbx1", port=1)]))
    with pytest.raises(AmiNotConnected):
        await asyncio.wait_for(client.hangup("SIP/x"), 0.5)


async def test_slow_subscriber_never_grows_memory(fixtures_dir: Path) -> None:
    model = LiveModel()
    sub = model.subscribe(maxsize=50)
    from ami.parser import AmiParser
    from tests.ami.helpers import recorded_chunks
    parser = AmiParser(wants=model.wants)
    for chunk in recorded_chunks(fixtures_dir / "ami" / "load"):
        for message in parser.feed(chunk):
            model.apply("pbx1", message)
    assert sub.pending() == 50 and sub.dropped > 100
    sub.close()


async def test_backoff_grows_with_jitter_and_is_capped() -> None:
    import random
    conn = AmiConnection(AmiServer(name="x", port=1), model=LiveModel(),
                         settings=AmiSettings(backoff_initial=1, backoff_max=8), rng=random.Random(7))
    delays = [conn.next_backoff() for _ in range(6)]
    bases = [1, 2, 4, 8, 8, 8]
    assert all(b / 2 <= d <= b for d, b in zip(delays, bases, strict=True))
    assert len(set(delays)) == 6


async def test_originate_queue_status_and_summary(fixtures_dir: Path) -> None:
    peer = Peer(_script(fixtures_dir, "login_and_status"))
    port = await peer.start()
    client = AmiClient(AmiSettings(servers=[AmiServer(name="pbx1", port=port, secret="s")],
                                   ping_interval=5))
    await client.start()
    await client.wait_ready(2)
    summary = await client.queue_summary()
    assert {m["Queue"]: m["LoggedIn"] for m in summary} == {"hotline-enterprise": "0",
                                                            "hotline-12345": "3"}
    result = await client.originate("Local/wait@caller-sim/n", "direct", "enterprise",
                                    '"Citizen" <13800138000>')
    assert result.channel == "Local/wait@caller-sim-00000000;1" and result.server == "pbx1"
    status = await client.queue_status("hotline-enterprise")
    assert [m["Event"] for m in status] == ["QueueParams", "QueueEntry"]
    assert client.snapshot().queue("hotline-enterprise").callers[0].caller_number == "13800138000"
    assert client.channel_of("1795868620.0") == "Local/wait@caller-sim-00000000;1"
    await client.stop()
    await peer.close()


async def test_unanswered_action_times_out(fixtures_dir: Path) -> None:
    from ami.errors import AmiTimeout
    peer = Peer(_script(fixtures_dir, "login_and_status"), mode="mute_ping")
    conn = await _connect(peer, settings=AmiSettings(ping_interval=60, action_timeout=1))
    await asyncio.wait_for(conn.ready.wait(), 2)
    with pytest.raises(AmiTimeout, match="Ping on pbx1"):
        await conn.send({"Action": "Ping"}, timeout=0.1)
    await conn.stop()
    await peer.close()


async def test_malformed_bytes_on_the_socket_never_stop_the_reader(fixtures_dir: Path) -> None:
    peer = Peer(_script(fixtures_dir, "login_and_status"))
    model = LiveModel()
    conn = await _connect(peer, model)
    await asyncio.wait_for(conn.ready.wait(), 2)
    join = (b"Event: QueueCallerJoin\r\nQueue: hotline-12345\r\nUniqueid: 9.1\r\nLinkedid: 9.1\r\n"
            b"Channel: SIP/x-1\r\nCallerIDNum: 13900000000\r\nPosition: 1\r\n\r\n")
    peer.push(b"garbage\r\n\xff\xfe\r\n\r\nEvent: Truncated\r\nX: y\r\n" + b"Blob: " + b"z" * (1 << 20)
              + b"\r\n\r\n" + join)
    for _ in range(200):
        await asyncio.sleep(0.01)
        if model.snapshot().queue("hotline-12345").callers:
            break
    assert model.snapshot().queue("hotline-12345").callers[0].caller_number == "13900000000"
    assert conn.state == "ready"
    await conn.stop()
    await peer.close()


async def test_several_servers_one_model(fixtures_dir: Path) -> None:
    peers = [Peer(_script(fixtures_dir, "login_and_status")) for _ in range(2)]
    ports = [await p.start() for p in peers]
    settings = AmiSettings(servers=[AmiServer(name=f"pbx{i}", port=port, secret="s")
                                    for i, port in enumerate(ports, 1)], ping_interval=5)
    client = AmiClient(settings)
    await client.start()
    await client.wait_ready(2)
    servers = {(q.server, q.name) for q in client.snapshot().queues}
    assert servers == {(s, q) for s in ("pbx1", "pbx2") for q in ("hotline-12345", "hotline-enterprise")}
    assert client.status() == {"pbx1": "ready", "pbx2": "ready"}
    await client.stop()
    for peer in peers:
        await peer.close()


async def _until(condition: Callable[[], bool], seconds: float = 3.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_start_mid_traffic_then_asterisk_restarts(fixtures_dir: Path) -> None:
    """asterisk_restart as the product sees it when it connects mid-traffic: its QueueStatus shows
    a waiting caller, its CoreShowChannels a caller talking to agent4; both calls are adopted and
    closed when they end (the restart hangs them up). Asterisk sends Shutdown and closes the
    socket; the new connection's QueueStatus no longer lists agent4 and agent5, nor agent2's pause."""
    base = fixtures_dir / "ami" / "asterisk_restart"
    peer = Peer(Script.load(base), reconnect=Script.load(Path(f"{base}.after")))
    calls: dict[str, CallData] = {}
    model = LiveModel(on_call=lambda c: calls.__setitem__(c.linkedid, c))
    conn = await _connect(peer, model)
    await _until(lambda: peer.connections == 2 and conn.ready.is_set())
    assert {c.linkedid: (c.final, c.outcome.value, [(leg.queue, leg.agent, leg.wait_seconds, leg.talk_seconds)
                                                    for leg in c.legs]) for c in calls.values()} == {
        "1796182094.106": (True, "answered", [("hotline-enterprise", "agent4", 0.0, 2.0)]),
        "1796182094.110": (True, "abandoned", [("hotline-enterprise", None, 2.0, None)])}
    assert calls["1796182094.110"].caller_number == "13800138002"
    snapshot = model.snapshot()
    assert snapshot.queue("hotline-enterprise").members == ()
    assert sorted((m.name, m.paused) for m in snapshot.queue("hotline-12345").members) == [
        ("agent1", False), ("agent2", False), ("agent3", False)]
    assert model.open_calls() == []
    await conn.stop()
    await peer.close()


async def test_a_login_during_a_burst_counts_every_caller_once(fixtures_dir: Path) -> None:
    """resync_during_join's second connection: the product's resync gets the recorded lists
    (callers 4-5 waiting, 1-3 talking), then Asterisk goes on as recorded: callers 6-10 join, a
    second QueueStatus lists 4-10 again, three calls complete and seven callers give up. Ten calls,
    each once, none `unknown`."""
    base = fixtures_dir / "ami" / "resync_during_join.resync"
    recv = Path(f"{base}.recv").read_bytes()
    after_lists = recv.index(b"\r\n\r\n", recv.index(b"ActionID: rsj-resync-0003\r\nEventList: Complete")) + 4
    peer = Peer(Script.load(base))
    calls: dict[str, CallData] = {}
    model = LiveModel(on_call=lambda c: calls.__setitem__(c.linkedid, c))
    conn = await _connect(peer, model, AmiSettings(ping_interval=60))
    await asyncio.wait_for(conn.ready.wait(), 2)
    assert sorted(len(c.legs) for c in model.open_calls()) == [0] + [1] * 5  # caller 6 is not queued yet
    peer.push(recv[after_lists:recv.rindex(b"Response: Goodbye")])
    await _until(lambda: sum(c.final for c in calls.values()) == 10)
    assert sorted(c.outcome.value for c in calls.values()) == ["abandoned"] * 7 + ["answered"] * 3
    assert all(len(c.legs) == 1 for c in calls.values())
    await conn.stop()
    await peer.close()
