"""Wiring of the adapters (AMI, IVR, ASR) into the desk, each as a lifespan part.

- AMI: the adapter's `AmiRuntime` (one `AmiClient` for all configured servers) drives the desk's
  live model, the one the board and the screen pops listen to; its calls go to
  `ticketing.calls.CallStore` through the adapter's `RecordWriter`, its members' logins and logouts to
  `ticketing.presence.PresenceStore` (staffing reports). Without servers but with a
  replay file, the same model and writer are fed from the capture, so call records and KPIs move as
  with a PBX. Every server gets the calls missed in a gap reconciled from its queue_log (the file, or
  Asterisk's realtime table) at start-up and after every reconnect, and what stays unresolved marked
  `unknown` with the reason (`ami.reconcile`).
- ASR: `asr.service.AsrService` with its workers; a finished draft is pushed to the agent's screen pop.
- IVR: `ivr.service.IvrService` with the ticketing backend; recordings go to ASR, and the estimated
  wait for a queue comes from the live board.

Parts are started after the core and stopped before it. Unconfigured adapters are skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from structlog.contextvars import bound_contextvars

from agent_desk.desk import Desk
from agent_desk.live.board import LiveBoard, Mode
from agent_desk.live.replay import LoopingReplay, demo_captures
from agent_desk.roles import ALL_ROLES, Role
from agent_desk.settings import Settings
from agent_desk.telephony import NoTelephony, TelephonyError, TelephonyUnavailable
from ticketing.db import SessionFactory, engine_of, is_sqlite
from ticketing.leadership import Leadership, Term, fenced_sessions

log = logging.getLogger(__name__)
Stop = Callable[[], Awaitable[None]]
Part = Callable[[Desk], Awaitable[Stop]]
# A singleton's work, on (fenced) sessions, in a leader's epoch (0: no leadership, on SQLite).
Start = Callable[[Desk, SessionFactory, int], Awaitable[Stop]]


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


def led(name: str, start: Start) -> Part:
    """A singleton part: on PostgreSQL it runs only while this process leads `name`
    (`ticketing.leadership`), writing through sessions fenced by its term; on SQLite (one process)
    it just runs."""

    async def part(desk: Desk) -> Stop:
        if is_sqlite(desk.settings.db.url):
            return await start(desk, desk.sessions, 0)
        leadership = Leadership(engine_of(desk.sessions), name, lease=desk.settings.db.leader_lease_seconds)
        desk.leaderships.append(leadership)

        async def start_term(term: Term) -> Stop:
            return await start(desk, fenced_sessions(desk.sessions, term), term.epoch)

        task = asyncio.create_task(leadership.run(start_term), name=f"leadership {name}")
        # Alone (the usual single process), the part has started when this returns.
        first = asyncio.ensure_future(leadership.first_round.wait())
        await asyncio.wait([task, first], timeout=10, return_when=asyncio.FIRST_COMPLETED)
        first.cancel()

        async def stop() -> None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            desk.leaderships.remove(leadership)

        return stop

    return part


def telephony_board(settings: Settings) -> LiveBoard:
    """A board on a live model of its own, fed as this deployment's PBXs are: `live` from the
    configured servers, `replay` from a capture (named), `offline` with neither."""
    from ami.model import LiveModel

    sup = settings.desk.supervision
    replay = settings.desk.replay.file
    mode: Mode = "replay" if replay else ("live" if settings.ami.servers else "offline")
    return LiveBoard(LiveModel(service_level_default=int(sup.service_level_seconds)), kpis=sup.call_kpis(),
                     mode=mode, source=replay.name if replay else None, cities=settings.ami.cities(),
                     zone=ZoneInfo(settings.ticketing.calendar.timezone))


def telephony_singleton(settings: Settings) -> str:
    """The leadership name of this process's PBX set: one leader writes for each set of PBXs."""
    names = sorted(server.name for server in settings.ami.servers) or ["replay"]
    return "telephony:" + ",".join(names)


async def _start_ami(desk: Desk, sessions: SessionFactory, _epoch: int) -> Stop:
    return await _run_ami(desk, sessions, desk.board)


