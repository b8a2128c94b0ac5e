"""Where intake's time goes: `TicketService.create(..., dispatch=True)` one at a time on PostgreSQL under
cProfile, the time grouped by package (waiting on the socket is the database and the round trips).
Then, without the profiler, the intake's statement alone (the last intake's arguments, new numbers,
through the same statement text by bare asyncpg on one pooled connection: the server's part and the
round trip, none of the Python around it) in `--rounds` alternating with the floor of
`bench/tickets.py` (the ticket row alone), and the ratio of the two rates.

    python bench/intake_profile.py [--tickets 1000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import summary_ms
from tickets import _Floor, _new, database, drop, prepare

from ticketing.db import make_session_factory
from ticketing.intake import Intake
from ticketing.service import NewTicket, TicketService
from ticketing.settings import TicketingSettings

GROUPS = ("sqlalchemy", "asyncpg", "ticketing/", "asyncio", "greenlet", "pydantic", "json")


def _group(filename: str, name: str) -> str:
    if "epoll" in name or "socket" in name:
        return "waiting on the socket"
    return next((g.rstrip("/") for g in GROUPS if g in filename or g in name), "other")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5, help="statement alone and floor alternations")
    args = parser.parse_args()
    count = args.tickets
    url, kwargs, schema = await database("postgres", Path())  # PostgreSQL: its own schema, dropped after
    engine = await prepare(url, kwargs, schema)
    try:
        svc = TicketService.from_settings(make_session_factory(engine), TicketingSettings())
        rng = random.Random(7)
        for _ in range(100):
            await svc.create(_new(rng), "bench", dispatch=True)
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        for _ in range(count):
            await svc.create(_new(rng), "bench", dispatch=True)
        profile.disable()
        wall = time.perf_counter() - started
        alone = await _statement_beside_floor(engine, svc, _new(rng), count, args.rounds)
    finally:
        await drop(engine, schema)
    groups: dict[str, float] = defaultdict(float)
    sends = 0
    for (filename, _line, name), (_cc, calls, own, _cum, _callers) in pstats.Stats(profile).stats.items():  # type: ignore[attr-defined]
        groups[_group(filename, name)] += own
        if "method 'send'" in name:
            sends += calls
    print(f"{count} intakes, {wall:.2f} s under the profiler; {sends / count:.2f} socket sends per intake")
    for group, seconds in sorted(groups.items(), key=lambda kv: -kv[1]):
        print(f"  {group:24s} {seconds * 1000 / count:7.3f} ms per intake")
    print(json.dumps(alone))


async def _statement_beside_floor(engine: Any, svc: TicketService, new: NewTicket, count: int,
                                  rounds: int) -> dict[str, Any]:
    """The intake's statement alone against the floor, alternately, each `count` times in all."""
    writer = svc._writer  # the statement the service runs
    statement = writer._statement
    assert statement is not None, "PostgreSQL only"
    taken: list[Intake] = []
    write = writer.write

    async def keep(intake: Intake) -> int:
        taken.append(intake)
        return await write(intake)

    writer.write = keep  # type: ignore[method-assign]
    await svc.create(new, "bench", dispatch=True)
    args = statement.arguments(taken[-1])
    # The ticket's columns follow the draft, the call, the links wanted and the time they are made.
    number = 4 + [name for name, _ in statement._ticket].index("number")
    floor, latencies, elapsed = _Floor(), [], 0.0
    for _ in range(rounds):
        await floor.run(engine, count // rounds)
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            await conn.rollback()
            for _ in range(count // rounds):
                n = len(latencies)
                args[number], args[number + 1] = f"ST{n:014d}", f"8{n:013d}"
                t0 = time.perf_counter()
                await raw.fetchval(statement.sql, *args)
                latencies.append(time.perf_counter() - t0)
                elapsed += latencies[-1]
    alone = {"tickets_per_s": round(len(latencies) / elapsed, 1), **summary_ms(latencies)}
    return {"statement_alone": alone, "floor": floor.summary(),
            "ratio_to_floor": round(alone["tickets_per_s"] / floor.summary()["tickets_per_s"], 3),
            "loadavg": os.getloadavg()}


if __name__ == "__main__":
    asyncio.run(main())
