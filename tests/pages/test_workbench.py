"""The handler workbench (/handle) and the dispatcher pages (/dispatch) in Debian's chromium, on both
databases: a case's whole life across two handlers in two cities, and two handlers of one unit acting
on the same case at once (the second is told and reloads; nothing is lost)."""

from __future__ import annotations

import re
import wave
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent_desk.api.ticket_stream import BACKLOG
from tests.agent_desk.conftest import RecordingPbx, password_hash
from tests.pages.conftest import Product, Serve, Shots, assert_no_page_errors, log_in
from ticketing.actions import Sign
from ticketing.models import CallOutcome, CallRecord, Role, User, utcnow
from ticketing.sweep import SWEEP_ACTOR
from ticketing.views import TicketChange

pytestmark = [pytest.mark.anyio, pytest.mark.browser, pytest.mark.slow]
LEAD = "dept:320102:water_supply"  # the Xuanwu (Nanjing) water unit: STAFF's "handler"
CO = "dept:320500:water_supply"  # the Suzhou water unit
READY = "() => document.body.dataset.ready === 'true'"


async def add_handler(product: Product, username: str, unit: str) -> None:
    async with product.desk.sessions.begin() as session:
        session.add(User(username=username, role=Role.HANDLER, password_hash=password_hash(), display_name=username,
                         unit_id=unit, active=True, token_generation=0))


async def new_ticket(product: Product) -> dict[str, Any]:
    """受理 at the desk: a Xuanwu resident whose water main is maintained from Suzhou."""
    async with httpx.AsyncClient(base_url=product.url) as http:
        created = await http.post("/api/tickets", headers=product.auth("agent1"), json={
            "category": "complaint", "description": "玄武区珠江路停水两天，供水管道由苏州的公司维护",
            "region_code": "320102", "caller_number": "13800138000", "caller_name": "王女士"})
        assert created.status_code == 201, created.text
        return created.json()  # type: ignore[no-any-return]


async def ticket(product: Product, tid: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=product.url) as http:
        got = await http.get(f"/api/tickets/{tid}/timeline", headers=product.auth("admin"))
        return got.json()  # type: ignore[no-any-return]


async def open_case(page: Any, number: str) -> None:
    await page.click(f"li[data-number='{number}'] button.open")
    await page.wait_for_function(f"() => document.querySelector('#case-title')?.textContent.startsWith('{number}')"
                                 " && document.querySelector('#case-actions[data-actions]')")


async def wait_state(page: Any, state: str) -> None:
    await page.wait_for_function(f"() => document.querySelector('#case')?.dataset.state === '{state}'")


async def do(page: Any, action: str, **fields: str) -> None:
    """Fill the action's form and send it; wait until the case is drawn again."""
    for name, value in fields.items():
        control = page.locator(f"#act-{action}-{name}")
        if await control.evaluate("e => e.tagName") == "SELECT":
            await control.select_option(value)
        else:
            await control.fill(value)
    version = await page.evaluate("() => document.querySelector('#case').dataset.version")
    await page.click(f"#act-{action}")
    await page.wait_for_function(f"() => document.querySelector('#case').dataset.version !== '{version}'")


async def messages(page: Any) -> str:
    return str(await page.evaluate("() => document.querySelector('#shell-messages')?.innerText || ''"))


