"""The administration page in chromium, on both databases: 2027's holidays entered and a deadline
seen to move; a routing rule edited and the preview seen before saving, then a unit renamed; a user
disabled, whose open page is sent to log in at its next request."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.agent_desk.conftest import PASSWORD
from tests.pages.conftest import Serve, Shots, assert_no_page_errors, log_in
from ticketing.models import AuditEntry, Unit

pytestmark = [pytest.mark.anyio, pytest.mark.browser]


async def open_section(page: Any, section: str) -> None:
    await page.click(f"#tab-{section}")
    await page.wait_for_function("() => document.body.dataset.ready === 'true'")


async def deadline(page: Any, at: str) -> tuple[str, str]:
    await page.get_by_label("派单时间").fill(at)
    await page.click("#deadline-go")
    await page.wait_for_selector("#sign-due")
    return await page.inner_text("#sign-due"), await page.inner_text("#resolution-due")


async def test_2027_holidays_entered_move_a_deadline(serve: Serve, browser: Any, shots: Shots) -> None:
    async with serve() as product:
        page = await log_in(browser, product, "admin", path="/admin")
        await open_section(page, "calendar")
        row = page.locator("#years-table tr[data-year='2027']")
        assert "未覆盖" in await row.inner_text()  # chinese-calendar has no 2027
        await row.get_by_role("button").click()
        await page.wait_for_selector("#notice-save")
        sign, resolve = await deadline(page, "2027-02-05T16:00")
        assert sign == "2027-02-08 11:30"
        # The Spring Festival week off, and a Saturday worked in its place.
        await page.get_by_label("从").fill("2027-02-06")
        await page.get_by_label("到").fill("2027-02-12")
        await page.fill("#range-note", "春节")
        await page.click("#range-add")
        await page.click("#day-add")
        last = page.locator("#notice-days tr").last
        await last.locator("[data-field=day]").fill("2027-02-20")
        await last.locator("[data-field=kind]").select_option("workday")
        await last.locator("[data-field=note]").fill("春节调休")
        assert await page.locator("#notice-days tr").count() == 8
        await shots(page, "notice-entered")
        await page.click("#notice-save")
        await page.wait_for_function(
            "() => document.querySelector(\"#years-table tr[data-year='2027']\").innerText.includes('管理员录入')")
        moved_sign, moved_resolve = await deadline(page, "2027-02-05T16:00")
        assert moved_sign == "2027-02-15 11:30" and moved_resolve > resolve
        await shots(page, "deadline-moved")
        # A new dispatch in this process uses the notice too.
        assert product.desk.tickets.sla.worktime.calendar.year_sources(2027) == ["admin"]
        assert_no_page_errors(page)


async def test_a_routing_rule_edited_is_previewed_then_saved(serve: Serve, browser: Any, shots: Shots) -> None:
    async with serve() as product:
        page = await log_in(browser, product, "admin", path="/admin")
        await open_section(page, "routing")
        assert "规则文件" in await page.inner_text("#rule-source")
        county_first = page.locator("#rules tr.rule", has=page.locator("input[value='county-first']"))
        await county_first.locator("[data-field=lead]").select_option("city_unit")
        await page.click("#rule-preview")
        await page.wait_for_selector("#preview-table")
        changed = page.locator("#preview-table tr.changed")
        assert await changed.count() == 1
        text = await changed.inner_text()
        assert "玄武区 停水" in text and "南京市" in text and "有变化" in text
        await shots(page, "preview")
        # A rule set that cannot route everything is refused with the server's reason.
        await page.locator("#rules tr.rule").last.get_by_role("button", name=re.compile("删除")).click()
        await page.click("#rule-preview")
        await page.wait_for_selector(".message.error")
        assert "always" in await page.inner_text(".message.error")
        await page.reload()
        await page.wait_for_function("() => document.body.dataset.ready === 'true'")
        county_first = page.locator("#rules tr.rule", has=page.locator("input[value='county-first']"))
        await county_first.locator("[data-field=lead]").select_option("city_unit")
        await page.click("#rule-save")
        await page.wait_for_function("() => document.querySelector('#rule-source').innerText.includes('数据库')")
        await shots(page, "saved")
        # The units the rules lead to: renamed here, audited.
        await open_section(page, "units")
        await page.get_by_label("地区代码").fill("320500")
        await page.click("#unit-show")
        water = page.locator("#unit-list tr[data-unit='dept:320500:water_supply']")
        await water.locator("input").fill("苏州水务集团")
        await water.get_by_role("button").click()
        await page.wait_for_function(
            "() => document.querySelector(\"tr[data-unit='dept:320500:water_supply']\").innerText.includes('admin')")
        await shots(page, "unit-renamed")
        async with product.desk.sessions() as session:
            entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "routing.rules"))
        assert entry is not None and entry.actor == "admin"
        assert "city_unit" in str(entry.data["after"]) and entry.data["before"] != entry.data["after"]
        async with product.desk.sessions() as session:
            assert (await session.get(Unit, "dept:320500:water_supply")).name == "苏州水务集团"  # type: ignore[union-attr]
        assert_no_page_errors(page)


async def test_a_disabled_users_open_page_is_logged_out_at_its_next_request(
        serve: Serve, browser: Any, shots: Shots) -> None:
    async with serve(desk={"auth": {"session_check_seconds": 0}}) as product:
        theirs = await log_in(browser, product, "supervisor", path="/reports")
        page = await log_in(browser, product, "admin", path="/admin")
        assert "null" not in await page.inner_text("#user-list")
        row = page.locator("#user-list tr[data-username='supervisor']")
        await row.get_by_role("button", name=re.compile("停用")).click()
        await page.wait_for_function(
            "() => document.querySelector(\"#user-list tr[data-username='supervisor']\")"
            ".innerText.includes('停用 disabled')")
        await shots(page, "disabled")
        await theirs.click("#tab-tickets")  # its next request
        await theirs.wait_for_url(re.compile(r"/login"))
        await shots(theirs, "their-page-logged-out")
        # … and cannot log in again while disabled.
        await theirs.get_by_label("用户名").fill("supervisor")
        await theirs.get_by_label("密码").fill(PASSWORD)
        await theirs.get_by_role("button", name=re.compile("登录")).click()
        await theirs.wait_for_function("() => document.querySelector('.login .error').innerText.trim() !== ''")
        assert "/login" in theirs.url
        assert_no_page_errors(page)


UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea, button')]
    .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
    .map(e => e.id || e.outerHTML.slice(0, 80))"""


