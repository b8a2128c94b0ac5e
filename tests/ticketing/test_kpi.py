"""Ticket KPIs computed in SQL agree with a small set of tickets whose outcomes we know."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import Database
from tests.ticketing.helpers import Clock, new_ticket, service
from ticketing.actions import (
    ApproveExtension,
    CloseDirect,
    Dispatch,
    FollowUp,
    Reply,
    RequestExtension,
    Return,
    Sign,
)
from ticketing.kpi import Dimension, KpiFilter, TicketKpi, ticket_kpis
from ticketing.vocabulary import Category, Channel, Rating

pytestmark = pytest.mark.anyio
MONDAY_0900_CST = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


async def build(db: Database) -> Clock:
    clock = Clock(MONDAY_0900_CST)
    svc = service(db.sessions, clock)
    nanjing = {"region_code": "320106"}
    xuzhou = {"region_code": "320311", "channel": Channel.WEB, "category": Category.HELP}
    on_time = await svc.create(new_ticket(**nanjing), "agent:1", dispatch=True)
    late = await svc.create(new_ticket(**nanjing), "agent:1", dispatch=True)
    await svc.create(new_ticket(**nanjing), "agent:2", dispatch=True)  # never signed: red
    direct = await svc.create(new_ticket(**xuzhou), "agent:2")
    working = await svc.create(new_ticket(**xuzhou), "agent:2", dispatch=True)
    clock.advance(hours=1)
    await svc.act(on_time.id, Sign(), "u")
    await svc.act(direct.id, CloseDirect(answer="已解答"), "agent:2")
    await svc.act(on_time.id, Reply(answer="ok"), "u")
    await svc.act(on_time.id, FollowUp(rating=Rating.SATISFIED), "a")
    clock.advance(days=1)  # Tuesday: the unsigned ones are past 4 working hours
    await svc.act(late.id, Sign(), "u")
    clock.advance(days=14)
    await svc.act(late.id, Reply(answer="late"), "u")
    await svc.act(late.id, FollowUp(rating=Rating.BASICALLY_SATISFIED), "a")
    await svc.act(working.id, Sign(), "u")  # late, but now within its 5 working days
    clock.advance(days=1)
    return clock


async def test_kpis_by_city(db: Database) -> None:
    clock = await build(db)
    async with db.sessions() as session:
        rows = {r.key: r for r in await ticket_kpis(session, now=clock.now, by=Dimension.CITY)}
    nanjing, xuzhou = rows["320100"], rows["320300"]
    assert (nanjing.total, nanjing.signed, nanjing.signed_on_time) == (3, 2, 1)
    assert (nanjing.closed, nanjing.green, nanjing.yellow, nanjing.red) == (2, 1, 1, 1)
    assert (nanjing.rated, nanjing.satisfied, nanjing.satisfaction_rate) == (2, 2, 1.0)
    assert nanjing.on_time_completion_rate == 0.5 and nanjing.on_time_sign_off_rate == 0.5
    assert (xuzhou.total, xuzhou.closed, xuzhou.green, xuzhou.red, xuzhou.rated) == (2, 1, 1, 0, 0)
    assert xuzhou.satisfaction_rate is None
    assert xuzhou.avg_handling_seconds == pytest.approx(3600, abs=1)


async def test_overall_and_filters(db: Database) -> None:
    clock = await build(db)
    async with db.sessions() as session:
        [overall] = await ticket_kpis(session, now=clock.now)
        assert (overall.key, overall.total, overall.closed, overall.red) == (None, 5, 3, 1)
        [web] = await ticket_kpis(session, now=clock.now, where=KpiFilter(channel=Channel.WEB))
        assert web.total == 2
        [scoped] = await ticket_kpis(session, now=clock.now, where=KpiFilter(region_codes=["320106"]))
        assert scoped.total == 3
        [mine] = await ticket_kpis(session, now=clock.now, where=KpiFilter(created_by="agent:1"))
        assert mine.total == 2
        [unit] = await ticket_kpis(session, now=clock.now, where=KpiFilter(unit_id="office:320311"))
        assert unit.total == 1
        [none] = await ticket_kpis(session, now=clock.now, where=KpiFilter(since=clock.now))
        assert none.total == 0 and none.on_time_completion_rate is None


async def test_breakdowns_by_category_unit_and_local_day(db: Database) -> None:
    clock = await build(db)
    async with db.sessions() as session:
        by_category = {r.key: r.total for r in await ticket_kpis(session, now=clock.now, by=Dimension.CATEGORY)}
        by_unit = {r.key: r.total for r in await ticket_kpis(session, now=clock.now, by=Dimension.UNIT)}
        by_day = {r.key: r.total for r in await ticket_kpis(session, now=clock.now, by=Dimension.DAY)}
        by_hour = {r.key: r.total for r in await ticket_kpis(session, now=clock.now, by=Dimension.HOUR)}
    assert by_category == {"complaint": 3, "help": 2}
    assert by_unit == {None: 1, "office:320106": 3, "office:320311": 1}
    assert by_day == {"2026-11-23": 5}  # 09:00 local
    assert by_hour == {"2026-11-23T09:00": 5}


async def test_answers_are_the_validated_models(db: Database) -> None:
    """`ticket_kpis` builds its answers without per-field validation: each equals the model validated
    from the same values, in its fields' types, field set and JSON, from the roll-ups and from live rows."""
    clock = await build(db)
    since = clock.now - timedelta(days=30)
    async with db.sessions() as session:
        answers = [kpi for by in (None, Dimension.UNIT, Dimension.HOUR) for rollups in (True, False)
                   for flt in (KpiFilter(), KpiFilter(since=since, until=clock.now), KpiFilter(since=clock.now))
                   for kpi in await ticket_kpis(session, now=clock.now, by=by, where=flt, rollups=rollups)]
    assert len(answers) > 20 and any(kpi.avg_handling_seconds for kpi in answers)
    for kpi in answers:
        validated = TicketKpi(**kpi.__dict__)
        assert kpi == validated and hash(kpi) == hash(validated)
        assert kpi.model_fields_set == validated.model_fields_set
        assert kpi.model_dump_json() == validated.model_dump_json()
        assert [type(v) for v in kpi.__dict__.values()] == [type(v) for v in validated.__dict__.values()]
        assert list(kpi.__dict__) == list(TicketKpi.model_fields)


