"""After a gap in the AMI stream, let the PBX's queue_log tell how the missed calls ended.

A call that ended while the link was down (or before the product started) is closed `unknown` by
the resync: the AMI never said how it ended. Asterisk's queue_log did. Each time a PBX's link is
ready again — at start-up and after every reconnect — the reconciler reads that PBX's queue_log
from `lookback` before the gap began (calls in the gap may have entered the queue that long
before) and stores its finished calls through the store's `backfill`: calls never stored are
added, calls left in progress or `unknown` are repaired, calls the AMI saw to the end are left
alone (`ticketing.calls.CallStore.backfill`). What the queue_log does not resolve stays `unknown`.

The queue_log must be readable here: the file on the PBX host (a read-only mount, or a copy kept
in sync) named by the server's `queue_log` setting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from ami.events import ChangeEvent, ConnectionChanged
from ami.model import LiveModel
from ami.queue_log import parse_queue_log
from ticketing.models import utcnow

log = logging.getLogger(__name__)


class BackfillStore(Protocol):
    async def backfill(self, records: Iterable[Mapping[str, Any]]) -> int: ...


def _lines_since(path: Path, since: datetime) -> list[str]:
    cutoff = int(since.timestamp())
    with path.open(encoding="utf-8", errors="replace") as queue_log:
        return [line for line in queue_log
                if (stamp := line.split("|", 1)[0]).isdigit() and int(stamp) >= cutoff]


class QueueLogReconciler:
    def __init__(self, model: LiveModel, store: BackfillStore, files: Mapping[str, Path], *,
                 lookback: timedelta = timedelta(hours=1), clock: Callable[[], datetime] = utcnow) -> None:
        self._store = store
        self._files = dict(files)
        self._lookback = lookback
        self._clock = clock
        self._started = clock()
        self._down_since: dict[str, datetime] = {}
        self._tasks: set[asyncio.Task[int]] = set()
        self.stored: dict[str, int] = {}  # per server: calls stored or repaired so far
        self._unlisten = model.listen(self._on_event)

    def _on_event(self, event: ChangeEvent) -> None:
        if not isinstance(event, ConnectionChanged) or event.server not in self._files:
            return
        if event.state == "ready":
            gap_began = self._down_since.pop(event.server, self._started)
            task = asyncio.get_running_loop().create_task(self.reconcile(event.server, gap_began - self._lookback))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif event.state in ("disconnected", "stopped"):
            self._down_since.setdefault(event.server, self._clock())

    async def reconcile(self, server: str, since: datetime) -> int:
        path = self._files[server]
        try:
            lines = await asyncio.to_thread(_lines_since, path, since)
            calls = [c.record_fields() for c in parse_queue_log(lines, server=server).calls if c.final]
            stored = await self._store.backfill(calls)
        except Exception:
            log.exception("ami %s: reconciling from %s failed", server, path)
            return 0
        self.stored[server] = self.stored.get(server, 0) + stored
        log.info("ami %s: queue_log since %s: %d finished calls, %d stored or repaired", server,
                 since.isoformat(timespec="seconds"), len(calls), stored)
        return stored

    async def stop(self) -> None:
        self._unlisten()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
