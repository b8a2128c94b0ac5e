"""IVR benchmark: N concurrent scripted FastAGI calls over loopback.

The FastAGI server and the real call flows run in this process (pinned to one CPU with --cpu);
a child process plays Asterisk for every call (pinned to another CPU when there is one).

*Added latency per AGI command* is measured inside the server process: from the moment the bytes
of Asterisk's reply (or of the environment block) reach the process (StreamReader.feed_data) to
the moment the IVR writes its next command (StreamWriter.write). That is all the time the IVR adds:
parsing, flow logic, formatting and waiting for the event loop behind other calls. The peer also
reports the round trip it sees, which adds loopback TCP and its own event loop.

Calls arrive spread over --ramp-ms; each is one of three flows in turn: report a problem (menu 1,
recording), progress (menu 2, ticket digits, read-back) and agent (menu 0). Between commands the
peer waits a random 0–2×--think-ms, standing in for prompts and callers (real prompts take
seconds); --think-ms 0 --ramp-ms 0 saturates the server and gives its throughput ceiling.

    .venv/bin/python bench/ivr.py --calls 500                      # 500 concurrent calls
    .venv/bin/python bench/ivr.py --calls 500 --think-ms 0 --ramp-ms 0   # throughput ceiling

Prints a table and one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ENVIRONMENT = (
    "agi_network: yes\nagi_network_script: ivr\nagi_request: agi://127.0.0.1:4573/ivr\n"
    "agi_channel: PJSIP/citizen1-{n:08x}\nagi_language: en\nagi_type: PJSIP\nagi_uniqueid: 1795869509.{n}\n"
    "agi_version: 22.10.1\nagi_callerid: 139{n:08d}\nagi_calleridname: SIP Citizen\nagi_callingpres: 0\n"
    "agi_callingani2: 0\nagi_callington: 0\nagi_callingtns: 0\nagi_dnid: 12345\nagi_rdnis: unknown\n"
    "agi_context: hotline\nagi_extension: 12345\nagi_priority: 3\nagi_enhanced: 0.0\nagi_accountcode: \n"
    "agi_threadid: 140228201866944\n\n"
)
MENU_KEYS = ("1", "2", "0")


def reply(line: str, key: str) -> bytes:
    """Asterisk's answer to one command, in the exact formats of the recorded transcripts."""
    if line.startswith("GET DATA hotline/menu"):
        return f"200 result={key}\n".encode()
    if line.startswith("GET DATA hotline/progress-enter"):
        return b"200 result=20261128000123\n"
    if line.startswith("GET DATA"):
        return b"200 result= (timeout)\n"
    if line.startswith("STREAM FILE"):
        return b"200 result=0 endpos=3404\n"
    if line.startswith("RECORD FILE"):
        return b"200 result=12631 (timeout) endpos=75118\n"
    if line.startswith("GET FULL VARIABLE"):
        return b"200 result=1 (1795869509.11)\n"
    if line.startswith(("SET VARIABLE", "VERBOSE")):
        return b"200 result=1\n"
    if line.startswith("GET VARIABLE"):
        return b"200 result=0\n"
    return b"200 result=0\n"  # ANSWER, SAY DIGITS, SAY NUMBER


# ---- the peer (child process) -------------------------------------------------------------------


async def one_call(port: int, n: int, think: float, ramp: float, added: list[float]) -> int:
    await asyncio.sleep(random.uniform(0, ramp))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = MENU_KEYS[n % len(MENU_KEYS)]
    commands = 0
    writer.write(ENVIRONMENT.format(n=n).encode())
    await writer.drain()
    sent = time.perf_counter()
    while True:
        line = await reader.readline()
        if not line:
            break
        added.append(time.perf_counter() - sent)
        commands += 1
        if think:
            await asyncio.sleep(random.uniform(0, 2 * think))
        writer.write(reply(line.decode().rstrip("\n"), key))
        await writer.drain()
        sent = time.perf_counter()
    writer.close()
    await writer.wait_closed()
    return commands


