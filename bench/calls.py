"""Call KPIs over a year of call records: from the hourly/daily/monthly roll-ups vs the direct GROUP BY.

`--calls` call records (default 5,000,000: about a province's year at 14,000 calls a day), each with
one queue leg, over the 365 days before now, by `INSERT … SELECT generate_series` on PostgreSQL in a
schema of its own (dropped at the end); 13 queues on two PBXs, 260 agents; 75 % answered, 15 %
abandoned, the rest timeouts, key exits and `unknown`. The roll-ups are rebuilt from them
(`call_rollups.rebuild`), then `call_kpis` overall, by queue, by agent and by day over the last 30 and
365 whole local days, from the roll-ups (`--runs`) and by the direct GROUP BY (`rollups=False`,
`--direct-runs`), alternately, same run; the answers must agree.

    python bench/calls.py [--calls 5000000] [--runs 40] [--direct-runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import alternate, emit, summary_ms, timed
from sqlalchemy import func, select, text
from tickets import database, drop, prepare

from ticketing import call_rollups
from ticketing.call_kpis import (
    CallDimension,
    CallKpiSettings,
    KeyedCallKpis,
    RollupBasis,
    call_kpis,
)
from ticketing.db import make_session_factory
from ticketing.models import CallRollup

OFFSET_HOURS = 8  # the default basis: Asia/Shanghai, the default calendar's zone
GENERATE = """
INSERT INTO call_records (server, linkedid, caller_number, queue, started_at, entered_at, wait_seconds, agent,
    answered_at, talk_seconds, outcome, final, updated_at)
SELECT (ARRAY['pbx1','pbx2'])[1 + g % 2], g::text, '139' || lpad((g % 100000000)::text, 8, '0'),
    'hotline-' || (3201 + g % 13)::text || '00', t.at, t.at, (g * 7919 % 90)::float8,
    CASE WHEN o.outcome = 'answered' THEN 'agent' || (g % 13)::text || '-' || (g / 13 % 20)::text END,
    CASE WHEN o.outcome = 'answered' THEN t.at + (g * 7919 % 90) * interval '1 second' END,
    CASE WHEN o.outcome = 'answered' THEN (30 + g % 400)::float8 END, o.outcome, true, t.at
FROM generate_series(CAST(:start AS bigint), CAST(:stop AS bigint)) AS g
CROSS JOIN LATERAL (SELECT CAST(:now AS timestamptz)
    - ((CAST(:total AS bigint) - g) * (365.0 * 86400 / CAST(:total AS bigint))) * interval '1 second' AS at) AS t
CROSS JOIN LATERAL (SELECT (ARRAY['answered','answered','answered','answered','answered','answered','answered',
    'answered','answered','answered','answered','answered','answered','answered','answered','abandoned',
    'abandoned','abandoned','timeout','exit_with_key'])[1 + g % 20] AS outcome) AS o
"""
LEGS = """
INSERT INTO call_legs (call_id, seq, queue, uniqueid, entered_at, wait_seconds, agent, answered_at, talk_seconds,
    outcome, left_at, ring_no_answer)
SELECT id, 0, queue, linkedid, entered_at, wait_seconds, agent, answered_at, talk_seconds, outcome, entered_at, 0
FROM call_records WHERE id BETWEEN CAST(:start AS bigint) AND CAST(:stop AS bigint)
"""
QUERIES = [None, CallDimension.QUEUE, CallDimension.AGENT, CallDimension.DAY]


async def generate(engine: Any, count: int, now: datetime, step: int = 500_000) -> float:
    started = time.perf_counter()
    for start in range(1, count + 1, step):
        stop = min(count, start + step - 1)
        async with engine.begin() as conn:
            await conn.execute(text(GENERATE), {"start": start, "stop": stop, "total": count, "now": now})
            await conn.execute(text(LEGS), {"start": start, "stop": stop})
        print(f"  generated {stop:,} calls ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    async with engine.begin() as conn:
        await call_rollups.rebuild(conn, RollupBasis(OFFSET_HOURS))
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - started


def _agree(a: list[KeyedCallKpis], b: list[KeyedCallKpis]) -> bool:
    def counts(rows: list[KeyedCallKpis]) -> list[tuple[Any, ...]]:
        return [(r.key, r.offered, r.answered, r.abandoned, r.answered_within_sl, round(r.talk_seconds)) for r in rows]

    return counts(a) == counts(b)


async def bench(rows: int, runs: int, direct_runs: int, tmp: Path) -> dict[str, Any]:
    url, kwargs, schema = await database("postgres", tmp)
    engine = await prepare(url, kwargs, schema)
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        load_s = await generate(engine, rows, now)
        sessions = make_session_factory(engine)
        async with sessions() as session:
            stored = await session.scalar(select(func.count()).select_from(CallRollup))
        midnight = now.astimezone(timezone(timedelta(hours=OFFSET_HOURS))).replace(hour=0, minute=0, second=0)
        results = []
        for days in (30, 365):
            for by in QUERIES:
                period = {"since": midnight - timedelta(days=days), "until": midnight, "by": by,
                          "settings": CallKpiSettings(), "utc_offset_hours": OFFSET_HOURS}

                async def ask(via_rollups: bool,
                              period: dict[str, Any] = period) -> tuple[list[KeyedCallKpis], float]:
                    async with sessions() as session:
                        return await timed(call_kpis(session, **period, rollups=via_rollups))

                fast, direct, answers = await alternate(ask, runs, direct_runs)
                assert all(_agree(a, answers[0]) for a in answers[1:]), "roll-ups and direct GROUP BY disagree"
                fast_ms, direct_ms = summary_ms(fast), summary_ms(direct)
                results.append({"by": by.value if by else "overall", "days": days,
                                "calls_in_period": sum(r.offered for r in answers[0]) if by is None or by in (
                                    CallDimension.DAY,) else None,
                                "groups": len(answers[0]), "rollups": fast_ms, "direct": direct_ms,
                                "ratio_p50": round(direct_ms["p50_ms"] / fast_ms["p50_ms"], 1)})
                print(json.dumps(results[-1]), file=sys.stderr)
        return {"backend": "postgres", "calls": rows, "rollup_rows": stored, "load_and_rollup_s": round(load_s, 1),
                "runs": runs, "direct_runs": direct_runs, "queries": results}
    finally:
        await drop(engine, schema)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=40, help="runs of each KPI query from the roll-ups")
    parser.add_argument("--direct-runs", type=int, default=3, help="runs of the direct GROUP BY beside them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = await bench(args.calls, args.runs, args.direct_runs, Path(tmp))
    emit("calls", result)


if __name__ == "__main__":
    asyncio.run(main())
