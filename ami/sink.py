"""From assembled calls (and queue memberships) to stored rows, without ever blocking the AMI reader.

`RecordWriter.submit(call)` is the model's `on_call` callback: it snapshots the call's columns into
a backlog keyed by (server, linkedid), so several updates of one call coalesce into one write and
the backlog is bounded by the number of distinct calls. Past `maxsize`, the oldest in-progress
update is dropped (its call's final record will come later); final records are dropped last.
`put(key, row)` does the same for any keyed row (a `Membership`, finished once logged out).
`run()` writes batches through the store's idempotent `upsert_many` until `close()`, which lets
the batch being written finish (a transaction cut by cancellation can leave SQLite locked).
`drained()` waits until everything put so far is written.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from ami.calldata import CallData
from ticketing.calls import merge_record
from ticketing.leadership import Fenced

log = logging.getLogger("ami.sink")
Key = tuple[str, str]


class RecordStore(Protocol):
    async def upsert_many(self, records: Iterable[Mapping[str, Any]]) -> int: ...


class MembershipStore(RecordStore, Protocol):
    """Where queue memberships go (`ticketing.presence.PresenceStore`)."""

    async def close_open(self, servers: Sequence[str], at: datetime) -> None: ...


class InMemoryCallStore:
    """The same idempotent semantics as `ticketing.calls.CallStore`, in a dict (bench, replay)."""

    def __init__(self) -> None:
        self.records: dict[Key, dict[str, Any]] = {}

    def put(self, record: Mapping[str, Any]) -> None:
        key = (record["server"], record["linkedid"])
        merged = merge_record(self.records.get(key), record)
        if merged is not None:
            self.records[key] = merged

    async def upsert_many(self, records: Iterable[Mapping[str, Any]]) -> int:
        count = 0
        for record in records:
            self.put(record)
            count += 1
        return count


def _call_final(record: Mapping[str, Any]) -> bool:
    return bool(record["final"])


class RecordWriter:
    def __init__(self, store: RecordStore, *, maxsize: int = 10000, batch: int = 200,
                 finished: Callable[[Mapping[str, Any]], bool] = _call_final) -> None:
        self._store = store
        self._backlog: OrderedDict[Hashable, dict[str, Any]] = OrderedDict()
        self._maxsize = maxsize
        self._batch = batch
        self._finished = finished
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closed = False
        self.dropped = 0

    def submit(self, call: CallData) -> None:
        self.put(call.key, call.record_fields())

    def put(self, key: Hashable, record: dict[str, Any]) -> None:
        self._backlog.pop(key, None)
        self._backlog[key] = record
        self._idle.clear()
        if len(self._backlog) > self._maxsize:
            self._drop_one()
        self._wake.set()

    def _drop_one(self) -> None:
        for key, record in self._backlog.items():
            if not self._finished(record):
                del self._backlog[key]
                break
        else:
            self._backlog.popitem(last=False)
        self.dropped += 1

    def pending(self) -> int:
        return len(self._backlog)

    async def drained(self) -> None:
        """Returns once nothing is waiting nor being written (what was put before is stored)."""
        await self._idle.wait()

    async def flush(self) -> None:
        while self._backlog:
            batch: list[tuple[Hashable, dict[str, Any]]] = []
            while self._backlog and len(batch) < self._batch:
                batch.append(self._backlog.popitem(last=False))
            try:
                await self._store.upsert_many([record for _, record in batch])
            except BaseException:  # also on cancellation: stop() flushes what is left
                for key, record in batch:  # keep them, unless a newer update arrived meanwhile
                    self._backlog.setdefault(key, record)
                raise
        self._idle.set()

    def close(self) -> None:
        self._closed = True
        self._wake.set()

    async def run(self) -> None:
        while not self._closed:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except Fenced as over:  # a newer leader stores them; this process is stepping down
                log.warning("not storing call records: %s", over)
                await self._retry_soon()
            except Exception:  # a database hiccup must not kill the writer
                log.exception("storing call records failed; will retry")
                await self._retry_soon()

    async def _retry_soon(self) -> None:
        await asyncio.sleep(1.0)
        self._wake.set()  # what failed is back in the backlog: retry it even if nothing new comes
