"""A whole shift on the agent desk, in Debian's chromium, against the served product, with AMI served
by the loopback peer that answers exactly what the recorded Asterisk said (tests/ami/peer.py).

Two agents work the shift, because that is what the recordings hold: agent4 joins
`hotline-enterprise` (the recorded QueueAdd) and pauses and unpauses (the recorded QueuePause);
agent1, a static member of `hotline-12345`, is connected to the caller of `redirect_bridged_to_queue`
and transfers them to `hotline-enterprise` with the recorded Redirect, which connects them to agent4.
The abandoned caller is `call_abandoned`'s, who gave up waiting in `hotline-enterprise`.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from agent_desk.accounts import add_kiosk_key
from tests.ami.peer import Peer, Script
from tests.pages.conftest import Product, Serve, Shots, assert_no_page_errors, log_in
from ticketing.knowledge import ArticleInput
from ticketing.models import (
    CallbackClaim,
    CallOutcome,
    CallRecord,
    Draft,
    DraftStatus,
    LoginSession,
    Ticket,
    User,
)
from ticketing.vocabulary import Channel, TicketState

pytestmark = [pytest.mark.anyio, pytest.mark.browser, pytest.mark.slow]
CALL = "1796181862.6"  # the Linkedid of redirect_bridged_to_queue's caller
CALLER_CHANNEL = "Local/wait@caller-sim-00000003;1"
ABANDONED = "1795868636.10"  # call_abandoned's caller
# Recorded in callback_originate: an Originate into an existing extension is answered at once.
ORIGINATE_QUEUED = "callback-0002"


def recorded_events(script: Script, action_id: str) -> bytes:
    """The events Asterisk sent after answering `action_id` (the answer itself left out), as sent."""
    blocks = [b for b in script.replies[action_id] if not b.startswith("Response:")]
    return "".join(b + "\r\n\r\n" for b in blocks).encode()


def shift_script(fixtures: Path) -> Script:
    ami = fixtures / "ami"
    script = Script.merge(ami / "login_and_status", ami / "redirect_bridged_to_queue", ami / "agent_ops",
                          ami / "call_abandoned", ami / "callback_originate")
    # The desk dials the caller, then connects them to the agent's own extension, which the lab had
    # not: the PBX answers with the recorded "Originate successfully queued" and, once the citizen
    # picks up, the recorded OriginateResponse (the lab's queue events in between are left out).
    script.actions.insert(0, ("desk-originate", {"Action": "Originate", "Channel": "Local/13800138000@caller-sim/n"}))
    script.replies["desk-originate"] = [b for b in script.replies[ORIGINATE_QUEUED]
                                        if b.startswith(("Response:", "Event: OriginateResponse"))]
    return script


async def seed_draft(product: Product) -> None:
    async with product.desk.sessions.begin() as session:
        session.add(Draft(server="pbx1", call_linkedid=CALL, caller_number="13800138000", channel=Channel.PHONE,
                          status=DraftStatus.READY, transcript="我家在玄武区珠江路，停水两天了，请尽快处理",
                          summary="玄武区珠江路停水两天", category="help", region_code="320102",
                          address="珠江路", department_type="water_supply",
                          extraction={"numbers": [{"digits": "13800138000", "kind": "phone",
                                                   "spoken": "13800138000"}]}))


async def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


def sent(peer: Peer, action: str) -> list[dict[str, str]]:
    return [a for a in peer.received if a.get("Action") == action]


@pytest.mark.parametrize("db_target", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
async def test_a_shift_on_the_desk(serve: Serve, browser: Any, shots: Shots, fixtures_dir: Path) -> None:
    script = shift_script(fixtures_dir)
    peer = Peer(script)
    port = await peer.start()
    try:
        async with serve(ami_port=port, desk={"agents": {
                "transfer_context": "queue-lab", "transfer_extensions": ["enterprise"],
                "callback_channel": "Local/{number}@caller-sim/n"}}) as product:
            await wait_for(lambda: _async(lambda: "Local/agent1@agents" in product.desk.board.members()))
            await seed_draft(product)
            await shift(product, peer, script, browser, shots)
    finally:
        await peer.close()


async def _async(check: Any) -> bool:
    return bool(check())


async def shift(product: Product, peer: Peer, script: Script, browser: Any, shots: Shots) -> None:
    # 1. Log in; agent4 joins its queue, pauses and unpauses.
    a = await log_in(browser, product, "agent1")
    b = await log_in(browser, product, "agent4")
    await shots(a, "agent1-logged-in")
    assert "hotline-12345 已签入" in await a.inner_text("#queue-toggles")  # a static member
    await b.get_by_role("button", name=re.compile("hotline-enterprise")).click()
    await b.wait_for_function(
        "() => document.querySelector('#queue-toggles').innerText.includes('hotline-enterprise 已签入')")
    assert sent(peer, "QueueAdd")[-1]["Interface"] == "Local/agent4@agents"
    await b.get_by_label("小休原因").select_option("lunch-break")
    await b.keyboard.press("Alt+P")
    await b.wait_for_selector("body[data-state=paused]")
    assert "用餐" in await b.inner_text("#agent-state")
    await shots(b, "agent4-paused")
    await b.get_by_role("button", name=re.compile("恢复")).click()
    await b.wait_for_selector("body[data-state=available]")
    pauses = sent(peer, "QueuePause")
    assert [(p["Paused"], p.get("Reason")) for p in pauses[-2:]] == [("true", "lunch-break"), ("false", None)]

    # 2. A call is connected to agent1: the screen pop shows the caller, the city and the draft.
    peer.push(recorded_events(script, "rbq-0005"))
    await a.wait_for_selector(f"body[data-pop='connected:{CALL}']")
    assert await a.inner_text("#pop-number") == "13800138000"
    assert "北京" in await a.inner_text("#pop-area")
    assert "停水两天" in await a.inner_text("#pop-transcript")
    assert await a.input_value("#t-description") == "玄武区珠江路停水两天"
    await a.wait_for_function(
        "() => document.querySelector('#routing-lead').dataset.unit === 'dept:320102:water_supply'")
    await shots(a, "screen-pop")
    await b.wait_for_timeout(500)  # well past the moment agent1's pop was painted
    assert await b.evaluate("document.body.dataset.pop") is None  # agent4's queue never saw this call

    # 3. Edit the region: the routing preview follows before anything is saved.
    await a.get_by_label("按名称搜索").fill("鼓楼")
    await a.wait_for_selector("#t-place-results li[data-code='320106']")
    await a.click("#t-place-results li[data-code='320106']")
    await a.wait_for_function(
        "() => document.querySelector('#routing-lead').dataset.unit === 'dept:320106:water_supply'")
    assert "鼓楼区" in await a.inner_text("#t-region-path")
    await shots(a, "region-edited")

    # 4. Create the ticket: the call is attached.
    await a.keyboard.press("Alt+N")
    await a.wait_for_selector("#shell-messages .message.info")
    message = await a.inner_text("#shell-messages")
    number = re.search(r"JS\d{8}-\d{6}", message)
    assert number and "call attached" in message, message
    async with product.desk.sessions() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number.group()))
        call = await session.scalar(select(CallRecord).where(CallRecord.linkedid == CALL))
    assert ticket is not None and ticket.state is TicketState.DISPATCHED
    assert ticket.lead_unit_id == "dept:320106:water_supply" and ticket.created_by == "agent1"
    assert call is not None and call.ticket_id == ticket.id
    await a.wait_for_selector("#timeline-calls")
    await shots(a, "ticket-created")

    # 5. A consultation answered from the knowledge base, closed directly: the ticket cites the article.
    article = await product.desk.knowledge.create(ArticleInput(
        "南京市居住证申领", "在南京居住半年以上可申领居住证。需要材料：身份证、居住证明和照片，可在网上预约办理。",
        region_codes=("320100",)), "admin")
    await a.click("#clear-button")
    await a.get_by_label("类别").select_option("consultation")
    await a.get_by_label("诉求内容").fill("咨询南京市居住证办理需要哪些材料")
    await a.keyboard.press("Alt+K")
    await a.keyboard.type("居住证要什么材料")
    await a.keyboard.press("Enter")
    await a.wait_for_selector(f"#kb-results li[data-article='{article.id}']")
    marks = await a.eval_on_selector_all(f"#kb-results li[data-article='{article.id}'] .snippet mark",
                                         "ms => ms.map(m => m.textContent)")
    assert marks and all(m in article.body for m in marks)
    # The search is for the form's place: a Suzhou caller is not offered Nanjing's rules.
    await a.select_option("#t-city", "320500")
    await a.click("#kb-form button[type=submit]")
    await a.wait_for_selector("#kb-results li.empty")
    await a.select_option("#t-city", "320100")
    await a.click("#kb-form button[type=submit]")
    await a.wait_for_selector(f"#kb-results li[data-article='{article.id}']")
    await a.click(f"#kb-results li[data-article='{article.id}'] button")
    await a.click("#kb-insert")
    assert await a.input_value("#t-answer") == article.body
    await shots(a, "knowledge-base-answer")
    await a.get_by_role("button", name=re.compile("直接办结")).click()
    await a.wait_for_function("() => document.querySelector('#shell-messages').innerText.includes('Closed directly')")
    async with product.desk.sessions() as session:
        consultation = await session.scalar(select(Ticket).where(Ticket.category == "consultation",
                                                                  Ticket.created_by == "agent1"))
    assert consultation is not None and consultation.state is TicketState.CLOSED
    assert consultation.answer == article.body and consultation.kb_article_id == article.id
    assert (await product.desk.knowledge.get(article.id)).hits == 1
    await shots(a, "consultation-closed")

    # 6. Transfer the caller to the enterprise queue (Redirect); agent4 gets them.
    await a.get_by_label("转接到").fill("enterprise")
    await a.keyboard.press("Alt+T")
    await b.wait_for_selector(f"body[data-pop='connected:{CALL}']")
    redirect = sent(peer, "Redirect")[-1]
    assert (redirect["Channel"], redirect["Context"], redirect["Exten"]) == (CALLER_CHANNEL, "queue-lab", "enterprise")
    assert await b.inner_text("#pop-number") == "13800138000"
    await shots(b, "transferred-to-agent4")

    # 7. An abandoned caller of agent4's queue: claimed, called back (Originate), result recorded.
    peer.push(recorded_events(script, "abandon-0002"))
    await wait_for(lambda: _abandoned_stored(product))
    await b.click("#tab-abandoned")
    await b.wait_for_selector("#abandoned-list li[data-call]")
    await a.click("#tab-abandoned")
    await a.wait_for_function("() => document.querySelector('#abandoned-list').innerText.includes('no abandoned')")
    await b.get_by_role("button", name=re.compile("认领")).click()
    await b.get_by_role("button", name=re.compile("回拨")).click()
    await b.wait_for_function(
        "() => document.querySelector('#shell-messages').innerText.includes('calling 13800138000 back')")
    originate = sent(peer, "Originate")[-1]
    assert (originate["Channel"], originate["Exten"]) == ("Local/13800138000@caller-sim/n", "agent4")
    await b.get_by_label("回拨结果").select_option("reached")
    await b.get_by_role("button", name=re.compile("记录结果")).click()
    await b.wait_for_function("() => document.querySelector('#abandoned-list').innerText.includes('结果')")
    await shots(b, "abandoned-called-back")
    async with product.desk.sessions() as session:
        claim = await session.scalar(select(CallbackClaim))
    assert claim is not None and claim.claimed_by == "agent4" and claim.result == "reached"
    wall = await b.context.new_page()  # a wall screen: no session, its kiosk key
    await wall.goto(f"{product.url}/wallboard#kiosk={await add_kiosk_key(product.desk.sessions, 'hall')}")
    await wall.wait_for_function("() => document.querySelector('#abandoned-list').innerText.includes('called back')")
    await shots(wall, "wallboard-called-back")

    # 8. Find the ticket by its digits alone.
    await a.keyboard.press("Alt+F")
    await a.keyboard.type(number.group()[-6:])
    await a.keyboard.press("Enter")
    await a.wait_for_selector(f"#find-results li[data-ticket='{number.group()}']")
    await a.click(f"#find-results li[data-ticket='{number.group()}'] button")
    await a.wait_for_function(f"() => document.querySelector('#timeline-calls')?.innerText.includes('{CALL}')")
    await shots(a, "ticket-found")

    # 9. Log out: the session ends on the server too, so its token no longer opens anything.
    for page in (a, b):
        token = await page.evaluate("JSON.parse(sessionStorage.getItem('hotline.session')).access_token")
        async with page.expect_navigation(url=re.compile("/login$")):
            await page.get_by_role("button", name=re.compile("退出")).click()
        assert await page.evaluate("sessionStorage.length") == 0
        assert_no_page_errors(page)
        async with httpx.AsyncClient(base_url=product.url) as http:
            me = await http.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 401
    async with product.desk.sessions() as session:
        ended = (await session.scalars(select(LoginSession.revoked_reason).join(User).where(
            User.username.in_(["agent1", "agent4"]), LoginSession.revoked_at.is_not(None)))).all()
    assert ended == ["logout", "logout"]
    await shots(a, "logged-out")


async def _abandoned_stored(product: Product) -> bool:
    async with product.desk.sessions() as session:
        call = await session.scalar(select(CallRecord).where(CallRecord.linkedid == ABANDONED))
    return call is not None and call.outcome is CallOutcome.ABANDONED
