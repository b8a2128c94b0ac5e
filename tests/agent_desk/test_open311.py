"""Open311 GeoReport v2: services, submission with api_key, public (consented, masked) queries in
JSON and XML, standard error arrays; and the citizen's own full view by number and phone."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

import pytest

from agent_desk.accounts import revoke_api_client
from tests.agent_desk.conftest import DeskClient

pytestmark = pytest.mark.anyio
BASE = "/open311/v2"
PHONE = "13912345678"


async def submit(client: DeskClient, **fields: Any) -> str:
    data = {"api_key": client.api_key, "service_code": "help", "address_string": "南京市玄武区珠江路88号",
            "description": "路灯坏了一排", "phone": PHONE, **fields}
    response = await client.http.post(f"{BASE}/requests.json", data=data)
    assert response.status_code == 201, response.text
    number: str = response.json()[0]["service_request_id"]
    return number


async def test_service_list_and_definition(client: DeskClient) -> None:
    services = (await client.http.get(f"{BASE}/services.json")).json()
    assert {s["service_code"] for s in services} == {"consultation", "help", "complaint", "report",
                                                      "suggestion", "praise"}
    assert set(services[0]) == {"service_code", "service_name", "description", "metadata", "type",
                                "keywords", "group"}
    definition = (await client.http.get(f"{BASE}/services/help.json")).json()
    assert definition == {"service_code": "help", "attributes": []}
    missing = await client.http.get(f"{BASE}/services/nope.json")
    assert missing.status_code == 404 and missing.json()[0]["code"] == 404


async def test_every_operation_answers_xml_from_the_same_model(client: DeskClient) -> None:
    services = await client.http.get(f"{BASE}/services.xml")
    assert services.status_code == 200 and services.headers["content-type"].startswith("application/xml")
    root = ElementTree.fromstring(services.content)
    assert root.tag == "services" and {s.findtext("service_code") for s in root} >= {"help", "report"}
    assert root.find("service/metadata").text == "false"  # type: ignore[union-attr]
    definition = ElementTree.fromstring((await client.http.get(f"{BASE}/services/help.xml")).content)
    assert definition.tag == "service_definition" and definition.findtext("service_code") == "help"
    created = await client.http.post(f"{BASE}/requests.xml", data={
        "api_key": client.api_key, "service_code": "help", "address_string": "南京市玄武区", "description": "路灯",
        "public": "true"})
    assert created.status_code == 201
    number = ElementTree.fromstring(created.content).findtext("request/service_request_id")
    assert number and number.startswith("JS")
    one = ElementTree.fromstring((await client.http.get(f"{BASE}/requests/{number}.xml")).content)
    assert one.tag == "service_requests" and one.findtext("request/service_request_id") == number
    assert one.findtext("request/status") == "open"
    as_json = (await client.http.get(f"{BASE}/requests/{number}.json")).json()[0]
    request = one.find("request")
    assert request is not None and {child.tag for child in request} == set(as_json)
    listed = ElementTree.fromstring((await client.http.get(f"{BASE}/requests.xml")).content)
    assert [r.findtext("service_request_id") for r in listed] == [number]
    # Errors too: the GeoReport error list, as XML on .xml paths.
    missing = await client.http.get(f"{BASE}/requests/JS00000000-000000.xml")
    assert missing.status_code == 404
    error = ElementTree.fromstring(missing.content)
    assert error.tag == "errors" and error.findtext("error/code") == "404"
    bad_key = await client.http.post(f"{BASE}/requests.xml", data={"api_key": "nope", "service_code": "help"})
    assert bad_key.status_code == 403 and ElementTree.fromstring(bad_key.content).findtext("error/code") == "403"
    invalid = await client.http.get(f"{BASE}/requests.xml", params={"start_date": "yesterday"})
    assert invalid.status_code == 400 and ElementTree.fromstring(invalid.content).tag == "errors"
    assert (await client.http.get(f"{BASE}/services.yaml")).status_code == 400


async def test_post_request_enters_the_pipeline_with_the_clients_channel(client: DeskClient) -> None:
    number = await submit(client, first_name="明", last_name="李", public="true")
    # Same pipeline: the ticket exists, in the county named by the address, on the client's channel.
    tickets = (await client.http.get("/api/tickets", headers=client.auth("admin"))).json()["items"]
    [ticket] = [t for t in tickets if t["number"] == number]
    assert ticket["channel"] == "wechat" and ticket["county_code"] == "320102" and ticket["public"] is True
    assert ticket["created_by"] == "api:wechat-backend" and ticket["caller_name"] == "李 明"
    [request] = (await client.http.get(f"{BASE}/requests/{number}.json")).json()
    assert request["status"] == "open" and request["status_notes"].startswith("accepted")
    assert request["service_code"] == "help"
    assert request["requested_datetime"].endswith("Z") or "+" in request["requested_datetime"]


async def test_only_consented_requests_are_public_and_never_a_report(client: DeskClient) -> None:
    private = await submit(client, description="我家门口的路灯坏了，我叫王小明，身份证320102199001011234")
    public = await submit(client, public="true")
    report = await client.http.post(f"{BASE}/requests.json", data={
        "api_key": client.api_key, "service_code": "report", "address_string": "南京市玄武区", "description": "违建",
        "public": "true"})
    assert report.status_code == 400 and "never public" in report.json()[0]["description"]
    # Keyed in at the desk on a web channel, without consent; and a 举报 marked public by mistake.
    desk = await client.http.post("/api/tickets", json={"category": "help", "channel": "wechat",
                                                        "description": "微信来的", "caller_number": PHONE},
                                  headers=client.auth("agent1"))
    assert desk.status_code == 201
    async with client.desk.sessions.begin() as session:
        from sqlalchemy import update

        from ticketing.models import Ticket
        await session.execute(update(Ticket).where(Ticket.number == desk.json()["number"])
                              .values(public=True, category="report"))
    listed = (await client.http.get(f"{BASE}/requests.json")).json()
    assert [r["service_request_id"] for r in listed] == [public]
    for number in (private, desk.json()["number"]):
        hidden = await client.http.get(f"{BASE}/requests/{number}.json")
        assert hidden.status_code == 404
        assert hidden.json() == [{"code": 404, "description": "service request not found"}]
    by_id = (await client.http.get(f"{BASE}/requests.json",
                                   params={"service_request_id": f"{private},{public}"})).json()
    assert [r["service_request_id"] for r in by_id] == [public]


async def test_public_view_masks_personal_data(client: DeskClient) -> None:
    number = await submit(
        client, public="true", first_name="明", last_name="李", email="li.ming@example.com",
        media_url="https://img.example.com/lamp.jpg",
        description="李明反映：3栋2单元502室门口路灯坏了，联系人王五 139 1234 5678，身份证32010219900101123X，"
                    "座机025-83331234，邮箱li.ming@example.com，张先生也说过")
    [request] = (await client.http.get(f"{BASE}/requests/{number}.json")).json()
    text = request["description"]
    for secret in ("李明", "502", "王五", "1234 5678", "32010219900101123X", "83331234", "li.ming", "张先生"):
        assert secret not in text, secret
    assert "路灯坏了" in text  # the matter itself stays readable
    assert request["address"] == "南京市玄武区"  # the region, not the street and number
    assert request["media_url"] is None and PHONE not in str(request) and "李 明" not in str(request)
    # The unit's public reply is shown, masked the same way.
    async with client.desk.sessions.begin() as session:
        from sqlalchemy import update

        from ticketing.models import Ticket
        await session.execute(update(Ticket).where(Ticket.number == number)
                              .values(answer="已修复，请联系李明 13800138000"))
    [request] = (await client.http.get(f"{BASE}/requests/{number}.json")).json()
    assert "已修复" in request["status_notes"] and "13800138000" not in request["status_notes"]
    assert "李明" not in request["status_notes"]


async def test_lat_long_are_coarse_in_public_and_exact_for_the_citizen(client: DeskClient) -> None:
    response = await client.http.post(f"{BASE}/requests.json", data={
        "api_key": client.api_key, "service_code": "help", "lat": "32.05123", "long": "118.79456",
        "description": "路面塌陷", "phone": PHONE, "public": "true"})
    number = response.json()[0]["service_request_id"]
    [request] = (await client.http.get(f"{BASE}/requests/{number}.json")).json()
    assert (request["lat"], request["long"]) == (32.05, 118.79)
    mine = await client.http.post("/api/citizen/requests/lookup", json={"service_request_id": number, "phone": PHONE})
    assert (mine.json()["lat"], mine.json()["long"], mine.json()["address"]) == (32.05123, 118.79456, None)


async def test_the_citizen_reads_their_own_request_in_full(client: DeskClient) -> None:
    number = await submit(client, first_name="明", last_name="李", media_url="https://img.example.com/a.jpg",
                          description="我叫李明，身份证320102199001011234，路灯坏了")
    for phone in (PHONE, "+86 139-1234-5678", "013912345678"):
        response = await client.http.post("/api/citizen/requests/lookup",
                                          json={"service_request_id": number.lower(), "phone": phone})
        assert response.status_code == 200, (phone, response.text)
    mine = response.json()
    assert mine["description"] == "我叫李明，身份证320102199001011234，路灯坏了"
    assert mine["caller_name"] == "李 明" and mine["phone"] == PHONE and mine["address"] == "南京市玄武区珠江路88号"
    assert mine["media_url"] == "https://img.example.com/a.jpg"
    assert mine["state"] == "accepted" and [h["state"] for h in mine["history"]] == ["accepted"]
    # A wrong phone number reveals nothing, not even that the number exists.
    wrong = await client.http.post("/api/citizen/requests/lookup",
                                   json={"service_request_id": number, "phone": "13900000000"})
    unknown = await client.http.post("/api/citizen/requests/lookup",
                                     json={"service_request_id": "JS20000101-999999", "phone": PHONE})
    assert wrong.status_code == unknown.status_code == 404 and wrong.json() == unknown.json()
    # A request made without a phone number cannot be read this way.
    anonymous = await client.http.post(f"{BASE}/requests.json", data={
        "api_key": client.api_key, "service_code": "help", "address_string": "南京市", "description": "x"})
    nobody = await client.http.post("/api/citizen/requests/lookup", json={
        "service_request_id": anonymous.json()[0]["service_request_id"], "phone": PHONE})
    assert nobody.status_code == 404


async def test_citizen_lookups_are_throttled_per_number_and_per_address(client: DeskClient) -> None:
    number = await submit(client)
    limit = client.desk.settings.desk.auth.lookup_attempts
    codes = [(await client.http.post("/api/citizen/requests/lookup", json={
        "service_request_id": number, "phone": f"1390000{i:04d}"})).status_code for i in range(limit + 1)]
    assert codes == [404] * limit + [429]
    # Even the right phone number waits now, so guessing cannot go on.
    right = await client.http.post("/api/citizen/requests/lookup", json={"service_request_id": number, "phone": PHONE})
    assert right.status_code == 429 and int(right.headers["Retry-After"]) >= 1


async def test_submissions_are_validated(client: DeskClient) -> None:
    base = {"api_key": client.api_key, "service_code": "help", "address_string": "南京市", "description": "x"}
    for field, value in (("media_url", "javascript:alert(1)"), ("media_url", "data:text/html,<b>x</b>"),
                         ("media_url", "ftp://example.com/a"), ("email", "not-an-email"),
                         ("email", "a@b"), ("phone", "call me maybe"), ("phone", "<script>")):
        response = await client.http.post(f"{BASE}/requests.json", data={**base, field: value})
        assert response.status_code == 400, (field, value)
        assert field in response.json()[0]["description"]
    ok = await client.http.post(f"{BASE}/requests.json",
                                data={**base, "media_url": "https://example.com/a.png",
                                      "email": "li@example.com", "phone": "+86 139-1234-5678"})
    assert ok.status_code == 201


async def test_errors_are_standard_arrays(client: DeskClient) -> None:
    bad_key = await client.http.post(f"{BASE}/requests.json", data={
        "api_key": "wrong", "service_code": "help", "address_string": "南京", "description": "x"})
    assert bad_key.status_code == 403 and bad_key.json() == [{"code": 403, "description": "invalid api_key"}]
    no_place = await client.http.post(f"{BASE}/requests.json", data={
        "api_key": client.api_key, "service_code": "help", "description": "x"})
    assert no_place.status_code == 400 and no_place.json()[0]["code"] == 400
    missing = await client.http.post(f"{BASE}/requests.json", data={"service_code": "help"})
    assert missing.status_code == 400 and "api_key" in missing.json()[0]["description"]
    unknown = await client.http.get(f"{BASE}/requests/JS00000000-000000.json")
    assert unknown.status_code == 404 and unknown.json()[0]["code"] == 404
    bad_date = await client.http.get(f"{BASE}/requests.json", params={"start_date": "yesterday"})
    assert bad_date.status_code == 400


async def test_a_revoked_client_is_refused(client: DeskClient) -> None:
    await submit(client)
    await revoke_api_client(client.desk.sessions, "wechat-backend")
    response = await client.http.post(f"{BASE}/requests.json", data={
        "api_key": client.api_key, "service_code": "help", "address_string": "南京", "description": "x"})
    assert response.status_code == 403


async def test_query_filters(client: DeskClient) -> None:
    numbers = []
    for code in ("help", "complaint"):
        numbers.append(await submit(client, service_code=code, address_string="苏州市姑苏区", description=code,
                                    public="true"))
    listed = (await client.http.get(f"{BASE}/requests.json")).json()
    assert sorted(r["service_request_id"] for r in listed) == sorted(numbers)
    only_help = (await client.http.get(f"{BASE}/requests.json", params={"service_code": "help"})).json()
    assert [r["service_code"] for r in only_help] == ["help"]
    closed = (await client.http.get(f"{BASE}/requests.json", params={"status": "closed"})).json()
    assert closed == []
    by_id = (await client.http.get(f"{BASE}/requests.json", params={"service_request_id": numbers[1]})).json()
    assert [r["service_request_id"] for r in by_id] == [numbers[1]]
    later = (await client.http.get(f"{BASE}/requests.json", params={"start_date": "2100-01-01T00:00:00Z"})).json()
    assert later == []
