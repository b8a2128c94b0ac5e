"""The citizen portal's API: submit (channel web, dispatched at once, an optional photo that is checked
and re-encoded), read back and rate with the number and phone, throttling, and the masked board."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from tests.agent_desk.conftest import NANJING, XUANWU, DeskClient
from ticketing.models import Ticket, TicketAttachment

pytestmark = pytest.mark.anyio
PHONE = "13912345678"
WATER_UNIT = "dept:320102:water_supply"


@pytest.fixture
def photos(client: DeskClient, tmp_path: Path) -> Path:
    client.desk.settings.desk.portal.photos_dir = tmp_path / "photos"
    return tmp_path / "photos"


def jpeg(*, size: tuple[int, int] = (64, 48), exif: bool = True) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    info = Image.Exif()
    info[0x010F] = "CameraMaker"  # Make
    info[0x8825] = {1: "N", 2: (32.0, 3.0, 0.0)}  # GPS: where the citizen stood
    image.save(out, "JPEG", exif=info.tobytes() if exif else b"", comment=b"secret comment")
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def submit(client: DeskClient, **fields: Any) -> dict[str, Any]:
    body = {"category": "help", "region_code": XUANWU, "address": "珠江路88号", "description": "小区停水三天了",
            "phone": PHONE, **fields}
    response = await client.http.post("/api/citizen/requests", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def ticket_count(client: DeskClient) -> int:
    async with client.desk.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Ticket)) or 0)


async def lookup(client: DeskClient, number: str, phone: str = PHONE) -> Any:
    return await client.http.post("/api/citizen/requests/lookup", json={"service_request_id": number, "phone": phone})


async def test_options_offer_categories_places_and_ratings(client: DeskClient) -> None:
    options = (await client.http.get("/api/citizen/options")).json()
    categories = {c["code"]: c for c in options["categories"]}
    assert categories["report"] == {"code": "report", "label": "举报", "may_be_public": False}
    assert categories["help"]["may_be_public"] is True
    cities = {c["name"]: c for c in options["cities"]}
    assert len(cities) == 13 and "玄武区" in {c["name"] for c in cities["南京市"]["counties"]}
    assert [r["label"] for r in options["ratings"]] == ["满意", "基本满意", "不满意"]


async def test_a_web_request_takes_the_calls_intake_routing_and_clocks(client: DeskClient, photos: Path) -> None:
    made = await submit(client)
    assert made["state_label"] == "派单" and made["unit"] and made["sign_due_at"]
    async with client.desk.sessions() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == made["service_request_id"]))
    assert ticket is not None
    assert (ticket.channel, ticket.lead_unit_id, ticket.city_code, ticket.county_code, ticket.public) == (
        "web", WATER_UNIT, NANJING, XUANWU, False)
    assert ticket.address == "南京市玄武区珠江路88号" and ticket.created_by == "citizen:web"
    assert ticket.sign_due_at is not None and ticket.sign_due_at > ticket.created_at


async def test_a_photo_is_re_encoded_without_its_metadata(client: DeskClient, photos: Path) -> None:
    original = jpeg() + b"<script>alert(1)</script>"  # a payload after the image
    made = await submit(client, photo=b64(original))
    async with client.desk.sessions() as session:
        [row] = (await session.scalars(select(TicketAttachment))).all()
    stored = photos / row.path
    data = stored.read_bytes()
    assert (row.content_type, row.width, row.height, row.size) == ("image/jpeg", 64, 48, len(data))
    assert stored.suffix == ".jpg" and data.startswith(b"\xff\xd8\xff") and data != original
    assert b"CameraMaker" not in data and b"secret comment" not in data and b"<script>" not in data
    reopened = Image.open(io.BytesIO(data))
    assert not reopened.getexif() and "comment" not in reopened.info
    mine = (await lookup(client, made["service_request_id"])).json()
    assert mine["photos"] == 1
    png = io.BytesIO()
    Image.new("RGBA", (10, 10)).save(png, "PNG")
    await submit(client, photo=b64(png.getvalue()))
    async with client.desk.sessions() as session:
        kinds = sorted((await session.scalars(select(TicketAttachment.content_type))).all())
    assert kinds == ["image/jpeg", "image/png"]


@pytest.mark.parametrize(("photo", "status"), [
    (b"<html><script>alert(1)</script></html>", 415),  # HTML named photo.jpg
    (b"GIF89a\x01\x00\x01\x00", 415),  # an image, but not a type we take
    (b"\xff\xd8\xff\xe0" + b"\x00" * 200, 400),  # a JPEG signature on garbage
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, 400),
    ("not base64!", 400),
])
async def test_a_fake_photo_is_refused_and_nothing_is_made(client: DeskClient, photos: Path, photo: bytes | str,
                                                           status: int) -> None:
    encoded = photo if isinstance(photo, str) else b64(photo)
    response = await client.http.post("/api/citizen/requests", json={
        "category": "help", "region_code": XUANWU, "description": "停水", "phone": PHONE, "photo": encoded})
    assert response.status_code == status, response.text
    assert isinstance(response.json()["detail"], str)
    assert await ticket_count(client) == 0 and not photos.exists()


async def test_an_oversized_photo_is_refused(client: DeskClient, photos: Path) -> None:
    client.desk.settings.desk.portal.photo_max_bytes = 2048
    big = jpeg(size=(400, 400))
    assert len(big) > 2048
    body = {"category": "help", "region_code": XUANWU, "description": "停水", "phone": PHONE}
    response = await client.http.post("/api/citizen/requests", json={**body, "photo": b64(big)})
    assert response.status_code == 413 and "KB" in response.json()["detail"]
    client.desk.settings.desk.portal.photo_max_bytes = 700 * 1024
    client.desk.settings.desk.portal.photo_max_side = 100
    response = await client.http.post("/api/citizen/requests", json={**body, "photo": b64(big)})
    assert response.status_code == 413 and "像素" in response.json()["detail"]
    # more than the body limit: the input guard refuses it before any route runs
    huge = await client.http.post("/api/citizen/requests", json={**body, "photo": "A" * (1 << 20)})
    assert huge.status_code == 413
    assert await ticket_count(client) == 0


@pytest.mark.parametrize(("change", "status"), [
    ({"category": "report", "public": True}, 400),  # 举报 is never public
    ({"region_code": "320000"}, 400),  # the province: pick a city or county
    ({"region_code": "999999"}, 400),
    ({"region_code": "32010"}, 422),
    ({"description": "   "}, 400),
    ({"description": "x" * 2001}, 422),
    ({"phone": "<script>"}, 422),
    ({"category": "gossip"}, 422),
    ({"public": "maybe"}, 422),
])
async def test_bad_submissions_are_refused(client: DeskClient, change: dict[str, Any], status: int) -> None:
    body = {"category": "help", "region_code": XUANWU, "description": "停水", "phone": PHONE, **change}
    response = await client.http.post("/api/citizen/requests", json=body)
    assert response.status_code == status, response.text
    assert await ticket_count(client) == 0


async def test_track_then_rate_once_the_unit_replied(client: DeskClient) -> None:
    await client.add_handler("water", WATER_UNIT)
    number = (await submit(client))["service_request_id"]
    mine = (await lookup(client, number, "+86 139-1234-5678")).json()
    unit = mine["agency_responsible"]
    assert "水" in unit and [s["text"] for s in mine["timeline"]] == ["12345 已受理您的诉求", f"已派至{unit}办理"]
    assert mine["can_rate"] is False and mine["sign_due_at"] and mine["answer"] is None
    early = await client.http.post("/api/citizen/requests/rate", json={
        "service_request_id": number, "phone": PHONE, "rating": "satisfied"})
    assert early.status_code == 409
    ticket_id = await _id(client, number)
    steps = (("sign", {}), ("note", {"text": "内部：先查管网"}), ("reply", {"answer": "管道已修复，已恢复供水"}))
    for action, body in steps:
        done = await client.http.post(f"/api/tickets/{ticket_id}/actions/{action}", json=body,
                                      headers=client.auth("water"))
        assert done.status_code == 200, done.text
    mine = (await lookup(client, number)).json()
    texts = [s["text"] for s in mine["timeline"]]
    assert texts[-2:] == [f"{unit}已签收，正在办理", f"{unit}已答复"]
    assert not any("内部" in t for t in texts)  # notes stay inside
    assert mine["answer"] == "管道已修复，已恢复供水" and mine["can_rate"] is True and mine["due_at"]
    [before] = (await client.http.get("/api/reports/tickets", headers=client.auth("sup_nanjing"))).json()["items"]
    assert before["rated"] == 0 and before["satisfaction_rate"] is None
    # a wrong phone number answers as an unknown number does
    wrong = await client.http.post("/api/citizen/requests/rate", json={
        "service_request_id": number, "phone": "13900000000", "rating": "unsatisfied"})
    unknown = await client.http.post("/api/citizen/requests/rate", json={
        "service_request_id": "JS20000101-999999", "phone": PHONE, "rating": "unsatisfied"})
    assert wrong.status_code == unknown.status_code == 404 and wrong.json() == unknown.json()
    rated = await client.http.post("/api/citizen/requests/rate", json={
        "service_request_id": number, "phone": PHONE, "rating": "satisfied"})
    assert rated.status_code == 200, rated.text
    assert (rated.json()["state"], rated.json()["rating"], rated.json()["can_rate"]) == ("closed", "satisfied", False)
    assert rated.json()["timeline"][-1]["text"] == "回访：满意，诉求办结"
    [after] = (await client.http.get("/api/reports/tickets", headers=client.auth("sup_nanjing"))).json()["items"]
    assert (after["rated"], after["satisfied"], after["satisfaction_rate"]) == (1, 1, 1.0)
    again = await client.http.post("/api/citizen/requests/rate", json={
        "service_request_id": number, "phone": PHONE, "rating": "unsatisfied"})
    assert again.status_code == 409


async def test_unsatisfied_sends_it_back_to_the_unit(client: DeskClient) -> None:
    await client.add_handler("water", WATER_UNIT)
    number = (await submit(client))["service_request_id"]
    ticket_id = await _id(client, number)
    for action, body in (("sign", {}), ("reply", {"answer": "已处理"})):
        await client.http.post(f"/api/tickets/{ticket_id}/actions/{action}", json=body, headers=client.auth("water"))
    rated = await client.http.post("/api/citizen/requests/rate", json={
        "service_request_id": number, "phone": PHONE, "rating": "unsatisfied", "reason": "还是没水"})
    assert rated.status_code == 200, rated.text
    assert rated.json()["state"] == "handling" and rated.json()["can_rate"] is False
    assert rated.json()["timeline"][-1]["text"] == "回访：不满意，已转承办单位重新办理"


async def test_rating_guesses_share_the_lookup_throttle(client: DeskClient) -> None:
    number = (await submit(client))["service_request_id"]
    limit = client.desk.settings.desk.auth.lookup_attempts
    codes = [(await client.http.post("/api/citizen/requests/rate", json={
        "service_request_id": number, "phone": f"1390000{i:04d}", "rating": "satisfied"})).status_code
        for i in range(limit)]
    right = await lookup(client, number)
    assert codes == [404] * limit and right.status_code == 429 and int(right.headers["Retry-After"]) >= 1


async def test_the_board_shows_public_requests_masked_by_city_and_category(client: DeskClient) -> None:
    shown = await submit(client, public=True, description="我叫王小明，电话13812345678，3栋502室楼下漏水")
    await submit(client, description="不公开的诉求")
    await submit(client, category="complaint", public=True, region_code="320506", description="苏州的投诉")
    await submit(client, category="report", description="举报某单位")
    board = (await client.http.get("/api/citizen/board")).json()
    numbers = [i["service_request_id"] for i in board["items"]]
    assert len(numbers) == 2 and shown["service_request_id"] in numbers
    nanjing = (await client.http.get("/api/citizen/board", params={"city_code": NANJING})).json()["items"]
    [item] = nanjing
    assert item["place"] == "南京市玄武区" and item["category_label"] == "求助" and item["state_label"] == "派单"
    text = item["description"]
    assert "王小明" not in text and "13812345678" not in text and "502" not in text and "漏水" in text
    assert "珠江路" not in str(item)  # the exact address is never public
    complaints = (await client.http.get("/api/citizen/board", params={"category": "complaint"})).json()["items"]
    assert [i["place"] for i in complaints] == ["苏州市吴中区"]
    assert (await client.http.get("/api/citizen/board", params={"category": "report"})).json()["items"] == []
    paged = (await client.http.get("/api/citizen/board", params={"limit": 1})).json()
    assert len(paged["items"]) == 1 and paged["next_cursor"]
    assert (await client.http.get("/api/citizen/board", params={"city_code": "nanjing"})).status_code == 422
    assert (await client.http.get("/api/citizen/board", params={"cursor": "garbage"})).status_code == 400


async def _id(client: DeskClient, number: str) -> int:
    async with client.desk.sessions() as session:
        ticket_id = await session.scalar(select(Ticket.id).where(Ticket.number == number))
    assert ticket_id is not None
    return int(ticket_id)


async def test_submissions_are_capped_per_phone_number(client: DeskClient) -> None:
    limit = client.desk.settings.desk.portal.submissions_per_phone
    for _ in range(limit):
        await submit(client, phone="+86 139-1234-5678")
    body = {"category": "help", "region_code": XUANWU, "description": "停水", "phone": PHONE}
    refused = await client.http.post("/api/citizen/requests", json=body)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert await ticket_count(client) == limit
    await submit(client, phone="13800000001")  # another phone number is not held back


async def test_staff_in_scope_see_the_photo_as_an_image_only(client: DeskClient, photos: Path) -> None:
    await client.add_handler("water", WATER_UNIT)
    number = (await submit(client, photo=b64(jpeg())))["service_request_id"]
    ticket_id = await _id(client, number)
    [listed] = (await client.http.get(f"/api/tickets/{ticket_id}/attachments", headers=client.auth("water"))).json()
    assert (listed["content_type"], listed["width"], listed["height"]) == ("image/jpeg", 64, 48)
    got = await client.http.get(f"/api/tickets/{ticket_id}/attachments/{listed['id']}", headers=client.auth("water"))
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert got.headers["x-content-type-options"] == "nosniff" and "sandbox" in got.headers["content-security-policy"]
    assert got.content.startswith(b"\xff\xd8\xff") and len(got.content) == listed["size"]
    # outside the scope, another ticket's id, no session: nothing
    outside = await client.http.get(f"/api/tickets/{ticket_id}/attachments/{listed['id']}",
                                    headers=client.auth("sup_suzhou"))
    other = await client.http.get(f"/api/tickets/{ticket_id}/attachments/{listed['id'] + 1}",
                                  headers=client.auth("water"))
    nobody = await client.http.get(f"/api/tickets/{ticket_id}/attachments/{listed['id']}")
    assert (outside.status_code, other.status_code, nobody.status_code) == (404, 404, 401)


async def test_a_blank_rating_comment_is_refused_not_a_500(client: DeskClient) -> None:
    number = (await submit(client))["service_request_id"]
    response = await client.http.post("/api/citizen/requests/rate", json={
        "service_request_id": number, "phone": PHONE, "rating": "satisfied", "reason": "   "})
    assert response.status_code == 422
