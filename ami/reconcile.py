"""After a gap in the AMI stream, let the PBX's queue_log tell how the missed calls ended.

A call that ended while the link was down (or before the product started) is closed `unknown` by
the resync: the AMI never said how it ended. Asterisk's queue_log did. Each time a PBX's link is
ready again — at start-up and after every reconnect — the reconciler waits until the resync's
records are stored, reads that PBX's queue_log from `lookback` before the gap began (calls in the
gap may have entered the queue that long before) and stores the calls it saw end through the
store's `backfill`: calls never stored are added, calls left in progress or `unknown` are
repaired, calls the AMI saw to the end are left alone (`ticketing.calls.CallStore.backfill`).
What is still unresolved then — closed `unknown` in the gap, or stored in progress by a process
that is gone — is marked `unknown` with the reason (`CallStore.mark_unresolved`), and a
`Reconciled` event says what was done.

The queue_log is the server's `queue_log` file, readable here (a read-only mount, or a copy kept in
sync), or Asterisk's realtime table (`queue_log_table`, `ami.queue_log_table`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Protocol

from ami.calldata import CallData
from ami.events import ChangeEvent, ConnectionChanged, Reconciled
from ami.model import LiveModel
from ami.queue_log import parse_queue_log
from ami.queue_log_table import QueueLogTableError, QueueLogTableReader
from ami.settings import AmiServer
from ticketing.models import CallRecord, utcnow

log = logging.getLogger(__name__)
REASON_LENGTH: int = CallRecord.unknown_reason.property.columns[0].type.length


class ReconcileStore(Protocol):
    async def backfill(self, records: Iterable[Mapping[str, Any]]) -> int: ...

    async def mark_unresolved(self, server: str, *, since: datetime, until: datetime, reason: str,
                              still_open: Collection[str]) -> int: ...


class QueueLogSource(Protocol):
    describe: str

    async def lines_since(self, since: datetime) -> list[str]: ...

    async def close(self) -> None: ...


def _lines_since(path: Path, since: datetime) -> list[str]:
    cutoff = int(since.timestamp())
    with path.open(encoding="utf-8", errors="replace") as queue_log:
        return [line for line in queue_log
                if (stamp := line.split("|", 1)[0]).isdigit() and int(stamp) >= cutoff]


class QueueLogFile:
    def __init__(self, path: Path) -> None:
        self._path = path
        self.describe = f"file {path}"

    async def lines_since(self, since: datetime) -> list[str]:
        return await asyncio.to_thread(_lines_since, self._path, since)

    async def close(self) -> None:
        return None


def queue_log_source(server: AmiServer) -> QueueLogSource | None:
    """Where this PBX's queue_log is read, if it is configured."""
    if server.queue_log is not None:
        return QueueLogFile(server.queue_log)
    if server.queue_log_table is not None:
        config = server.queue_log_table
        return QueueLogTableReader(config.url, config.table, timezone=config.timezone)
    return None


def ended(call: CallData) -> bool:
    """The queue_log saw the call leave every queue it entered (a caller still waiting or talking,
    or one whose end Asterisk never wrote, is not resolved by it)."""
    return bool(call.legs) and all(leg.left_at is not None for leg in call.legs)


def _clock_time(at: datetime, zone: tzinfo) -> str:
    return at.astimezone(zone).strftime("%H:%M:%S")


def _zone_label(at: datetime, zone: tzinfo) -> str:
    local = at.astimezone(zone)
    return "UTC" if not local.utcoffset() else f"UTC{local.isoformat()[-6:]}"


async def _nothing_pending() -> None:
    return None


class QueueLogReconciler:
    """`sources`: every live server, with its queue_log or None (then unresolved calls say so).
    `settle`: returns once the records submitted so far are stored (`RecordWriter.drained`)."""

    def __init__(self, model: LiveModel, store: ReconcileStore, sources: Mapping[str, QueueLogSource | None],
                 *, settle: Callable[[], Awaitable[None]] = _nothing_pending,
                 lookback: timedelta = timedelta(hours=1), clock: Callable[[], datetime] = utcnow,
                 zone: tzinfo = UTC) -> None:
        self._model = model
        self._store = store
        self._sources = dict(sources)
        self._settle = settle
        self._lookback = lookback
        self._clock = clock
        self._zone = zone  # the calendar's: a reason is read by supervisors in local time
        self._started = clock()
        self._down_since: dict[str, datetime] = {}
        self._tasks: set[asyncio.Task[int]] = set()
        self.stored: dict[str, int] = {}  # per server: calls stored or repaired so far
        self._unlisten = model.listen(self._on_event)

    def _on_event(self, event: ChangeEvent) -> None:
        if not isinstance(event, ConnectionChanged) or event.server not in self._sources:
            return
        if event.state == "ready":
            down = self._down_since.pop(event.server, None)
            task = asyncio.get_running_loop().create_task(self.reconcile(event.server, down, self._clock()))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif event.state in ("disconnected", "stopped"):
            self._down_since.setdefault(event.server, event.last_heard or self._clock())

    async def reconcile(self, server: str, down: datetime | None, until: datetime) -> int:
        """The gap `down`…`until` (`down` None: before the product's first link, since its start)."""
        since = down or self._started
        zone, label = self._zone, _zone_label(until, self._zone)
        gap = (f"AMI link down {_clock_time(since, zone)}–{_clock_time(until, zone)} {label}" if down is not None
               else f"ended before the product was linked to the PBX ({_clock_time(until, zone)} {label})")
        source = self._sources[server]
        stored = 0
        try:
            await self._settle()
            calls: list[dict[str, Any]] = []
            if source is None:
                reason = f"{gap}; queue_log not configured"
            else:
                try:
                    lines = await source.lines_since(since - self._lookback)
                    calls = [c.record_fields() for c in parse_queue_log(lines, server=server).calls if ended(c)]
                    reason = f"{gap}; queue_log has no end for it"
                except Exception as exc:
                    log.exception("ami %s: reading queue_log (%s) failed", server, source.describe)
                    error = str(exc) if isinstance(exc, QueueLogTableError) else f"{type(exc).__name__}: {exc}"
                    reason = f"{gap}; queue_log unreadable ({source.describe}): {error}"
            if calls:
                stored = await self._store.backfill(calls)
                log.info("ami %s: queue_log since %s: %d finished calls, %d stored or repaired", server,
                         (since - self._lookback).isoformat(timespec="seconds"), len(calls), stored)
            reason = reason[:REASON_LENGTH]
            still_open = {call.linkedid for call in self._model.open_calls(server)}
            unresolved = await self._store.mark_unresolved(server, since=since, until=until, reason=reason,
                                                           still_open=still_open)
        except Exception:
            log.exception("ami %s: reconciling the gap %s failed", server, gap)
            return stored
        self.stored[server] = self.stored.get(server, 0) + stored
        if unresolved:
            log.warning("ami %s: %d calls stay unknown: %s", server, unresolved, reason)
        self._model.publish(Reconciled(server, since, until, stored, unresolved, reason if unresolved else ""))
        return stored

    async def stop(self) -> None:
        self._unlisten()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for source in self._sources.values():
            if source is not None:
                await source.close()
