"""The IVR application: which AGI script runs which flow, and the guarantees around every call.

Script names (the path in `AGI(agi://host:4573/<script>)`):
  ivr       the 12345 line: greeting, service hours, menu, report/progress/enterprise/agent
  progress  the same menu without the service-hours check (self-service works around the clock)
  report    straight to "report a problem", then the queue
  message   leave a message (for the queue's exit key or an after-hours dialplan branch)
  survey    the satisfaction survey after the agent has left
Any other name sends the caller to an agent, so a dialplan typo never strands anyone.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from ivr.backend import IvrBackend, WaitEstimator
from ivr.channel import AgiChannel
from ivr.errors import AgiError, AgiHangup
from ivr.flows.call import Call, Deps
from ivr.flows.menu import hotline, to_agent
from ivr.flows.message import leave_message
from ivr.flows.report import report_problem
from ivr.flows.survey import satisfaction_survey
from ivr.prompts import PromptCatalogue, catalogue_from_settings
from ivr.protocol import AgiEnvironment
from ivr.settings import IvrSettings
from ticketing.models import utcnow

log = logging.getLogger(__name__)

Flow = Callable[[Call], Awaitable[None]]


async def _progress_line(call: Call) -> None:
    await hotline(call, check_hours=False)


async def _report(call: Call) -> None:
    await call.channel.answer()
    await report_problem(call)


async def _message(call: Call) -> None:
    await call.channel.answer()
    await leave_message(call)


async def _unknown(call: Call) -> None:
    call.step(f"unknown:{call.channel.env.script[:24]}")
    await to_agent(call, "agent")


SCRIPTS: dict[str, Flow] = {
    "ivr": hotline,
    "progress": _progress_line,
    "report": _report,
    "message": _message,
    "survey": satisfaction_survey,
}


class IvrApp:
    """Routes AGI scripts to flows and makes sure each call leaves its variables behind."""

    def __init__(
        self,
        backend: IvrBackend,
        settings: IvrSettings,
        *,
        prompts: PromptCatalogue | None = None,
        tz: ZoneInfo,
        clock: Callable[[], datetime] = utcnow,
        wait_estimator: WaitEstimator | None = None,
    ) -> None:
        self.deps = Deps(backend, settings, prompts or catalogue_from_settings(settings.prompts), clock, tz,
                         wait_estimator)
        self.sessions: Counter[tuple[str, str]] = Counter()  # (flow, result): what `/metrics` reports

    def route(self, env: AgiEnvironment) -> Callable[[AgiChannel], Awaitable[None]]:
        flow = SCRIPTS.get(env.script.lower(), _unknown)

        async def handle(channel: AgiChannel) -> None:
            await self.run(flow, channel)

        return handle

    async def run(self, flow: Flow, channel: AgiChannel) -> None:
        call = Call(channel, self.deps)
        try:
            if self.deps.settings.channel_language:
                await channel.set_variable("CHANNEL(language)", self.deps.settings.channel_language)
            await flow(call)
        except AgiHangup:
            call.step("hangup")
            raise
        except Exception:
            # Our bug must not strand the caller: send them to a person, then let the server log it.
            # (Not from a message or the survey: the caller was queued already, or chose not to be.)
            if call.queue is None and call.result != "message" and flow is not satisfaction_survey:
                settings = self.deps.settings.queues
                call.send_to_queue("agent", settings.main, settings.priority)
            call.step("error")
            try:
                await call.play("error")
            except AgiError:
                pass
            raise
        finally:
            await call.finish()
            env = channel.env
            self.sessions[(env.script.lower() if env.script.lower() in SCRIPTS else "unknown",
                           call.result or "no decision")] += 1
            log.info("IVR %s session of call %s on %s: %s, %s", env.script, env.uniqueid, env.channel,
                     call.result or "no decision", call.path_text() or "no step")
