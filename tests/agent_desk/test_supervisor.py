"""Supervisor analytics: call KPIs by definition, ticket KPIs, Erlang C, hot spots, abandoned list."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from sqlalchemy import select

from agent_desk.supervision.erlang import erlang_c, required_agents
from tests.agent_desk.conftest import DeskClient
from ticketing.call_kpis import compute_call_kpis
from ticketing.calls import CallStore
from ticketing.models import CallOutcome, CallRecord, utcnow

pytestmark = pytest.mark.anyio


async def add_calls(client: DeskClient) -> None:
    # Ten minutes ago, but today on the hotline's calendar (the KPIs' default period) even just after midnight.
    now = max(utcnow() - timedelta(minutes=10), client.desk.day_start() + timedelta(seconds=1))
    rows = [  # (outcome, wait, talk, agent)
        (CallOutcome.ANSWERED, 3, 100, "Local/agent1@agents"),
        (CallOutcome.ANSWERED, 12, 200, "Local/agent1@agents"),
        (CallOutcome.ANSWERED, 30, 300, "Local/agent2@agents"),
        (CallOutcome.ABANDONED, 2, None, None),  # short abandon: left out of the answer rate
        (CallOutcome.ABANDONED, 25, None, None),
    ]
    calls = []
    for i, (outcome, wait, talk, agent) in enumerate(rows):
        answered_at = now if outcome is CallOutcome.ANSWERED else None
        leg = {"queue": "hotline-12345", "uniqueid": f"17000.{i}", "entered_at": now, "wait_seconds": wait,
               "agent": agent, "answered_at": answered_at, "talk_seconds": talk, "outcome": outcome}
        calls.append({"server": "pbx0", "linkedid": f"17000.{i}", "caller_number": f"1380000000{i}",
                      "queue": "hotline-12345", "entered_at": now, "wait_seconds": wait, "agent": agent,
                      "talk_seconds": talk, "outcome": outcome, "answered_at": answered_at, "final": True,
                      "legs": [leg]})
    await CallStore(client.desk.sessions).upsert_many(calls)


async def test_call_kpis_follow_the_definitions(client: DeskClient) -> None:
    await add_calls(client)
    page = (await client.http.get("/api/supervisor/kpi/calls", headers=client.auth("sup_province"))).json()
    [row] = page["items"]
    assert (row["offered"], row["answered"], row["abandoned"], row["short_abandoned"]) == (5, 3, 2, 1)
    assert row["answer_rate"] == pytest.approx(3 / 4, abs=1e-4)
    assert row["raw_answer_rate"] == pytest.approx(3 / 5, abs=1e-4)
    assert row["answered_within_15s_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert row["service_level"] == pytest.approx(2 / 3, abs=1e-4)  # T = 20 s
    assert row["service_level2"] == pytest.approx((2 + 1) / (3 + 2), abs=1e-4)
    assert row["asa_seconds"] == pytest.approx(15.0) and row["aht_seconds"] == pytest.approx(200.0)
    by_agent = (await client.http.get("/api/supervisor/kpi/calls", params={"by": "agent"},
                                      headers=client.auth("sup_province"))).json()["items"]
    counts = {r["key"]: r["answered"] for r in by_agent}
    assert counts["Local/agent1@agents"] == 2 and counts["Local/agent2@agents"] == 1
    csv = await client.http.get("/api/supervisor/kpi/calls", params={"format": "csv", "by": "queue"},
                                headers=client.auth("sup_province"))
    assert csv.text.lstrip("\ufeff").splitlines()[1].startswith("hotline-12345,5,3,2,1")


async def test_the_api_gives_the_figures_of_the_one_definition(client: DeskClient) -> None:
    await add_calls(client)
    async with client.desk.sessions() as session:
        records = (await session.scalars(select(CallRecord))).all()
    reference = compute_call_kpis(records)
    [row] = (await client.http.get("/api/supervisor/kpi/calls", headers=client.auth("sup_province"))).json()["items"]
    assert row == {"key": None, **reference.overall.model_dump()}
    by_queue = (await client.http.get("/api/supervisor/kpi/calls", params={"by": "queue"},
                                      headers=client.auth("sup_province"))).json()["items"]
    assert by_queue == [{"key": name, **kpis.model_dump()} for name, kpis in reference.queues.items()]


async def test_city_supervisor_sees_only_its_queues_and_agents_none(client: DeskClient) -> None:
    await add_calls(client)
    rows = (await client.http.get("/api/supervisor/kpi/calls", headers=client.auth("sup_suzhou"))).json()["items"]
    assert rows[0]["offered"] == 0
    assert (await client.http.get("/api/supervisor/live", headers=client.auth("agent1"))).status_code == 403
    assert (await client.http.get("/api/supervisor/kpi/calls", headers=client.auth("agent1"))).status_code == 403


async def test_abandoned_list_with_callback(client: DeskClient) -> None:
    await add_calls(client)
    page = (await client.http.get("/api/supervisor/abandoned", params={"limit": 1},
                                  headers=client.auth("sup_province"))).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    first = page["items"][0]
    assert first["outcome"] == "abandoned" and first["callback_url"] == f"/api/calls/{first['id']}/callback"
    rest = (await client.http.get("/api/supervisor/abandoned", params={"cursor": page["next_cursor"]},
                                  headers=client.auth("sup_province"))).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    # Without a PBX the one-click callback answers 503, saying why.
    callback = await client.http.post(first["callback_url"], headers=client.auth("sup_province"))
    assert callback.status_code == 503


async def test_ticket_kpis_by_city_and_dashboard(client: DeskClient) -> None:
    for region in ("320102", "320102", "320508"):
        await client.http.post("/api/tickets", json={"category": "help", "description": "停水", "region_code": region},
                               headers=client.auth("agent1"))
    rows = (await client.http.get("/api/supervisor/kpi/tickets", params={"by": "city"},
                                  headers=client.auth("sup_province"))).json()["items"]
    assert {r["key"]: r["total"] for r in rows} == {"320100": 2, "320500": 1}
    mine = (await client.http.get("/api/supervisor/kpi/tickets", params={"by": "county"},
                                  headers=client.auth("sup_nanjing"))).json()["items"]
    assert {r["key"]: r["total"] for r in mine} == {"320102": 2}
    dashboard = (await client.http.get("/api/supervisor/dashboard", headers=client.auth("sup_nanjing"))).json()
    assert dashboard["tickets"]["total"] == 2 and dashboard["live"]["mode"] == "offline"


async def test_staffing_advice(client: DeskClient) -> None:
    await add_calls(client)
    advice = (await client.http.get("/api/supervisor/staffing", headers=client.auth("dispatcher"))).json()
    assert advice["calls_last_hour"] == 5 and advice["aht_seconds"] == pytest.approx(200)
    expected = required_agents(5, 200, answer_seconds=20, target=0.8)
    assert advice["agents_needed"] == expected.agents and advice["agents_logged_in"] == 0


def erlang_c_by_definition(n: int, a: float) -> float:
    top = a**n / math.factorial(n) * n / (n - a)
    return top / (sum(a**k / math.factorial(k) for k in range(n)) + top)


def test_erlang_c_textbook_values() -> None:
    # 10 Erlangs on 11 agents: P(wait) ≈ 0.6821 (standard Erlang C tables).
    assert erlang_c(11, 10) == pytest.approx(0.6821, abs=1e-3)
    assert erlang_c(10, 10) == 1.0
    for n, a in ((5, 2.5), (28, 24.0), (60, 55.5)):
        assert erlang_c(n, a) == pytest.approx(erlang_c_by_definition(n, a), rel=1e-9)
    # 360 calls/h × 240 s = 24 Erlangs: the advice is the fewest agents reaching 80/20.
    advice = required_agents(360, 240, answer_seconds=20, target=0.8)
    assert advice.traffic_erlangs == 24

    def sl(n: int) -> float:
        return 1 - erlang_c_by_definition(n, 24) * math.exp(-(n - 24) * 20 / 240)

    assert sl(advice.agents) >= 0.8 > sl(advice.agents - 1)
    assert required_agents(0, 240).agents == 0


async def test_hot_spot_alert(client: DeskClient) -> None:
    for _ in range(6):
        await client.http.post("/api/tickets", json={"category": "help", "description": "停水了",
                                                      "region_code": "320102"}, headers=client.auth("agent1"))
    await client.http.post("/api/tickets", json={"category": "complaint", "description": "噪音",
                                                  "region_code": "320102"}, headers=client.auth("agent1"))
    spots = (await client.http.get("/api/supervisor/hotspots", headers=client.auth("sup_nanjing"))).json()["items"]
    assert [(s["category"], s["county_code"], s["last_hour"]) for s in spots] == [("help", "320102", 6)]
    assert spots[0]["county_name"] == "玄武区"
    assert (await client.http.get("/api/supervisor/hotspots", headers=client.auth("sup_suzhou"))).json()["items"] == []


async def test_hot_spot_shows_on_the_wallboard(client: DeskClient) -> None:
    for _ in range(5):
        await client.http.post("/api/tickets", json={"category": "help", "description": "停水了",
                                                      "region_code": "320102"}, headers=client.auth("agent1"))
    board = (await client.http.get("/api/wallboard/snapshot", headers=client.kiosk)).json()
    assert [(h["county_name"], h["category_label"], h["last_hour"]) for h in board["hotspots"]] == [
        ("玄武区", "求助", 5)]
    assert board["cities"][0]["code"] == "320100" and board["cities"][0]["open_on_time"] == 5