def _published_ami(source: str) -> Start:
    """The AMI runtime on a board of its own, whose changes go to Redis for the API processes
    (`agent_desk.live.fanout`): the telephony role when the product is split over processes."""

    async def start(desk: Desk, sessions: SessionFactory, epoch: int) -> Stop:
        import redis.asyncio as aioredis

        from agent_desk.live.fanout import Publisher
        from agent_desk.live.relay import ActionServer

        board = telephony_board(desk.settings)
        stop_ami = await _run_ami(desk, sessions, board)
        client = aioredis.from_url(desk.settings.redis.url)
        publisher = Publisher(client, board, prefix=desk.settings.redis.prefix, source=source, epoch=epoch)
        publisher.start()
        desk.publishers.append(publisher)
        actions = ActionServer(client, desk.telephony, prefix=desk.settings.redis.prefix, source=source)
        actions.start()

        async def stop() -> None:
            await actions.stop()
            await stop_ami()
            await publisher.stop()
            desk.publishers.remove(publisher)
            await client.aclose()

        return stop

    return start


async def mirror_part(desk: Desk) -> Stop:
    """The API role's live board, mirrored from Redis (the desk's board must be a `MirrorBoard`)."""
    import redis.asyncio as aioredis

    from agent_desk.live.fanout import Mirror, MirrorBoard
    from agent_desk.live.relay import RelayTelephony

    assert isinstance(desk.board, MirrorBoard)
    client = aioredis.from_url(desk.settings.redis.url, socket_connect_timeout=2, health_check_interval=5)
    mirror = Mirror(client, desk.board, prefix=desk.settings.redis.prefix, on_call=_pop(desk))
    desk.mirror = mirror
    desk.telephony = RelayTelephony(client, desk.board, prefix=desk.settings.redis.prefix)
    task = asyncio.create_task(mirror.run(), name="live mirror")

    async def stop() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.aclose()

    return stop


def ticket_relay(*, subscribe: bool) -> Part:
    """Split over processes: this process's ticket changes go to Redis, and (`subscribe`, an API
    process) the others' come into its change streams (`agent_desk/live/ticket_relay.py`)."""

    async def part(desk: Desk) -> Stop:
        import redis.asyncio as aioredis

        from agent_desk.live.ticket_relay import TicketRelay

        client = aioredis.from_url(desk.settings.redis.url, socket_connect_timeout=2, health_check_interval=5)
        relay = TicketRelay(client, desk.ticket_feed, prefix=desk.settings.redis.prefix, subscribe=subscribe)
        await relay.start()

        async def stop() -> None:
            await relay.stop()
            await client.aclose()

        return stop

    return part


def _pop(desk: Desk) -> Callable[[Any], Awaitable[None]]:
    async def pop(call: Any) -> None:
        try:
            await desk.screen_pops.on_signal(call)
        except Exception:
            with bound_contextvars(linkedid=call.linkedid):
                log.exception("screen pop for %s failed", call.interface)

    return pop


async def _run_ami(desk: Desk, sessions: SessionFactory, board: LiveBoard) -> Stop:
    """The AMI adapter's runtime (call records, queue memberships, client) on `board`'s live model;
    without servers, fed by the configured capture in a loop instead of a PBX."""
    from ami.reconcile import QueueLogReconciler, queue_log_source
    from ami.runtime import AmiRuntime
    from ticketing.calls import CallStore
    from ticketing.presence import PresenceStore

    settings = desk.settings
    store, presence = CallStore(sessions), PresenceStore(sessions)
    replay = settings.desk.replay
    if replay.file is None:
        runtime = AmiRuntime(settings.ami, store, model=board.model, presence=presence)
        desk.telephony = AmiTelephony(runtime.client)
    else:
        runtime = AmiRuntime(settings.ami.model_copy(update={"servers": []}), store, model=board.model,
                             presence=presence)
        runtime.source = LoopingReplay(demo_captures(replay.file), runtime.model, server="replay",
                                       speed=replay.speed, loop=replay.loop)
    reconciler = (QueueLogReconciler(board.model, store,
                                     {server.name: queue_log_source(server) for server in settings.ami.servers},
                                     settle=runtime.writer.drained,
                                     lookback=timedelta(seconds=settings.ami.queue_log_lookback),
                                     zone=desk.zone)
                  if settings.ami.servers and replay.file is None else None)
    # Today's counts go on from what was stored before this term (a takeover, a restart).
    pbxs = ["replay"] if replay.file is not None else [server.name for server in settings.ami.servers]
    board.recount(pbxs, await store.between(desk.day_start(), servers=pbxs, final_only=False))
    await runtime.start()

    async def stop() -> None:
        if reconciler is not None:
            await reconciler.stop()
        await runtime.stop()
        desk.telephony = NoTelephony("this process does not lead its PBX connections now")

    return stop


