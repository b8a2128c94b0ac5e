"""Before the queue: repeat callers get priority, and a long wait offers to leave a message."""

from __future__ import annotations

import logging
from datetime import timedelta

from ivr import variables as var
from ivr.flows.call import Call, Result

log = logging.getLogger(__name__)


async def link_open_ticket(call: Call) -> bool:
    """A repeat caller (an open ticket in the last N days) is linked to that ticket. True if found."""
    number = call.channel.env.caller_number
    if number is None:
        return False
    settings = call.settings.queues
    try:
        ticket = await call.deps.backend.open_ticket_for_caller(number, timedelta(days=settings.repeat_caller_days))
    except Exception:
        log.exception("call %s: repeat-caller look-up failed", call.channel.env.uniqueid)
        return False
    if ticket is None:
        return False
    call.ticket_id = ticket.ticket_id
    call.step("repeat")
    await call.set(var.HOTLINE_TICKET_ID, ticket.ticket_id)
    return True


async def queue_caller(call: Call, result: Result, *, offer_message: bool = True) -> bool:
    """Choose queue and priority for `result`. False when the caller chose to leave a message instead."""
    settings = call.settings.queues
    enterprise = result == "enterprise"
    queue = settings.enterprise if enterprise else settings.main
    priority = settings.enterprise_priority if enterprise else settings.priority
    if await link_open_ticket(call):
        priority += settings.repeat_caller_boost
    call.send_to_queue(result, queue, priority)
    if offer_message and await _long_wait(call, queue):
        choice = await call.ask("long-wait", 5000, 1)
        call.step(f"longwait:{choice.digits or 'timeout'}")
        if choice.digits == settings.message_key:
            return False
    return True


async def _long_wait(call: Call, queue: str) -> bool:
    limit = call.settings.queues.long_wait_seconds
    estimator = call.deps.wait_estimator
    if limit is None or estimator is None:
        return False
    try:
        wait = await estimator(queue)
    except Exception:
        log.exception("wait estimate for %s failed", queue)
        return False
    return wait is not None and wait > limit
