"""Readable ticket numbers (JS20261128-000123) from per-day blocks reserved in the database.

Each process reserves a block of numbers in one short transaction and hands them out from
memory, like a cached database sequence. Numbers stay unique across processes and hosts; a
process that stops leaves a gap, which is harmless. Intake then costs no sequence round trip and
no lock on a shared row for most tickets. A process that uses its block up takes twice as many
the next time the same day (up to `max_block`), so a busy one seldom reserves while a quiet one
leaves a small gap; each day starts again from `block`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.errors import InvalidAction
from ticketing.models import TicketSequence

MAX_PER_DAY = 999_999
_TABLE = cast(Table, TicketSequence.__table__)
_RESERVE = {
    name: dialect_insert(_TABLE)
    .values(day=bindparam("day"), last=bindparam("block"))
    .on_conflict_do_update(index_elements=["day"], set_={"last": _TABLE.c.last + bindparam("block")})
    .returning(_TABLE.c.last)
    for name, dialect_insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


class TicketNumbers:
    def __init__(self, engine: AsyncEngine, prefix: str, tz: ZoneInfo, block: int = 50,
                 max_block: int = 1000) -> None:
        if not 1 <= block <= max_block:
            raise ValueError("block must be at least 1 and at most max_block")
        self._engine, self._prefix, self._tz = engine, prefix, tz
        self._block, self._max_block = block, max_block
        self._lock = asyncio.Lock()
        self._day = ""
        self._size = self._next = self._end = 0

    async def next(self, now: datetime) -> tuple[str, str]:
        """The next (number, digits) for the local date of `now`."""
        day = now.astimezone(self._tz).strftime("%Y%m%d")
        async with self._lock:
            if day != self._day or self._next > self._end:
                size = min(self._size * 2, self._max_block) if day == self._day else self._block
                self._end = await self._reserve(day, size)
                self._day, self._size, self._next = day, size, self._end - size + 1
            seq = self._next
            self._next += 1
        if seq > MAX_PER_DAY:
            raise InvalidAction(f"ticket numbers for {day} exhausted")
        return f"{self._prefix}{day}-{seq:06d}", f"{day}{seq:06d}"

    async def _reserve(self, day: str, size: int) -> int:
        """The last number of a block of `size` numbers reserved for `day`."""
        async with self._engine.begin() as conn:
            statement = _RESERVE[conn.dialect.name]
            return int((await conn.execute(statement, {"day": day, "block": size})).scalar_one())
