"""Flow 3, report a problem: record the description, queue it for ASR as a draft, then an agent."""

from __future__ import annotations

from ivr.errors import AgiHangup
from ivr.flows.call import Call
from ivr.flows.queueing import queue_caller
from ivr.flows.recording import record_and_submit


async def report_problem(call: Call) -> None:
    await queue_caller(call, "report", offer_message=False)  # decide queue and priority first
    await call.play("report")
    recording = await record_and_submit(
        call, max_seconds=call.settings.recordings.report_max_seconds, purpose="report", callback=False,
    )
    if recording.ended_by == "hangup":
        raise AgiHangup("caller hung up while recording")
    await call.play("report-thanks")
