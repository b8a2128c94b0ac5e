"""Flow 6, satisfaction survey after the agent leaves: 1 satisfied, 2 basically satisfied, 3 unsatisfied."""

from __future__ import annotations

import logging

from ivr import variables as var
from ivr.backend import SurveyAnswer
from ivr.flows.call import Call
from ticketing.vocabulary import Rating

log = logging.getLogger(__name__)

RATINGS = {"1": Rating.SATISFIED, "2": Rating.BASICALLY_SATISFIED, "3": Rating.UNSATISFIED}


async def satisfaction_survey(call: Call) -> None:
    """The answer goes to HOTLINE_SURVEY and `call_surveys`; IVR_RESULT stays the call's first decision."""
    settings = call.settings.survey
    await call.channel.answer()
    ticket_id = await _id_from(call, "ticket", var.HOTLINE_TICKET_ID)
    draft_id = await _id_from(call, "draft", var.HOTLINE_DRAFT_ID)
    rating: Rating | None = None
    for _ in range(settings.attempts):
        answer = await call.ask("survey", settings.timeout_ms, 1)
        call.step(f"survey:{answer.digits or 'timeout'}")
        rating = RATINGS.get(answer.digits)
        if rating is not None:
            break
        await call.play("invalid" if answer.digits else "no-input")
    if rating is None:
        await call.play("goodbye")
        return
    try:
        outcome = await call.deps.backend.record_survey(SurveyAnswer(await call.info(), rating, ticket_id, draft_id))
    except Exception:
        log.exception("call %s: survey answer %s not saved", call.channel.env.uniqueid, rating.value)
    else:
        log.info("call %s: survey %s saved as %s (ticket %s, applied=%s)", call.channel.env.uniqueid,
                 rating.value, outcome.survey_id, outcome.ticket_id, outcome.applied)
    await call.set(var.HOTLINE_SURVEY, rating.value)
    await call.play("survey-thanks")


async def _id_from(call: Call, arg: str, variable: str) -> int | None:
    """The id from `?ticket=…` in the AGI URL, `agi_arg_1` (ticket only), or the channel variable."""
    env = call.channel.env
    candidates = [env.query.get(arg)]
    if arg == "ticket" and env.args:
        candidates.append(env.args[0])
    for value in candidates:
        if value and value.strip().isdigit():
            return int(value)
    value = await call.channel.get_variable(variable)
    return int(value) if value and value.strip().isdigit() else None
