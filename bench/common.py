"""Helpers shared by the benchmarks: percentiles, machine description, result printing, and the
PostgreSQL ticket history loader (`generate_tickets`)."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

T = TypeVar("T")

from sqlalchemy import select, text

from ticketing import rollups
from ticketing.models import Unit
from ticketing.regions import province_records

OFFSET_HOURS = 8  # Asia/Shanghai, the default calendar's zone: the roll-ups' days


def percentile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(samples: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/mean of samples given in seconds, in milliseconds."""
    return {
        "p50_ms": round(percentile(samples, 50) * 1000, 3),
        "p95_ms": round(percentile(samples, 95) * 1000, 3),
        "p99_ms": round(percentile(samples, 99) * 1000, 3),
        "mean_ms": round(statistics.fmean(samples) * 1000, 3) if samples else float("nan"),
    }


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    pg = ""
    try:
        pg = subprocess.run(["psql", "--version"], capture_output=True, text=True, timeout=5,
                            check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    import sqlite3

    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "postgresql_client": pg, "kernel": platform.release()}


def emit(name: str, result: dict[str, Any]) -> None:
    print(json.dumps({"bench": name, "machine": machine(), **result}, ensure_ascii=False, indent=2))


async def alternate(ask: Callable[[bool], Awaitable[tuple[T, float]]], runs: int,
                    direct_runs: int) -> tuple[list[float], list[float], list[T]]:
    """Asks `ask(True)` (from the roll-ups) `runs` times and `ask(False)` (the direct GROUP BY)
    `direct_runs` times, alternately while both run, each after one warm-up. `ask` returns its
    answer and the seconds it took; returns the seconds of each and every answer."""
    fast: list[float] = []
    direct: list[float] = []
    answers: list[T] = []
    for i in range(max(runs + 1, direct_runs + 1)):
        for via_rollups in (True, False) if i <= direct_runs else (True,):
            if via_rollups and i > runs:
                continue
            answer, seconds = await ask(via_rollups)
            answers.append(answer)
            if i >= 1:
                (fast if via_rollups else direct).append(seconds)
    return fast, direct, answers


async def timed(work: Awaitable[T]) -> tuple[T, float]:
    t0 = time.perf_counter()
    answer = await work
    return answer, time.perf_counter() - t0


async def finish_load(engine: Any, red_before: datetime | None = None) -> None:
    """The roll-ups of what was loaded behind the service's back (red as of `red_before`, default
    now), then fresh planner statistics."""
    async with engine.begin() as conn:
        await rollups.rebuild(conn, OFFSET_HOURS, red_before or datetime.now(UTC))
        await conn.execute(text("ANALYZE"))
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("VACUUM ANALYZE tickets"))


# A year ending now: 8 units per county (its office and departments), every channel and category;
# tickets older than 15 days are closed (60 % of them on time, 75 % of the rated satisfied), the
# recent ones 30 % open, of which a third overdue.
GENERATE = """
INSERT INTO tickets (number, digits, channel, caller_number, category, description, region_code,
    city_code, county_code, address, priority, state, level, lead_unit_id, created_by, created_at,
    updated_at, dispatched_at, sign_due_at, signed_at, due_at, replied_at, closed_at, rating,
    redo_count, extension_count, return_count, sign_breach_raised, due_breach_raised,
    callback_requested, public, version, sign_ok, close_ok, satisfied, handling_seconds, red_after)
SELECT 'BT' || lpad(g::text, 12, '0'), lpad(g::text, 20, '0'),
    (ARRAY['phone','phone','phone','phone','web','wechat','app','weibo'])[1 + g % 8],
    '139' || lpad((g % 100000000)::text, 8, '0'),
    (ARRAY['consultation','consultation','help','complaint','report','suggestion','praise'])[1 + (g / 8) % 7],
    'bench ticket', c.code, left(c.code, 4) || '00', c.code, '', 0,
    CASE WHEN o.open THEN (ARRAY['dispatched','handling','handling'])[1 + g % 3] ELSE 'closed' END,
    'county', (CAST(:units AS text[]))[1 + (g % CAST(:ncounties AS integer)) * 8 + (g / 56) % 8], 'bench', t.at, t.at,
    t.at + interval '10 minutes', t.at + interval '4 hours',
    CASE WHEN NOT o.open OR g % 3 > 0 THEN t.at + interval '1 hour' END,
    CASE WHEN NOT o.open OR g % 3 > 0 THEN t.at + interval '7 days' END,
    CASE WHEN NOT o.open THEN t.at + (2 + g % 9) * interval '1 day' END,
    CASE WHEN NOT o.open THEN t.at + (3 + g % 9) * interval '1 day' END,
    CASE WHEN NOT o.open AND g % 5 > 0 THEN
        (ARRAY['satisfied','satisfied','basically_satisfied','unsatisfied'])[1 + g % 4] END,
    CASE WHEN g % 50 = 0 THEN 1 ELSE 0 END, CASE WHEN g % 40 = 0 THEN 1 ELSE 0 END,
    CASE WHEN g % 30 = 0 THEN 1 ELSE 0 END, false, false, false, false, 1,
    CASE WHEN NOT o.open OR g % 3 > 0 THEN 1 END,
    CASE WHEN NOT o.open THEN CASE WHEN g % 9 <= 4 THEN 1 ELSE 0 END END,
    CASE WHEN NOT o.open AND g % 5 > 0 THEN CASE WHEN g % 4 < 3 THEN 1 ELSE 0 END END,
    CASE WHEN NOT o.open THEN (3 + g % 9) * 86400.0 END,
    CASE WHEN o.open THEN CASE WHEN g % 3 > 0 THEN t.at + interval '7 days' ELSE t.at + interval '4 hours' END END
FROM generate_series(CAST(:start AS bigint), CAST(:stop AS bigint)) AS g
CROSS JOIN LATERAL (SELECT CAST(:now AS timestamptz)
    - ((CAST(:total AS bigint) - g) * (365.0 * 86400 / CAST(:total AS bigint))) * interval '1 second' AS at) AS t
CROSS JOIN LATERAL (SELECT (CAST(:counties AS text[]))[1 + g % CAST(:ncounties AS integer)] AS code) AS c
CROSS JOIN LATERAL (SELECT t.at > CAST(:now AS timestamptz) - interval '15 days' AND g % 10 < 3 AS open) AS o
"""


async def generate_tickets(engine: Any, count: int, now: datetime, *, first: int = 1, step: int = 500_000) -> float:
    """Tickets `first`…`count` of a year of `count` ending at `now`, by generate_series, in steps of one
    transaction each (PostgreSQL); then their roll-ups and planner statistics. Seconds taken."""
    started = time.perf_counter()
    async with engine.connect() as conn:
        units = (await conn.execute(select(Unit.id, Unit.region_code).order_by(Unit.id))).all()
    by_county: dict[str, list[str]] = {}
    for unit_id, region in units:
        by_county.setdefault(region, []).append(unit_id)
    codes = [r.code for r in province_records() if r.level.value == "county"]
    chosen = [by_county.get(code, [f"office:{code}"])[i % len(by_county.get(code, [None]))] for code in codes
              for i in range(8)]
    for start in range(first, count + 1, step):
        async with engine.begin() as conn:
            await conn.execute(text(GENERATE), {
                "start": start, "stop": min(count, start + step - 1), "total": count, "now": now,
                "counties": codes, "ncounties": len(codes), "units": chosen})
        print(f"  generated {min(count, start + step - 1):,} tickets ({time.perf_counter() - started:.0f} s)",
              file=sys.stderr)
    await finish_load(engine, now)
    return time.perf_counter() - started
