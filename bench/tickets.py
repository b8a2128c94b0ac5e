"""Ticketing benchmarks.

1. Intake: create and route tickets through `TicketService.create(..., dispatch=True)`, one at a
   time (one core, one connection), then `--concurrency` in flight, on SQLite and PostgreSQL.
   Reports tickets/s, CPU per ticket, p50 and p95. On PostgreSQL, one at a time, beside its floor:
   the same ticket row inserted by bare asyncpg on a connection of the same pool, in `--rounds`
   alternations with the intakes, and the ratio of the two rates.
2. KPIs over a year of history: `--kpi-rows` tickets (default 10,000,000) generated over 365 days
   by one `INSERT … SELECT generate_series` on PostgreSQL (SQLite: the Python generator), the
   roll-ups rebuilt from them, then `ticket_kpis` by city and by unit over the last 30 and 365 whole
   days, from the roll-ups and by the direct GROUP BY (`rollups=False`), alternately, same run.

    python bench/tickets.py [--tickets 3000] [--kpi-rows 10000000] [--backends sqlite,postgres] [--rounds 5]
    python bench/tickets.py --tickets 0 --backends postgres     # KPIs only
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import OFFSET_HOURS, alternate, emit, finish_load, generate_tickets, summary_ms, timed
from sqlalchemy import func, insert, select, text

from ticketing.db import make_engine, make_session_factory
from ticketing.kpi import Dimension, KpiFilter, TicketKpi, ticket_kpis
from ticketing.models import Base, RedWatermark, Ticket, TicketRollup
from ticketing.outcomes import outcomes
from ticketing.regions import province_records
from ticketing.seed import seed_reference_data
from ticketing.service import NewTicket, TicketService
from ticketing.settings import DatabaseSettings, TicketingSettings
from ticketing.vocabulary import Category, Channel, Rating, TicketState

PG_URL = os.environ.get("HOTLINE_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
COUNTIES = [r for r in province_records() if r.level.value == "county"]
TEXTS = ["小区路灯不亮", "自来水停水三天", "公司拖欠工资", "道路破损坑洼", "噪音扰民", "咨询公积金提取"]


async def database(backend: str, tmp: Path) -> tuple[Any, dict[str, Any], str | None]:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp}/bench-{uuid.uuid4().hex[:6]}.db", {}, None
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    return PG_URL, {"connect_args": {"server_settings": {"search_path": schema}}}, schema


async def prepare(url: str, kwargs: dict[str, Any], schema: str | None) -> Any:
    pool = DatabaseSettings()  # the product's pool, as `hotline serve` sizes it
    engine = make_engine(url, pool_size=pool.pool_size, max_overflow=pool.max_overflow, **kwargs)
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


async def bench_intake(backend: str, count: int, concurrency: int, tmp: Path, rounds: int) -> dict[str, Any]:
    """`concurrency` intakes in flight at once (as many agents would), in one process. On PostgreSQL one
    at a time, in `rounds` alternating with as many floor inserts, so the shared machine's load falls
    on both alike."""
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

        with_floor = backend == "postgres" and concurrency == 1
        rounds = rounds if with_floor else 1
        floor = _Floor()
        elapsed = cpu = 0.0
        for _ in range(rounds):
            cpu0, started = time.process_time(), time.perf_counter()
            await asyncio.gather(*(agent(count // rounds // concurrency) for _ in range(concurrency)))
            elapsed, cpu = elapsed + time.perf_counter() - started, cpu + time.process_time() - cpu0
            if with_floor:
                await floor.run(engine, count // rounds)
        done = len(latencies)
        result = {"backend": backend, "tickets": done, "concurrency": concurrency,
                  "tickets_per_s": round(done / elapsed, 1), "cpu_ms_per_ticket": round(cpu / done * 1000, 3),
                  **summary_ms(latencies)}
        if with_floor:
            result["rounds"] = rounds
            result["floor"] = floor.summary()
            result["ratio_to_floor"] = round(result["tickets_per_s"] / result["floor"]["tickets_per_s"], 3)
        return result
    finally:
        await drop(engine, schema)


class _Floor:
    """The floor under intake: the last ticket's row inserted again (new numbers) by bare asyncpg, one
    prepared INSERT … RETURNING id per ticket, autocommitted, on one pooled connection."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.elapsed = self.cpu = 0.0

    async def run(self, engine: Any, count: int) -> None:
        async with engine.connect() as conn:
            row = dict((await conn.execute(
                select(Ticket.__table__).order_by(Ticket.id.desc()).limit(1))).mappings().one())
            await conn.commit()
            raw = (await conn.get_raw_connection()).driver_connection
            columns = [c for c in row if c != "id"]
            statement = await raw.prepare(
                f"INSERT INTO tickets ({', '.join(columns)}) VALUES "
                f"({', '.join(f'${i + 1}' for i in range(len(columns)))}) RETURNING id")
            values = [row[c] for c in columns]
            number, digits = columns.index("number"), columns.index("digits")
            cpu0, started = time.process_time(), time.perf_counter()
            for _ in range(count):
                n = len(self.latencies)
                values[number], values[digits] = f"FL{n:014d}", f"9{n:013d}"
                t0 = time.perf_counter()
                await statement.fetchval(*values)
                self.latencies.append(time.perf_counter() - t0)
            self.elapsed += time.perf_counter() - started
            self.cpu += time.process_time() - cpu0

    def summary(self) -> dict[str, Any]:
        done = len(self.latencies)
        return {"tickets_per_s": round(done / self.elapsed, 1), "cpu_ms_per_ticket": round(self.cpu / done * 1000, 3),
                **summary_ms(self.latencies)}


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


