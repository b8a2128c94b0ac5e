"""The read routes build their views from rows (`TICKET_VIEW_COLUMNS`, `CALL_VIEW_COLUMNS`), not from ORM
entities: their JSON must be byte for byte what the same views of the ORM entities serialise to."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from agent_desk.api import inbox as inbox_api
from agent_desk.api import ticket_search, tickets
from agent_desk.api.calls import CallView
from agent_desk.api.deadlines import deadlines
from agent_desk.api.inbox import InboxItem
from agent_desk.api.pagination import Page, encode_cursor
from tests.agent_desk.conftest import XUANWU, DeskClient
from ticketing.models import (
    CallLeg,
    CallOutcome,
    CallRecord,
    Ticket,
    TicketCoHandler,
    TicketEvent,
    utcnow,
)
from ticketing.views import TicketView
from ticketing.vocabulary import Rating

pytestmark = pytest.mark.anyio
WATER_UNIT = f"dept:{XUANWU}:water_supply"
HOUSING_UNIT = f"dept:{XUANWU}:housing"
NOW = utcnow().replace(microsecond=123456)


async def entities(client: DeskClient, *ids: int) -> list[Ticket]:
    async with client.desk.sessions() as session:
        found = {t.id: t for t in (await session.scalars(
            select(Ticket).where(Ticket.id.in_(ids)).options(selectinload(Ticket.co_handlers)))).all()}
    return [found[i] for i in ids]


async def made(client: DeskClient, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Four tickets: accepted (every optional field empty), dispatched with two co-handlers and a 督办,
    handling, and closed with a rating and an extension asked for."""
    for module in (tickets, inbox_api, ticket_search):
        monkeypatch.setattr(module, "utcnow", lambda: NOW)
    ids = []
    for i in range(4):
        body = {"category": "help", "description": f"玄武区停水了 {i}", "region_code": XUANWU,
                "caller_number": "13800138000" if i else None}
        response = await client.http.post("/api/tickets", json=body, headers=client.auth("agent1"))
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
        if i:
            dispatched = await client.http.post(f"/api/tickets/{ids[-1]}/actions/dispatch", json={},
                                                headers=client.auth("agent1"))
            assert dispatched.json()["lead_unit_id"] == WATER_UNIT, dispatched.text
    await client.add_handler("h_water", WATER_UNIT)
    signed = await client.http.post(f"/api/tickets/{ids[2]}/actions/sign", json={}, headers=client.auth("h_water"))
    assert signed.status_code == 200, signed.text
    async with client.desk.sessions.begin() as session:
        session.add_all([TicketCoHandler(ticket_id=ids[1], unit_id=u) for u in (HOUSING_UNIT, f"office:{XUANWU}")])
        session.add(TicketEvent(ticket_id=ids[1], actor="sweep", action="supervise", data={}))
        await session.execute(update(Ticket).where(Ticket.id == ids[3]).values(
            state="closed", closed_at=NOW, replied_at=NOW - timedelta(hours=1), answer="已修复",
            rating=Rating.SATISFIED, extension_until=NOW + timedelta(days=3), extension_count=1, public=True))
    return ids


async def test_ticket_list_search_and_one_ticket_as_their_entities_serialise(
        client: DeskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = await made(client, monkeypatch)
    newest = await entities(client, *reversed(ids))
    who = client.auth("sup_province")
    first = await client.http.get("/api/tickets", params={"limit": 3}, headers=who)
    assert first.content == Page[TicketView](items=[TicketView.of(t, NOW) for t in newest[:3]],
                                             next_cursor=encode_cursor(newest[2].id)).model_dump_json().encode()
    rest = await client.http.get("/api/tickets", params={"limit": 3, "cursor": first.json()["next_cursor"]},
                                 headers=who)
    assert rest.content == Page[TicketView](items=[TicketView.of(newest[3], NOW)],
                                            next_cursor=None).model_dump_json().encode()
    found = await client.http.get("/api/search/tickets", params={"q": "停水"}, headers=who)
    assert found.content == Page[TicketView](items=[TicketView.of(t, NOW) for t in newest],
                                             next_cursor=None).model_dump_json().encode()
    for ticket in newest:
        one = await client.http.get(f"/api/tickets/{ticket.id}", headers=who)
        assert one.content == TicketView.of(ticket, NOW).model_dump_json().encode()
        timeline = await client.http.get(f"/api/tickets/{ticket.id}/timeline", headers=who)
        assert timeline.json()["ticket"] == TicketView.of(ticket, NOW).model_dump(mode="json")
    assert (await client.http.get(f"/api/tickets/{ids[0]}", headers=client.auth("agent2"))).status_code == 404


async def test_inbox_as_its_entities_serialise(client: DeskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = await made(client, monkeypatch)
    worktime = client.desk.tickets.sla.worktime
    unit_tickets = await entities(client, ids[1], ids[2])  # both due; the dispatched one by its sign-off first
    unit_tickets.sort(key=lambda t: ((t.due_at or t.sign_due_at), t.id))
    views = [TicketView.of(t, NOW) for t in unit_tickets]
    items = [InboxItem(**dict(v), deadlines=deadlines(v, worktime, NOW), supervisions=int(v.id == ids[1]))
             for v in views]
    first = await client.http.get("/api/inbox", params={"limit": 1}, headers=client.auth("h_water"))
    last = unit_tickets[0]
    assert first.content == Page[InboxItem](items=items[:1], next_cursor=encode_cursor(
        (last.due_at or last.sign_due_at).isoformat(), last.id)).model_dump_json().encode()
    both = await client.http.get("/api/inbox", headers=client.auth("h_water"))
    assert both.content == Page[InboxItem](items=items, next_cursor=None).model_dump_json().encode()


async def test_call_list_as_its_entities_serialise(client: DeskClient) -> None:
    now = utcnow()
    async with client.desk.sessions.begin() as session:
        session.add_all([
            CallRecord(server="pbx0", linkedid="1795868623.2", caller_number="13800138000", caller_name="张三",
                       ivr_path="1>2", queue="hotline-12345", entered_at=now, answered_at=now, wait_seconds=3.5,
                       agent="agent1", agent_interface="Local/agent1@agents", talk_seconds=40,
                       outcome=CallOutcome.ANSWERED, ended_at=now + timedelta(seconds=40),
                       recording="1795868623.2.wav"),
            CallRecord(server="pbx0", linkedid="1795868624.3", queue="hotline-12345", agent="other",
                       agent_interface="Local/other@agents", outcome=CallOutcome.UNKNOWN, unknown_reason="lost",
                       legs=[CallLeg(seq=1, queue="hotline-12345", uniqueid="1795868624.4", agent="agent1",
                                     interface="Local/agent1@agents", answered_at=now)]),
            CallRecord(server="pbx0", linkedid="1795868625.5", queue="hotline-12345", agent="agent1",
                       agent_interface="Local/agent1@agents", outcome=CallOutcome.ABANDONED),
        ])
    async with client.desk.sessions() as session:
        calls = (await session.scalars(select(CallRecord).order_by(CallRecord.id.desc()))).all()
    who = client.auth("agent1")
    first = await client.http.get("/api/calls", params={"limit": 2}, headers=who)
    assert first.content == Page[CallView](items=[CallView.of(c) for c in calls[:2]],
                                           next_cursor=encode_cursor(calls[1].id)).model_dump_json().encode()
    rest = await client.http.get("/api/calls", params={"cursor": first.json()["next_cursor"]}, headers=who)
    assert rest.content == Page[CallView](items=[CallView.of(calls[2])], next_cursor=None).model_dump_json().encode()
