"""How PostgreSQL reads an agent's ticket list: the agent's own tickets newest first, from an index,
without sorting them or stepping over everybody else's newer tickets (docs/benchmarks.md, desk mix)."""

from __future__ import annotations

import pytest
from sqlalchemy import Integer, String, case, cast, literal, select, text
from sqlalchemy.dialects import postgresql

from agent_desk.api.tickets import NEWEST_FIRST, TICKET_ROWS
from tests.conftest import Database
from tests.ticketing.helpers import service, ticket_in
from ticketing.models import Role, Ticket, User
from ticketing.vocabulary import TicketState

pytestmark = pytest.mark.anyio

OTHERS = 3_000  # newer tickets of another agent
MINE = 50


async def test_an_agents_list_reads_their_tickets_from_an_index_without_sorting(db: Database) -> None:
    if db.backend != "postgres":
        pytest.skip("SQLite's index on the creator already holds the rowid, the ticket id, in order")
    async with db.sessions() as session:
        me, other = (User(username=name, role=Role.AGENT, password_hash="-") for name in ("me", "other"))
        session.add_all([me, other])
        await session.commit()
        mine, theirs = me.id, other.id
    template = await ticket_in(service(db.sessions), TicketState.ACCEPTED)

    tickets = Ticket.__table__
    n = select(literal(1).label("n")).cte("n", recursive=True)
    n = n.union_all(select(n.c.n + 1).where(n.c.n < MINE + OTHERS))
    copied = {
        "number": tickets.c.number + "-" + cast(n.c.n, String),
        "digits": tickets.c.digits + cast(n.c.n, String),
        "creator_id": case((n.c.n <= MINE, literal(mine, Integer)), else_=literal(theirs, Integer)),
    }
    columns = [c for c in tickets.columns if c.name != "id"]
    rows = (select(*(copied.get(c.name, c) for c in columns))
            .select_from(tickets).join(n, text("true")).where(tickets.c.id == template).order_by(n.c.n))
    async with db.engine.begin() as conn:
        await conn.execute(tickets.insert().from_select([c.name for c in columns], rows))
        await conn.execute(text("ANALYZE tickets"))

    page = NEWEST_FIRST.ordered(TICKET_ROWS.where(Ticket.creator_id == mine)).limit(51)
    sql = str(page.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    async with db.engine.connect() as conn:
        plan = "\n".join((await conn.execute(text(f"EXPLAIN {sql}"))).scalars())
    assert "ix_tickets_creator_id" in plan, plan
    assert "Sort" not in plan, plan
