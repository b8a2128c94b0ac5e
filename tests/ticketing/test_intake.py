"""Intake stores exactly what the service computed, on either writer: the one statement on PostgreSQL
and the Core statements (SQLite's, and PostgreSQL's before the one statement) store the same rows.

Random intakes through the service: any channel, category, place, departments, involved regions,
caller area, with and without dispatch, over days and a month's end, some confirmed from a draft
and a call, some from a draft or call already linked or missing (refused, nothing written).
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from sqlalchemy import Table, delete, select, text

from tests.conftest import Database, DatabaseTarget
from tests.ticketing.helpers import Clock, service
from ticketing import rollups
from ticketing.db import make_session_factory
from ticketing.errors import AlreadyLinked, CallNotFound, DraftNotFound
from ticketing.models import (
    CallOutcome,
    CallRecord,
    Draft,
    Ticket,
    TicketCoHandler,
    TicketEvent,
    TicketRollup,
    TicketSequence,
)
from ticketing.routing import RoutingTable
from ticketing.service import NewTicket, TicketService
from ticketing.vocabulary import Category, Channel

pytestmark = pytest.mark.anyio
START = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)  # Monday 07:00 in Nanjing, two days before December
ROUTING = RoutingTable.load()
REGIONS = sorted(ROUTING.regions)
DEPARTMENTS = sorted(ROUTING.departments)
INTAKES = 80
RECORDS = 12  # drafts and calls each, fewer than the intakes that ask for one: some are refused
WRITTEN: list[type[Any]] = [TicketEvent, TicketCoHandler, Draft, CallRecord, TicketRollup, Ticket, TicketSequence]


def _new(rng: random.Random) -> NewTicket:
    departments = tuple(("province:" if rng.random() < 0.15 else "") + d
                        for d in rng.sample(DEPARTMENTS, rng.choice((0, 0, 1, 1, 2))))
    return NewTicket(
        rng.choice(list(Channel)), rng.choice(list(Category)), rng.choice(("  路灯不亮 ", "停水三天", "噪音扰民\n")),
        caller_number=rng.choice((None, f"138{rng.randrange(10**8):08d}")),
        caller_name=rng.choice((None, "张先生")), region_code=rng.choice((None, *REGIONS)),
        address=rng.choice(("", "中山北路100号")), priority=rng.randrange(3),
        callback_requested=rng.random() < 0.3, departments=departments,
        involved_regions=tuple(rng.sample(REGIONS, rng.choice((0, 0, 0, 1, 2)))),
        caller_area=rng.choice((None, None, *REGIONS)), public=rng.random() < 0.3,
    )


async def _records(db: Database) -> tuple[list[int], list[int]]:
    async with db.sessions.begin() as session:
        drafts = [Draft(channel=Channel.PHONE, caller_number="13812345678") for _ in range(RECORDS)]
        calls = [CallRecord(server="pbx0", linkedid=f"1795868623.{n}", outcome=CallOutcome.ANSWERED)
                 for n in range(RECORDS)]
        session.add_all([*drafts, *calls])
    return [d.id for d in drafts], [c.id for c in calls]


def _record(rng: random.Random, records: list[int]) -> int | None:
    """Mostly none; sometimes a record (perhaps linked already), rarely one that does not exist."""
    luck = rng.random()
    return None if luck < 0.65 else 987654 if luck < 0.68 else rng.choice(records)


async def _intakes(svc: TicketService, db: Database, clock: Clock, seed: int) -> list[Any]:
    """What each intake answered: its view, or the refusal (kind, record, ticket number)."""
    rng = random.Random(seed)
    drafts, calls = await _records(db)
    answers: list[Any] = []
    for _ in range(INTAKES):
        clock.advance(minutes=rng.randrange(1, 90))
        links = {"draft_id": _record(rng, drafts), "call_id": _record(rng, calls)}
        try:
            view = await svc.create(_new(rng), rng.choice(("agent:1", "web")), dispatch=rng.random() < 0.7, **links)
        except AlreadyLinked as refused:
            answers.append(("linked", str(refused).split()[0], refused.ticket_number))
        except (DraftNotFound, CallNotFound) as missing:
            answers.append(("missing", type(missing).__name__))
        else:
            assert await svc.get(view.id) == view  # the answer is the stored row
            answers.append((view, links))
    return answers


async def _stored(db: Database) -> dict[str, list[dict[str, Any]]]:
    """Every row intake writes, with the database's ids replaced by their order (two runs differ in ids)."""
    async with db.engine.connect() as conn:
        def rows(model: type[Any], *order: Any) -> list[dict[str, Any]]:
            table: Table = model.__table__
            return [dict(r) for r in (conn.sync_connection.execute(  # type: ignore[union-attr]
                select(table).order_by(*order))).mappings()]

        stored = await conn.run_sync(lambda _: {
            "tickets": rows(Ticket, Ticket.id), "events": rows(TicketEvent, TicketEvent.id),
            "co_handlers": rows(TicketCoHandler, TicketCoHandler.ticket_id, TicketCoHandler.unit_id),
            "drafts": rows(Draft, Draft.id), "calls": rows(CallRecord, CallRecord.id),
            "rollups": rows(TicketRollup, *cast(Table, TicketRollup.__table__).primary_key.columns),
        })
    order = {row["id"]: n for n, row in enumerate(stored["tickets"])}
    for row in stored["tickets"]:
        row["id"] = order[row["id"]]
    for row in [*stored["events"], *stored["co_handlers"]]:
        row["ticket_id"] = order[row["ticket_id"]]
    for row in stored["events"]:
        del row["id"]
    stored["links"] = [{"ticket_id": None if r["ticket_id"] is None else order[r["ticket_id"]]}
                       for r in (*stored.pop("drafts"), *stored.pop("calls"))]
    return stored


