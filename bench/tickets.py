"""Ticketing benchmarks.

1. Intake: create and route tickets through `TicketService.create(..., dispatch=True)`, one at a
   time (one core, one connection), on SQLite and PostgreSQL. Reports tickets/s, p50 and p95.
2. KPI by city over a bulk-generated database of 1,000,000 tickets (`ticket_kpis(by=CITY)`),
   on SQLite and PostgreSQL. Reports p50 and p95.

    python bench/tickets.py [--tickets 3000] [--kpi-rows 1000000] [--backends sqlite,postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import emit, summary_ms
from sqlalchemy import insert, text

from ticketing.db import make_engine, make_session_factory
from ticketing.kpi import Dimension, ticket_kpis
from ticketing.models import Base, Ticket
from ticketing.outcomes import outcomes
from ticketing.regions import province_records
from ticketing.seed import seed_reference_data
from ticketing.service import NewTicket, TicketService
from ticketing.settings import TicketingSettings
from ticketing.vocabulary import Category, Channel, Rating, TicketState

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
COUNTIES = [r for r in province_records() if r.level.value == "county"]
TEXTS = ["小区路灯不亮", "自来水停水三天", "公司拖欠工资", "道路破损坑洼", "噪音扰民", "咨询公积金提取"]


async def database(backend: str, tmp: Path) -> tuple[Any, dict[str, Any], str | None]:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp}/bench-{uuid.uuid4().hex[:6]}.db", {}, None
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    return PG_URL, {"connect_args": {"server_settings": {"search_path": schema}}}, schema


async def prepare(url: str, kwargs: dict[str, Any], schema: str | None) -> Any:
    engine = make_engine(url, **kwargs)
    async with engine.begin() as conn:
        if schema:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        await conn.run_sync(Base.metadata.create_all)
    await seed_reference_data(make_session_factory(engine))
    return engine


async def drop(engine: Any, schema: str | None) -> None:
    if schema:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await engine.dispose()


async def bench_intake(backend: str, count: int, concurrency: int, tmp: Path) -> dict[str, Any]:
    """`concurrency` intakes in flight at once (as many agents would), in one process."""
    url, kwargs, schema = await database(backend, tmp)
    engine = await prepare(url, kwargs, schema)
    try:
        svc = TicketService.from_settings(make_session_factory(engine), TicketingSettings())
        rng = random.Random(7)
        latencies: list[float] = []
        for _ in range(50):  # warm-up: connections, statement caches
            await svc.create(_new(rng), "bench", dispatch=True)

        async def agent(n: int) -> None:
            for _ in range(n):
                t0 = time.perf_counter()
                await svc.create(_new(rng), "bench", dispatch=True)
                latencies.append(time.perf_counter() - t0)

        cpu0, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(agent(count // concurrency) for _ in range(concurrency)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu0
        done = len(latencies)
        return {"backend": backend, "tickets": done, "concurrency": concurrency,
                "tickets_per_s": round(done / elapsed, 1), "cpu_ms_per_ticket": round(cpu / done * 1000, 3),
                **summary_ms(latencies)}
    finally:
        await drop(engine, schema)


def _new(rng: random.Random) -> NewTicket:
    county = rng.choice(COUNTIES)
    return NewTicket(Channel.PHONE, rng.choice(list(Category)), rng.choice(TEXTS),
                     caller_number=f"138{rng.randrange(10**8):08d}", region_code=county.code)


def _rows(count: int, seed: int = 11) -> list[dict[str, Any]]:
    """Realistic spread: 90 days of intake, most closed, some late, some red, most satisfied."""
    rng = random.Random(seed)
    base = datetime(2026, 8, 30, tzinfo=UTC)
    states = [TicketState.CLOSED] * 70 + [TicketState.ARCHIVED] * 10 + [TicketState.HANDLING] * 10 + \
        [TicketState.DISPATCHED] * 5 + [TicketState.REPLIED] * 3 + [TicketState.ACCEPTED] * 2
    ratings = [Rating.SATISFIED] * 80 + [Rating.BASICALLY_SATISFIED] * 13 + [Rating.UNSATISFIED] * 7
    categories, rows = list(Category), []
    for i in range(count):
        county = COUNTIES[i % len(COUNTIES)]
        created = base + timedelta(seconds=rng.randrange(90 * 86400))
        state = states[i % 100]
        dispatched = created + timedelta(minutes=5)
        sign_due = dispatched + timedelta(hours=rng.choice((4, 20, 70)))
        signed = None if state in (TicketState.ACCEPTED, TicketState.DISPATCHED) else \
            dispatched + timedelta(minutes=rng.randrange(600))
        due = signed + timedelta(days=7) if signed else None
        replied = None
        if state in (TicketState.CLOSED, TicketState.ARCHIVED, TicketState.REPLIED) and due:
            replied = due - timedelta(hours=rng.randrange(-24, 150))
        closed = (replied + timedelta(hours=2)
                  if replied and state in (TicketState.CLOSED, TicketState.ARCHIVED) else None)
        rows.append({
            "number": f"JS{i:014d}", "digits": f"{i:014d}", "channel": Channel.PHONE,
            "category": categories[i % 6], "description": TEXTS[i % len(TEXTS)],
            "caller_number": f"139{i:08d}", "region_code": county.code, "city_code": county.city_code,
            "county_code": county.code, "address": "", "priority": 0, "state": state,
            "lead_unit_id": f"office:{county.code}", "created_by": "bench", "created_at": created,
            "updated_at": created, "dispatched_at": dispatched, "sign_due_at": sign_due,
            "signed_at": signed, "due_at": due, "replied_at": replied, "closed_at": closed,
            "rating": rng.choice(ratings) if closed else None, "redo_count": 0, "extension_count": 0,
            "sign_breach_raised": False, "due_breach_raised": False, "callback_requested": False,
            "version": 1,
        })
        rows[-1].update(outcomes(**{k: rows[-1][k] for k in (
            "state", "created_at", "sign_due_at", "signed_at", "due_at", "replied_at", "closed_at", "rating")}))
    return rows


async def bulk_load(engine: Any, count: int, chunk: int = 50_000) -> float:
    started = time.perf_counter()
    for offset in range(0, count, chunk):
        rows = _rows(min(chunk, count - offset), seed=offset)
        for j, row in enumerate(rows):
            row["number"], row["digits"] = f"JS{offset + j:014d}", f"{offset + j:014d}"
        async with engine.begin() as conn:
            await conn.execute(insert(Ticket), rows)
        print(f"  loaded {offset + len(rows):,} tickets", file=sys.stderr, end="\r")
    async with engine.begin() as conn:
        await conn.execute(text("ANALYZE"))
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE tickets"))
    print(file=sys.stderr)
    return time.perf_counter() - started


async def bench_kpi(backend: str, rows: int, runs: int, tmp: Path) -> dict[str, Any]:
    url, kwargs, schema = await database(backend, tmp)
    engine = await prepare(url, kwargs, schema)
    try:
        load_s = await bulk_load(engine, rows)
        sessions = make_session_factory(engine)
        now = datetime(2026, 11, 28, 6, tzinfo=UTC)
        samples = []
        for i in range(runs + 2):
            async with sessions() as session:
                t0 = time.perf_counter()
                result = await ticket_kpis(session, now=now, by=Dimension.CITY)
                if i >= 2:  # the first two warm the caches
                    samples.append(time.perf_counter() - t0)
        assert len(result) == 13 and sum(r.total for r in result) == rows
        return {"backend": backend, "tickets": rows, "load_s": round(load_s, 1), "runs": runs,
                **summary_ms(samples)}
    finally:
        await drop(engine, schema)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8, help="intakes in flight at once")
    parser.add_argument("--kpi-rows", type=int, default=1_000_000, help="0: intake only")
    parser.add_argument("--kpi-runs", type=int, default=20)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    backends = args.backends.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        intake = [await bench_intake(b, args.tickets, c, Path(tmp)) for b in backends for c in (1, args.concurrency)]
        kpi = [await bench_kpi(b, args.kpi_rows, args.kpi_runs, Path(tmp)) for b in backends if args.kpi_rows]
    emit("tickets", {"intake_create_and_route": intake, "kpi_by_city": kpi})


if __name__ == "__main__":
    asyncio.run(main())
