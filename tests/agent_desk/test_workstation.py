"""The API behind the agent workstation: navigation, place search, routing preview, ticket search and
timeline, today's counts, the current pop, hang-up, and claiming abandoned callers. SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from agent_desk.accounts import NewUser
from agent_desk.live.board import LiveBoard
from ami.events import AgentCall
from tests.agent_desk.conftest import DeskClient, RecordingPbx
from ticketing.models import AuditEntry, CallLeg, CallOutcome, CallRecord, Role, utcnow

pytestmark = pytest.mark.anyio
ENTERPRISE = "hotline-enterprise"


def member(board: LiveBoard, interface: str, queue: str) -> None:
    board.model.apply("pbx0", {"Event": "QueueMemberAdded", "Queue": queue, "Interface": interface,
                               "MemberName": interface, "Status": "1", "Paused": "0"})


async def test_navigation_is_the_roles_and_pages_are_served(client: DeskClient) -> None:
    nav = (await client.http.get("/api/pages", headers=client.auth("agent1"))).json()
    assert nav == {"items": [{"path": "/desk", "title": "坐席工作台", "title_en": "Agent desk"}], "home": "/desk"}
    sup = (await client.http.get("/api/pages", headers=client.auth("sup_nanjing"))).json()
    assert [i["path"] for i in sup["items"]] == ["/wallboard", "/reports"]  # the print view is no nav link
    admin = (await client.http.get("/api/pages", headers=client.auth("admin"))).json()
    assert {i["path"] for i in admin["items"]} == {"/desk", "/wallboard", "/reports", "/handle", "/dispatch", "/admin"}
    dispatcher = (await client.http.get("/api/pages", headers=client.auth("dispatcher"))).json()
    assert [i["path"] for i in dispatcher["items"]] == ["/wallboard", "/reports", "/dispatch"]
    assert (await client.http.get("/api/pages")).status_code == 401
    page = await client.http.get("/desk")
    assert page.status_code == 200 and '<script type="module" src="/static/desk/desk.js">' in page.text
    assert "<script>" not in page.text and " on" + "click=" not in page.text  # CSP-friendly: no inline code
    assert (await client.http.get("/static/shell/api.js")).status_code == 200
    for path in ("/reports", "/reports/monthly", "/handle", "/dispatch"):  # whoever asks: the data is the API's
        served = await client.http.get(path)
        assert served.status_code == 200 and "<script>" not in served.text and "style=" not in served.text
    assert (await client.http.get("/")).headers["location"] == "/login"


async def test_regions_by_name_and_by_parent(client: DeskClient) -> None:
    h = client.auth("agent1")
    found = (await client.http.get("/api/regions", params={"q": "玄武"}, headers=h)).json()["items"]
    assert found[0]["code"] == "320102" and found[0]["path"] == "江苏省 › 南京市 › 玄武区"
    cities = (await client.http.get("/api/regions", headers=h)).json()["items"]
    assert len(cities) == 13 and cities[0]["name"] == "南京市"
    counties = (await client.http.get("/api/regions", params={"parent": "320100"}, headers=h)).json()["items"]
    assert "320102" in {c["code"] for c in counties} and all(c["parent_code"] == "320100" for c in counties)
    assert (await client.http.get("/api/regions", params={"parent": "999999"}, headers=h)).status_code == 404


async def test_routing_preview_follows_unsaved_input(client: DeskClient) -> None:
    h = client.auth("agent1")
    body = {"category": "help", "region_code": "320102", "description": "小区停水两天了"}
    first = (await client.http.post("/api/routing/preview", json=body, headers=h)).json()
    assert first["lead"] == {"id": "dept:320102:water_supply", "name": first["lead"]["name"]}
    assert "玄武" in first["lead"]["name"]
    assert first["departments"][0] == {"dept_type": "water_supply", "keyword": "停水"}
    assert any("county" in r for r in first["reasons"])
    moved = (await client.http.post("/api/routing/preview", json={**body, "region_code": "320106"}, headers=h)).json()
    assert moved["lead"]["id"] == "dept:320106:water_supply"
    chosen = (await client.http.post("/api/routing/preview", json={**body, "departments": ["housing"]},
                                     headers=h)).json()
    assert chosen["lead"]["id"] == "dept:320102:housing"
    bad = await client.http.post("/api/routing/preview", json={**body, "departments": ["nope"]}, headers=h)
    assert bad.status_code == 400 and "nope" in bad.json()["detail"]
    # Creating with the same input routes the same way.
    created = (await client.http.post("/api/tickets", json={**body, "dispatch": True, "departments": ["water_supply"]},
                                      headers=h)).json()
    assert created["lead_unit_id"] == first["lead"]["id"]
    assert (await client.http.post("/api/routing/preview", json=body,
                                   headers=client.auth("sup_nanjing"))).status_code == 403
    names = (await client.http.get("/api/routing/departments", headers=h)).json()["items"]
    assert {"dept_type": "water_supply", "name": "供水"} in names


async def test_search_by_digits_phone_and_words_within_scope(client: DeskClient) -> None:
    h = client.auth("agent1")
    mine = (await client.http.post("/api/tickets", json={"category": "help", "description": "珠江路停水",
                                                         "caller_number": "13800138000"}, headers=h)).json()
    await client.http.post("/api/tickets", json={"category": "help", "description": "另一位坐席的停水工单",
                                                  "caller_number": "13800138000"}, headers=client.auth("agent2"))

    async def numbers(q: str, who: str = "agent1") -> list[str]:
        response = await client.http.get("/api/search/tickets", params={"q": q}, headers=client.auth(who))
        assert response.status_code == 200, response.text
        return [t["number"] for t in response.json()["items"]]

    assert await numbers(mine["number"]) == [mine["number"]]
    assert await numbers(mine["digits"]) == [mine["number"]]
    assert await numbers(mine["digits"][-6:]) == [mine["number"]]
    assert await numbers("13800138000") == [mine["number"]]  # agent2's ticket is out of agent1's scope
    assert await numbers("停水") == [mine["number"]]
    assert len(await numbers("停水", "dispatcher")) == 2
    assert await numbers("100%_\\") == []  # LIKE wildcards are text


async def test_timeline_has_events_calls_and_working_time_deadlines(client: DeskClient) -> None:
    h = client.auth("agent1")
    async with client.desk.sessions.begin() as session:
        call = CallRecord(server="pbx0", linkedid="1795868623.2", caller_number="13800138000", queue="hotline-12345",
                          agent="agent1", agent_interface="Local/agent1@agents", outcome=CallOutcome.ANSWERED,
                          entered_at=utcnow())
        session.add(call)
    ticket = (await client.http.post("/api/tickets", json={
        "category": "help", "description": "停水", "region_code": "320102", "call_id": call.id, "dispatch": True,
        "departments": ["water_supply"]}, headers=h)).json()
    timeline = (await client.http.get(f"/api/tickets/{ticket['id']}/timeline", headers=h)).json()
    assert [e["action"] for e in timeline["events"]] == ["accept", "dispatch"]
    assert [c["linkedid"] for c in timeline["calls"]] == ["1795868623.2"]
    (sign,) = timeline["deadlines"]
    assert sign["name"] == "sign" and sign["met_at"] is None and 0 <= sign["working_hours_left"] <= 4
    assert (await client.http.get(f"/api/tickets/{ticket['id']}/timeline",
                                  headers=client.auth("agent2"))).status_code == 404


async def test_today_counts_answered_calls_and_pauses(client: DeskClient, pbx: RecordingPbx) -> None:
    h = client.auth("agent1")
    async with client.desk.sessions.begin() as session:
        def answered(linkedid: str, *legs: tuple[str, str, float]) -> CallRecord:
            """A call answered in each leg by (member name, interface) with that talk time."""
            name, interface, talk = legs[-1]
            return CallRecord(server="pbx0", linkedid=linkedid, agent=name, agent_interface=interface,
                              outcome=CallOutcome.ANSWERED, answered_at=utcnow(), talk_seconds=talk, legs=[
                                  CallLeg(seq=i, queue="hotline-12345", uniqueid=f"{linkedid}.{i}", agent=n,
                                          interface=iface, answered_at=utcnow(), talk_seconds=t,
                                          outcome=CallOutcome.ANSWERED) for i, (n, iface, t) in enumerate(legs)])

        session.add_all([
            answered("1.0", ("agent1", "Local/agent1@agents", 60.0)),
            # agent1 answered, then transferred to agent2: a call for each of them.
            answered("1.1", ("agent1", "Local/agent1@agents", 120.0), ("agent2", "Local/agent2@agents", 10.0)),
            # Same member name, another interface: not agent1's call (the exact interface decides).
            answered("3.0", ("agent1", "PJSIP/agent1", 10.0)),
        ])
    assert (await client.http.post("/api/agent/pause", json={"reason": "training"}, headers=h)).status_code == 202
    assert (await client.http.post("/api/agent/unpause", headers=h)).status_code == 202
    assert (await client.http.post("/api/agent/pause", json={"reason": "training"}, headers=h)).status_code == 202
    today = (await client.http.get("/api/agent/today", headers=h)).json()
    assert today["answered"] == 2 and today["aht_seconds"] == 90.0
    assert (await client.http.get("/api/agent/today", headers=client.auth("agent2"))).json()["answered"] == 1
    for agent, seen in (("agent1", ["1.1", "1.0"]), ("agent2", ["1.1"])):  # the calls each of them answered
        calls = (await client.http.get("/api/calls", headers=client.auth(agent))).json()["items"]
        assert [c["linkedid"] for c in calls] == seen
    assert 0 <= today["paused_seconds"] < 5
    async with client.desk.sessions() as session:
        pauses = (await session.scalars(select(AuditEntry.action).where(AuditEntry.actor == "agent1"))).all()
    assert pauses == ["queue.pause", "queue.unpause", "queue.pause"]
    status = (await client.http.get("/api/agent/status", headers=h)).json()
    assert status["wrapup_seconds"] == 5


async def test_current_pop_and_hang_up(client: DeskClient, pbx: RecordingPbx) -> None:
    h = client.auth("agent1")
    assert (await client.http.get("/api/agent/screen-pop/current", headers=h)).status_code == 204
    async with client.desk.sessions.begin() as session:
        call = CallRecord(server="pbx0", linkedid="1795868623.2", caller_number="02584200000",
                          queue="hotline-12345", agent="agent1", agent_interface="Local/agent1@agents",
                          outcome=CallOutcome.UNKNOWN)
        session.add(call)
    await client.desk.screen_pops.on_signal(AgentCall("pbx0", "connected", "hotline-12345", "Local/agent1@agents",
                                                      "agent1", "1795868623.2", "02584200000", None))
    pop = (await client.http.get("/api/agent/screen-pop/current", headers=h)).json()
    assert pop["call_id"] == call.id and pop["caller_area"] == "江苏省南京市" and pop["caller_region_code"] == "320100"
    assert (await client.http.get("/api/agent/screen-pop/current",
                                  headers=client.auth("agent2"))).status_code == 204
    pbx.live_channels["1795868623.2"] = "PJSIP/trunk-0001"
    assert (await client.http.post(f"/api/calls/{call.id}/hangup", headers=h)).status_code == 202
    assert pbx.actions == [("Hangup", ("PJSIP/trunk-0001",))]
    assert (await client.http.post(f"/api/calls/{call.id}/hangup", headers=client.auth("agent2"))).status_code == 404


async def test_abandoned_callers_are_claimed_once_called_back_and_marked(client: DeskClient, pbx: RecordingPbx,
                                                                         board: LiveBoard) -> None:
    await client.add(NewUser("agent3", Role.AGENT, "unused", agent_interface="Local/agent3@agents"))
    member(board, "Local/agent1@agents", ENTERPRISE)
    member(board, "Local/agent3@agents", ENTERPRISE)
    member(board, "Local/agent2@agents", "hotline-12345")
    board.model.apply("pbx0", {"Event": "QueueCallerJoin", "Queue": ENTERPRISE, "Uniqueid": "1795868636.10",
                               "CallerIDNum": "13800138000", "Position": "1"})
    board.model.apply("pbx0", {"Event": "QueueCallerAbandon", "Queue": ENTERPRISE, "Uniqueid": "1795868636.10",
                               "HoldTime": "5"})
    async with client.desk.sessions.begin() as session:
        call = CallRecord(server="pbx0", linkedid="1795868636.10", caller_number="13800138000", queue=ENTERPRISE,
                          outcome=CallOutcome.ABANDONED, entered_at=utcnow(), wait_seconds=5.0)
        session.add(call)
    one, two, other = client.auth("agent1"), client.auth("agent3"), client.auth("agent2")
    listed = (await client.http.get("/api/agent/abandoned", headers=one)).json()["items"]
    assert [(c["call_id"], c["claim"]) for c in listed] == [(call.id, None)]
    assert (await client.http.get("/api/agent/abandoned", headers=other)).json()["items"] == []  # another queue
    assert (await client.http.post(f"/api/agent/abandoned/{call.id}/claim", headers=other)).status_code == 404
    assert (await client.http.post(f"/api/agent/abandoned/{call.id}/callback", headers=one)).status_code == 409
    claimed = await client.http.post(f"/api/agent/abandoned/{call.id}/claim", headers=one)
    assert claimed.status_code == 201 and claimed.json()["claim"]["mine"]
    assert (await client.http.post(f"/api/agent/abandoned/{call.id}/claim", headers=one)).status_code == 200
    taken = await client.http.post(f"/api/agent/abandoned/{call.id}/claim", headers=two)
    assert taken.status_code == 409 and "agent1" in taken.json()["detail"]
    assert (await client.http.post(f"/api/agent/abandoned/{call.id}/callback", headers=two)).status_code == 409
    board_before = (await client.http.get("/api/wallboard/snapshot", headers=client.kiosk)).json()["abandoned"]
    assert [a["called_back"] for a in board_before] == [False]
    assert (await client.http.post(f"/api/agent/abandoned/{call.id}/callback", headers=one)).status_code == 202
    assert pbx.actions == [("Originate", ("PJSIP/trunk/13800138000", "callback", "agent1"))]
    done = await client.http.post(f"/api/agent/abandoned/{call.id}/result", json={"result": "no_answer"}, headers=one)
    assert done.status_code == 200
    assert done.json()["claim"]["result"] == "no_answer" and done.json()["claim"]["attempts"] == 1
    seen_by_two = (await client.http.get("/api/agent/abandoned", headers=two)).json()["items"][0]["claim"]
    assert seen_by_two["claimed_by"] == "agent1" and not seen_by_two["mine"]
    board_after = (await client.http.get("/api/wallboard/snapshot", headers=client.kiosk)).json()["abandoned"]
    assert [a["called_back"] for a in board_after] == [True]
