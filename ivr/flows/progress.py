"""Flow 4, progress: the caller keys a ticket number and `#`; we read back its state and due date."""

from __future__ import annotations

import logging

from ivr import variables as var
from ivr.backend import TicketProgress
from ivr.flows.call import Call, Result
from ticketing.vocabulary import OPEN_STATES

log = logging.getLogger(__name__)

AGAIN = "1"


async def check_progress(call: Call) -> Result:
    """Returns "progress" when the caller heard an answer (or gave up), "agent" to queue them."""
    settings = call.settings.progress
    call.result = "progress"
    failures = 0
    while failures < settings.attempts:
        typed, call.typeahead = call.typeahead, ""
        if len(typed.rstrip("#")) < 14:
            typed = (await call.ask("progress-enter", settings.timeout_ms, settings.max_digits)).digits
        digits = "".join(ch for ch in typed if ch.isdigit())
        if not digits:
            call.step("progress:none")
            failures += 1
            await call.play("no-input")
            continue
        ticket = await _look_up(call, digits)
        if ticket is None:
            call.step("progress:unknown")
            failures += 1
            await call.play("progress-unknown")
            continue
        call.step("progress:found")
        if call.ticket_id is None:
            call.ticket_id = ticket.ticket_id
            await call.set(var.HOTLINE_TICKET_ID, ticket.ticket_id)
        await read_back(call, ticket)
        more = await call.ask("progress-more", 5000, 1)
        if more.digits == AGAIN:
            call.step("progress:again")
            failures = 0
            continue
        if more.digits == call.settings.menu.agent:
            call.step(f"menu:{more.digits}")
            return "agent"
        await call.play("goodbye")
        return "progress"
    call.step("progress:failed")
    return "agent"


async def _look_up(call: Call, digits: str) -> TicketProgress | None:
    try:
        return await call.deps.backend.ticket_progress(digits)
    except Exception:
        log.exception("call %s: progress look-up for %s failed", call.channel.env.uniqueid, digits)
        return None


async def read_back(call: Call, ticket: TicketProgress) -> None:
    """"您查询的工单 <digits> <state>[ 办理期限为 <M>月<D>日]"."""
    await call.play("progress-ticket")
    await call.channel.say_digits(ticket.digits)
    await call.play(f"state-{ticket.state.value}")
    if ticket.due_at is not None and ticket.state in OPEN_STATES:
        due = ticket.due_at.astimezone(call.deps.tz)
        await call.play("progress-due")
        await call.channel.say_number(due.month)
        await call.play("month")
        await call.channel.say_number(due.day)
        await call.play("day")