async def _wipe(db: Database) -> None:
    async with db.engine.begin() as conn:
        for model in WRITTEN:
            await conn.execute(delete(model))


def _comparable(answers: list[Any], stored: dict[str, list[dict[str, Any]]]) -> list[Any]:
    """The answers with the ids of this run (tickets, drafts, calls) replaced by their order."""
    numbers = {row["number"]: row["id"] for row in stored["tickets"]}
    return [a[0].model_copy(update={"id": numbers[a[0].number]}) if a[0] not in ("linked", "missing") else a
            for a in answers]


@pytest.mark.parametrize("seed", [1, 2])
async def test_intake_stores_what_it_computed(db: Database, seed: int) -> None:
    clock = Clock(START)
    svc = service(db.sessions, clock)
    answers = await _intakes(svc, db, clock, seed)
    made = [a for a in answers if a[0] not in ("linked", "missing")]
    assert len(made) >= INTAKES // 2 and len(made) < INTAKES, answers  # both outcomes were tried
    async with db.sessions() as session:
        tickets = (await session.scalars(select(Ticket))).all()
        events = (await session.scalars(select(TicketEvent).order_by(TicketEvent.id))).all()
        drafts = {d.id: d.ticket_id for d in (await session.scalars(select(Draft))).all()}
        calls = {c.id: c.ticket_id for c in (await session.scalars(select(CallRecord))).all()}
    assert len(tickets) == len(made)  # a refused intake wrote no ticket
    for view, links in made:
        history = [e for e in events if e.ticket_id == view.id]
        dispatched = view.lead_unit_id is not None
        assert [e.action for e in history] == (["accept", "dispatch"] if dispatched else ["accept"])
        if dispatched:
            assert sorted(history[1].data["co_handler_ids"]) == view.co_handler_ids
        for record, linked in ((links["draft_id"], drafts), (links["call_id"], calls)):
            if record is not None:
                assert linked[record] == view.id
    linked_tickets = {v.id for v, _ in made}
    assert {t for t in (*drafts.values(), *calls.values()) if t is not None} <= linked_tickets
    assert sum(t is not None for t in (*drafts.values(), *calls.values())) == sum(
        (links["draft_id"] is not None) + (links["call_id"] is not None) for _, links in made)
    # The roll-ups equal a rebuild from the stored tickets (red as of the first intake: none was overdue then).
    before = (await _stored(db))["rollups"]
    async with db.engine.begin() as conn:
        await rollups.rebuild(conn, 8, START)
    assert (await _stored(db))["rollups"] == before


