"""Tickets through the API: creation, scoping (404 outside), the lifecycle, 409 with allowed actions."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from agent_desk.api.inbox import InboxItem
from tests.agent_desk.conftest import XUANWU, DeskClient
from ticketing.actions import ACTIONS
from ticketing.models import AuditEntry, CallOutcome, CallRecord, Draft, DraftStatus, Ticket, utcnow
from ticketing.views import TicketView
from ticketing.vocabulary import Channel

pytestmark = pytest.mark.anyio
WATER_UNIT = f"dept:{XUANWU}:water_supply"


async def create(client: DeskClient, user: str = "agent1", **fields: object) -> dict[str, object]:
    body = {"category": "help", "description": "玄武区停水了，自来水两天没有来", "region_code": XUANWU,
            "caller_number": "13800138000", **fields}
    response = await client.http.post("/api/tickets", json=body, headers=client.auth(user))
    assert response.status_code in (200, 201), response.text
    return response.json()  # type: ignore[no-any-return]


async def test_create_and_read_back_with_iso_timestamps(client: DeskClient) -> None:
    ticket = await create(client)
    assert ticket["state"] == "accepted" and ticket["channel"] == "phone"
    assert str(ticket["number"]).startswith("JS") and ticket["city_code"] == "320100"
    assert str(ticket["created_at"]).endswith("Z") or "+00:00" in str(ticket["created_at"])
    got = await client.http.get(f"/api/tickets/{ticket['id']}", headers=client.auth("agent1"))
    assert got.json()["number"] == ticket["number"]


async def test_scoping_hides_other_peoples_tickets_as_404(client: DeskClient) -> None:
    ticket = await create(client, "agent1")
    tid = ticket["id"]
    # Agent 2 did not create it; the Suzhou supervisor does not cover Nanjing.
    for user in ("agent2", "sup_suzhou"):
        assert (await client.http.get(f"/api/tickets/{tid}", headers=client.auth(user))).status_code == 404
        listed = await client.http.get("/api/tickets", headers=client.auth(user))
        assert listed.json()["items"] == []
        act = await client.http.post(f"/api/tickets/{tid}/actions/note", json={"text": "hi"},
                                     headers=client.auth(user))
        assert act.status_code == 404
    for user in ("agent1", "sup_nanjing", "sup_province", "dispatcher", "admin"):
        assert (await client.http.get(f"/api/tickets/{tid}", headers=client.auth(user))).status_code == 200
    # A handler of another unit sees nothing either.
    await client.add_handler("h_other", f"dept:{XUANWU}:housing")
    assert (await client.http.get(f"/api/tickets/{tid}", headers=client.auth("h_other"))).status_code == 404


async def test_full_lifecycle_dispatch_sign_reply_follow_up(client: DeskClient) -> None:
    ticket = await create(client)
    tid = ticket["id"]
    advice = await client.http.get(f"/api/tickets/{tid}/routing", headers=client.auth("agent1"))
    assert advice.json()["lead_unit_id"] == WATER_UNIT
    dispatched = await client.http.post(f"/api/tickets/{tid}/actions/dispatch", json={},
                                        headers=client.auth("agent1"))
    assert dispatched.status_code == 200, dispatched.text
    assert dispatched.json()["state"] == "dispatched" and dispatched.json()["lead_unit_id"] == WATER_UNIT

    await client.add_handler("h_water", WATER_UNIT)
    inbox = await client.http.get("/api/inbox", headers=client.auth("h_water"))
    assert [t["id"] for t in inbox.json()["items"]] == [tid]
    # Replying before signing is illegal: 409 listing what is allowed.
    early = await client.http.post(f"/api/tickets/{tid}/actions/reply", json={"answer": "fixed"},
                                   headers=client.auth("h_water"))
    assert early.status_code == 409
    assert "sign" in early.json()["allowed_actions"] and early.json()["state"] == "dispatched"
    signed = await client.http.post(f"/api/tickets/{tid}/actions/sign", json={}, headers=client.auth("h_water"))
    assert signed.json()["state"] == "handling" and signed.json()["due_at"]
    replied = await client.http.post(f"/api/tickets/{tid}/actions/reply", json={"answer": "管道已修复"},
                                     headers=client.auth("h_water"))
    assert replied.json()["state"] == "replied"
    # A handler may not do the follow-up: 403, with the role's actions.
    forbidden = await client.http.post(f"/api/tickets/{tid}/actions/follow_up", json={"rating": "satisfied"},
                                       headers=client.auth("h_water"))
    assert forbidden.status_code == 403
    closed = await client.http.post(f"/api/tickets/{tid}/actions/follow_up", json={"rating": "satisfied"},
                                    headers=client.auth("dispatcher"))
    assert closed.json()["state"] == "closed" and closed.json()["light"] == "green"
    events = await client.http.get(f"/api/tickets/{tid}/events", headers=client.auth("admin"))
    assert [e["action"] for e in events.json()["items"]] == ["accept", "dispatch", "sign", "reply", "follow_up"]
    assert [e["actor"] for e in events.json()["items"]][-2:] == ["h_water", "dispatcher"]
    async with client.desk.sessions() as session:
        audited = (await session.scalars(select(AuditEntry.action)
                                         .where(AuditEntry.target_id == str(tid), AuditEntry.target_type == "ticket")
                                         .order_by(AuditEntry.id))).all()
    assert audited == ["ticket.create", "ticket.dispatch", "ticket.sign", "ticket.reply", "ticket.follow_up"]


async def test_return_needs_a_reason_and_co_handler_only_notes(client: DeskClient) -> None:
    ticket = await create(client)
    tid = ticket["id"]
    co_unit = f"dept:{XUANWU}:housing"
    await client.http.post(f"/api/tickets/{tid}/actions/dispatch",
                           json={"lead_unit_id": WATER_UNIT, "co_handler_ids": [co_unit]},
                           headers=client.auth("dispatcher"))
    await client.add_handler("h_water", WATER_UNIT)
    await client.add_handler("h_housing", co_unit)
    assert (await client.http.get(f"/api/tickets/{tid}", headers=client.auth("h_housing"))).status_code == 200
    sign = await client.http.post(f"/api/tickets/{tid}/actions/sign", json={}, headers=client.auth("h_housing"))
    assert sign.status_code == 403
    note = await client.http.post(f"/api/tickets/{tid}/actions/note", json={"text": "协办：已联系物业"},
                                  headers=client.auth("h_housing"))
    assert note.status_code == 200
    no_reason = await client.http.post(f"/api/tickets/{tid}/actions/return", json={},
                                       headers=client.auth("h_water"))
    assert no_reason.status_code == 422 and no_reason.json()["detail"][0]["loc"] == ["body", "reason"]
    returned = await client.http.post(f"/api/tickets/{tid}/actions/return", json={"reason": "非本单位职责"},
                                      headers=client.auth("h_water"))
    assert returned.json()["state"] == "returned"
    # Returned tickets leave the unit's inbox.
    assert (await client.http.get("/api/inbox", headers=client.auth("h_water"))).json()["items"] == []


async def test_create_from_draft_and_attach_call(client: DeskClient) -> None:
    now = utcnow()
    async with client.desk.sessions.begin() as session:
        call = CallRecord(server="pbx0", linkedid="1795868623.2", caller_number="13800138000",
                          queue="hotline-12345", entered_at=now, answered_at=now, wait_seconds=3,
                          agent="agent1", agent_interface="Local/agent1@agents", talk_seconds=40,
                          outcome=CallOutcome.ANSWERED)
        draft = Draft(server="pbx0", call_linkedid="1795868623.2", caller_number="13800138000",
                      channel=Channel.PHONE, status=DraftStatus.READY, transcript="玄武区停水了",
                      category="help", region_code=XUANWU)
        session.add_all([call, draft])
    first = await create(client, call_id=call.id, draft_id=draft.id, description="玄武区停水（坐席已核实）")
    # One ticket per call and per draft: again answers 409 naming the ticket, so the desk can open it.
    for link in ({"call_id": call.id}, {"draft_id": draft.id}):
        again = await client.http.post("/api/tickets", json={"category": "help", "description": "dup", **link},
                                       headers=client.auth("agent1"))
        assert again.status_code == 409, again.text
        assert (again.json()["ticket_id"], again.json()["ticket_number"]) == (first["id"], first["number"])
    missing = await client.http.post("/api/tickets", json={"category": "help", "description": "x", "draft_id": 999},
                                     headers=client.auth("agent1"))
    assert missing.status_code == 404 and missing.json()["detail"] == "draft 999 not found"
    listed = await client.http.get("/api/tickets", headers=client.auth("agent1"))
    assert [t["id"] for t in listed.json()["items"]] == [first["id"]]
    attach = await client.http.post(f"/api/calls/{call.id}/attach", json={"ticket_id": first["id"]},
                                    headers=client.auth("agent1"))
    assert attach.status_code == 200 and attach.json()["ticket_id"] == first["id"]
    other = await create(client)
    conflict = await client.http.post(f"/api/calls/{call.id}/attach", json={"ticket_id": other["id"]},
                                      headers=client.auth("agent1"))
    assert conflict.status_code == 409
    # Agent 2 did not take this call.
    assert (await client.http.get(f"/api/calls/{call.id}", headers=client.auth("agent2"))).status_code == 404
    # A call is the agent's by the exact interface that answered it, never by a member name or an
    # extension that happens to match the username (PJSIP/agent1 is another phone).
    async with client.desk.sessions.begin() as session:
        session.add(CallRecord(server="pbx0", linkedid="1795868999.1", caller_number="13700000000",
                               queue="hotline-12345", agent="agent1", agent_interface="PJSIP/agent1",
                               outcome=CallOutcome.ANSWERED))
    mine = (await client.http.get("/api/calls", headers=client.auth("agent1"))).json()["items"]
    assert [c["linkedid"] for c in mine] == ["1795868623.2"]
    assert (await client.http.get("/api/calls", headers=client.auth("agent2"))).json()["items"] == []
    async with client.desk.sessions() as session:
        assert (await session.get(Draft, draft.id)).ticket_id == first["id"]  # type: ignore[union-attr]


async def test_a_call_left_unknown_says_why_in_the_list_and_its_csv(client: DeskClient) -> None:
    reason = "AMI link down 10:02:03–10:02:23 UTC; queue_log has no end for it"
    async with client.desk.sessions.begin() as session:
        session.add(CallRecord(server="pbx1", linkedid="1796181990.60", queue="hotline-12345", agent="agent1",
                               agent_interface="Local/agent1@agents", outcome=CallOutcome.UNKNOWN,
                               unknown_reason=reason, final=True))
    [listed] = (await client.http.get("/api/calls", headers=client.auth("agent1"))).json()["items"]
    assert (listed["outcome"], listed["unknown_reason"]) == ("unknown", reason)
    exported = await client.http.get("/api/calls", params={"format": "csv"}, headers=client.auth("agent1"))
    [row] = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert (row["outcome"], row["unknown_reason"]) == ("unknown", reason)


async def test_cursor_pagination_walks_every_ticket_once(client: DeskClient) -> None:
    created = [(await create(client))["id"] for _ in range(7)]
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.http.get("/api/tickets", params=params, headers=client.auth("agent1"))).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(created, reverse=True)
    bad = await client.http.get("/api/tickets", params={"cursor": "!!!"}, headers=client.auth("agent1"))
    assert bad.status_code == 400


async def test_csv_export_has_every_row_in_scope(client: DeskClient) -> None:
    for _ in range(3):
        await create(client)
    response = await client.http.get("/api/tickets", params={"format": "csv"}, headers=client.auth("sup_nanjing"))
    assert response.headers["content-type"].startswith("text/csv")
    lines = response.text.lstrip("\ufeff").strip().splitlines()
    assert lines[0].startswith("id,number,digits,state") and len(lines) == 4
    empty = await client.http.get("/api/tickets", params={"format": "csv"}, headers=client.auth("sup_suzhou"))
    assert len(empty.text.strip().splitlines()) == 1


async def test_lone_surrogates_are_refused_not_a_500(client: DeskClient) -> None:
    response = await client.http.post("/api/tickets", content='{"category": "help", "description": "\\ud800x"}',
                                      headers={**client.auth("agent1"), "Content-Type": "application/json"})
    assert response.status_code == 400


async def test_extension_request_and_approval(client: DeskClient) -> None:
    ticket = await create(client)
    tid = ticket["id"]
    await client.http.post(f"/api/tickets/{tid}/actions/dispatch", json={"lead_unit_id": WATER_UNIT},
                           headers=client.auth("dispatcher"))
    await client.add_handler("h_water", WATER_UNIT)
    signed = (await client.http.post(f"/api/tickets/{tid}/actions/sign", json={},
                                     headers=client.auth("h_water"))).json()
    naive = await client.http.post(f"/api/tickets/{tid}/actions/request_extension",
                                   json={"until": "2030-01-01T00:00:00", "reason": "需协调"},
                                   headers=client.auth("h_water"))
    assert naive.status_code == 422  # timestamps must carry a zone
    requested = await client.http.post(f"/api/tickets/{tid}/actions/request_extension",
                                       json={"until": "2030-01-01T00:00:00+08:00", "reason": "需协调三个部门"},
                                       headers=client.auth("h_water"))
    assert requested.json()["state"] == "extension_requested"
    # The handler cannot approve its own extension.
    assert (await client.http.post(f"/api/tickets/{tid}/actions/approve_extension", json={},
                                   headers=client.auth("h_water"))).status_code == 403
    approved = await client.http.post(f"/api/tickets/{tid}/actions/approve_extension", json={},
                                      headers=client.auth("dispatcher"))
    assert approved.json()["state"] == "handling"
    assert approved.json()["due_at"] > signed["due_at"] and approved.json()["extension_count"] == 1


async def test_light_filter_matches_the_reported_light(client: DeskClient) -> None:
    ticket = await create(client)
    await client.http.post(f"/api/tickets/{ticket['id']}/actions/close_direct", json={"answer": "已答复"},
                           headers=client.auth("agent1"))
    await create(client)
    for light in ("green", "none", "red", "yellow"):
        page = (await client.http.get("/api/tickets", params={"light": light},
                                      headers=client.auth("agent1"))).json()
        assert all(t["light"] == light for t in page["items"]), light
        assert len(page["items"]) == {"green": 1, "none": 1, "red": 0, "yellow": 0}[light]


async def test_inbox_puts_overdue_tickets_first(client: DeskClient) -> None:
    first = await create(client)
    second = await create(client)
    for t in (first, second):
        await client.http.post(f"/api/tickets/{t['id']}/actions/dispatch", json={"lead_unit_id": WATER_UNIT},
                               headers=client.auth("dispatcher"))
    # The second ticket was dispatched long ago: past its sign-off deadline.
    past = utcnow() - timedelta(days=2)
    async with client.desk.sessions.begin() as session:
        await session.execute(update(Ticket).where(Ticket.id == second["id"]).values(
            dispatched_at=past, sign_due_at=past + timedelta(hours=4), red_after=past + timedelta(hours=4)))
    await client.add_handler("h_water", WATER_UNIT)
    inbox = (await client.http.get("/api/inbox", headers=client.auth("h_water"))).json()["items"]
    assert [(t["id"], t["light"]) for t in inbox] == [(second["id"], "red"), (first["id"], "none")]
    red = (await client.http.get("/api/inbox", params={"light": "red"}, headers=client.auth("h_water"))).json()
    assert [t["id"] for t in red["items"]] == [second["id"]]
    page = (await client.http.get("/api/inbox", params={"limit": 1}, headers=client.auth("h_water"))).json()
    rest = (await client.http.get("/api/inbox", params={"cursor": page["next_cursor"]},
                                  headers=client.auth("h_water"))).json()
    assert [t["id"] for t in page["items"] + rest["items"]] == [second["id"], first["id"]]


async def test_lists_and_reads_answer_exactly_what_the_validated_views_serialise(client: DeskClient) -> None:
    """The views are built from rows without validation; every body must be what validating it gives."""
    ticket = await create(client, caller_name="王先生", priority=2, callback_requested=True)
    await client.http.post(f"/api/tickets/{ticket['id']}/actions/dispatch",
                           json={"lead_unit_id": WATER_UNIT, "co_handler_ids": [f"dept:{XUANWU}:housing"]},
                           headers=client.auth("dispatcher"))
    closed = await create(client)
    for action, who, body in (("dispatch", "dispatcher", {"lead_unit_id": WATER_UNIT}), ("sign", "h_water", {}),
                              ("reply", "h_water", {"answer": "已修复"}),
                              ("follow_up", "dispatcher", {"rating": "satisfied"})):
        if who == "h_water" and action == "sign":
            await client.add_handler("h_water", WATER_UNIT)
        done = await client.http.post(f"/api/tickets/{closed['id']}/actions/{action}", json=body,
                                      headers=client.auth(who))
        assert done.status_code == 200, done.text
    listed = (await client.http.get("/api/tickets", headers=client.auth("dispatcher"))).json()["items"]
    read = [(await client.http.get(f"/api/tickets/{t['id']}", headers=client.auth("dispatcher"))).json()
            for t in listed]
    assert {t["state"] for t in listed} == {"dispatched", "closed"} and listed[1]["co_handler_ids"]
    for item in listed + read:
        assert TicketView.model_validate(item).model_dump(mode="json") == item
    inbox = (await client.http.get("/api/inbox", headers=client.auth("h_water"))).json()["items"]
    assert inbox and all(InboxItem.model_validate(i).model_dump(mode="json") == i for i in inbox)


async def test_nul_characters_are_refused_not_a_500(client: DeskClient) -> None:
    response = await client.http.post("/api/tickets", json={"category": "help", "description": "a\u0000b"},
                                      headers=client.auth("agent1"))
    assert response.status_code == 422 and "NUL" in response.json()["detail"][0]["msg"]
    listed = await client.http.get("/api/tickets", params={"caller_number": "1\u00002"},
                                   headers=client.auth("agent1"))
    assert listed.status_code == 422
    open311 = await client.http.post("/open311/v2/requests.json", data={
        "api_key": client.api_key, "service_code": "help", "address_string": "南京", "description": "x\u0000"})
    assert open311.status_code == 400 and open311.json()[0]["code"] == 400


async def test_history_exports_as_csv(client: DeskClient) -> None:
    ticket = await create(client)
    await client.http.post(f"/api/tickets/{ticket['id']}/actions/note", json={"text": "回访前先核实"},
                           headers=client.auth("agent1"))
    response = await client.http.get(f"/api/tickets/{ticket['id']}/events", params={"format": "csv"},
                                     headers=client.auth("agent1"))
    lines = response.text.lstrip("\ufeff").strip().splitlines()
    assert lines[0].startswith("id,ticket_id,at,actor,action") and len(lines) == 3
    assert "回访前先核实" in lines[2]


async def test_two_agents_confirming_one_draft_get_one_ticket_and_a_409(client: DeskClient) -> None:
    async with client.desk.sessions.begin() as session:
        draft = Draft(channel=Channel.PHONE, status=DraftStatus.READY, transcript="玄武区停水了", category="help")
        session.add(draft)
    body = {"category": "help", "description": "玄武区停水了", "draft_id": draft.id}
    answers = await asyncio.gather(*(client.http.post("/api/tickets", json=body, headers=client.auth(user))
                                     for user in ("agent1", "agent2")))
    assert sorted(a.status_code for a in answers) == [201, 409]
    made, refused = sorted(answers, key=lambda a: a.status_code)
    assert refused.json()["ticket_number"] == made.json()["number"]
    async with client.desk.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 1


async def test_each_action_is_a_route_with_its_payload_and_who_may_take_it(client: DeskClient) -> None:
    spec = (await client.http.get("/openapi.json")).json()
    for name, action in ACTIONS.items():
        operation = spec["paths"][f"/api/tickets/{{ticket_id}}/actions/{name}"]["post"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{action.__name__}"}, name
        assert all(role.value in operation["description"] for role in action.roles)
    assert spec["components"]["schemas"]["Return"]["required"] == ["reason"]
    unknown = await client.http.post("/api/tickets/1/actions/teleport", json={}, headers=client.auth("admin"))
    assert unknown.status_code == 404


async def test_the_caller_sees_exactly_the_actions_it_may_take(client: DeskClient) -> None:
    ticket = await create(client)
    tid = ticket["id"]
    co_unit = f"dept:{XUANWU}:housing"
    await client.http.post(f"/api/tickets/{tid}/actions/dispatch", json={"lead_unit_id": WATER_UNIT,
                                                                        "co_handler_ids": [co_unit]},
                           headers=client.auth("dispatcher"))
    await client.add_handler("h_water", WATER_UNIT)
    await client.add_handler("h_housing", co_unit)

    async def actions(user: str) -> list[str]:
        got = await client.http.get(f"/api/tickets/{tid}/actions", headers=client.auth(user))
        assert got.status_code == 200, got.text
        assert got.json()["state"] == "dispatched"
        return got.json()["actions"]  # type: ignore[no-any-return]

    assert await actions("h_water") == ["sign", "return", "note"]
    assert await actions("h_housing") == ["note"]
    assert await actions("agent1") == ["note"]
    assert await actions("sup_nanjing") == ["supervise", "note"]
    assert await actions("admin") == ["sign", "return", "supervise", "note"]
    # Every action offered succeeds; one not offered is refused.
    assert (await client.http.post(f"/api/tickets/{tid}/actions/sign", json={},
                                   headers=client.auth("h_housing"))).status_code == 403
    signed = await client.http.post(f"/api/tickets/{tid}/actions/sign", json={}, headers=client.auth("h_water"))
    assert signed.status_code == 200
    assert (await client.http.get(f"/api/tickets/{tid}/actions", headers=client.auth("agent2"))).status_code == 404
