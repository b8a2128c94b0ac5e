"""Flows 1 and 2: the greeting (with service hours) and the main menu, then wherever the caller chose."""

from __future__ import annotations

from ivr.flows.call import Call
from ivr.flows.message import leave_message
from ivr.flows.progress import check_progress
from ivr.flows.queueing import queue_caller
from ivr.flows.report import report_problem
from ivr.hours import is_open


async def hotline(call: Call, *, check_hours: bool = True) -> None:
    """The 12345 line: greeting, after-hours message, menu, then report/progress/enterprise/agent."""
    await call.channel.answer()
    menu = call.settings.menu
    open_now = not check_hours or is_open(call.settings.hours, call.deps.clock(), call.deps.tz)
    call.step("greeting")
    keys = menu.report + menu.progress + menu.enterprise + menu.agent
    greeting = await call.play("greeting", keys if open_now else "")
    if not open_now:
        call.step("closed")
        await call.play("closed")
        await leave_message(call)
        return
    await route(call, await choose(call, greeting.digit))


async def choose(call: Call, pressed: str | None = None) -> str:
    """The menu with retries. Returns report, progress, enterprise or agent."""
    menu = call.settings.menu
    actions = {menu.report: "report", menu.progress: "progress", menu.enterprise: "enterprise",
               menu.agent: "agent"}
    for attempt in range(menu.retries + 1):
        if pressed is None:
            pressed = (await call.ask("menu", menu.timeout_ms, 1)).digits
        if len(pressed) > 1:  # more keys than asked for: the first chooses, the rest are typed ahead
            pressed, call.typeahead = pressed[0], pressed[1:]
        if not pressed:
            call.step("menu:timeout")
            return "agent"
        call.step(f"menu:{pressed}")
        action = actions.get(pressed)
        if action is not None:
            return action
        pressed = None
        if attempt < menu.retries:
            await call.play("invalid")
    call.step("retries")
    return "agent"


async def route(call: Call, action: str) -> None:
    if action == "report":
        await report_problem(call)
    elif action == "progress":
        if await check_progress(call) == "agent":
            await to_agent(call, "agent")
    elif action == "enterprise":
        await to_agent(call, "enterprise")
    else:
        await to_agent(call, "agent")


async def to_agent(call: Call, result: str) -> None:
    assert result in ("agent", "enterprise")
    if not await queue_caller(call, "enterprise" if result == "enterprise" else "agent"):
        await leave_message(call)
        return
    if result == "enterprise":
        await call.play("enterprise")
    else:
        await call.play("repeat-caller" if call.ticket_id is not None and "repeat" in call.path else "transfer")