async def test_a_cases_life_across_two_handlers_in_two_cities(serve: Serve, browser: Any, shots: Shots) -> None:
    async with serve() as product:
        pbx = RecordingPbx()
        product.desk.telephony = pbx
        await add_handler(product, "co_suzhou", CO)
        created = await new_ticket(product)
        number, tid = created["number"], created["id"]
        lead = await log_in(browser, product, "handler", path="/handle")
        co = await log_in(browser, product, "co_suzhou", path="/handle")
        desk = await log_in(browser, product, "dispatcher", path="/dispatch")
        for page in (lead, co, desk):
            await page.wait_for_function("() => document.querySelector('#stream-state').dataset.state === 'live'")

        # 1. 派单: the dispatcher finds the new case and sends it to Xuanwu, with Suzhou co-handling.
        await desk.click("#tab-supervise")
        await desk.fill("#q", number)
        await desk.click("#search button[type=submit]")
        await open_case(desk, number)
        await do(desk, "dispatch", lead_unit_id=LEAD, co_handler_ids=CO, reason="跨市：管道由苏州维护")
        await wait_state(desk, "dispatched")
        # Both units' inboxes get it live, without a reload.
        for page in (lead, co):
            await page.wait_for_selector(f"#inbox li[data-number='{number}']")
        assert "主办" in await lead.inner_text(f"#inbox li[data-number='{number}']")
        assert "协办" in await co.inner_text(f"#inbox li[data-number='{number}']")
        await shots(lead, "inbox-new-dispatch")

        # 2. The lead signs off; the co-handler may only add notes, and adds one.
        await open_case(lead, number)
        assert "manual" in await lead.inner_text("#case-routing")  # the dispatcher's own choice, explained
        await do(lead, "sign")
        await wait_state(lead, "handling")
        await open_case(co, number)
        assert (await co.get_attribute("#case-actions", "data-actions")) == "note"
        await do(co, "note", text="苏州段阀门已检查，无泄漏")
        await lead.wait_for_selector("#case-changed:not([hidden])")  # the lead's open case is flagged
        await lead.click("#case-reload")
        await lead.wait_for_function(
            f"() => document.querySelector(\"#case-units li[data-unit='{CO}']\")?.innerText.includes('无泄漏')")
        await shots(lead, "case-co-handler-note")

        # 3. 延期: a date before the deadline is refused in the server's words; a later one is asked for.
        tomorrow = await lead.evaluate("() => new Date(Date.now() + 3600e3).toISOString().slice(0, 16)")
        await lead.fill("#act-request_extension-until", tomorrow)
        await lead.fill("#act-request_extension-reason", "需更换管段")
        await lead.click("#act-request_extension")
        await lead.wait_for_function(
            "() => document.querySelector('#shell-messages')?.innerText.includes('after the current due date')")
        await shots(lead, "extension-refused")
        later = await lead.evaluate("""() => { const d = new Date(Date.now() + 30 * 86400e3);
            const p = (n) => String(n).padStart(2, '0');
            return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T17:00`; }""")
        await do(lead, "request_extension", until=later, reason="需更换管段，材料采购中")
        await wait_state(lead, "extension_requested")
        await desk.click("#tab-extensions")
        await open_case(desk, number)
        await do(desk, "approve_extension", reason="同意")
        await wait_state(desk, "handling")
        assert (await ticket(product, tid))["ticket"]["extension_count"] == 1
        await shots(desk, "extension-approved")

        # 4. 答复.
        await lead.click("#case-reload")
        await wait_state(lead, "handling")
        await do(lead, "reply", answer="管段已更换，供水已恢复")
        await wait_state(lead, "replied")

        # 5. 回访: the dispatcher calls the citizen from the page; they are not satisfied.
        await desk.click("#tab-follow-up")
        await open_case(desk, number)
        await desk.click("#follow-up-call")
        await desk.wait_for_function(
            "() => document.querySelector('#shell-messages')?.innerText.includes('13800138000')")
        assert pbx.actions == [("Originate", ("PJSIP/trunk/13800138000", "callback", "hotline-12345"))]
        assert pbx.variables == [{"HOTLINE_TICKET_ID": str(tid)}]
        await shots(desk, "follow-up-call")
        await do(desk, "follow_up", rating="unsatisfied", reason="水压仍然很低")
        # 6. 重办: back to the lead unit.
        await wait_state(desk, "handling")
        assert "不满意" in await desk.inner_text("#case-rating")
        await shots(desk, "follow-up-unsatisfied")

        # 7. The lead answers again.
        await lead.wait_for_selector("#case-changed:not([hidden])")
        await lead.click("#case-reload")
        await wait_state(lead, "handling")
        await do(lead, "reply", answer="已加装增压泵，水压恢复正常")
        await wait_state(lead, "replied")

        # 8. Satisfied, 9. closed.
        await desk.click("#case-reload")
        await wait_state(desk, "replied")
        await do(desk, "follow_up", rating="satisfied")
        await wait_state(desk, "closed")
        await shots(desk, "closed")
        final = await ticket(product, tid)
        assert (final["ticket"]["state"], final["ticket"]["rating"], final["ticket"]["redo_count"]) == (
            "closed", "satisfied", 1)
        assert [e["action"] for e in final["events"]] == [
            "accept", "dispatch", "sign", "note", "request_extension", "approve_extension", "reply",
            "follow_up", "reply", "follow_up"]
        assert [e["actor"] for e in final["events"] if e["action"] in ("sign", "note")] == ["handler", "co_suzhou"]
        # The closed case leaves the lead's inbox.
        await lead.wait_for_function(f"() => !document.querySelector(\"#inbox li[data-number='{number}']\")")
        await shots(lead, "inbox-after-close")
        for page in (lead, co, desk):
            assert_no_page_errors(page)


