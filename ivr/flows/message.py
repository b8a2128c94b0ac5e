"""Flow 5, leave a message: after hours, or instead of a long wait. It becomes a callback draft."""

from __future__ import annotations

from ivr.errors import AgiHangup
from ivr.flows.call import Call
from ivr.flows.recording import record_and_submit


async def leave_message(call: Call) -> None:
    call.result = "message"
    call.queue = None
    call.step("message")
    await call.play("message")
    recording = await record_and_submit(
        call, max_seconds=call.settings.recordings.message_max_seconds, purpose="message",
        callback=True, suffix="message",
    )
    if recording.ended_by == "hangup":
        raise AgiHangup("caller hung up while leaving a message")
    await call.play("message-thanks" if recording.has_audio else "message-empty")
    if not recording.has_audio:
        await call.play("goodbye")
