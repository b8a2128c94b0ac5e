"""Wiring of the adapters (AMI, IVR, ASR) into the desk, each as a lifespan part.

- AMI: the adapter's `AmiRuntime` (one `AmiClient` for all configured servers) drives the desk's
  live model, the one the board and the screen pops listen to; its calls go to
  `ticketing.calls.CallStore` through the adapter's `RecordWriter`, its members' logins and logouts to
  `ticketing.presence.PresenceStore` (staffing reports). Without servers but with a
  replay file, the same model and writer are fed from the capture, so call records and KPIs move as
  with a PBX.
- ASR: `asr.service.AsrService` with its workers; a finished draft is pushed to the agent's screen pop.
- IVR: `ivr.service.IvrService` with the ticketing backend; recordings go to ASR, and the estimated
  wait for a queue comes from the live board.

Parts are started after the core and stopped before it. Unconfigured adapters are skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from agent_desk.desk import Desk
from agent_desk.live.board import LiveBoard
from agent_desk.live.replay import LoopingReplay, demo_captures
from agent_desk.settings import Settings
from agent_desk.telephony import TelephonyError, TelephonyUnavailable

log = logging.getLogger(__name__)
Stop = Callable[[], Awaitable[None]]
Part = Callable[[Desk], Awaitable[Stop]]


class AmiTelephony:
    """The desk's `Telephony` on top of the AMI client, translating its errors."""

    def __init__(self, client: Any) -> None:
        self._client = client

    async def _call(self, action: Awaitable[Any]) -> None:
        from ami.errors import AmiActionError, AmiError, AmiNotConnected

        try:
            await action
        except AmiNotConnected as exc:
            raise TelephonyUnavailable(str(exc)) from None
        except AmiActionError as exc:
            raise TelephonyError(str(exc)) from None
        except AmiError as exc:
            raise TelephonyUnavailable(str(exc)) from None

    async def queue_add(self, queue: str, interface: str, member_name: str) -> None:
        await self._call(self._client.queue_add(queue, interface, member_name))

    async def queue_remove(self, queue: str, interface: str) -> None:
        await self._call(self._client.queue_remove(queue, interface))

    async def queue_pause(self, interface: str, paused: bool, reason: str | None = None,
                          queue: str | None = None) -> None:
        await self._call(self._client.queue_pause(interface, paused, reason, queue))

    async def redirect(self, channel: str, context: str, exten: str, priority: int = 1) -> None:
        await self._call(self._client.redirect(channel, context, exten, priority))

    async def hangup(self, channel: str) -> None:
        await self._call(self._client.hangup(channel))

    async def originate(self, channel: str, context: str, exten: str, caller_id: str,
                        variables: dict[str, str] | None = None) -> None:
        await self._call(self._client.originate(channel, context, exten, caller_id, variables))

    def channel_of(self, linkedid: str) -> str | None:
        result: str | None = self._client.channel_of(linkedid)
        return result


async def ami_part(desk: Desk) -> Stop:
    """The AMI adapter's runtime (call records, queue memberships, client) on the desk's live model;
    without servers, fed by the configured capture in a loop instead of a PBX."""
    from ami.runtime import AmiRuntime
    from ticketing.calls import CallStore
    from ticketing.presence import PresenceStore

    settings = desk.settings
    store, presence = CallStore(desk.sessions), PresenceStore(desk.sessions)
    replay = settings.desk.replay
    if replay.file is None:
        runtime = AmiRuntime(settings.ami, store, model=desk.board.model, presence=presence)
        desk.telephony = AmiTelephony(runtime.client)
    else:
        runtime = AmiRuntime(settings.ami.model_copy(update={"servers": []}), store, model=desk.board.model,
                             presence=presence)
        runtime.source = LoopingReplay(demo_captures(replay.file), runtime.model, server="replay",
                                       speed=replay.speed, loop=replay.loop)
    await runtime.start()
    return runtime.stop


def _estimated_wait(board: LiveBoard) -> Callable[[str], Awaitable[float | None]]:
    async def estimate(queue: str) -> float | None:
        for view in board.snapshot().queues:
            if view.name == queue:
                serving = max(1, view.logged_in - view.paused)
                return (view.waiting + 1) * (view.aht_seconds or 180.0) / serving
        return None

    return estimate


async def asr_and_ivr_part(desk: Desk) -> Stop:
    settings = desk.settings
    stops: list[Stop] = []
    asr_service = None
    if settings.asr.model_dir is not None:
        from asr.service import AsrService

        async def on_draft(draft: Any) -> None:
            await desk.screen_pops.draft_ready(draft.id)

        asr_service = AsrService.build(desk.sessions, settings.asr, on_draft=on_draft,
                                       routing=desk.tickets.routing)
        await asr_service.start()
        stops.append(asr_service.stop)
    if settings.ivr.enabled:
        from ivr.service import IvrService
        from ivr.ticketing_backend import TicketingBackend, recording_submitter

        if asr_service is None:
            from asr.service import AsrService

            # No model configured: drafts are still created (pending) and keep their audio.
            asr_service = AsrService.build(desk.sessions, settings.asr.model_copy(update={"workers": 0}),
                                           routing=desk.tickets.routing)
        backend = TicketingBackend(desk.tickets, desk.sessions, recording_submitter(asr_service.submit_recording))
        ivr = IvrService(settings.ivr, backend, tz=desk.tickets.sla.worktime.tz,
                         wait_estimator=_estimated_wait(desk.board))
        await ivr.start()
        stops.append(ivr.stop)

    async def stop_all() -> None:
        for stop in reversed(stops):
            await stop()

    return stop_all


def adapter_parts(config: Settings) -> list[Part]:
    parts: list[Part] = []
    if config.ami.servers or config.desk.replay.file:
        parts.append(ami_part)
    if config.asr.model_dir is not None or config.ivr.enabled:
        parts.append(asr_and_ivr_part)
    return parts
