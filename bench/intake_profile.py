"""Where intake's time goes: `TicketService.create(..., dispatch=True)` one at a time on PostgreSQL under
cProfile, the time grouped by package (waiting on the socket is the database and the round trips).

    python bench/intake_profile.py [--tickets 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tickets import _new, database, drop, prepare

from ticketing.db import make_session_factory
from ticketing.service import TicketService
from ticketing.settings import TicketingSettings

GROUPS = ("sqlalchemy", "asyncpg", "ticketing/", "asyncio", "greenlet", "pydantic", "json")


def _group(filename: str, name: str) -> str:
    if "epoll" in name or "socket" in name:
        return "waiting on the socket"
    return next((g.rstrip("/") for g in GROUPS if g in filename or g in name), "other")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1000)
    count = parser.parse_args().tickets
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


if __name__ == "__main__":
    asyncio.run(main())
