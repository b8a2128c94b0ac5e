"""Report routes over a bulk-generated database, on SQLite and PostgreSQL.

The database: `--tickets` tickets over 90 days (bench/tickets.py's generator: every county, most
closed, some late, some red), `--calls` stored calls over the same days in one queue per city, and
three agents per queue logged in eight hours a day. Each /api/reports route (JSON) is asked `--runs`
times in process (httpx over ASGI: the route, the KPI queries and serialisation, no network), for
one month and for the whole 90 days, as the province's supervisor and as Suzhou's. Reports p50 and
p95 per route and period. No target is set by the issue; the figures are the floor the KPI roll-up
tables (issue perf) are measured against.

    python bench/reports.py [--tickets 200000] [--calls 100000] [--runs 10] [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the packages, not bench/ami.py

import httpx
from common import emit, summary_ms
from sqlalchemy import insert, text

from agent_desk.accounts import NewUser, add_user
from agent_desk.app import create_app
from agent_desk.live.board import LiveBoard
from agent_desk.settings import load_settings
from ticketing import call_rollups
from ticketing.call_kpis import RollupBasis
from ticketing.db import make_session_factory
from ticketing.models import AgentMembership, CallOutcome, CallRecord, Role
from ticketing.regions import province_records

CITIES = [r.code for r in province_records() if r.level.value == "city"]
QUEUES = {f"hotline-{city}": city for city in CITIES}
START = datetime(2026, 8, 30, tzinfo=UTC)  # bench/tickets.py's 90 days
DAYS = 90
PASSWORD = "bench-password-1"
PERIODS = {"month": {"start": "2026-11-01", "end": "2026-11-30"},
           "90 days": {"start": "2026-08-30", "end": "2026-11-28"}}
ROUTES = [("calls by day", "/api/reports/calls", {"by": "day"}),
          ("calls by hour of day", "/api/reports/calls", {"by": "hour_of_day"}),
          ("staffing", "/api/reports/staffing", {}),
          ("tickets by channel", "/api/reports/tickets", {"by": "channel"}),
          ("tickets by county", "/api/reports/tickets", {"by": "county"}),
          ("tickets by unit", "/api/reports/tickets", {"by": "unit"}),
          ("overdue", "/api/reports/overdue", {}),
          ("hot spots", "/api/reports/hotspots", {})]
OUTCOMES = [CallOutcome.ANSWERED] * 8 + [CallOutcome.ABANDONED] * 2


async def load_calls(engine: Any, count: int, chunk: int = 20_000) -> None:
    rng = random.Random(5)
    queues = list(QUEUES)
    for offset in range(0, count, chunk):
        rows = []
        for i in range(offset, min(count, offset + chunk)):
            entered = START + timedelta(seconds=rng.randrange(DAYS * 86400))
            outcome = OUTCOMES[i % len(OUTCOMES)]
            answered = outcome is CallOutcome.ANSWERED
            rows.append({"server": "pbx1", "linkedid": f"{i}", "queue": queues[i % len(queues)], "entered_at": entered,
                         "started_at": entered, "wait_seconds": rng.randrange(60),
                         "talk_seconds": rng.randrange(30, 400) if answered else None,
                         "answered_at": entered if answered else None, "outcome": outcome, "final": True,
                         "updated_at": entered})
        async with engine.begin() as conn:
            await conn.execute(insert(CallRecord), rows)
    memberships = [{"server": "pbx1", "queue": queue, "interface": f"PJSIP/{n}{city}", "member_name": f"{n}{city}",
                    "logged_in_at": START + timedelta(days=day, hours=n * 4),
                    "logged_out_at": START + timedelta(days=day, hours=n * 4 + 8)}
                   for queue, city in QUEUES.items() for n in range(3) for day in range(DAYS)]
    async with engine.begin() as conn:
        await conn.execute(insert(AgentMembership), memberships)
        await call_rollups.rebuild(conn, RollupBasis())  # the calls were loaded behind the call store's back
        await conn.execute(text("ANALYZE"))


async def bench_backend(backend: str, tickets: int, calls: int, runs: int, tmp: Path) -> dict[str, Any]:
    # bench/tickets.py's generator; imported here, after the packages, because it puts bench/ (and
    # so bench/ami.py) first on the path
    from tickets import bulk_load, database, drop, prepare

    url, kwargs, schema = await database(backend, tmp)
    engine = await prepare(url, kwargs, schema)
    try:
        load_s = await bulk_load(engine, tickets)
        await load_calls(engine, calls)
        sessions = make_session_factory(engine)
        for name, region in (("sup_province", "320000"), ("sup_suzhou", "320500")):
            await add_user(sessions, NewUser(name, Role.SUPERVISOR, PASSWORD, region_code=region))
        settings = load_settings(db={"url": url}, desk={"auth": {"jwt_secret": "bench-secret-of-sufficient-length-32"},
                                                        "supervision": {"queue_cities": QUEUES}})
        app = create_app(settings, engine=engine, board=LiveBoard(mode="offline"), run_sweep=False)
        results = []
        async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
            for user in ("sup_province", "sup_suzhou"):
                login = await http.post("/api/auth/login", json={"username": user, "password": PASSWORD})
                headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
                for period, dates in PERIODS.items():
                    for name, path, params in ROUTES:
                        samples = []
                        for i in range(runs + 1):
                            t0 = time.perf_counter()
                            response = await http.get(path, params={**params, **dates}, headers=headers)
                            assert response.status_code == 200, response.text
                            if i:  # the first warms the caches
                                samples.append(time.perf_counter() - t0)
                        results.append({"user": user, "period": period, "route": name,
                                        "rows": len(response.json()["items"]), **summary_ms(samples)})
                        print(f"  {backend} {user} {period} {name}: {results[-1]['p95_ms']} ms", file=sys.stderr)
        return {"backend": backend, "tickets": tickets, "calls": calls, "load_s": round(load_s, 1), "runs": runs,
                "routes": results}
    finally:
        await drop(engine, schema)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=200_000)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = [await bench_backend(b, args.tickets, args.calls, args.runs, Path(tmp))
                   for b in args.backends.split(",")]
    emit("reports", {"backends": results})


if __name__ == "__main__":
    asyncio.run(main())