async def bulk_load(engine: Any, count: int, chunk: int = 50_000, now: datetime | None = None) -> float:
    started = time.perf_counter()
    for offset in range(0, count, chunk):
        rows = _rows(min(chunk, count - offset), seed=offset)
        for j, row in enumerate(rows):
            row["number"], row["digits"] = f"JS{offset + j:014d}", f"{offset + j:014d}"
        async with engine.begin() as conn:
            await conn.execute(insert(Ticket), rows)
        print(f"  loaded {offset + len(rows):,} tickets", file=sys.stderr, end="\r")
    await finish_load(engine, now)
    print(file=sys.stderr)
    return time.perf_counter() - started


async def bench_kpi(backend: str, rows: int, runs: int, direct_runs: int, tmp: Path,
                    keep: str | None = None) -> dict[str, Any]:
    """`keep`: a PostgreSQL schema, or a SQLite file `keep`.db here, kept after the run; loaded if it
    does not exist, else measured as it is, at the instant of its load (its red watermark)."""
    url, kwargs, schema = await database(backend, tmp)
    reuse = False
    if keep and backend == "postgres":
        schema, kwargs = keep, {"connect_args": {"server_settings": {"search_path": keep}}}
        probe = make_engine(url)
        async with probe.connect() as conn:
            reuse = bool(await conn.scalar(text("SELECT count(*) FROM pg_namespace WHERE nspname = :s"), {"s": keep}))
        await probe.dispose()
    elif keep:
        path = Path(f"{keep}.db").resolve()
        url, reuse = f"sqlite+aiosqlite:///{path}", path.exists()
    engine = make_engine(url, **kwargs) if reuse else await prepare(url, kwargs, schema)
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        if reuse:
            async with engine.connect() as conn:
                now = (await conn.scalar(select(RedWatermark.at))) or now
            load_s = 0.0
        elif backend == "postgres":
            load_s = await generate_tickets(engine, rows, now)
        else:
            load_s = await bulk_load(engine, rows, now=now)
        sessions = make_session_factory(engine)
        async with sessions() as session:
            stored = await session.scalar(select(func.count()).select_from(TicketRollup))
        zone = timezone(timedelta(hours=OFFSET_HOURS))
        midnight = now.astimezone(zone).replace(hour=0, minute=0, second=0)
        results = []
        for days in (30, 365):
            for by in (Dimension.CITY, Dimension.UNIT):
                flt = KpiFilter(since=midnight - timedelta(days=days), until=midnight)

                async def ask(via_rollups: bool, by: Dimension = by,
                              flt: KpiFilter = flt) -> tuple[list[TicketKpi], float]:
                    async with sessions() as session:
                        return await timed(ticket_kpis(session, now=now, by=by, where=flt, rollups=via_rollups))

                fast, direct, answers = await alternate(ask, runs, direct_runs)
                assert all(a == answers[0] for a in answers[1:]), "roll-ups and direct GROUP BY disagree"
                tickets = sum(r.total for r in answers[0])
                fast_ms, direct_ms = summary_ms(fast), summary_ms(direct)
                results.append({"by": by.value, "days": days, "tickets_in_period": tickets, "groups": len(answers[0]),
                                "rollups": fast_ms, "direct": direct_ms,
                                "ratio_p50": round(direct_ms["p50_ms"] / fast_ms["p50_ms"], 1)})
                print(json.dumps(results[-1]), file=sys.stderr)
        return {"backend": backend, "tickets": rows, "rollup_rows": stored, "load_and_rollup_s": round(load_s, 1),
                "runs": runs, "direct_runs": direct_runs, "queries": results}
    finally:
        if keep:
            await engine.dispose()
        else:
            await drop(engine, schema)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8, help="intakes in flight at once")
    parser.add_argument("--rounds", type=int, default=5, help="intake and floor alternations (PostgreSQL)")
    parser.add_argument("--kpi-rows", type=int, default=10_000_000, help="0: intake only")
    parser.add_argument("--kpi-runs", type=int, default=40, help="runs of each KPI query from the roll-ups")
    parser.add_argument("--direct-runs", type=int, default=3, help="runs of the direct GROUP BY beside them")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--keep", metavar="SCHEMA", help="KPIs: load into this PostgreSQL schema (database: "
                        "$HOTLINE_BENCH_PG_URL) or SQLite file SCHEMA.db once and keep it; later runs measure it")
    args = parser.parse_args()
    backends = args.backends.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        intake = [await bench_intake(b, args.tickets, c, Path(tmp), args.rounds)
                  for b in backends for c in (1, args.concurrency) if args.tickets]
        kpi = [await bench_kpi(b, args.kpi_rows, args.kpi_runs, args.direct_runs, Path(tmp), args.keep)
               for b in backends if args.kpi_rows]
    emit("tickets", {"intake_create_and_route": intake, "kpi": kpi})


if __name__ == "__main__":
    asyncio.run(main())
