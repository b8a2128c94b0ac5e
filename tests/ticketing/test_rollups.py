"""The daily roll-ups answer every KPI question exactly as the direct GROUP BY over the tickets does.

Random lifecycles through the ticket service (dispatch, 退单 and re-dispatch, a ruling, extensions,
late and on-time replies, 重办 after an unsatisfied 回访, direct answers, archiving), over days; then
random periods (whole days, partial days, open ends), groupings and filters, at random instants.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from tests.conftest import Database
from tests.ticketing.helpers import Clock, new_ticket, service
from ticketing import rollups
from ticketing.actions import (
    Action,
    ApproveExtension,
    Archive,
    CloseDirect,
    DenyExtension,
    Dispatch,
    Escalate,
    FollowUp,
    Note,
    Reply,
    RequestExtension,
    Return,
    Rule,
    Sign,
)
from ticketing.db import SessionFactory
from ticketing.errors import IllegalTransition, InvalidAction
from ticketing.kpi import (
    Dimension,
    KpiFilter,
    TicketKpi,
    _plan,
    _rollup_statement,
    _spans,
    ticket_kpis,
)
from ticketing.models import TicketRollup, Unit
from ticketing.service import TicketService
from ticketing.vocabulary import Category, Channel, Rating, TicketState

pytestmark = pytest.mark.anyio
START = datetime(2026, 11, 20, 0, 30, tzinfo=UTC)  # Friday 08:30 in Nanjing
REGIONS = ["320106", "320311", "320102", "320205", "320100", None]
DAYS = 16


def _actions(rng: random.Random, clock: Clock, units: list[str]) -> list[Action]:
    lead, co = rng.sample(units, 2)
    return [
        Dispatch(), Dispatch(lead_unit_id=lead, co_handler_ids=[co]), Sign(), Return(reason="不属于本单位"),
        Escalate(reason="争议"), Rule(lead_unit_id=lead), Reply(answer="已处理"),
        RequestExtension(until=clock.now + timedelta(days=rng.choice((3, 12))), reason="协调"),
        ApproveExtension(), DenyExtension(reason="不同意"), CloseDirect(answer="已解答"), Archive(),
        FollowUp(rating=rng.choice(list(Rating))), FollowUp(rating=Rating.UNSATISFIED), Note(text="备注"),
        Sign(), Reply(answer="已处理"), FollowUp(rating=Rating.SATISFIED),  # twice: tickets get to the end
    ]


async def _lifecycles(svc: TicketService, clock: Clock, rng: random.Random, units: list[str],
                      sessions: SessionFactory | None = None) -> int:
    """`sessions`: advance the red watermark now and then, as the SLA sweeper does."""
    states: dict[int, TicketState] = {}
    steps = 0
    sweeps = random.Random(7)  # its own: the lifecycles stay those of the seed
    for _ in range(360):
        if sessions is not None and sweeps.random() < 0.08:
            async with sessions.begin() as session:
                await rollups.advance_red(session, clock.now, svc.sla.worktime.tz)
        if not states or rng.random() < 0.18:
            region = rng.choice(REGIONS)
            ticket = await svc.create(new_ticket(
                region_code=region, category=rng.choice(list(Category)), channel=rng.choice(list(Channel)),
            ), rng.choice(("agent:1", "agent:2")), dispatch=region is not None and rng.random() < 0.6)
            states[ticket.id] = ticket.state
        else:
            ticket_id = rng.choice(list(states))
            fitting = [a for a in _actions(rng, clock, units) if states[ticket_id] in type(a).moves]
            try:
                states[ticket_id] = (await svc.act(ticket_id, rng.choice(fitting), "tester")).state
                steps += 1
            except (IllegalTransition, InvalidAction):  # e.g. an extension asked after the deadline
                pass
        clock.advance(minutes=rng.expovariate(1 / 60))  # 360 steps over about 15 days
    return steps


def _instant(rng: random.Random) -> datetime | None:
    day = START.replace(hour=16, minute=0) + timedelta(days=rng.randrange(-2, DAYS + 2))  # local midnight
    return rng.choice((None, day, day + timedelta(minutes=rng.randrange(1, 1440))))


def _filter(rng: random.Random, units: list[str]) -> KpiFilter:
    since, until = _instant(rng), _instant(rng)
    options: dict[str, Any] = {
        "city_code": rng.choice(("320100", "320300")), "county_code": rng.choice(("320106", "320311")),
        "category": rng.choice(list(Category)), "channel": rng.choice(list(Channel)),
        "unit_id": rng.choice(units), "region_codes": rng.sample(["320100", "320311", "320205"], 2),
        "created_by": "agent:1",
    }
    chosen = {k: v for k, v in options.items() if rng.random() < 0.2}
    return KpiFilter(since=since, until=until, **chosen)


def _same(a: list[TicketKpi], b: list[TicketKpi]) -> bool:
    if [(r.key, r.subkey) for r in a] != [(r.key, r.subkey) for r in b]:
        return False
    for x, y in zip(a, b, strict=True):
        dx, dy = x.model_dump(), y.model_dump()
        for rate in ("avg_handling_seconds",):
            if (dx.pop(rate) is None) != (dy.pop(rate) is None) or abs((x.avg_handling_seconds or 0)
                                                                     - (y.avg_handling_seconds or 0)) > 1e-6:
                return False
        if dx != dy:
            return False
    return True


@pytest.mark.parametrize("seed", [1, 2])
async def test_rollups_equal_the_direct_group_by(db: Database, seed: int) -> None:
    rng = random.Random(seed)
    clock = Clock(START)
    svc = service(db.sessions, clock)
    async with db.sessions() as session:
        units = sorted((await session.scalars(select(Unit.id).where(Unit.id.like("office:32%")))).all())[:8]
    steps = await _lifecycles(svc, clock, rng, units, db.sessions)
    assert steps > 100
    async with db.sessions() as session:
        red_before = await rollups.watermark(session, create=False)
        assert red_before is not None and await session.scalar(select(func.sum(TicketRollup.red)))
    dims: list[Dimension | None] = [None, *Dimension]
    checked = via_rollups = red_rolled = taken_off = 0
    async with db.sessions() as session:
        for _ in range(120):
            by = rng.choice(dims)
            then_by = rng.choice(dims) if by is not None else None
            flt = _filter(rng, units)
            now = START + timedelta(hours=rng.randrange(0, 24 * (DAYS + 10)))
            fast = await ticket_kpis(session, now=now, by=by, then_by=then_by, where=flt)
            direct = await ticket_kpis(session, now=now, by=by, then_by=then_by, where=flt, rollups=False)
            assert _same(fast, direct), (by, then_by, flt, now, fast, direct)
            checked += 1
            plan = _plan(by, then_by, flt, 8)
            via_rollups += plan is not None
            red_rolled += plan is not None and now >= red_before
            taken_off += plan is not None and any(
                way < 0 for *_, way in _spans(plan[0], plan[1], plan[2], Dimension.DAY in (by, then_by)))
    assert checked == 120 and via_rollups > 40 and red_rolled > 10 and taken_off > 5
    # The red and yellow and redone ones really occur: the test covers what it claims.
    [overall] = await _overall(db, clock.now)
    assert overall.red and overall.yellow and overall.redone and overall.extended and overall.returned


# Whole months around a year's end and a leap February: an open end reaches the first or last.
_UNIVERSE = [date(2027, 10, 1) + timedelta(days=n) for n in range((date(2028, 5, 1) - date(2027, 10, 1)).days)]


def _read(spans: list[tuple[int, str | None, str | None, int]]) -> tuple[Counter[date], int]:
    """How often each day counts in these spans, and how many roll-up rows (day or month) they read."""
    days: Counter[date] = Counter()
    rows: set[tuple[int, str]] = set()
    for grain, lo, hi, way in spans:
        for day in _UNIVERSE:
            key = day.isoformat()[:7] if grain >= rollups.MONTHLY else day.isoformat()
            if (lo is None or key >= lo) and (hi is None or key < hi):
                days[day] += way
                rows.add((grain, key))
    return Counter({day: n for day, n in days.items() if n}), len(rows)


def test_spans_count_every_day_of_the_period_once_in_no_more_rows_than_days() -> None:
    bounds = [None, *(day.isoformat() for day in _UNIVERSE[::3])]
    taken_off = 0
    for first in bounds:
        for end in bounds:
            if first and end and end <= first:
                continue
            spans = _spans(2, first, end, by_day=False)
            counted, rows = _read(spans)
            inside = [d for d in _UNIVERSE
                      if (first is None or d.isoformat() >= first) and (end is None or d.isoformat() < end)]
            assert counted == Counter(inside), (first, end, spans)
            assert first is None or end is None or rows <= len(inside), (first, end, spans)
            taken_off += any(way < 0 for *_, way in spans)
    assert taken_off > 1000


async def _overall(db: Database, now: datetime) -> list[TicketKpi]:
    async with db.sessions() as session:
        return await ticket_kpis(session, now=now)


async def test_rebuild_gives_the_rows_the_service_kept(db: Database) -> None:
    rng = random.Random(3)
    clock = Clock(START)
    svc = service(db.sessions, clock)
    async with db.sessions() as session:
        units = sorted((await session.scalars(select(Unit.id).where(Unit.id.like("office:32%")))).all())[:8]
    await _lifecycles(svc, clock, rng, units, db.sessions)
    async with db.sessions.begin() as session:
        await rollups.advance_red(session, clock.now, svc.sla.worktime.tz)
    kept = await _rows(db)
    async with db.engine.begin() as conn:
        await rollups.rebuild(conn, 8, clock.now)
    assert await _rows(db) == kept and len(kept) > 100


async def _rows(db: Database) -> set[tuple[Any, ...]]:
    columns = [getattr(TicketRollup, c) for c in ("grain", "day", *rollups.DIMENSIONS, *rollups.COUNTERS)]
    async with db.sessions() as session:
        rows = (await session.execute(select(*columns))).all()
    # A row whose tickets all moved elsewhere stays, at zero: not a difference.
    return {tuple(r) for r in rows if any(r[2 + len(rollups.DIMENSIONS):])}


async def test_concurrent_changes_keep_the_rollups_exact(db: Database) -> None:
    """Many intakes and actions in flight on the same city's day: the same roll-up rows, no lost
    update, no deadlock (the rows are locked in one order)."""
    clock = Clock(START)
    svc = service(db.sessions, clock)

    async def agent(n: int) -> None:
        for i in range(6):
            ticket = await svc.create(new_ticket(region_code=REGIONS[(n + i) % 3]), f"agent:{n}", dispatch=True)
            await svc.act(ticket.id, Sign(), "unit")
            if i % 2:
                await svc.act(ticket.id, Reply(answer="已处理"), "unit")
                await svc.act(ticket.id, FollowUp(rating=Rating.UNSATISFIED if i % 3 else Rating.SATISFIED), "a")

    await asyncio.gather(*(agent(n) for n in range(8)))
    async with db.sessions() as session:
        for by in (None, Dimension.CITY, Dimension.UNIT):
            fast = await ticket_kpis(session, now=clock.now, by=by)
            assert _same(fast, await ticket_kpis(session, now=clock.now, by=by, rollups=False))
    [overall] = await _overall(db, clock.now)
    assert overall.total == 48 and overall.redone == 16 and overall.closed == 8


async def test_whole_days_are_one_statement_that_locks_no_watermark(db: Database) -> None:
    """Over whole days the roll-ups and red now since the watermark come in one statement: one
    snapshot, so the reader takes no lock on the watermark and the SLA sweeper moves it meanwhile."""
    clock = Clock(START)
    svc = service(db.sessions, clock)
    for region in REGIONS[:3]:
        await svc.create(new_ticket(region_code=region), "agent:1", dispatch=True)
    clock.advance(days=1)  # past their sign-off deadlines: red
    async with db.sessions.begin() as session:
        await rollups.advance_red(session, clock.now, svc.sla.worktime.tz)
    clock.advance(days=1)
    midnight = START.replace(hour=16, minute=0) + timedelta(days=2)
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    async with db.sessions() as session:
        event.listen(db.engine.sync_engine, "before_cursor_execute", count)
        try:
            fast = await ticket_kpis(session, now=clock.now, by=Dimension.UNIT,
                                     where=KpiFilter(since=midnight - timedelta(days=365), until=midnight))
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", count)
        async with db.sessions.begin() as sweeper:  # the reader's transaction is still open
            await asyncio.wait_for(rollups.advance_red(sweeper, clock.now, svc.sla.worktime.tz), 10)
        direct = await ticket_kpis(session, now=clock.now, by=Dimension.UNIT, where=KpiFilter(until=midnight),
                                   rollups=False)
    assert len(statements) == 1 and _same(fast, direct) and sum(r.red for r in fast) == 3


async def test_one_statement_per_shape_serves_every_value(db: Database) -> None:
    """The roll-up statement is built once per shape of question, its values bound per call: the
    same shape with other days, cities and instants answers each exactly (no value left from the
    call that built it)."""
    clock = Clock(START)
    svc = service(db.sessions, clock)
    for day in range(3):
        for region in REGIONS[:4]:
            await svc.create(new_ticket(region_code=region), "agent:1", dispatch=day != 1)
        clock.advance(days=1)
    async with db.sessions.begin() as session:
        await rollups.advance_red(session, clock.now - timedelta(hours=12), svc.sla.worktime.tz)
    midnight = START.replace(hour=16, minute=0)
    built = _rollup_statement.cache_info().misses
    answers = []
    async with db.sessions() as session:
        for days, city, now in ((1, "320100", clock.now), (2, "320300", clock.now - timedelta(days=1)),
                                (3, "320100", clock.now)):
            flt = KpiFilter(since=midnight - timedelta(days=1), until=midnight + timedelta(days=days), city_code=city)
            fast = await ticket_kpis(session, now=now, by=Dimension.UNIT, where=flt)
            assert _same(fast, await ticket_kpis(session, now=now, by=Dimension.UNIT, where=flt, rollups=False))
            answers.append(fast)
    assert _rollup_statement.cache_info().misses - built <= 1  # one shape
    assert len({sum(r.total for r in a) for a in answers}) == 3 and any(r.red for a in answers for r in a)