def estimated_wait(board: LiveBoard, pbx: str | None) -> Callable[[str], Awaitable[float | None]]:
    """A queue's expected wait for the IVR: on its own PBX (`ivr.server_name`) where it names one,
    since another PBX's queue of the same name has callers of its own."""

    async def estimate(queue: str) -> float | None:
        snapshot = board.snapshot() if pbx is None else board.snapshot(pbx=lambda name: name == pbx)
        for view in snapshot.queues:
            if view.name == queue:
                serving = max(1, view.logged_in - view.paused)
                return (view.waiting + 1) * (view.aht_seconds or 180.0) / serving
        return None

    return estimate


async def _start_sweep(desk: Desk, sessions: SessionFactory, _epoch: int) -> Stop:
    """The SLA sweep (one 督办 per breach)."""
    from agent_desk.app import announce_breach  # the composition root's (it imports this module)
    from agent_desk.metrics import SLA_BREACHES
    from ticketing.sweep import Breach, SlaSweeper

    def on_breach(breach: Breach) -> None:
        SLA_BREACHES.labels(breach.kind).inc()
        announce_breach(desk, breach)

    sweeper = SlaSweeper(sessions, desk.settings.ticketing.sla.sweep_interval_seconds, on_breach=on_breach,
                         zone=desk.zone)
    sweeper.start()
    return sweeper.stop


sweep_part = led("sweep", _start_sweep)


def asr_and_ivr(*, asr: bool, ivr: bool) -> Part:
    """The ASR workers (`asr`: needs `asr.model_dir`) and the FastAGI server (`ivr`: needs
    `ivr.enabled`). An IVR without workers here still queues its recordings as jobs (drafts stay
    pending) for the `asr` role's workers, wherever they run."""

    async def part(desk: Desk) -> Stop:
        return await _asr_and_ivr_part(desk, run_asr=asr, run_ivr=ivr)

    return part


async def _asr_and_ivr_part(desk: Desk, *, run_asr: bool, run_ivr: bool) -> Stop:
    settings = desk.settings
    stops: list[Stop] = []
    asr_service = None
    if run_asr and settings.asr.model_dir is not None:
        from asr.service import AsrService

        async def on_draft(draft: Any) -> None:
            await desk.screen_pops.draft_ready(draft.id)

        asr_service = AsrService.build(desk.sessions, settings.asr, on_draft=on_draft,
                                       routing=desk.tickets.routing)
        await asr_service.start()
        stops.append(asr_service.stop)
        desk.asr = asr_service
    if run_ivr and settings.ivr.enabled:
        from ivr.service import IvrService
        from ivr.ticketing_backend import TicketingBackend, recording_submitter

        if asr_service is None:
            from asr.service import AsrService

            # No model configured: drafts are still created (pending) and keep their audio.
            asr_service = AsrService.build(desk.sessions, settings.asr.model_copy(update={"workers": 0}),
                                           routing=desk.tickets.routing)
        backend = TicketingBackend(desk.tickets, desk.sessions, recording_submitter(asr_service.submit_recording))
        ivr = IvrService(settings.ivr, backend, tz=desk.tickets.sla.worktime.tz,
                         wait_estimator=estimated_wait(desk.board, settings.ivr.server_name))
        await ivr.start()
        stops.append(ivr.stop)
        desk.ivr = ivr

    async def stop_all() -> None:
        for stop in reversed(stops):
            await stop()

    return stop_all


def adapter_parts(config: Settings, roles: frozenset[Role] = ALL_ROLES) -> list[Part]:
    """The adapters this process runs: those its roles include and the settings configure. Split
    over processes (roles named), the telephony role publishes its live board on Redis and the api
    role mirrors it (a `MirrorBoard` given to `create_app`); every process relays its ticket changes
    and the api role hears them."""
    parts: list[Part] = []
    split = roles != ALL_ROLES
    if split and "api" in roles:
        parts.append(mirror_part)
    if split:
        parts.append(ticket_relay(subscribe="api" in roles))
    if "telephony" in roles and (config.ami.servers or config.desk.replay.file):
        source = telephony_singleton(config)
        parts.append(led(source, _published_ami(source) if split else _start_ami))
    run_asr = "asr" in roles and config.asr.model_dir is not None
    run_ivr = "ivr" in roles and config.ivr.enabled
    if run_asr or run_ivr:
        parts.append(asr_and_ivr(asr=run_asr, ivr=run_ivr))
    return parts
