"""The API behind the handler workbench and the dispatcher pages: optimistic concurrency on actions,
whose note it is, the inbox's filters, deadlines and 督办 count, the case's units, routing
explanation and IVR survey answers, the 回访 call, and the live change stream scoped like the API."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from agent_desk.api.ticket_stream import BACKLOG
from agent_desk.app import announce_breach
from agent_desk.security.principal import Principal
from agent_desk.security.scope import ticket_scope, ticket_scope_key
from tests.agent_desk.conftest import SUZHOU, XUANWU, DeskClient, LiveServer, RecordingPbx
from ticketing.models import CallSurvey, Role, utcnow
from ticketing.sweep import SWEEP_ACTOR, Breach
from ticketing.views import TicketChange
from ticketing.vocabulary import Rating

pytestmark = pytest.mark.anyio
LEAD = f"dept:{XUANWU}:water_supply"
CO = f"dept:{SUZHOU}:water_supply"


async def accepted(client: DeskClient, **fields: Any) -> int:
    body = {"category": "complaint", "description": "玄武区停水，苏州的供水公司负责的管道", "region_code": XUANWU,
            "caller_number": "13800138000", **fields}
    created = await client.http.post("/api/tickets", json=body, headers=client.auth("agent1"))
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


async def dispatch(client: DeskClient, tid: int) -> dict[str, Any]:
    """To the Xuanwu water unit, with the Suzhou one as co-handler."""
    sent = await client.http.post(f"/api/tickets/{tid}/actions/dispatch",
                                  json={"lead_unit_id": LEAD, "co_handler_ids": [CO]},
                                  headers=client.auth("dispatcher"))
    assert sent.status_code == 200, sent.text
    return sent.json()  # type: ignore[no-any-return]


async def dispatched(client: DeskClient, **fields: Any) -> dict[str, Any]:
    return await dispatch(client, await accepted(client, **fields))


async def post(client: DeskClient, user: str, tid: int, action: str, body: dict[str, Any] | None = None,
               **params: Any) -> httpx.Response:
    return await client.http.post(f"/api/tickets/{tid}/actions/{action}", json=body or {}, params=params,
                                  headers=client.auth(user))


async def test_an_action_on_a_version_someone_changed_since_is_refused_and_changes_nothing(client: DeskClient) -> None:
    ticket = await dispatched(client)
    await client.add_handler("lead1", LEAD)
    await client.add_handler("lead2", LEAD)
    seen = ticket["version"]
    first = await post(client, "lead1", ticket["id"], "note", {"text": "我去现场看看"}, version=seen)
    assert first.status_code == 200 and first.json()["version"] == seen + 1
    stale = await post(client, "lead2", ticket["id"], "return", {"reason": "不归我们管"}, version=seen)
    assert stale.status_code == 409
    assert "changed concurrently; reload" in stale.json()["detail"]
    now = (await client.http.get(f"/api/tickets/{ticket['id']}", headers=client.auth("lead2"))).json()
    assert (now["state"], now["version"]) == ("dispatched", seen + 1)
    # Read again, act again: accepted.
    fresh = await post(client, "lead2", ticket["id"], "sign", version=now["version"])
    assert fresh.status_code == 200 and fresh.json()["state"] == "handling"
    bad = await post(client, "lead2", ticket["id"], "note", {"text": "x"}, version=0)
    assert bad.status_code == 422


async def test_a_case_shows_its_units_routing_notes_by_unit_and_survey_answers(client: DeskClient) -> None:
    ticket = await dispatched(client)
    await client.add_handler("co1", CO)
    noted = await post(client, "co1", ticket["id"], "note", {"text": "苏州段管道已排查"})
    assert noted.status_code == 200
    assert (await post(client, "co1", ticket["id"], "sign")).status_code == 403  # lead only
    async with client.desk.sessions.begin() as session:
        session.add(CallSurvey(call_uniqueid="1.1", ticket_id=ticket["id"], rating=Rating.UNSATISFIED,
                               applied=False, note="ticket not replied yet"))
    timeline = (await client.http.get(f"/api/tickets/{ticket['id']}/timeline", headers=client.auth("co1"))).json()
    assert [u["id"] for u in timeline["units"]] == [LEAD, CO]
    assert all(u["name"] != u["id"] for u in timeline["units"])
    assert timeline["routing"]["action"] == "dispatch" and timeline["routing"]["rule"] == "manual"
    assert timeline["routing"]["reasons"]
    note = timeline["events"][-1]
    assert (note["action"], note["reason"], note["data"]["unit_id"]) == ("note", "苏州段管道已排查", CO)
    assert [(s["rating"], s["applied"]) for s in timeline["surveys"]] == [("unsatisfied", False)]
    assert timeline["region_path"] == "江苏省 › 南京市 › 玄武区"


async def test_the_inbox_filters_by_category_and_region_and_counts_supervision(client: DeskClient) -> None:
    complaint = await dispatched(client)
    other = await dispatched(client, category="help", region_code=SUZHOU)
    await client.add_handler("lead1", LEAD)
    supervised = await post(client, "dispatcher", complaint["id"], "supervise", {"reason": "市领导关注，请加快"})
    assert supervised.status_code == 200

    async def ids(**params: Any) -> list[int]:
        page = await client.http.get("/api/inbox", params=params, headers=client.auth("lead1"))
        assert page.status_code == 200, page.text
        return [t["id"] for t in page.json()["items"]]

    assert sorted(await ids()) == sorted([complaint["id"], other["id"]])
    assert await ids(category="complaint") == [complaint["id"]]
    assert await ids(region=SUZHOU) == [other["id"]]
    assert await ids(region="320100") == [complaint["id"]]  # the city covers its districts
    items = {t["id"]: t for t in (await client.http.get("/api/inbox", headers=client.auth("lead1"))).json()["items"]}
    assert (items[complaint["id"]]["supervisions"], items[other["id"]]["supervisions"]) == (1, 0)
    (sign,) = items[complaint["id"]]["deadlines"]
    assert sign["name"] == "sign" and sign["working_hours_left"] <= 4
    assert (await client.http.get("/api/inbox", params={"region": "nope"},
                                  headers=client.auth("lead1"))).status_code == 422


async def test_the_follow_up_call_dials_the_citizen_only_when_a_follow_up_is_due(
        client: DeskClient, pbx: RecordingPbx) -> None:
    ticket = await dispatched(client)
    await client.add_handler("lead1", LEAD)
    early = await client.http.post(f"/api/tickets/{ticket['id']}/follow-up-call", headers=client.auth("dispatcher"))
    assert early.status_code == 409 and "follow_up" in early.json()["detail"]
    assert (await post(client, "lead1", ticket["id"], "sign")).status_code == 200
    assert (await post(client, "lead1", ticket["id"], "reply", {"answer": "已恢复供水"})).status_code == 200
    handler = await client.http.post(f"/api/tickets/{ticket['id']}/follow-up-call", headers=client.auth("lead1"))
    assert handler.status_code == 403
    called = await client.http.post(f"/api/tickets/{ticket['id']}/follow-up-call", headers=client.auth("dispatcher"))
    assert called.status_code == 202, called.text
    assert pbx.actions == [("Originate", ("PJSIP/trunk/13800138000", "callback", "hotline-12345"))]
    assert pbx.variables == [{"HOTLINE_TICKET_ID": str(ticket["id"])}]


async def read_changes(url: str, token: str, count: int) -> list[dict[str, Any]]:
    """The first `count` change events of the stream, as a page would get them."""
    seen: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=url, timeout=10) as http, http.stream(
            "GET", "/api/ticket-changes/stream", headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status_code == 200
        event = None
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "change":
                seen.append(json.loads(line.split(":", 1)[1]))
                if len(seen) == count:
                    return seen
    return seen


async def test_the_change_stream_tells_a_unit_of_its_cases_only(client: DeskClient, live_server: LiveServer) -> None:
    await client.add_handler("lead1", LEAD)
    await client.add_handler("elsewhere", f"dept:{SUZHOU}:housing")
    tid = await accepted(client)
    lead = asyncio.create_task(read_changes(live_server.url, client.tokens["lead1"], 2))
    other = asyncio.create_task(read_changes(live_server.url, client.tokens["elsewhere"], 1))
    await asyncio.sleep(0.5)  # both streams are open
    await dispatch(client, tid)
    await post(client, "dispatcher", tid, "supervise", {"reason": "请尽快签收"})
    changes = await asyncio.wait_for(lead, 10)
    assert [(c["action"], c["ticket_id"], c["state"]) for c in changes] == [
        ("dispatch", tid, "dispatched"), ("supervise", tid, "dispatched")]
    assert changes[1]["reason"] == "请尽快签收" and changes[1]["actor"] == "dispatcher"
    await asyncio.sleep(0.3)
    assert not other.done()  # not its unit's case: nothing came
    other.cancel()


async def test_a_change_is_checked_against_every_streams_scope_in_one_statement(
        client: DeskClient, live_server: LiveServer) -> None:
    leads = ("lead1", "lead2", "lead3")
    for name in leads:
        await client.add_handler(name, LEAD)
    await client.add_handler("elsewhere", f"dept:{SUZHOU}:housing")
    tid = await accepted(client)
    reading = [asyncio.create_task(read_changes(live_server.url, client.tokens[name], 1)) for name in leads]
    other = asyncio.create_task(read_changes(live_server.url, client.tokens["elsewhere"], 1))
    await asyncio.sleep(0.5)  # the streams are open
    engine = client.desk.sessions.kw["bind"].sync_engine
    scope_reads: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "tickets.lead_unit_id = " in statement and "ticket_co_handlers.unit_id = " in statement:
            scope_reads.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        await dispatch(client, tid)
        changes = await asyncio.wait_for(asyncio.gather(*reading), 10)
        await asyncio.sleep(0.3)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert [[(c["action"], c["ticket_id"]) for c in got] for got in changes] == [[("dispatch", tid)]] * 3
    assert not other.done()  # not its unit's case: nothing came
    other.cancel()
    assert len(scope_reads) == 1  # both units' scopes in one statement, not one per stream (4) or unit (2)


def test_callers_share_a_scope_key_only_when_they_share_the_scope() -> None:
    callers = [Principal(1, "d", Role.DISPATCHER), Principal(2, "a", Role.ADMIN),
               Principal(3, "p", Role.SUPERVISOR, region_code="320000"),
               Principal(4, "s1", Role.SUPERVISOR, region_code=SUZHOU, city_scope=SUZHOU),
               Principal(5, "s2", Role.SUPERVISOR, region_code=SUZHOU, city_scope=SUZHOU),
               Principal(6, "n", Role.SUPERVISOR, region_code="320100", city_scope="320100"),
               Principal(7, "h1", Role.HANDLER, unit_id=LEAD), Principal(8, "h2", Role.HANDLER, unit_id=LEAD),
               Principal(9, "h3", Role.HANDLER, unit_id=CO), Principal(10, "h0", Role.HANDLER),
               Principal(11, "a1", Role.AGENT, agent_interface="PJSIP/7001"),
               Principal(12, "a2", Role.AGENT, agent_interface="PJSIP/7002")]

    def sql(who: Principal) -> str:
        return str(ticket_scope(who).compile(compile_kwargs={"literal_binds": True}))

    for a in callers:
        for b in callers:
            assert (ticket_scope_key(a) == ticket_scope_key(b)) == (sql(a) == sql(b)), (a.username, b.username)


async def test_the_sla_sweeps_supervision_reaches_the_change_stream(client: DeskClient) -> None:
    ticket = await dispatched(client)
    async with client.desk.ticket_feed.subscribe() as feed:
        announce_breach(client.desk, Breach(ticket["id"], "sign_off", utcnow(), ticket["number"]))
        change = await asyncio.wait_for(feed.get(), 5)
    assert (change.action, change.actor, change.ticket.id) == ("supervise", SWEEP_ACTOR, ticket["id"])
    assert change.reason == "sign_off overdue (督办)"


async def test_a_burst_beyond_the_streams_backlog_tells_the_page_to_read_again(
        client: DeskClient, live_server: LiveServer) -> None:
    view = await client.desk.tickets.get((await dispatched(client))["id"])
    events: list[tuple[str, dict[str, Any]]] = []

    async def read() -> None:
        async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http, http.stream(
                "GET", "/api/ticket-changes/stream", headers=client.auth("dispatcher")) as response:
            event = None
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event in ("change", "resync"):
                    events.append((event, json.loads(line.split(":", 1)[1])))
                    if events[-1][1].get("reason") == "the last":
                        return

    reading = asyncio.create_task(read())
    await asyncio.sleep(0.5)  # the stream is open
    burst = BACKLOG + 44
    for n in range(burst - 1):  # at once, as the sweep's 督办 of every case that turned red
        client.desk.ticket_feed.publish(TicketChange(ticket=view, action="supervise", actor=SWEEP_ACTOR,
                                                     reason=f"#{n}", at=utcnow()))
    client.desk.ticket_feed.publish(TicketChange(ticket=view, action="supervise", actor=SWEEP_ACTOR,
                                                 reason="the last", at=utcnow()))
    await asyncio.wait_for(reading, 10)
    kinds = [kind for kind, _ in events]
    assert kinds.count("resync") == 1 and kinds.count("change") == BACKLOG
    missed = next(data["missed"] for kind, data in events if kind == "resync")
    assert missed == burst - BACKLOG  # told before or among what is left, never silently
    assert [data["reason"] for kind, data in events if kind == "change"][-1] == "the last"


async def test_a_sweep_rounds_breaches_are_announced_from_one_read(client: DeskClient) -> None:
    tickets = [await dispatched(client) for _ in range(3)]
    engine = client.desk.sessions.kw["bind"].sync_engine
    reads: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "FROM tickets" in statement:
            reads.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        async with client.desk.ticket_feed.subscribe() as feed:
            for t in [*tickets, {"id": 999_999, "number": "JS20261203-999999"}]:  # one gone since: skipped
                announce_breach(client.desk, Breach(t["id"], "sign_off", utcnow(), t["number"]))
            changes = [await asyncio.wait_for(feed.get(), 5) for _ in tickets]
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert [c.ticket.id for c in changes] == [t["id"] for t in tickets]
    assert {(c.action, c.reason) for c in changes} == {("supervise", "sign_off overdue (督办)")}
    assert len(reads) == 1  # the round's tickets in one statement, not one each


async def test_the_change_stream_ends_with_its_session(client: DeskClient, live_server: LiveServer) -> None:
    await client.add_handler("lead1", LEAD)
    reading = asyncio.create_task(read_changes(live_server.url, client.tokens["lead1"], 1))
    await asyncio.sleep(0.5)
    assert (await client.http.post("/api/auth/logout", headers=client.auth("lead1"))).status_code == 204
    assert await asyncio.wait_for(reading, 10) == []  # ended, having sent nothing
