"""Record what the caller says and hand it over. A hang-up during recording still hands it over."""

from __future__ import annotations

import logging

from ivr import variables as var
from ivr.backend import RecordedAudio
from ivr.channel import Recording
from ivr.errors import AgiError
from ivr.flows.call import Call

log = logging.getLogger(__name__)


def recording_base(call: Call, suffix: str = "") -> str:
    """`<dir>/<uniqueid with . as ->[-suffix]`, without extension (RECORD FILE adds it)."""
    uid = "".join(ch if ch.isalnum() else "-" for ch in call.channel.env.uniqueid) or "call"
    return f"{call.settings.recordings.directory}/{uid}{'-' + suffix if suffix else ''}"


async def record_and_submit(call: Call, *, max_seconds: int, purpose: str, callback: bool,
                            suffix: str = "") -> Recording:
    """RECORD FILE, then submit whatever audio there is; sets HOTLINE_DRAFT_ID when a draft exists.

    When the beep cannot be played (`randomerror`), Asterisk records nothing: the caller is
    recorded again without the beep, so what they say still becomes a draft.
    """
    recording = await _record(call, suffix, max_seconds, beep=True)
    if recording.error == "randomerror":
        recording = await _record(call, suffix, max_seconds, beep=False)
    call.step(f"record:{recording.ended_by}" if recording.ended_by != "dtmf" else "record")
    if not recording.has_audio:
        return recording
    audio = RecordedAudio(
        call=await call.info(), path=f"{recording.path}.{recording.format}", format=recording.format,
        duration_ms=recording.duration_ms(), ended_by=recording.ended_by, callback_requested=callback,
        purpose=purpose, open_ticket_id=call.ticket_id,
    )
    try:
        call.draft_id = await call.deps.backend.submit_recording(audio)
    except Exception:
        # The file stays on disk and the agent still hears the caller; say so loudly.
        log.exception("call %s: recording %s was not handed over", call.channel.env.uniqueid, audio.path)
        call.step("draft:failed")
        return recording
    try:
        await call.set(var.HOTLINE_DRAFT_ID, call.draft_id)
    except AgiError as exc:
        log.info("call %s: draft %s made but not set on the channel: %s",
                 call.channel.env.uniqueid, call.draft_id, exc)
    return recording


async def _record(call: Call, suffix: str, max_seconds: int, *, beep: bool) -> Recording:
    settings = call.settings.recordings
    recording = await call.channel.record_file(
        recording_base(call, suffix), settings.format, escape_digits="#", timeout_ms=max_seconds * 1000,
        beep=beep, silence_seconds=settings.silence_seconds or None,
    )
    if recording.error is not None:
        env = call.channel.env
        hint = (" (is the beep sound missing? see `hotline prompts check`)"
                if recording.error == "randomerror" else "")
        log.warning("call %s on %s: RECORD FILE %s%s failed: %s%s", env.uniqueid, env.channel,
                    recording.path, " BEEP" if beep else "", recording.error, hint)
    return recording
