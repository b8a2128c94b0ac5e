"""The hourly call roll-ups answer every call KPI question exactly as the direct GROUP BY over the
call records does, and equal a recount from the records.

Random calls through the call store: in progress, then final; redirected between queues; some
closed `unknown` (the AMI link was down) and repaired by a queue_log backfill; some stored twice or
out of order; some IVR-only. Then random periods (whole hours, partial hours, less than an hour) and
every grouping, over sixty hours (whole days from the daily rows) and over fifty days (whole months
from the monthly rows).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select

from tests.conftest import Database
from ticketing import call_rollups
from ticketing.call_kpis import (
    CallDimension,
    CallKpiSettings,
    KeyedCallKpis,
    RollupBasis,
    call_kpis,
)
from ticketing.calls import CallStore
from ticketing.models import CallLeg, CallOutcome, CallRecord, CallRollup

pytestmark = pytest.mark.anyio
START = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)  # 08:00 in Nanjing
HOURS = 60  # over two local midnights: whole days come from the daily rows
MONTHS = (datetime(2026, 10, 20, tzinfo=UTC), 50 * 24)  # all of local November: a month from the monthly rows
WINDOWS = {"days": (START, HOURS), "months": MONTHS}
QUEUES = ("hotline-320100", "hotline-320200", "hotline-320500")
AGENTS = ("agent1", "agent2", "agent3", None)
ENDS = (CallOutcome.ABANDONED, CallOutcome.TIMEOUT, CallOutcome.EXIT_WITH_KEY, CallOutcome.UNKNOWN)
SETTINGS = CallKpiSettings()


def _wait(rng: random.Random) -> float | None:
    # around every threshold (5, 15, 20 s), whole seconds as Asterisk reports them and fractions as the model times them
    return rng.choice((None, 0.0, 4.0, 5.0, 4.99, 15.0, 15.2, 20.0, 20.5, float(rng.randrange(90)),
                       rng.uniform(0, 60)))


def _call(rng: random.Random, server: str, linkedid: str, window: tuple[datetime, int] = (START, HOURS)
          ) -> dict[str, Any]:
    start, hours = window
    entered = start + timedelta(seconds=rng.randrange(hours * 3600))
    if rng.random() < 0.08:  # IVR only: never entered a queue
        return {"server": server, "linkedid": linkedid, "started_at": entered, "outcome": CallOutcome.UNKNOWN,
                "final": True, "legs": []}
    legs = []
    at = entered
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        wait = _wait(rng)
        legs.append({"queue": rng.choice(QUEUES), "uniqueid": f"{linkedid}.{len(legs)}", "entered_at": at,
                     "wait_seconds": wait, "outcome": CallOutcome.TRANSFERRED})
        at += timedelta(seconds=wait or 1)
    final = rng.random() < 0.85
    last = legs[-1]
    if not final:
        outcome = rng.choice((CallOutcome.UNKNOWN, CallOutcome.ANSWERED))
        last["outcome"] = None if outcome is CallOutcome.UNKNOWN else outcome
    else:
        outcome = rng.choice((CallOutcome.ANSWERED,) * 3 + ENDS)
        last["outcome"] = outcome
    if last["outcome"] is CallOutcome.ANSWERED:
        last["agent"] = rng.choice(AGENTS)
        last["talk_seconds"] = rng.choice((None, float(rng.randrange(1, 600)), rng.uniform(1, 600)))
    if rng.random() < 0.05:
        last["entered_at"] = None  # a leg adopted from a snapshot: no entry time known
    return {"server": server, "linkedid": linkedid, "queue": last["queue"], "started_at": entered,
            "entered_at": entered, "wait_seconds": last["wait_seconds"], "talk_seconds": last.get("talk_seconds"),
            "agent": last.get("agent"), "outcome": outcome, "final": final, "legs": legs}


async def _store_calls(store: CallStore, rng: random.Random, window: tuple[datetime, int] = (START, HOURS)) -> None:
    known: list[tuple[str, str]] = []
    for step in range(220):
        batch = []
        for _ in range(rng.choice((1, 1, 3))):
            if known and rng.random() < 0.35:
                server, linkedid = rng.choice(known)  # again: progress, a repair, a replay, a late stale update
            else:
                server, linkedid = rng.choice(("pbx1", "pbx2")), f"{step}.{len(batch)}"
                known.append((server, linkedid))
            batch.append(_call(rng, server, linkedid, window))
        if rng.random() < 0.3:
            await store.backfill(batch)
        else:
            await store.upsert_many(batch)


def _instant(rng: random.Random, window: tuple[datetime, int]) -> datetime:
    start, hours = window
    hour = start + timedelta(hours=rng.randrange(-2, hours + 2))
    return rng.choice((hour, hour + timedelta(seconds=rng.randrange(1, 3600))))


def _same(a: list[KeyedCallKpis], b: list[KeyedCallKpis]) -> bool:
    if [r.key for r in a] != [r.key for r in b]:
        return False
    for x, y in zip(a, b, strict=True):
        dx, dy = x.model_dump(), y.model_dump()
        for seconds in ("answered_wait_seconds", "talk_seconds", "asa_seconds", "aht_seconds"):
            u, v = dx.pop(seconds), dy.pop(seconds)
            # microseconds summed vs seconds summed: a mean rounded to 0.01 s may round the other way
            if (u is None) != (v is None) or abs((u or 0) - (v or 0)) > 0.0100001:
                return False
        if dx != dy:
            return False
    return True


async def _rollup_rows(db: Database) -> set[tuple[Any, ...]]:
    async with db.sessions() as session:
        rows = (await session.execute(select(CallRollup))).scalars().all()
    return {tuple(getattr(r, c.name) for c in CallRollup.__table__.columns) for r in rows if r.offered}


@pytest.mark.parametrize(("seed", "window"), [(1, "days"), (2, "days"), (3, "months")])
async def test_call_rollups_equal_the_direct_group_by(db: Database, seed: int, window: str) -> None:
    rng = random.Random(seed)
    store = CallStore(db.sessions)
    await _store_calls(store, rng, WINDOWS[window])
    # a gap's reconciliation ends what it left in progress or unknown: the roll-ups move with it
    marked = await store.mark_unresolved("pbx1", since=START - timedelta(days=1), until=datetime.now(UTC),
                                         reason="a gap", still_open=set())
    assert marked > 0
    kept = await _rollup_rows(db)
    assert kept, "the store kept roll-ups"
    async with db.engine.begin() as conn:
        await call_rollups.rebuild(conn, RollupBasis())
    assert await _rollup_rows(db) == kept  # every write's difference adds up to a recount

    asked = 0
    async with db.sessions() as session:
        # November in Nanjing, and a period from a partial hour before it to one after it
        november = (datetime(2026, 10, 31, 16, tzinfo=UTC), datetime(2026, 11, 30, 16, tzinfo=UTC))
        fixed = [november, (november[0] - timedelta(minutes=90), november[1] + timedelta(hours=30, minutes=5))]
        for since, until in [*fixed, *(sorted((_instant(rng, WINDOWS[window]), _instant(rng, WINDOWS[window])))
                                      for _ in range(25))]:
            for by in (None, *CallDimension):
                kwargs: dict[str, Any] = {"since": since, "until": until, "settings": SETTINGS, "by": by}
                rolled = await call_kpis(session, **kwargs)
                direct = await call_kpis(session, **kwargs, rollups=False)
                assert _same(rolled, direct), (since, until, by, rolled, direct)
                asked += sum(r.offered for r in direct)
    assert asked > 1000


async def test_other_thresholds_read_the_records_until_a_rebuild(db: Database) -> None:
    rng = random.Random(3)
    await _store_calls(CallStore(db.sessions), rng)
    other = CallKpiSettings(service_level_seconds=15.0, short_abandon_seconds=4.0)
    kwargs: dict[str, Any] = {"since": START, "until": START + timedelta(hours=HOURS), "settings": other,
                              "by": CallDimension.QUEUE}
    async with db.sessions() as session:
        direct = await call_kpis(session, **kwargs, rollups=False)
        assert _same(await call_kpis(session, **kwargs), direct)
    async with db.engine.begin() as conn:
        await call_rollups.rebuild(conn, RollupBasis(8, 15.0, 4.0))
    async with db.engine.begin() as conn:  # the roll-ups alone answer now: the records are gone
        await conn.execute(delete(CallLeg))
        await conn.execute(delete(CallRecord))
    async with db.sessions() as session:
        assert _same(await call_kpis(session, **kwargs), direct)
    assert sum(r.offered for r in direct) > 100


def test_a_year_reads_months_and_the_days_and_hours_at_either_end() -> None:
    """365 days to 2026-12-03 10:00 in Nanjing: eleven months, the days of December 2025 and
    December 2026 around them, and the hours of the two partial days; by day, no months."""
    from ticketing.call_kpis import CALLS, DAILY, MONTHLY, _spans

    until = datetime(2026, 12, 3, 2, tzinfo=UTC)  # 10:00 local
    since = until - timedelta(days=365)
    assert _spans(since, until, None, 8) == [
        (CALLS + MONTHLY, "2026-01", "2026-12"),
        (CALLS + DAILY, "2025-12-04", "2026-01-01"), (CALLS + DAILY, "2026-12-01", "2026-12-03"),
        (CALLS, "2025-12-03T10:00", "2025-12-04T00:00"), (CALLS, "2026-12-03T00:00", "2026-12-03T10:00")]
    assert {level for level, _, _ in _spans(since, until, CallDimension.DAY, 8)} == {CALLS, CALLS + DAILY}
