"""Open311 GeoReport v2: services, request submission with api_key, queries, standard error arrays."""

from __future__ import annotations

import pytest

from tests.agent_desk.conftest import DeskClient

pytestmark = pytest.mark.anyio
BASE = "/open311/v2"


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


async def test_post_request_enters_the_pipeline_with_the_clients_channel(client: DeskClient) -> None:
    response = await client.http.post(f"{BASE}/requests.json", data={
        "api_key": client.api_key, "service_code": "help", "address_string": "南京市玄武区珠江路88号",
        "description": "路灯坏了一排", "phone": "13912345678", "first_name": "明", "last_name": "李",
    })
    assert response.status_code == 201, response.text
    [created] = response.json()
    assert set(created) == {"service_request_id", "service_notice", "account_id"}
    number = created["service_request_id"]
    [request] = (await client.http.get(f"{BASE}/requests/{number}.json")).json()
    assert request["status"] == "open" and request["status_notes"].startswith("accepted")
    assert request["service_code"] == "help" and request["address"] == "南京市玄武区珠江路88号"
    assert request["requested_datetime"].endswith("Z") or "+" in request["requested_datetime"]
    # Same pipeline: the ticket exists, in the county named by the address, on the client's channel.
    tickets = (await client.http.get("/api/tickets", headers=client.auth("admin"))).json()["items"]
    [ticket] = [t for t in tickets if t["number"] == number]
    assert ticket["channel"] == "wechat" and ticket["county_code"] == "320102"
    assert ticket["created_by"] == "api:wechat-backend" and ticket["caller_name"] == "李 明"


async def test_lat_long_without_address(client: DeskClient) -> None:
    response = await client.http.post(f"{BASE}/requests.json", data={
        "api_key": client.api_key, "service_code": "report", "lat": "32.05", "long": "118.79",
        "description": "违章搭建"})
    number = response.json()[0]["service_request_id"]
    [request] = (await client.http.get(f"{BASE}/requests/{number}.json")).json()
    assert (request["lat"], request["long"], request["address"]) == (32.05, 118.79, None)


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


async def test_query_filters_and_phone_tickets_stay_private(client: DeskClient) -> None:
    numbers = []
    for code in ("help", "complaint"):
        response = await client.http.post(f"{BASE}/requests.json", data={
            "api_key": client.api_key, "service_code": code, "address_string": "苏州市姑苏区", "description": code})
        numbers.append(response.json()[0]["service_request_id"])
    await client.http.post("/api/tickets", json={"category": "help", "description": "电话工单"},
                           headers=client.auth("agent1"))
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
