"""Probes as an attacker or a careless user would send them: scoping of calls, recordings, hostile
dates and cursors on every list, text that no store can keep, CSV formulas, echoing errors,
security headers, the kiosk key of the wallboard."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from agent_desk.accounts import NewUser, revoke_kiosk_key
from agent_desk.live.board import LiveBoard
from agent_desk.security.kiosk import KioskKeys
from ami.events import AgentCall
from tests.agent_desk.conftest import DeskClient, RecordingPbx
from tests.agent_desk.test_workstation import member
from ticketing.models import CallLeg, CallOutcome, CallRecord, Role, Ticket, TicketEvent, utcnow

pytestmark = pytest.mark.anyio
SECURITY_HEADERS = ("content-security-policy", "x-frame-options", "x-content-type-options", "referrer-policy")


def cursor_of(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


async def ticket(client: DeskClient, user: str, **fields: Any) -> dict[str, Any]:
    response = await client.http.post("/api/tickets", json={"category": "help", "description": "停水", **fields},
                                      headers=client.auth(user))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def call(client: DeskClient, **fields: Any) -> CallRecord:
    async with client.desk.sessions.begin() as session:
        record = CallRecord(**{"server": "pbx0", "linkedid": f"17958686{await _count(client):02d}.1",
                               "caller_number": "13800138000", "queue": "hotline-12345",
                               "outcome": CallOutcome.ANSWERED, "entered_at": utcnow(), **fields})
        session.add(record)
    return record


async def _count(client: DeskClient) -> int:
    async with client.desk.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(CallRecord)) or 0)


# ---- calls -----------------------------------------------------------------------------------

async def test_an_agent_cannot_attach_its_call_to_a_ticket_it_cannot_see(client: DeskClient) -> None:
    mine = await call(client, agent="agent1", agent_interface="Local/agent1@agents")
    theirs = await ticket(client, "dispatcher", region_code="320508")  # a Suzhou ticket
    other_agents = await ticket(client, "agent2")
    for target in (theirs, other_agents):
        response = await client.http.post(f"/api/calls/{mine.id}/attach", json={"ticket_id": target["id"]},
                                          headers=client.auth("agent1"))
        assert response.status_code == 404 and response.json() == {"detail": "ticket not found"}
    # Nothing was written: no note in the other ticket, the call stays unattached.
    async with client.desk.sessions() as session:
        notes = (await session.scalars(select(TicketEvent.action).where(
            TicketEvent.ticket_id.in_([theirs["id"], other_agents["id"]])))).all()
        assert "note" not in notes and (await session.get(CallRecord, mine.id)).ticket_id is None  # type: ignore[union-attr]
    # A ticket that does not exist answers the same: ids are not revealed.
    missing = await client.http.post(f"/api/calls/{mine.id}/attach", json={"ticket_id": 999999},
                                     headers=client.auth("agent1"))
    assert missing.status_code == 404 and missing.json() == {"detail": "ticket not found"}
    own = await ticket(client, "agent1")
    attached = await client.http.post(f"/api/calls/{mine.id}/attach", json={"ticket_id": own["id"]},
                                      headers=client.auth("agent1"))
    assert attached.status_code == 200


async def test_a_handler_may_not_have_the_pbx_call_back(client: DeskClient) -> None:
    pbx = RecordingPbx()
    client.desk.telephony = pbx
    unit = "dept:320102:water_supply"
    await client.add_handler("h_water", unit)
    dispatched = await ticket(client, "dispatcher", region_code="320102", dispatch=True, departments=["water_supply"])
    assert dispatched["lead_unit_id"] == unit
    record = await call(client, ticket_id=dispatched["id"], outcome=CallOutcome.ABANDONED)
    seen = await client.http.get(f"/api/calls/{record.id}", headers=client.auth("h_water"))
    assert seen.status_code == 200  # the handler sees the call attached to its ticket …
    response = await client.http.post(f"/api/calls/{record.id}/callback", headers=client.auth("h_water"))
    assert response.status_code == 403  # … but calling the citizen is not a handler's to do
    assert pbx.actions == []
    ok = await client.http.post(f"/api/calls/{record.id}/callback", headers=client.auth("sup_province"))
    assert ok.status_code == 202 and [a[0] for a in pbx.actions] == ["Originate"]


async def test_the_workstations_call_endpoints_follow_the_role_table_and_the_exact_interface(
        client: DeskClient, pbx: RecordingPbx, board: LiveBoard) -> None:
    await client.add_handler("h_water", "dept:320102:water_supply")
    # The case: a user named agent3 (interface PJSIP/agent3) sees nothing of Local/agent3@agents's call.
    await client.add(NewUser("agent3", Role.AGENT, "unused", agent_interface="PJSIP/agent3"))
    member(board, "Local/agent1@agents", "hotline-12345")
    member(board, "PJSIP/agent3", "hotline-enterprise")
    live = await call(client, linkedid="1795868623.2", agent="agent3", agent_interface="Local/agent3@agents",
                      answered_at=utcnow(), talk_seconds=30.0, legs=[CallLeg(
                          seq=0, queue="hotline-12345", uniqueid="1795868623.2", agent="agent3",
                          interface="Local/agent3@agents", answered_at=utcnow(), talk_seconds=30.0,
                          outcome=CallOutcome.ANSWERED)])
    gone = await call(client, outcome=CallOutcome.ABANDONED)
    await client.desk.screen_pops.on_signal(AgentCall("pbx0", "connected", "hotline-12345", "Local/agent3@agents",
                                                      "agent3", live.linkedid, live.caller_number, None))
    probes = [("POST", f"/api/calls/{live.id}/hangup", None), ("GET", "/api/agent/today", None),
              ("GET", "/api/agent/screen-pop/current", None), ("GET", "/api/agent/abandoned", None),
              ("POST", f"/api/agent/abandoned/{gone.id}/claim", None),
              ("POST", f"/api/agent/abandoned/{gone.id}/callback", None),
              ("POST", f"/api/agent/abandoned/{gone.id}/result", {"result": "reached"})]
    for user in ("h_water", "sup_nanjing", "sup_province", "dispatcher"):
        for method, url, body in probes:
            response = await client.http.request(method, url, json=body, headers=client.auth(user))
            assert response.status_code == 403, (user, url, response.text)
    # An agent: only its exact interface's calls and pop, only its own queues' abandoned callers.
    three = client.auth("agent3")
    assert (await client.http.post(f"/api/calls/{live.id}/hangup", headers=three)).status_code == 404
    assert (await client.http.get("/api/agent/screen-pop/current", headers=three)).status_code == 204
    assert (await client.http.get("/api/agent/today", headers=three)).json()["answered"] == 0
    assert (await client.http.get("/api/agent/abandoned", headers=three)).json()["items"] == []
    assert (await client.http.post(f"/api/agent/abandoned/{gone.id}/claim", headers=three)).status_code == 404
    assert pbx.actions == []
    one = client.auth("agent1")
    assert (await client.http.post(f"/api/agent/abandoned/{gone.id}/claim", headers=one)).status_code == 201
    assert (await client.http.post(f"/api/agent/abandoned/{gone.id}/callback", headers=one)).status_code == 202
    assert [a[0] for a in pbx.actions] == ["Originate"]


async def test_recordings_are_served_only_from_the_recordings_directory(client: DeskClient, tmp_path: Path) -> None:
    recordings = tmp_path / "monitor"
    recordings.mkdir()
    (recordings / "1795868644.12.wav").write_bytes(b"RIFF....WAVEfmt ")
    secret = tmp_path / "secret.txt"
    secret.write_text("jwt_secret = hunter2")
    (recordings / "link.wav").symlink_to(secret)
    client.desk.settings.desk.agents.recordings_dir = recordings
    cases = {str(recordings / "1795868644.12.wav"): 200, str(secret): 404, "/etc/passwd": 404,
             str(recordings / ".." / "secret.txt"): 404, str(recordings / "link.wav"): 404,
             str(recordings): 404, "relative.wav": 404, "": 404}
    for stored, expected in cases.items():
        record = await call(client, agent_interface="Local/agent1@agents", recording=stored)
        response = await client.http.get(f"/api/calls/{record.id}/recording", headers=client.auth("agent1"))
        assert response.status_code == expected, stored
        assert b"hunter2" not in response.content


# ---- no 500 on any input -------------------------------------------------------------------------

HOSTILE_DATES = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1969-12-31T23:59:59Z",
                 "2200-01-01T00:00:00Z")
HOSTILE_CURSORS = (cursor_of([int("9" * 300)]), cursor_of([True]), cursor_of([-1]), cursor_of([1.5]),
                   cursor_of(["1"]), cursor_of([None]), cursor_of([[1]]), cursor_of({"id": 1}),
                   cursor_of([2**31]), cursor_of(["9999-12-31T23:59:59-14:00", 1]), cursor_of([1, 2, 3]),
                   "!!!", "e30", "W1tbW1tbW1tbW10=" * 30)


async def test_hostile_dates_and_cursors_on_every_list_answer_4xx(client: DeskClient) -> None:
    """Every GET operation of the OpenAPI document with a date-time or cursor parameter."""
    some_ticket = await ticket(client, "agent1")
    document = (await client.http.get("/openapi.json")).json()
    admin = {**client.auth("admin"), **client.kiosk}
    # The other parameters a list needs, so the probed one is what is refused.
    required = {"q": "停水", "region_code": "320500", "at": "2027-02-08T09:30:00"}
    probed: dict[str, set[str]] = {"date": set(), "cursor": set(), "day": set()}
    for path, operations in document["paths"].items():
        get = operations.get("get")
        if not get or path.endswith(("/stream", "/screen-pop")):
            continue
        url = path.replace("{ticket_id}", str(some_ticket["id"])).replace("{fmt}", "json")
        if "{" in url:
            continue
        # An agent's own lists need an agent (an admin has no queue interface).
        headers = client.auth("agent1") if path.startswith("/api/agent/") else admin
        base = {p["name"]: required[p["name"]] for p in get.get("parameters", []) if p.get("required")
                and p["in"] == "query"}
        assert (await client.http.get(url, params=base, headers=headers)).is_success, path  # the probe gets in
        for parameter in get.get("parameters", []):
            if parameter["in"] != "query":
                continue
            schema = json.dumps(parameter["schema"])
            if '"date-time"' in schema:
                values, kind = HOSTILE_DATES, "date"
            elif '"date"' in schema:  # a calendar day: the ends of the calendar are days like any other
                for value in ("0001-01-01", "9999-12-31"):
                    response = await client.http.get(url, params={**base, parameter["name"]: value}, headers=headers)
                    assert response.status_code < 500, (path, parameter["name"], value, response.text)
                probed["day"].add(path)
                continue
            elif parameter["name"] == "cursor":
                values, kind = HOSTILE_CURSORS, "cursor"
            else:
                continue
            probed[kind].add(path)
            for value in values:
                response = await client.http.get(url, params={**base, parameter["name"]: value}, headers=headers)
                assert response.status_code in (400, 422), (path, parameter["name"], value, response.text)
                assert "Traceback" not in response.text
    # Every list the desk added since pages by a validated cursor too.
    assert {"/api/search/tickets", "/api/regions", "/api/agent/abandoned",
            "/api/kb/articles"} <= probed["cursor"], probed
    assert "/api/kb/articles" in probed["day"], probed
    assert {"/api/tickets", "/api/calls", "/api/supervisor/kpi/calls", "/api/supervisor/kpi/tickets",
            "/api/supervisor/abandoned", "/open311/v2/requests.{fmt}"} <= probed["date"], probed


async def test_dates_in_bodies_are_checked_too(client: DeskClient) -> None:
    await client.add_handler("h_water", "dept:320102:water_supply")
    dispatched = await ticket(client, "dispatcher", region_code="320102", dispatch=True, departments=["water_supply"])
    await client.http.post(f"/api/tickets/{dispatched['id']}/actions/sign", json={}, headers=client.auth("h_water"))
    for until in HOSTILE_DATES:
        response = await client.http.post(f"/api/tickets/{dispatched['id']}/actions/request_extension",
                                          json={"until": until, "reason": "等配件"}, headers=client.auth("h_water"))
        assert response.status_code == 422, (until, response.text)
    # The far end of the accepted range is handled, and quickly (no working-time walk over centuries).
    response = await asyncio.wait_for(client.http.post(
        f"/api/tickets/{dispatched['id']}/actions/request_extension",
        json={"until": "2199-12-31T00:00:00+08:00", "reason": "等配件"}, headers=client.auth("h_water")), 5)
    assert response.status_code == 200, response.text


async def test_text_is_checked_after_decoding_wherever_it_is(client: DeskClient) -> None:
    h = {**client.auth("agent1")}
    pad = "水" * 300_000  # 900 KB of UTF-8 before the NUL
    bodies: list[tuple[str, Any]] = [
        ("far NUL", {"category": "help", "description": pad + "\x00"}),
        ("nested NUL", {"category": "help", "description": "x", "departments": ["water\x00supply"]}),
        ("NUL in a key", {"category": "help", "description": "x", "dispatch\x00": True}),
    ]
    for name, body in bodies:
        response = await client.http.post("/api/tickets", content=json.dumps(body, ensure_ascii=False).encode(),
                                          headers={**h, "content-type": "application/json"})
        assert response.status_code == 422, name
        assert "NUL" in response.text and len(response.content) < 2000
    escaped = await client.http.post("/api/tickets", content=b'{"category":"help","description":"a\\u0000b"}',
                                     headers={**h, "content-type": "application/json"})
    assert escaped.status_code == 422
    surrogate = await client.http.post("/api/tickets", content=b'{"category":"help","description":"a\\ud800b"}',
                                       headers={**h, "content-type": "application/json"})
    assert surrogate.status_code == 400 and "surrogate" in surrogate.json()["detail"]
    # Over the limit: refused whole, NUL or not (a NUL after 2 MiB of padding used to be stored).
    large = await client.http.post("/api/tickets", content=json.dumps(
        {"category": "help", "description": "a" * (2 << 20) + "\x00"}),
        headers={**h, "content-type": "application/json"})
    assert large.status_code == 413 and len(large.content) < 200
    # Query strings and paths.
    assert (await client.http.get("/api/tickets?caller_number=%00", headers=h)).status_code == 422
    assert (await client.http.get("/api/tickets?caller_number=%FF", headers=h)).status_code == 400
    assert (await client.http.get("/api/tickets/1%00", headers=h)).status_code == 422
    assert (await client.http.get("/api/tickets/%FF", headers=h)).status_code == 400
    async with client.desk.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 0


async def test_form_bodies_must_be_utf8_without_nul(client: DeskClient) -> None:
    base = (f"api_key={client.api_key}&service_code=help&address_string=%E5%8D%97%E4%BA%AC&description=").encode()
    form = {"content-type": "application/x-www-form-urlencoded"}
    for tail, status in ((b"%FF%FE", 400), (b"%ED%A0%80", 400), (b"ok%00", 400), (b"a" * 900_000 + b"%00", 400)):
        response = await client.http.post("/open311/v2/requests.json", content=base + tail, headers=form)
        assert response.status_code == status, tail[:20]
        assert response.json()[0]["code"] == status
    multipart = await client.http.post("/open311/v2/requests.json", files={"description": ("a.txt", b"x")},
                                       data={"api_key": client.api_key, "service_code": "help"})
    assert multipart.status_code == 415
    async with client.desk.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 0
    good = await client.http.post("/open311/v2/requests.json", content=base + "路灯".encode(), headers=form)
    assert good.status_code == 201


async def test_errors_never_echo_secrets_and_truncate(client: DeskClient) -> None:
    password = "correct-horse-" + "x" * 300
    response = await client.http.post("/api/auth/login", json={"username": "admin", "password": password})
    assert response.status_code == 422 and "correct-horse" not in response.text
    refresh = await client.http.post("/api/auth/refresh", json={"refresh_token": "s3cr3t" * 1000})
    assert refresh.status_code == 422 and "s3cr3t" not in refresh.text
    long = await client.http.post("/api/tickets", json={"category": "help", "description": "长" * 200_000},
                                  headers=client.auth("agent1"))
    assert long.status_code == 422 and len(long.content) < 1000
    too_large = await client.http.post("/api/tickets", json={"category": "help", "description": "长" * 2_000_000},
                                       headers=client.auth("agent1"))
    assert too_large.status_code == 413 and len(too_large.content) < 200
    many = await client.http.post("/api/tickets", json={"category": "help", "description": "x",
                                                        "departments": [1] * 5000}, headers=client.auth("agent1"))
    assert many.status_code == 422 and len(many.json()["detail"]) <= 20


async def test_csv_cells_that_start_a_formula_are_neutralised(client: DeskClient) -> None:
    for name in ("=HYPERLINK(\"http://evil\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1"):
        await ticket(client, "agent1", caller_name=name, description=name)
    export = await client.http.get("/api/tickets", params={"format": "csv"}, headers=client.auth("agent1"))
    rows = list(csv.DictReader(io.StringIO(export.text.lstrip("\ufeff"))))
    assert len(rows) == 5
    for row in rows:
        assert row["caller_name"].startswith("'") and row["description"].startswith("'")
        assert row["priority"] == "0" and row["id"].isdigit()  # numbers stay numbers


# ---- headers and assets --------------------------------------------------------------------------

async def test_every_response_carries_the_security_headers(client: DeskClient) -> None:
    h = client.auth("admin")
    responses = [
        await client.http.get("/health"), await client.http.get("/api/tickets", headers=h),
        await client.http.get("/api/tickets/999", headers=h), await client.http.get("/api/tickets"),
        await client.http.get("/api/tickets?limit=0", headers=h), await client.http.get("/wallboard"),
        await client.http.get("/wallboard/static/wallboard.js"), await client.http.get("/docs"),
        await client.http.get("/docs/static/swagger-ui.css"), await client.http.get("/openapi.json"),
        await client.http.get("/open311/v2/services.xml"), await client.http.get("/nowhere"),
        await client.http.post("/api/tickets", content=b"x" * (2 << 20), headers=h),
    ]
    for response in responses:
        for name in SECURITY_HEADERS:
            assert name in response.headers, (response.request.url, name)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
    assert "'unsafe-inline'" not in responses[5].headers["content-security-policy"]


async def test_docs_page_uses_only_packaged_assets(client: DeskClient) -> None:
    page = (await client.http.get("/docs")).text
    assert "cdn" not in page.lower() and "http://" not in page and "https://" not in page
    for asset in ("/docs/static/swagger-ui-bundle.js", "/docs/static/swagger-ui.css", "/docs/static/docs.js"):
        assert asset in page
        response = await client.http.get(asset)
        assert response.status_code == 200 and len(response.content) > 100
    assert (await client.http.get("/redoc")).status_code == 404  # ReDoc would load from a CDN


# ---- the wallboard's kiosk key --------------------------------------------------------------------

async def test_the_wallboard_needs_a_kiosk_key_or_a_supervisors_token(client: DeskClient) -> None:
    snapshot = "/api/wallboard/snapshot"
    assert (await client.http.get(snapshot)).status_code == 401
    assert (await client.http.get(snapshot, headers={"X-Kiosk-Key": "guess"})).status_code == 401
    assert (await client.http.get(snapshot, headers=client.kiosk)).status_code == 200
    for user in ("admin", "sup_province", "sup_nanjing"):  # a city supervisor: its city's PBX
        assert (await client.http.get(snapshot, headers=client.auth(user))).status_code == 200
    await client.add_handler("handler_xuanwu", "office:320102")
    for user in ("agent1", "handler_xuanwu"):
        assert (await client.http.get(snapshot, headers=client.auth(user))).status_code == 403
    assert (await client.http.get("/api/wallboard/stream")).status_code == 401
    # The page's way in: the key once in a header, then an HttpOnly cookie scoped to the wallboard API.
    session = await client.http.post("/api/wallboard/kiosk", headers=client.kiosk)
    assert session.status_code == 204
    cookie = session.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/api/wallboard" in cookie
    assert (await client.http.get(snapshot)).status_code == 200  # httpx keeps the cookie
    assert (await client.http.post("/api/wallboard/kiosk", headers={"X-Kiosk-Key": "guess"})).status_code == 401
    # Revoked: refused (here with no check cache, as after desk.auth.session_check_seconds).
    client.desk.kiosks = KioskKeys(client.desk.sessions, check_seconds=0)
    await revoke_kiosk_key(client.desk.sessions, "hall")
    assert (await client.http.get(snapshot)).status_code == 401
    assert (await client.http.get(snapshot, headers=client.kiosk)).status_code == 401


@pytest.mark.parametrize("db_target", ["sqlite"], indirect=True)
async def test_an_open_stream_ends_when_its_key_is_revoked(client: DeskClient, live_server: Any) -> None:
    client.desk.kiosks = KioskKeys(client.desk.sessions, check_seconds=0)
    async with (httpx.AsyncClient(base_url=live_server.url, timeout=10) as http,
                http.stream("GET", "/api/wallboard/stream", headers=client.kiosk) as response):
        assert response.status_code == 200
        lines = response.aiter_lines()
        async for line in lines:
            if line.startswith("data:"):
                break
        await revoke_kiosk_key(client.desk.sessions, "hall")

        async def drain() -> None:
            async for _ in lines:
                pass

        await asyncio.wait_for(drain(), 5)  # the server closes the stream within one tick (2 s)


async def test_city_supervisors_still_get_their_own_figures(client: DeskClient) -> None:
    """The wallboard is province-wide; a city supervisor's own view stays at /api/supervisor/live."""
    live = await client.http.get("/api/supervisor/live", headers=client.auth("sup_nanjing"))
    assert live.status_code == 200


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("db_target", ["sqlite"], indirect=True)
async def test_docs_render_in_chromium_under_the_csp_from_the_package(client: DeskClient, live_server: Any) -> None:
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("Debian chromium is not installed (make system-deps)")
    from playwright.async_api import async_playwright

    from tests.agent_desk.test_wallboard import ARTIFACTS, CHROMIUM_FLAGS

    requested: list[str] = []
    violations: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_FLAGS)
        try:
            page = await browser.new_page(viewport={"width": 1366, "height": 768})
            page.on("request", lambda request: requested.append(request.url))
            page.on("console", lambda message: violations.append(message.text)
                    if "Content Security Policy" in message.text else None)
            await page.goto(f"{live_server.url}/docs")
            await page.wait_for_selector(".opblock", timeout=15000)
            operations = await page.locator(".opblock").count()
            assert operations >= 30
            assert "12345 hotline contact center" in await page.inner_text(".info .title")
            await page.locator(".opblock-summary").nth(1).click()  # open an operation, as a reader would
            await page.locator(".try-out__btn").first.click()
            await page.wait_for_selector(".opblock-body .execute", timeout=5000)
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "docs.png"))
        finally:
            await browser.close()
    assert all(url.startswith(live_server.url) for url in requested), [u for u in requested
                                                                       if not u.startswith(live_server.url)]
    assert violations == []
