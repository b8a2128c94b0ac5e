"""The knowledge base through the API: who reads, who keeps what, revisions and 409, scope by place,
paging, CSV export and the audit log."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from agent_desk.demo import seed_demo_articles
from tests.agent_desk.conftest import NANJING, SUZHOU, XUANWU, DeskClient
from ticketing.models import AuditEntry

pytestmark = pytest.mark.anyio
FUND_UNIT = "dept:320100:housing_fund"
FUND = {
    "title": "住房公积金提取条件",
    "body": "职工在南京市缴存住房公积金满3个月，购买自住住房或租赁住房的，可申请提取住房公积金。",
    "category": "consultation", "region_codes": [NANJING], "unit_ids": [FUND_UNIT],
}


async def post(client: DeskClient, user: str, body: dict[str, object], expect: int = 201) -> dict[str, object]:
    response = await client.http.post("/api/kb/articles", json=body, headers=client.auth(user))
    assert response.status_code == expect, response.text
    return response.json()  # type: ignore[no-any-return]


async def search(client: DeskClient, user: str = "agent1", **params: object) -> dict[str, object]:
    response = await client.http.get("/api/kb/articles", params=params, headers=client.auth(user))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_an_agent_finds_an_article_by_its_chinese_words(client: DeskClient) -> None:
    created = await post(client, "admin", FUND)
    assert created["revision"] == 1 and created["created_by"] == "admin" and created["hits"] == 0
    found = await search(client, q="公积金提取", region_code=XUANWU)
    [item] = found["items"]  # type: ignore[misc]
    assert item["id"] == created["id"] and item["region_codes"] == [NANJING] and item["unit_ids"] == [FUND_UNIT]
    assert set(item) >= {"id", "title", "snippet", "category", "region_codes", "unit_ids", "valid_from",
                         "valid_until", "hits", "revision", "highlights"}
    marked = {item["snippet"][a:b] for a, b in item["highlights"]}
    assert {"公积金", "提取"} <= marked
    assert (await search(client, q="公积金提取", region_code=SUZHOU))["items"] == []
    full = await client.http.get(f"/api/kb/articles/{created['id']}", headers=client.auth("sup_suzhou"))
    assert full.status_code == 200 and full.json()["body"] == FUND["body"]
    assert full.json()["updated_by"] == "admin" and full.json()["updated_at"].endswith("Z")


async def test_only_handlers_and_admins_write_and_a_handler_only_for_its_unit(client: DeskClient) -> None:
    for user in ("agent1", "dispatcher", "sup_province"):
        await post(client, user, FUND, expect=403)
    await client.add_handler("fund_handler", FUND_UNIT)
    await client.add_handler("water_handler", f"dept:{XUANWU}:water_supply")
    own = await post(client, "fund_handler", {**FUND, "region_codes": [NANJING, XUANWU]})
    await post(client, "fund_handler", {**FUND, "unit_ids": []}, expect=400)  # must list its unit
    await post(client, "fund_handler", {**FUND, "region_codes": [SUZHOU]}, expect=400)  # outside 南京
    await post(client, "fund_handler", {**FUND, "region_codes": []}, expect=400)  # province-wide: not a city unit
    edit = {**FUND, "title": "住房公积金提取条件（修订）", "revision": 1}
    other = await client.http.put(f"/api/kb/articles/{own['id']}",
                                  json={**edit, "unit_ids": [f"dept:{XUANWU}:water_supply"]},
                                  headers=client.auth("water_handler"))
    assert other.status_code == 403
    retire = await client.http.post(f"/api/kb/articles/{own['id']}/retire", json={"revision": 1},
                                    headers=client.auth("water_handler"))
    assert retire.status_code == 403
    mine = await client.http.put(f"/api/kb/articles/{own['id']}", json=edit, headers=client.auth("fund_handler"))
    assert mine.status_code == 200 and mine.json()["revision"] == 2
    assert (await client.http.get("/api/kb/articles", params={"include_inactive": True},
                                  headers=client.auth("agent1"))).status_code == 403


async def test_a_stale_edit_answers_409_with_the_current_revision(client: DeskClient) -> None:
    created = await post(client, "admin", FUND)
    url = f"/api/kb/articles/{created['id']}"
    first = await client.http.put(url, json={**FUND, "body": "满6个月可提取。", "revision": 1, "note": "政策调整"},
                                  headers=client.auth("admin"))
    assert first.status_code == 200 and first.json()["revision"] == 2
    stale = await client.http.put(url, json={**FUND, "body": "另一种说法。", "revision": 1},
                                  headers=client.auth("admin"))
    assert stale.status_code == 409 and stale.json()["revision"] == 2
    history = await client.http.get(f"{url}/revisions", params={"limit": 1}, headers=client.auth("agent1"))
    page = history.json()
    assert [(r["revision"], r["action"], r["note"], r["changed"]) for r in page["items"]] == [
        (2, "edit", "政策调整", ["body"])]
    older = await client.http.get(f"{url}/revisions", params={"cursor": page["next_cursor"]},
                                  headers=client.auth("agent1"))
    assert [r["revision"] for r in older.json()["items"]] == [1] and older.json()["next_cursor"] is None
    async with client.desk.sessions() as session:
        actions = (await session.scalars(select(AuditEntry.action).where(AuditEntry.target_type == "kb_article")
                                         .order_by(AuditEntry.id))).all()
    assert actions == ["kb.create", "kb.edit"]


async def test_a_retired_article_leaves_the_search_but_not_the_record(client: DeskClient) -> None:
    created = await post(client, "admin", FUND)
    url = f"/api/kb/articles/{created['id']}"
    retired = await client.http.post(f"{url}/retire", json={"revision": 1, "note": "政策废止"},
                                     headers=client.auth("admin"))
    assert retired.status_code == 200 and retired.json()["retired"] is True
    assert (await search(client, q="公积金"))["items"] == []
    assert len((await search(client, "admin", q="公积金", include_inactive=True))["items"]) == 1
    assert (await client.http.get(url, headers=client.auth("agent1"))).json()["retired"] is True
    back = await client.http.post(f"{url}/unretire", json={"revision": 2}, headers=client.auth("admin"))
    assert back.json()["revision"] == 3 and len((await search(client, q="公积金"))["items"]) == 1


async def test_bad_requests_get_clear_answers(client: DeskClient) -> None:
    admin = client.auth("admin")
    assert (await client.http.get("/api/kb/articles/424242", headers=admin)).status_code == 404
    for params in ({}, {"format": "csv"}):
        missing = await client.http.get("/api/kb/articles/424242/revisions", params=params, headers=admin)
        assert missing.status_code == 404
    article_id = (await post(client, "admin", FUND))["id"]
    for cursor in ("WzEwMDAwMDAwMDAwMDAwMDAwMDAwMDAwXQ", "WyIxIl0"):  # [10**22], ["1"]
        history = await client.http.get(f"/api/kb/articles/{article_id}/revisions", params={"cursor": cursor},
                                        headers=admin)
        assert history.status_code == 400
    assert (await client.http.put("/api/kb/articles/424242", json={**FUND, "revision": 1},
                                  headers=admin)).status_code == 404
    for bad in ({**FUND, "region_codes": ["999999"]}, {**FUND, "unit_ids": ["dept:nowhere"]},
                {**FUND, "valid_from": "2026-12-01", "valid_until": "2026-11-01"}, {**FUND, "title": "  "}):
        response = await client.http.post("/api/kb/articles", json=bad, headers=admin)
        assert response.status_code == 400, (bad, response.text)
        assert response.json()["detail"]
    assert (await client.http.post("/api/kb/articles", json={**FUND, "region_codes": ["32"]},
                                   headers=admin)).status_code == 422
    for params in ({"cursor": "not-a-cursor"}, {"region_code": "999999"}, {"region_code": "999999", "format": "csv"},
                   {"q": "公积金", "cursor": "WyJoaXRzIiwwLDFd"},  # a list's cursor on a search
                   {"q": "公积金", "cursor": "WyJhbGwiLEluZmluaXR5LDFd"},  # ["all", Infinity, 1]
                   {"cursor": "WyJoaXRzIiwxMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwLDFd"},  # ["hits", 10**30, 1]
                   {"q": "公积金", "cursor": "WyJhbGwiLDAuNSwtMV0"}):  # ["all", 0.5, -1]
        response = await client.http.get("/api/kb/articles", params=params, headers=admin)
        assert response.status_code == 400, (params, response.text)
    assert (await client.http.get("/api/kb/articles")).status_code == 401
    assert (await search(client, q="？！"))["items"] == []


async def test_pages_and_csv_export(client: DeskClient) -> None:
    for n in range(5):
        await post(client, "admin", {**FUND, "title": f"公积金问答{n}", "body": f"公积金提取问答第{n}条。\n换行"})
    first = await search(client, q="公积金", limit=3)
    second = await search(client, q="公积金", limit=3, cursor=first["next_cursor"])
    ids = [i["id"] for i in first["items"] + second["items"]]  # type: ignore[operator]
    assert len(ids) == 5 == len(set(ids)) and second["next_cursor"] is None
    exported = await client.http.get("/api/kb/articles", params={"q": "公积金", "format": "csv"},
                                     headers=client.auth("agent1"))
    assert exported.status_code == 200 and exported.text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert len(rows) == 5 and rows[0]["body"].endswith("\n换行")
    revisions = await client.http.get(f"/api/kb/articles/{ids[0]}/revisions", params={"format": "csv"},
                                      headers=client.auth("agent1"))
    assert len(list(csv.DictReader(io.StringIO(revisions.text.lstrip("\ufeff"))))) == 1


async def test_the_demo_articles_answer_typical_consultations(client: DeskClient) -> None:
    assert await seed_demo_articles(client.desk.sessions, client.desk.knowledge) == 12
    assert await seed_demo_articles(client.desk.sessions, client.desk.knowledge) == 0
    asked = {"公积金怎么提取": "南京市住房公积金提取条件", "社保卡丢了": "社保卡（社会保障卡）丢失补领、损坏换领",
             "孩子上小学怎么登记": "玄武区义务教育新生入学登记", "停水": "玄武区计划停水通知",
             "异地就医": "职工医保异地就医备案办理", "新生儿落户": "新生儿户口登记（入户）办理"}
    for question, title in asked.items():
        found = await search(client, q=question, region_code=XUANWU)
        assert found["items"] and found["items"][0]["title"] == title, (question, found)  # type: ignore[index]
    schooling = await search(client, q="入学", region_code=XUANWU)
    assert "苏州市积分入学办理" not in [i["title"] for i in schooling["items"]]  # type: ignore[index]


async def test_an_agent_answers_from_an_article_and_it_moves_up(client: DeskClient) -> None:
    fund = await post(client, "admin", FUND)
    other = await post(client, "admin", {**FUND, "title": "住房公积金贷款额度", "body": "公积金贷款额度按余额计算。"})
    assert [i["id"] for i in (await search(client))["items"]] == [other["id"], fund["id"]]  # ties: newest first
    ticket = (await client.http.post("/api/tickets",
                                     json={"category": "consultation", "description": "咨询公积金提取",
                                           "region_code": XUANWU}, headers=client.auth("agent1"))).json()
    closed = await client.http.post(f"/api/tickets/{ticket['id']}/actions/close_direct",
                                    json={"answer": "可申请提取，请携带身份证。", "article_id": fund["id"]},
                                    headers=client.auth("agent1"))
    assert closed.status_code == 200, closed.text
    assert closed.json()["kb_article_id"] == fund["id"] and closed.json()["state"] == "closed"
    listed = (await search(client))["items"]
    assert [(i["id"], i["hits"]) for i in listed] == [(fund["id"], 1), (other["id"], 0)]  # type: ignore[index]
    second = (await client.http.post("/api/tickets", json={"category": "consultation", "description": "又一个咨询"},
                                      headers=client.auth("agent1"))).json()
    unknown = await client.http.post(f"/api/tickets/{second['id']}/actions/close_direct",
                                     json={"answer": "答复", "article_id": 424242}, headers=client.auth("agent1"))
    assert unknown.status_code == 400 and "424242" in unknown.json()["detail"]