async def test_two_handlers_on_one_case_the_second_is_told_and_nothing_is_lost(
        serve: Serve, browser: Any, shots: Shots) -> None:
    async with serve() as product:
        await add_handler(product, "handler2", LEAD)
        created = await new_ticket(product)
        async with httpx.AsyncClient(base_url=product.url) as http:
            sent = await http.post(f"/api/tickets/{created['id']}/actions/dispatch", headers=product.auth("dispatcher"),
                                   json={"lead_unit_id": LEAD})
            assert sent.status_code == 200
        first = await log_in(browser, product, "handler", path="/handle")
        second = await log_in(browser, product, "handler2", path="/handle")
        for page in (first, second):
            await open_case(page, created["number"])
        await do(first, "sign")
        await wait_state(first, "handling")
        # The second still shows the case as it read it, and returns it: refused, told, reloaded.
        await second.fill("#act-return-reason", "不属于本单位")
        await second.click("#act-return")
        await wait_state(second, "handling")
        assert "已被他人更新" in await messages(second) and "changed concurrently" in await messages(second)
        assert "return" not in str(await second.get_attribute("#case-actions", "data-actions")).split()
        assert await second.is_hidden("#case-changed")  # what it shows now is the case as it is
        assert "玄武区" in await second.inner_text("#case")
        await shots(second, "conflict-reloaded")
        timeline = await ticket(product, created["id"])
        assert (timeline["ticket"]["state"], timeline["ticket"]["return_count"]) == ("handling", 0)
        assert [e["action"] for e in timeline["events"]] == ["accept", "dispatch", "sign"]
        for page in (first, second):
            assert_no_page_errors(page)


async def test_changes_dropped_in_a_burst_are_read_again_and_the_open_case_flagged(
        serve: Serve, browser: Any, shots: Shots) -> None:
    async with serve() as product:
        created = await new_ticket(product)
        other = await new_ticket(product)
        async with httpx.AsyncClient(base_url=product.url) as http:
            for tid in (created["id"], other["id"]):
                sent = await http.post(f"/api/tickets/{tid}/actions/dispatch", headers=product.auth("dispatcher"),
                                       json={"lead_unit_id": LEAD})
                assert sent.status_code == 200
        page = await log_in(browser, product, "handler", path="/handle")
        await page.wait_for_function("() => document.querySelector('#stream-state').dataset.state === 'live'")
        await open_case(page, created["number"])
        # The open case is signed off while its change is lost, in a burst beyond the stream's backlog.
        publish = product.desk.tickets.on_change
        product.desk.tickets.on_change = lambda change: None
        try:
            signed = await product.desk.tickets.act(created["id"], Sign(), "handler", unit_id=LEAD)
        finally:
            product.desk.tickets.on_change = publish
        burst = await product.desk.tickets.get(other["id"])
        for n in range(BACKLOG + 10):
            publish(TicketChange(ticket=burst, action="supervise", actor=SWEEP_ACTOR, reason=f"#{n}", at=utcnow()))
        await page.wait_for_selector("#case-changed:not([hidden])")
        listed = f"#inbox li[data-number='{created['number']}']"
        await page.wait_for_function(f"() => document.querySelector(\"{listed}\")?.innerText.includes('handling')")
        await shots(page, "burst-read-again")
        # What was heard of the burst is announced, three notices at most: the page stays usable.
        assert await page.locator("#shell-messages .message").count() <= 3
        await page.click("#case-reload")
        await page.wait_for_function(f"() => document.querySelector('#case').dataset.version === '{signed.version}'")
        assert_no_page_errors(page)


@pytest.mark.parametrize("db_target", ["sqlite"], indirect=True)
async def test_the_workbench_pages_are_accessible_and_fit_the_screen(serve: Serve, browser: Any, shots: Shots) -> None:
    from axe_playwright_python.async_playwright import Axe

    async with serve() as product:
        created = await new_ticket(product)
        async with httpx.AsyncClient(base_url=product.url) as http:
            await http.post(f"/api/tickets/{created['id']}/actions/dispatch", headers=product.auth("dispatcher"),
                            json={"lead_unit_id": LEAD})
            await http.post(f"/api/tickets/{created['id']}/actions/supervise", headers=product.auth("dispatcher"),
                            json={"reason": "请今天签收"})
        for user, path in (("handler", "/handle"), ("dispatcher", "/dispatch")):
            page = await log_in(browser, product, user, path=path)
            if path == "/dispatch":
                await page.click("#tab-supervise")
            await page.wait_for_selector(f"li[data-number='{created['number']}']")
            await open_case(page, created["number"])
            if path == "/handle":
                assert "督办 supervised ×1" in await page.inner_text(f"#inbox li[data-number='{created['number']}']")
            results = await Axe().run(page)
            assert results.violations_count == 0, results.generate_report()
            size = await page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            assert size[0] <= 1366 and size[1] <= 768, size
            await shots(page, path.strip("/"))
            # A role the page is not for is told so.
            assert_no_page_errors(page)
        other = await log_in(browser, product, "agent1", path="/desk")
        await other.goto(product.url + "/handle")
        await other.wait_for_function(READY)
        assert "不属于您的角色" in await messages(other)
        assert re.search(r"403: role agent", await messages(other))


