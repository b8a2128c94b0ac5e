"""Agents: queue log-in/out, pause reasons, transfer and callback through the telephony interface;
screen pops built from the database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ami.events import AgentCall
from tests.agent_desk.conftest import DeskClient, RecordingPbx
from ticketing.models import AuditEntry, CallOutcome, CallRecord, Draft, DraftStatus, utcnow
from ticketing.vocabulary import Channel

pytestmark = pytest.mark.anyio


async def test_without_pbx_actions_answer_503(client: DeskClient) -> None:
    response = await client.http.post("/api/agent/queues/hotline-12345/login", headers=client.auth("agent1"))
    assert response.status_code == 503 and "PBX" in response.json()["detail"]


async def test_queue_login_pause_unpause_logout(client: DeskClient, pbx: RecordingPbx) -> None:
    h = client.auth("agent1")
    assert (await client.http.post("/api/agent/queues/hotline-12345/login", headers=h)).status_code == 202
    assert (await client.http.post("/api/agent/queues/nope/login", headers=h)).status_code == 404
    reasons = (await client.http.get("/api/agent/pause-reasons", headers=h)).json()["items"]
    assert "lunch-break" in reasons
    assert (await client.http.post("/api/agent/pause", json={"reason": "nap"}, headers=h)).status_code == 400
    assert (await client.http.post("/api/agent/pause", json={"reason": "lunch-break"}, headers=h)).status_code == 202
    assert (await client.http.post("/api/agent/unpause", headers=h)).status_code == 202
    assert (await client.http.post("/api/agent/queues/hotline-12345/logout", headers=h)).status_code == 202
    assert pbx.actions == [
        ("QueueAdd", ("hotline-12345", "Local/agent1@agents", "agent1")),
        ("QueuePause", ("Local/agent1@agents", True, "lunch-break")),
        ("QueuePause", ("Local/agent1@agents", False, None)),
        ("QueueRemove", ("hotline-12345", "Local/agent1@agents")),
    ]
    async with client.desk.sessions() as session:
        actions = (await session.scalars(select(AuditEntry.action).where(AuditEntry.actor == "agent1")
                                         .order_by(AuditEntry.id))).all()
    assert actions == ["queue.login", "queue.pause", "queue.unpause", "queue.logout"]
    # Dispatchers have no queue membership.
    assert (await client.http.post("/api/agent/pause", json={"reason": "training"},
                                   headers=client.auth("dispatcher"))).status_code == 403


async def test_transfer_and_callback(client: DeskClient, pbx: RecordingPbx) -> None:
    async with client.desk.sessions.begin() as session:
        live = CallRecord(server="pbx0", linkedid="1795868623.2", caller_number="13800138000", queue="hotline-12345",
                          agent="agent1", agent_interface="Local/agent1@agents", outcome=CallOutcome.ANSWERED,
                          entered_at=utcnow())
        gone = CallRecord(server="pbx0", linkedid="1795868700.9", caller_number="13900000000", queue="hotline-12345",
                          agent="agent1", agent_interface="Local/agent1@agents", outcome=CallOutcome.ABANDONED,
                          entered_at=utcnow())
        session.add_all([live, gone])
    h = client.auth("agent1")
    targets = (await client.http.get("/api/calls/transfer-destinations", headers=h)).json()
    assert "hotline-12345" in targets["queues"] and {"agent1", "agent2"} <= set(targets["agents"])
    unknown = await client.http.post(f"/api/calls/{live.id}/transfer", json={"destination": "8002"}, headers=h)
    assert unknown.status_code == 422 and "8002" in unknown.json()["detail"]
    moved = await client.http.post(f"/api/calls/{live.id}/transfer", json={"destination": "agent2"}, headers=h)
    assert moved.status_code == 202
    assert (await client.http.post(f"/api/calls/{gone.id}/transfer", json={"destination": "agent2"},
                                   headers=h)).status_code == 409
    assert (await client.http.post(f"/api/calls/{gone.id}/callback", headers=h)).status_code == 202
    assert pbx.actions == [
        ("Redirect", ("Local/talk@caller-sim-00000001;1", "transfer", "agent2")),
        ("Originate", ("PJSIP/trunk/13900000000", "callback", "agent1")),
    ]
    # Another agent's call does not exist for agent 2.
    assert (await client.http.post(f"/api/calls/{live.id}/transfer", json={"destination": "agent2"},
                                   headers=client.auth("agent2"))).status_code == 404


async def test_screen_pop_has_history_draft_ivr_and_recording(client: DeskClient) -> None:
    await client.http.post("/api/tickets", json={"category": "help", "description": "上次停水",
                                                  "caller_number": "13800138000"}, headers=client.auth("agent2"))
    async with client.desk.sessions.begin() as session:
        session.add(CallRecord(server="pbx0", linkedid="1795868623.2", caller_number="13800138000",
                               queue="hotline-12345", ivr_path="menu:1>report", recording="/srv/pbx0/rec.wav",
                               outcome=CallOutcome.UNKNOWN))
        session.add(Draft(server="pbx0", call_linkedid="1795868623.2", caller_number="13800138000",
                          channel=Channel.PHONE, status=DraftStatus.READY, transcript="玄武区又停水了",
                          category="help", region_code="320102", department_type="water_supply",
                          department_reason="停水 → 供水, matter table row 1"))
    pops = client.desk.screen_pops
    signal = AgentCall("pbx0", "connected", "hotline-12345", "Local/agent1@agents", "agent1",
                       "1795868623.2", "13800138000", "Citizen")
    assert await pops.on_signal(signal) is None  # nobody has the screen open: no queries
    async with pops.listen("Local/agent1@agents") as queue:
        pop = await pops.on_signal(signal)
        assert pop is not None and queue.get_nowait() == pop
    assert pop.caller_number == "13800138000" and pop.ivr_choice == "menu:1>report"
    assert pop.recording_url == f"/api/calls/{pop.call_id}/recording"
    assert pop.draft is not None and pop.draft.transcript == "玄武区又停水了"
    assert pop.draft.department_reason == "停水 → 供水, matter table row 1"  # why, for the agent
    assert [t.description for t in pop.recent_tickets] == ["上次停水"]
    # When ASR finishes later, the agent on the call gets the draft again.
    async with pops.listen("Local/agent1@agents") as queue:
        again = await pops.draft_ready(pop.draft.id)
        assert again is not None and again.kind == "draft_ready" and queue.get_nowait() == again


async def test_ami_telephony_without_a_connection_answers_503(client: DeskClient) -> None:
    from agent_desk.wiring import AmiTelephony
    from ami.client import AmiClient
    from ami.settings import AmiSettings

    client.desk.telephony = AmiTelephony(AmiClient(AmiSettings()))
    response = await client.http.post("/api/agent/queues/hotline-12345/login", headers=client.auth("agent1"))
    assert response.status_code == 503 and "no Asterisk server" in response.json()["detail"]