@pytest.mark.postgres
async def test_one_statement_stores_what_the_core_statements_store(postgres_target: DatabaseTarget) -> None:
    engine = postgres_target.engine()
    db = Database(postgres_target, engine, make_session_factory(engine))
    try:
        results = []
        for one_statement in (True, False):
            await _wipe(db)
            clock = Clock(START)
            svc = service(db.sessions, clock)
            if not one_statement:
                svc._writer._statement = None  # the Core statements, as on SQLite and before
            answers = await _intakes(svc, db, clock, seed=3)
            stored = await _stored(db)
            results.append((_comparable(answers, stored), stored))
        assert results[0][1]["tickets"], "nothing was stored"
        for kind in results[0][1]:
            assert results[0][1][kind] == results[1][1][kind], kind
        assert results[0][0] == results[1][0]
    finally:
        await _wipe(db)
        await engine.dispose()


async def test_a_free_draft_with_a_taken_call_is_refused_whole(db: Database) -> None:
    """The draft is free, the call is not: no ticket, and the draft stays free for a later intake."""
    svc = service(db.sessions)
    drafts, calls = await _records(db)
    first = await svc.create(NewTicket(Channel.PHONE, Category.HELP, "路灯不亮"), "a", call_id=calls[0])
    before = await _stored(db)
    with pytest.raises(AlreadyLinked) as refused:
        await svc.create(NewTicket(Channel.PHONE, Category.HELP, "路灯不亮"), "b", dispatch=True,
                         draft_id=drafts[0], call_id=calls[0])
    assert (refused.value.ticket_id, refused.value.ticket_number) == (first.id, first.number)
    assert str(refused.value).startswith(f"call {calls[0]} ")
    assert await _stored(db) == before
    later = await svc.create(NewTicket(Channel.PHONE, Category.HELP, "路灯不亮"), "b", draft_id=drafts[0])
    async with db.sessions() as session:
        assert (await session.get(Draft, drafts[0])).ticket_id == later.id  # type: ignore[union-attr]


@pytest.mark.postgres
async def test_a_connection_lost_mid_intake_leaves_the_pool(postgres_target: DatabaseTarget) -> None:
    """The server ends the intake's connection: that intake fails, and the pool does not hand out the dead one."""
    settings = {**postgres_target.engine_kwargs["connect_args"]["server_settings"], "application_name": "intake-lost"}
    engine = postgres_target.engine(connect_args={"server_settings": settings}, pool_size=1, max_overflow=0)
    admin = postgres_target.engine()
    db = Database(postgres_target, engine, make_session_factory(engine))
    try:
        svc = service(db.sessions)
        await svc.create(NewTicket(Channel.PHONE, Category.HELP, "路灯不亮"), "a")
        async with admin.begin() as conn:
            ended = await conn.scalar(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'intake-lost'"))
        assert ended == 1
        for _ in range(200):  # the signal is sent at once; the backend is gone a moment later
            async with admin.begin() as conn:
                if not await conn.scalar(text(
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'intake-lost'")):
                    break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the terminated backend never went away")
        # asyncpg says "connection was closed" or, when the server's goodbye arrives mid-protocol,
        # "another operation is in progress": either way this intake fails and the connection is dropped
        with pytest.raises(Exception, match="connection|another operation"):
            await svc.create(NewTicket(Channel.PHONE, Category.HELP, "路灯不亮"), "a")
        view = await svc.create(NewTicket(Channel.PHONE, Category.HELP, "路灯不亮"), "a")
        assert (await svc.get(view.id)).number == view.number
    finally:
        await _wipe(db)
        await engine.dispose()
        await admin.dispose()