async def test_a_returned_case_is_escalated_ruled_and_dispatched_again(serve: Serve, browser: Any,
                                                                      shots: Shots) -> None:
    async with serve() as product:
        created = await new_ticket(product)
        number = created["number"]
        async with httpx.AsyncClient(base_url=product.url) as http:
            await http.post(f"/api/tickets/{created['id']}/actions/dispatch", headers=product.auth("dispatcher"),
                            json={"lead_unit_id": LEAD})
        lead = await log_in(browser, product, "handler", path="/handle")
        await open_case(lead, number)
        await do(lead, "return", reason="管道属苏州公司，非本单位职责")
        desk = await log_in(browser, product, "dispatcher", path="/dispatch")
        await desk.wait_for_selector(f"#cases li[data-number='{number}']")
        await open_case(desk, number)
        assert set(str(await desk.get_attribute("#case-actions", "data-actions")).split()) >= {"dispatch", "escalate"}
        await do(desk, "escalate", reason="责任有争议，提请审定")
        await wait_state(desk, "ruling")
        # The server refuses a unit that does not exist, in its own words.
        await desk.fill("#act-rule-lead_unit_id", "dept:000000:nothing")
        await desk.click("#act-rule")
        await desk.wait_for_function("() => document.querySelector('#shell-messages')?.innerText"
                                     ".includes('unknown unit(s): dept:000000:nothing')")
        await desk.click("#act-rule-suggested")  # the routing rules' choice, taken with one click
        assert await desk.input_value("#act-rule-lead_unit_id") == LEAD
        await do(desk, "rule", lead_unit_id=CO, reason="审定：由苏州市自来水公司主办")
        await wait_state(desk, "dispatched")
        assert "苏州市自来水公司" in await desk.inner_text("#case-units")
        await shots(desk, "ruled")
        final = await ticket(product, created["id"])
        assert (final["ticket"]["lead_unit_id"], final["routing"]["action"]) == (CO, "rule")
        assert [e["action"] for e in final["events"]][-3:] == ["return", "escalate", "rule"]
        for page in (lead, desk):
            assert_no_page_errors(page)


async def test_a_case_s_call_recording_loads_and_plays(serve: Serve, browser: Any, shots: Shots,
                                                        fixtures_dir: Path) -> None:
    """The MixMonitor file a real Asterisk wrote, fetched with the page's token and played from
    memory (a `blob:` URL, which the CSP must allow as media)."""
    recordings = fixtures_dir / "sip"
    with wave.open(str(recordings / "sip_call.mixmonitor.wav")) as wav:
        seconds = wav.getnframes() / wav.getframerate()
    async with serve(desk={"agents": {"recordings_dir": str(recordings)}}) as product:
        created = await new_ticket(product)
        number = created["number"]
        async with product.desk.sessions.begin() as session:
            session.add(CallRecord(server="pbx1", linkedid="1796181990.61", queue="hotline-12345", agent="agent1",
                                   agent_interface="Local/agent1@agents", caller_number="13800138000",
                                   outcome=CallOutcome.ANSWERED, talk_seconds=5, final=True, entered_at=utcnow(),
                                   recording="sip_call.mixmonitor.wav", ticket_id=created["id"]))
        desk = await log_in(browser, product, "dispatcher", path="/dispatch")
        await desk.click("#tab-supervise")
        await desk.fill("#q", number)
        await desk.click("#search button[type=submit]")
        await open_case(desk, number)
        await desk.click("#case-calls button.play")
        audio = desk.locator("#case-calls audio")
        await desk.wait_for_function(
            "() => { const a = document.querySelector('#case-calls audio'); return a && a.readyState >= 1; }")
        assert await audio.is_visible()
        assert await audio.evaluate("a => a.src.startsWith('blob:')")
        assert abs(await audio.evaluate("a => a.duration") - seconds) < 0.05
        await audio.evaluate("a => a.play()")
        await desk.wait_for_function("() => document.querySelector('#case-calls audio').currentTime > 0.3")
        await shots(desk, "case-recording-playing")
        assert_no_page_errors(desk)