async def test_lights_returns_extensions_and_redo_once_per_ticket(db: Database) -> None:
    clock = Clock(MONDAY_0900_CST)
    svc = service(db.sessions, clock)
    bounced = await svc.create(new_ticket(), "agent:1", dispatch=True)
    await svc.act(bounced.id, Return(reason="不属于本单位"), "u")
    await svc.act(bounced.id, Dispatch(), "d")
    await svc.act(bounced.id, Return(reason="仍不属于本单位"), "u")  # twice: one returned ticket
    extended = await svc.create(new_ticket(), "agent:1", dispatch=True)
    await svc.act(extended.id, Sign(), "u")
    await svc.act(extended.id, RequestExtension(until=clock.now + timedelta(days=20), reason="需协调"), "u")
    await svc.act(extended.id, ApproveExtension(), "d")
    redone = await svc.create(new_ticket(region_code="320311"), "agent:1", dispatch=True)
    await svc.act(redone.id, Sign(), "u")
    await svc.act(redone.id, Reply(answer="已处理"), "u")
    await svc.act(redone.id, FollowUp(rating=Rating.UNSATISFIED), "a")  # 重办: open again
    await svc.act(redone.id, Reply(answer="再次处理"), "u")
    await svc.act(redone.id, FollowUp(rating=Rating.SATISFIED), "a")
    async with db.sessions() as session:
        [overall] = await ticket_kpis(session, now=clock.now)
        by_city = {r.key: r for r in await ticket_kpis(session, now=clock.now, by=Dimension.CITY)}
        pairs = {(r.key, r.subkey): r.total for r in await ticket_kpis(
            session, now=clock.now, by=Dimension.COUNTY, then_by=Dimension.DAY)}
    assert (overall.returned, overall.extended, overall.redone, overall.rated) == (1, 1, 1, 1)
    assert overall.redo_rate == 1.0 and overall.satisfaction_rate == 1.0
    # every ticket has exactly one light (or none yet): green + yellow + red + open in time = total
    assert (overall.green, overall.yellow, overall.red, overall.open_in_time) == (1, 0, 0, 2)
    assert by_city["320100"].returned == 1 and by_city["320300"].redone == 1
    assert pairs == {("320106", "2026-11-23"): 2, ("320311", "2026-11-23"): 1}
    with pytest.raises(ValueError, match="then_by needs by"):
        async with db.sessions() as session:
            await ticket_kpis(session, now=clock.now, then_by=Dimension.DAY)


def test_docs_state_each_kpi_as_the_code_defines_it() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text("utf-8")
    section = text.split("## Ticket KPIs", 1)[1].split("\n## ", 1)[0]
    rows = {cells[0].strip("` "): (cells[1].strip(), cells[2].strip())
            for line in section.splitlines() if line.startswith("| `")
            for cells in [line.strip("|").split(" | ")]}
    fields = {name: (f.title, f.description) for name, f in TicketKpi.model_fields.items()
              if name not in ("key", "subkey")}
    assert rows == fields
