"""The administration API: accounts through the one account service (audited), Open311 clients,
routing rules (validated, previewed, saved to the database every process reads) and the working
calendar's admin entries (taken up by the SLA clocks at once)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from agent_desk.accounts import api_client_for
from agent_desk.settings import load_settings
from tests.agent_desk.conftest import XUANWU, DeskClient
from ticketing.models import AuditEntry, Unit
from ticketing.seed import seed_reference_data
from ticketing.service import TicketService

pytestmark = pytest.mark.anyio
ADMIN = "/api/admin"
# Dispatched on the Friday before 2027's Spring Festival, 16:00 Beijing time.
FRIDAY_1600 = "2027-02-05T16:00"
SPRING_FESTIVAL_2027 = [{"day": f"2027-02-{d:02d}", "workday": False, "note": "春节"} for d in range(6, 13)]
SWAPPED_SATURDAY = {"day": "2027-02-20", "workday": True, "note": "春节调休"}


async def call(client: DeskClient, method: str, path: str, body: Any = None, user: str = "admin",
               status: int = 200) -> Any:
    response = await client.http.request(method, ADMIN + path, json=body, headers=client.auth(user))
    assert response.status_code == status, response.text
    return response.json()


async def audit(client: DeskClient, action: str) -> list[AuditEntry]:
    async with client.desk.sessions() as session:
        return list((await session.scalars(select(AuditEntry).where(AuditEntry.action == action)
                                           .order_by(AuditEntry.id))).all())


async def test_only_admins_administer(client: DeskClient) -> None:
    for path in ("/users", "/api-clients", "/routing/rules", "/calendar"):
        body = await call(client, "GET", path, user="sup_province", status=403)
        assert "admin" in body["detail"]


async def test_users_are_created_changed_and_disabled_by_the_account_service(client: DeskClient) -> None:
    created = await call(client, "POST", "/users", {"username": "handler7", "role": "handler",
                                                     "unit_id": f"dept:{XUANWU}:water_supply"}, status=201)
    assert created["user"]["role"] == "handler" and len(created["password"]) >= 10
    # The same checks as `hotline users add`: a handler needs a unit, only agents an interface.
    refused = await call(client, "POST", "/users", {"username": "h8", "role": "handler"}, status=400)
    assert "unit" in refused["detail"]
    await call(client, "POST", "/users", {"username": "ivr", "role": "dispatcher"}, status=400)
    await call(client, "PUT", "/users/handler7/profile", {"role": "dispatcher", "agent_interface": "PJSIP/9"},
               status=400)
    await call(client, "PUT", "/users/nobody/profile", {"role": "dispatcher"}, status=404)
    # A new role ends the user's sessions; the audit keeps before and after.
    token = await client.login("handler7", created["password"])
    changed = await call(client, "PUT", "/users/handler7/profile", {"role": "supervisor", "region_code": "320100"})
    assert changed["role"] == "supervisor" and changed["unit_id"] is None
    me = await client.http.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401
    (entry,) = await audit(client, "user.profile")
    assert entry.actor == "admin"
    assert entry.data["before"]["role"] == "handler" and entry.data["after"]["region_code"] == "320100"
    # Disable: refused at its next request; a reset password is answered once.
    await client.login("agent2")
    assert (await call(client, "PUT", "/users/agent2/active", {"active": False}))["active"] is False
    assert (await client.http.get("/api/auth/me", headers=client.auth("agent2"))).status_code == 401
    reset = await call(client, "POST", "/users/agent2/password", {})
    await call(client, "PUT", "/users/agent2/active", {"active": True})
    await client.login("agent2", reset["password"])
    assert [e.data["username"] for e in await audit(client, "user.disable")] == ["agent2"]
    # An admin cannot lock itself out.
    assert "yourself" in (await call(client, "PUT", "/users/admin/active", {"active": False}, status=400))["detail"]
    await call(client, "PUT", "/users/admin/profile", {"role": "dispatcher"}, status=400)
    names = [u["username"] for u in (await call(client, "GET", "/users?limit=2"))["items"]]
    assert len(names) == 2


async def test_open311_clients_are_created_and_revoked(client: DeskClient) -> None:
    created = await call(client, "POST", "/api-clients", {"name": "app-backend", "channel": "app"}, status=201)
    key = created["api_key"]
    assert (await api_client_for(client.desk.sessions, key)).channel.value == "app"  # type: ignore[union-attr]
    revoked = await call(client, "POST", "/api-clients/app-backend/revoke")
    assert revoked["active"] is False and await api_client_for(client.desk.sessions, key) is None
    await call(client, "POST", "/api-clients/app-backend/revoke", status=200)
    await call(client, "POST", "/api-clients/nothing/revoke", status=404)
    await call(client, "POST", "/api-clients", {"name": "app-backend"}, status=400)
    assert [e.target_id for e in await audit(client, "api_client.revoke")] == ["app-backend", "app-backend"]


def _county_to_city(rules: list[dict[str, str]]) -> list[dict[str, str]]:
    """The county-first rule made to send county cases to the city."""
    return [{**r, "lead": "city_unit"} if r["name"] == "county-first" else r for r in rules]


async def test_routing_rules_are_previewed_validated_saved_and_routed_by(client: DeskClient) -> None:
    shown = await call(client, "GET", "/routing/rules")
    assert shown["source"] == "file" and shown["rules"][-1]["when"] == "always"
    proposed = _county_to_city(shown["rules"])
    preview = await call(client, "POST", "/routing/preview", {"rules": proposed, "samples": shown["samples"]})
    xuanwu = next(r for r in preview["rows"] if r["sample"]["region_code"] == XUANWU)
    assert xuanwu["changed"] and xuanwu["current"]["lead_id"] == f"dept:{XUANWU}:water_supply"
    assert xuanwu["proposed"]["lead_id"] == "dept:320100:water_supply"
    assert any("handled at city level" in reason for reason in xuanwu["proposed"]["reasons"])
    assert not any(r["changed"] for r in preview["rows"] if r["sample"]["region_code"] != XUANWU)
    # Invalid rules are refused with the reason, before and at saving.
    for bad, words in ((proposed[:-1], "always"), ([*proposed[:2], proposed[1], proposed[-1]], "named"),
                       ([{**proposed[0], "lead": "nowhere"}, *proposed[1:]], "lead")):
        for path, method in (("/routing/preview", "POST"), ("/routing/rules", "PUT")):
            body = {"rules": bad, "samples": shown["samples"]}
            assert words in (await call(client, method, path, body, status=400))["detail"]
    saved = await call(client, "PUT", "/routing/rules", {"rules": proposed})
    assert saved["source"] == "database"
    ticket = await client.http.post("/api/tickets", headers=client.auth("agent1"), json={
        "category": "help", "description": "停水了", "region_code": XUANWU, "dispatch": True,
        "departments": ["water_supply"]})
    assert ticket.json()["lead_unit_id"] == "dept:320100:water_supply"
    (entry,) = await audit(client, "routing.rules")
    assert entry.actor == "admin"
    assert [r["lead"] for r in entry.data["before"]] != [r["lead"] for r in entry.data["after"]]
    # Another process on the same database routes by the saved rules too.
    other = _other_process(client)
    await other.refresh()
    assert other.routing.rules == client.desk.tickets.routing.rules


def _other_process(client: DeskClient) -> TicketService:
    settings = load_settings(db={"url": client.db.target.url})
    return TicketService.from_settings(client.desk.sessions, settings.ticketing)


async def test_a_years_holidays_move_deadlines_at_once_in_every_process(client: DeskClient) -> None:
    other = _other_process(client)
    coverage = await call(client, "GET", "/calendar")
    assert coverage["timezone"] == "Asia/Shanghai"
    years = {y["year"]: y["sources"] for y in coverage["years"]}
    assert years[2026] == ["package"] and years.get(2027, []) == []
    before = await call(client, "GET", f"/calendar/deadlines?at={FRIDAY_1600}")
    assert before["sign_due_at"].startswith("2027-02-08T11:30:00")
    await call(client, "PUT", "/calendar/2027", {"days": [{"day": "2027-02-08", "workday": True}]}, status=400)
    await call(client, "PUT", "/calendar/2027", {"days": [{"day": "2028-01-01", "workday": False}]}, status=400)
    await call(client, "PUT", "/calendar/1999", {"days": []}, status=422)
    year = await call(client, "PUT", "/calendar/2027", {"days": [*SPRING_FESTIVAL_2027, SWAPPED_SATURDAY]})
    assert year["sources"] == ["admin"] and len(year["days"]) == 8
    after = await call(client, "GET", f"/calendar/deadlines?at={FRIDAY_1600}")
    assert after["sign_due_at"].startswith("2027-02-15T11:30:00")
    assert after["resolution_due_at"] > before["resolution_due_at"]
    # The other process takes the notice up at its next check.
    dispatched = datetime(2027, 2, 5, 8, tzinfo=UTC)  # 16:00 in Beijing
    await other.refresh(at_once=True)
    assert other.sla.sign_due(dispatched) == datetime(2027, 2, 15, 3, 30, tzinfo=UTC)
    (entry,) = await audit(client, "calendar.year")
    assert entry.data["before"] == [] and len(entry.data["after"]) == 8
    # An empty notice removes the year again.
    assert (await call(client, "PUT", "/calendar/2027", {"days": []}))["sources"] == []
    assert (await call(client, "GET", f"/calendar/deadlines?at={FRIDAY_1600}"))["sign_due_at"] == before["sign_due_at"]


async def test_a_renamed_unit_keeps_its_name_through_the_seed(client: DeskClient) -> None:
    water = f"dept:{XUANWU}:water_supply"
    units = await call(client, "GET", f"/units?region_code={XUANWU}")
    assert water in [u["id"] for u in units["items"]]
    other = next(u for u in units["items"] if u["id"] != water)
    taken = await call(client, "PUT", f"/units/{water}", {"name": other["name"]}, status=400)
    assert "already named" in taken["detail"]
    await call(client, "PUT", f"/units/{water}", {"name": "   "}, status=400)
    await call(client, "PUT", "/units/dept:999999:none", {"name": "x"}, status=404)
    renamed = await call(client, "PUT", f"/units/{water}", {"name": "玄武区 供水  服务中心"})
    assert renamed["name"] == "玄武区 供水 服务中心" and renamed["renamed_by"] == "admin"
    await seed_reference_data(client.desk.sessions)
    async with client.desk.sessions() as session:
        assert (await session.get(Unit, water)).name == "玄武区 供水 服务中心"  # type: ignore[union-attr]
    (entry,) = await audit(client, "unit.rename")
    assert entry.target_id == water and entry.data["after"] == "玄武区 供水 服务中心"
    assert entry.data["before"] != entry.data["after"]