async def peer(port: int, calls: int, think: float, ramp: float) -> dict[str, float]:
    added: list[float] = []
    started = time.perf_counter()
    counts = await asyncio.gather(*(one_call(port, n, think, ramp, added) for n in range(calls)))
    elapsed = time.perf_counter() - started
    added.sort()
    return {
        "calls": calls, "completed": sum(1 for c in counts if c > 0), "commands": len(added),
        "elapsed_s": elapsed, "sessions_per_s": calls / elapsed,
        "peer_round_trip_p50_ms": added[len(added) // 2] * 1000,
        "peer_round_trip_p99_ms": added[int(len(added) * 0.99)] * 1000,
    }


def instrument(samples: list[float]) -> None:
    """Time from a reply's bytes reaching this process to the IVR's next command (server side)."""
    feed, write = asyncio.StreamReader.feed_data, asyncio.StreamWriter.write

    def feed_data(self: asyncio.StreamReader, data: bytes) -> None:
        self._bench_arrived = time.perf_counter()  # type: ignore[attr-defined]
        feed(self, data)

    def write_data(self: asyncio.StreamWriter, data: bytes) -> None:
        reader = self._reader  # type: ignore[attr-defined]
        arrived = getattr(reader, "_bench_arrived", None)
        if arrived is not None:
            samples.append(time.perf_counter() - arrived)
            reader._bench_arrived = None
        write(self, data)

    asyncio.StreamReader.feed_data = feed_data  # type: ignore[method-assign]
    asyncio.StreamWriter.write = write_data  # type: ignore[method-assign]


# ---- the server (this process) ------------------------------------------------------------------


class Backend:
    """In memory: the benchmark measures the FastAGI adapter, not the database."""

    def __init__(self) -> None:
        from ivr.backend import TicketProgress
        from ticketing.vocabulary import TicketState

        self.ticket = TicketProgress(1, "JS20261128-000123", "20261128000123", TicketState.HANDLING,
                                     datetime(2026, 12, 3, 9, tzinfo=UTC))
        self.drafts = 0

    async def ticket_progress(self, digits: str):  # type: ignore[no-untyped-def]
        return self.ticket if digits == self.ticket.digits else None

    async def open_ticket_for_caller(self, caller_number: str, within: timedelta):  # type: ignore[no-untyped-def]
        return None

    async def submit_recording(self, audio) -> int:  # type: ignore[no-untyped-def]
        self.drafts += 1
        return self.drafts

    async def record_survey(self, answer):  # type: ignore[no-untyped-def]
        raise NotImplementedError


def pin(cpu: int | None) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


async def serve_and_measure(args: argparse.Namespace) -> dict[str, float]:
    from ivr.app import IvrApp
    from ivr.prompts import load_catalogue
    from ivr.server import FastAgiServer
    from ivr.settings import IvrSettings
    from ticketing.settings import CalendarSettings

    samples: list[float] = []
    instrument(samples)
    app = IvrApp(Backend(), IvrSettings(), prompts=load_catalogue(), tz=ZoneInfo(CalendarSettings().timezone))
    server = FastAgiServer(app.route, port=0)
    gc.freeze()  # start-up objects out of the collector's way, as a long-running server should
    cpu_started = time.process_time()
    await server.start()
    peer_cpu = [] if args.peer_cpu is None else ["--peer-cpu", str(args.peer_cpu)]
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--peer", "--port", str(server.bound_port), "--calls", str(args.calls),
        "--think-ms", str(args.think_ms), "--ramp-ms", str(args.ramp_ms), *peer_cpu, stdout=subprocess.PIPE,
    )
    out, _ = await child.communicate()
    await server.stop()
    cpu = time.process_time() - cpu_started
    result = json.loads(out)
    samples.sort()
    result.update(
        server_completed=server.stats.completed, server_failed=server.stats.failed, think_ms=args.think_ms,
        ramp_ms=args.ramp_ms, server_cpu_s=cpu, server_cpu_us_per_command=cpu / max(len(samples), 1) * 1e6,
        added_p50_ms=samples[len(samples) // 2] * 1000, added_p99_ms=samples[int(len(samples) * 0.99)] * 1000,
        added_max_ms=samples[-1] * 1000, measured_commands=len(samples),
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--think-ms", type=float, default=200.0, help="mean pause before each reply")
    parser.add_argument("--ramp-ms", type=float, default=1000.0, help="calls start spread over this time")
    parser.add_argument("--cpu", type=int, default=0, help="pin the server to this CPU (-1: no pinning)")
    parser.add_argument("--peer-cpu", type=int, default=None, help="pin the peer (default: another CPU)")
    parser.add_argument("--peer", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peer:
        pin(args.peer_cpu)
        print(json.dumps(asyncio.run(peer(args.port, args.calls, args.think_ms / 1000, args.ramp_ms / 1000))))
        return
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    server_cpu = None if args.cpu < 0 else args.cpu
    if args.peer_cpu is None and server_cpu is not None and len(cpus) > 1:
        args.peer_cpu = next(c for c in cpus if c != server_cpu)
    pin(server_cpu)
    result = asyncio.run(serve_and_measure(args))
    rows = [("calls (concurrent)", f"{result['calls']}"), ("completed", f"{result['server_completed']}"),
            ("AGI commands", f"{result['commands']}"), ("think time", f"0–{2 * args.think_ms:g} ms"),
            ("arrivals over", f"{args.ramp_ms:g} ms"), ("sessions/s", f"{result['sessions_per_s']:.0f}"),
            ("server CPU per command", f"{result['server_cpu_us_per_command']:.0f} µs"),
            ("added latency p50", f"{result['added_p50_ms']:.3f} ms"),
            ("added latency p99", f"{result['added_p99_ms']:.3f} ms"),
            ("added latency max", f"{result['added_max_ms']:.3f} ms"),
            ("peer round trip p99", f"{result['peer_round_trip_p99_ms']:.3f} ms")]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(json.dumps({"bench": "ivr", **{k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}}))


if __name__ == "__main__":
    main()
