"""Where a desk request's CPU goes: one route called in-process (httpx's ASGI transport, no socket)
under cProfile, after a warm-up, against the desk-mix database (`bench/desk_mix.py` builds it).

Prints the CPU per request, the share of the parts the issue names (rows from the database, views,
JSON, auth, middleware) as cumulative time of the functions that do them, and the top functions.

    python bench/desk_profile.py [--route /api/tickets?limit=50] [--user bench-sup] [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import time
from pathlib import Path

BENCH = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p != BENCH]  # bench/ami.py would shadow the ami package

import httpx

from agent_desk.app import create_app
from agent_desk.live.board import LiveBoard
from agent_desk.settings import load_settings

sys.path.insert(0, BENCH)

from api import PASSWORD, db_url
from desk_mix import DB_NAME

# (label, file suffix, function): cumulative time of each, per request. The parts overlap where
# one calls the other (auth's database check runs inside "auth", not "rows").
PARTS = [
    ("auth: token check", "agent_desk/api/deps.py", "current_principal"),
    ("  of which JWT decode", "agent_desk/security/tokens.py", "decode"),
    ("rows: the page's query and its rows", "agent_desk/api/pagination.py", "keyset_rows"),
    ("rows: the co-handlers' query", "agent_desk/api/tickets.py", "co_handler_ids"),
    ("  of which building the views", "ticketing/views.py", "of|fields"),
    ("JSON: page serialised", "agent_desk/api/pagination.py", "json_page"),
    ("FastAPI: parameters and dependencies", "fastapi/dependencies/utils.py", "solve_dependencies"),
]


async def profile(route: str, user: str, requests: int) -> None:
    settings = load_settings(db={"url": db_url(DB_NAME)},
                             desk={"auth": {"jwt_secret": "bench-secret-bench-secret-bench-secret"}})
    app = create_app(settings, board=LiveBoard(mode="offline"), run_sweep=False)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
        login = await http.post("/api/auth/login", json={"username": user, "password": PASSWORD})
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        for _ in range(30):
            (await http.get(route, headers=headers)).raise_for_status()
        cpu = time.process_time()
        for _ in range(requests):
            (await http.get(route, headers=headers)).raise_for_status()
        cpu = time.process_time() - cpu
        profiler = cProfile.Profile(time.process_time)  # CPU, not the waits for PostgreSQL
        profiler.enable()
        for _ in range(requests):
            (await http.get(route, headers=headers)).raise_for_status()
        profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    print(f"{route} as {user}: {requests} requests, {cpu / requests * 1000:.2f} ms CPU each without the "
          f"profiler (this process: httpx client, app, driver; not PostgreSQL); {total / requests * 1000:.2f} "
          f"ms under it, of which:")
    entries = stats.stats  # type: ignore[attr-defined]
    for label, suffix, name in PARTS:
        total = sum(v[3] for (file, _, func), v in entries.items() if file.endswith(suffix) and func in name.split("|"))
        print(f"  {label:<46} {total / requests * 1000:6.2f} ms")
    stats.sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--route", default="/api/tickets?limit=50")
    parser.add_argument("--user", default="bench-sup")
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(profile(args.route, args.user, args.requests))


if __name__ == "__main__":
    main()
