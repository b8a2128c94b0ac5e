"""API load test: a real `hotline serve` on loopback over a 1,000,000-ticket PostgreSQL database.

1. Bulk-generates the database (`--tickets`, default 1,000,000) in PostgreSQL with the benchmarks'
   one loader (`common.generate_tickets`, an INSERT … SELECT over generate_series, as
   bench/tickets.py's KPI benchmark loads): tickets spread over the last 365 days in every county,
   those older than 15 days closed, the recent ones 30 % open. Skipped when the database already
   holds that many tickets (`--fresh` rebuilds it).
2. Starts `hotline serve` (one uvicorn process) as a subprocess on 127.0.0.1.
3. For each scenario, `--concurrency` clients (default 200) share one bounded httpx pool and
   send requests back to back for `--seconds`, after a warm-up:
   - list: GET /api/tickets?limit=50 as a city supervisor (scoped query, newest first);
   - create: POST /api/tickets as an agent;
   - kpi: GET /api/supervisor/dashboard as a city supervisor (today's call and ticket KPIs + live).
   Targets: p95 < 50 ms for list and create, p95 < 200 ms for the KPI page.
   With `--think-ms 0` clients fire back to back (a saturation test: p95 ≈ concurrency ÷
   throughput); `--think-ms 1000` models 200 desk users each sending about one request a second.

    python bench/api.py [--tickets 1000000] [--concurrency 200] [--seconds 15] [--think-ms 0]
                        [--workers 1] [--fresh]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from common import emit, generate_tickets, summary_ms
from sqlalchemy import func, select, text

from agent_desk.accounts import NewUser, add_user
from ticketing.db import make_engine, make_session_factory
from ticketing.models import Base, Role, Ticket, TicketRollup, User
from ticketing.regions import province_records
from ticketing.seed import seed_reference_data

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
DB_NAME = "hotline_bench_api"


def db_url(name: str) -> str:
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"

PASSWORD = "bench-password-1"
COUNTIES = [r.code for r in province_records() if r.level.value == "county"]
TARGETS_MS = {"list": 50, "create": 50, "kpi": 200}

async def prepare(tickets: int, fresh: bool, db_name: str = DB_NAME) -> None:
    admin = make_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            exists = await conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": db_name})
            if exists and fresh:
                await conn.execute(text(f'DROP DATABASE "{db_name}" WITH (FORCE)'))
                exists = None
            if not exists:
                await conn.execute(text(f'CREATE DATABASE "{db_name}"'))
    finally:
        await admin.dispose()
    engine = make_engine(db_url(db_name))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        sessions = make_session_factory(engine)
        await seed_reference_data(sessions)
        async with sessions() as session:
            have = await session.scalar(select(func.count()).select_from(Ticket).where(Ticket.created_by == "bench"))
            users = set((await session.scalars(select(User.username))).all())
        for new in (NewUser("bench-agent", Role.AGENT, PASSWORD, agent_interface="Local/bench@agents"),
                    NewUser("bench-sup", Role.SUPERVISOR, PASSWORD, region_code="320100")):
            if new.username not in users:
                await add_user(sessions, new)
        if have and have >= tickets:
            print(f"database {db_name}: {have:,} bench tickets already there", file=sys.stderr)
            async with sessions() as session:
                if await session.scalar(select(func.count()).select_from(TicketRollup)):
                    return
        await generate_tickets(engine, tickets, datetime.now(UTC), first=(have or 0) + 1, step=100_000)
    finally:
        await engine.dispose()


def start_server(port: int, workdir: Path, workers: int, db_name: str = DB_NAME) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HOTLINE_DB__URL": db_url(db_name),
           "HOTLINE_DESK__AUTH__JWT_SECRET": "bench-secret-bench-secret-bench-secret",
           "HOTLINE_DESK__AUTH__LOGIN_ATTEMPTS": "1000", "HOTLINE_CONFIG": str(workdir / "none.toml")}
    hotline = Path(sys.executable).with_name("hotline")
    # The server logs every request at INFO: to a file, never to a pipe nobody reads (once its 64 KB
    # fill up, every worker blocks on its next log line).
    with open(workdir / f"server-{port}.log", "ab") as log:
        return subprocess.Popen([str(hotline), "serve", "--port", str(port), "--no-replay", "--workers",
                                 str(workers)], cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=log)


async def wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        for _ in range(300):
            if server.poll() is not None:
                raise RuntimeError(f"server exited with {server.returncode}: see server-*.log in its folder")
            try:
                if (await http.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not become ready")


async def token(http: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await http.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def scenario(http: httpx.AsyncClient, name: str, headers: dict[str, str], concurrency: int,
                   seconds: float, warmup: float, think: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    counter = [0]

    async def one() -> httpx.Response:
        if name == "list":
            return await http.get("/api/tickets", params={"limit": 50}, headers=headers)
        if name == "create":
            counter[0] += 1
            return await http.post("/api/tickets", headers=headers, json={
                "category": "help", "region_code": COUNTIES[counter[0] % len(COUNTIES)],
                "description": f"bench create {counter[0]}", "caller_number": "13900000000"})
        return await http.get("/api/supervisor/dashboard", headers=headers)

    async def client(record_from: float, stop_at: float) -> None:
        while (now := time.perf_counter()) < stop_at:
            try:
                response = await one()
                ok = response.status_code < 400
                key = str(response.status_code)
            except httpx.HTTPError as exc:
                ok, key = False, type(exc).__name__
            if now >= record_from:
                if ok:
                    latencies.append(time.perf_counter() - now)
                else:
                    errors[key] = errors.get(key, 0) + 1
            if think:
                await asyncio.sleep(random.expovariate(1 / think))

    begin = time.perf_counter()
    await asyncio.gather(*(client(begin + warmup, begin + warmup + seconds) for _ in range(concurrency)))
    result = {"requests": len(latencies), "rps": round(len(latencies) / seconds, 1), "errors": errors,
              **summary_ms(latencies), "target_p95_ms": TARGETS_MS[name]}
    result["meets_target"] = result["p95_ms"] < TARGETS_MS[name]
    return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    await prepare(args.tickets, args.fresh)
    port = args.port
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(port, Path(tmp), args.workers)
        try:
            base = f"http://127.0.0.1:{port}"
            await wait_ready(base, server)
            limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
            async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
                tokens = {"agent": await token(http, "bench-agent"), "sup": await token(http, "bench-sup")}
                results = {}
                for name, who in (("list", "sup"), ("create", "agent"), ("kpi", "sup")):
                    print(f"  {name}: {args.concurrency} clients for {args.seconds:g} s …", file=sys.stderr)
                    results[name] = await scenario(http, name, tokens[who], args.concurrency, args.seconds,
                                                   args.warmup, args.think_ms / 1000)
        finally:
            server.terminate()
            server.wait(15)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--port", type=int, default=8791)
    parser.add_argument("--workers", type=int, default=1, help="server processes (hotline serve --workers)")
    parser.add_argument("--think-ms", type=float, default=0,
                        help="mean pause between a client's requests (0: back to back, a saturation test)")
    parser.add_argument("--fresh", action="store_true", help="drop and regenerate the bench database")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    print(f"{'scenario':<8} {'requests':>9} {'rps':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'target':>7}  ok")
    for name, r in results.items():
        print(f"{name:<8} {r['requests']:>9} {r['rps']:>8} {r['p50_ms']:>8} {r['p95_ms']:>8} {r['p99_ms']:>8} "
              f"{r['target_p95_ms']:>7}  {'yes' if r['meets_target'] else 'NO'}"
              + (f"  errors {r['errors']}" if r["errors"] else ""))
    emit("api", {"tickets": args.tickets, "concurrency": args.concurrency, "seconds": args.seconds,
                 "think_ms": args.think_ms, "server": f"hotline serve --workers {args.workers}, PostgreSQL",
                 "results": results})


if __name__ == "__main__":
    main()
