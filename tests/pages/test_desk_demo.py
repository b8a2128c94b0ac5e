"""`make run`'s demo: the replayed capture gives demo-agent's interface (Local/agent1@agents) a live
screen pop with the seeded draft, and the call turns into a ticket with the call attached."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from agent_desk.demo import seed_demo_draft
from agent_desk.live.replay import DEMO_CALL_LINKEDID, bundled_capture
from tests.pages.conftest import Serve, Shots, assert_no_page_errors, log_in
from ticketing.models import CallRecord

pytestmark = [pytest.mark.anyio, pytest.mark.browser, pytest.mark.slow]


@pytest.mark.parametrize("db_target", ["sqlite"], indirect=True)
async def test_the_replayed_demo_call_pops_and_becomes_a_ticket(serve: Serve, browser: Any, shots: Shots) -> None:
    async with serve(desk={"replay": {"file": str(bundled_capture()), "speed": 2}}) as product:
        assert await seed_demo_draft(product.desk.sessions)
        page = await log_in(browser, product, "agent1")  # the demo agent's interface
        await page.wait_for_selector(f"body[data-pop='connected:{DEMO_CALL_LINKEDID}']")
        assert "停水两天" in await page.inner_text("#pop-transcript")
        await page.wait_for_function(
            "() => document.querySelector('#routing-lead').dataset.unit === 'dept:320102:water_supply'")
        # The draft is the extractor's, and says why: the category's phrases, the department's matter row.
        assert await page.input_value("#t-category") == "help"
        assert "快派人" in await page.inner_text("#t-category-reason")
        assert "停水 → 供水" in await page.inner_text("#t-department-reason")
        await shots(page, "demo-screen-pop")
        # Without a PBX, what needs one is refused in the server's words.
        await page.keyboard.press("Alt+P")
        await page.wait_for_selector("#shell-messages .message.error")
        assert "503" in await page.inner_text("#shell-messages")
        await page.click("#shell-messages .message.error button")
        await page.keyboard.press("Alt+N")
        await page.wait_for_function(
            "() => document.querySelector('#shell-messages').innerText.includes('call attached')")
        message = await page.inner_text("#shell-messages")
        number = re.search(r"JS\d{8}-\d{6}", message)
        assert number, message
        async with product.desk.sessions() as session:
            call = await session.scalar(select(CallRecord).where(CallRecord.linkedid == DEMO_CALL_LINKEDID))
        assert call is not None and call.ticket_id is not None
        await page.wait_for_selector("#timeline-calls")
        await shots(page, "demo-ticket-created")
        assert_no_page_errors(page)