async def test_knowledge_base_articles_are_written_revised_and_retired(serve: Serve, browser: Any,
                                                                      shots: Shots) -> None:
    async with serve() as product:
        page = await log_in(browser, product, "admin", path="/admin")
        await open_section(page, "kb")
        await page.get_by_label("标题").fill("2027年春节期间12345热线服务安排")
        await page.get_by_label("内容").fill("春节期间12345热线24小时服务，工单时限顺延至节后第一个工作日。")
        await page.click("#kb-save")
        await page.wait_for_function("() => document.querySelector('#kb-form h3').innerText.includes('revision 1')")
        await page.get_by_label("内容").fill("春节期间12345热线24小时服务；工单签收与办结时限按工作日历顺延。")
        await page.get_by_label("修改说明").fill("时限说明")
        await page.click("#kb-save")
        await page.wait_for_function("() => document.querySelector('#kb-form h3').innerText.includes('revision 2')")
        await page.click("#kb-retire")
        await page.wait_for_function("() => document.querySelector('#kb-form h3').innerText.includes('revision 3')")
        await page.wait_for_function("() => document.querySelectorAll('#kb-revisions tbody tr').length === 3")
        history = await page.inner_text("#kb-revisions")
        assert "retire" in history and "时限说明" in history
        await page.wait_for_function("() => document.querySelector('#kb-list').innerText.includes('已停用')")
        await shots(page, "retired")
        # Someone else's change in between: saving from the old revision shows the server's refusal.
        article_id = int(await page.get_attribute("#kb-form", "data-article"))
        async with httpx.AsyncClient(base_url=product.url, headers=product.auth("admin")) as http:
            other = await http.post(f"/api/kb/articles/{article_id}/unretire", json={"revision": 3})
            assert other.status_code == 200, other.text
        await page.get_by_label("修改说明").fill("旧版本上的修改")
        await page.click("#kb-save")
        await page.wait_for_selector(".message.error")
        assert "409" in await page.inner_text(".message.error")
        assert await page.evaluate(UNLABELLED) == []
        assert_no_page_errors(page)


@pytest.mark.parametrize("db_target", ["sqlite"], indirect=True)
async def test_every_section_is_accessible(serve: Serve, browser: Any) -> None:
    from axe_playwright_python.async_playwright import Axe

    async with serve() as product:
        page = await log_in(browser, product, "admin", path="/admin")
        for section in ("users", "clients", "units", "routing", "calendar", "kb"):
            await open_section(page, section)
            results = await Axe().run(page)
            assert results.violations_count == 0, (section, results.generate_report())
            assert await page.evaluate(UNLABELLED) == [], section
        assert_no_page_errors(page)
