"""Ticket numbers from blocks reserved per day, the block doubling while a process uses it up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.conftest import Database
from ticketing.models import TicketSequence
from ticketing.numbering import TicketNumbers

pytestmark = pytest.mark.anyio

CST = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


async def _reserved(db: Database, day: str) -> int:
    async with db.sessions() as session:
        return int((await session.scalar(select(TicketSequence.last).where(TicketSequence.day == day))) or 0)


async def test_blocks_double_up_to_the_maximum_and_numbers_run_on(db: Database) -> None:
    numbers = TicketNumbers(db.engine, "JS", CST, block=2, max_block=8)
    reserved = []
    for seq in range(1, 16):
        assert await numbers.next(DAY) == (f"JS20261128-{seq:06d}", f"20261128{seq:06d}")
        reserved.append(await _reserved(db, "20261128"))
    # Blocks of 2, 4, 8, 8: reserved when the one before is used up, never before.
    assert reserved == [2, 2, 6, 6, 6, 6, 14, 14, 14, 14, 14, 14, 14, 14, 22]


async def test_another_process_starts_after_the_reserved_blocks(db: Database) -> None:
    first = TicketNumbers(db.engine, "JS", CST, block=2, max_block=8)
    for _ in range(3):  # blocks of 2 and 4: 1-6 reserved
        await first.next(DAY)
    other = TicketNumbers(db.engine, "JS", CST, block=2, max_block=8)
    assert (await other.next(DAY))[0] == "JS20261128-000007"
    assert (await first.next(DAY))[0] == "JS20261128-000004"


async def test_a_new_day_starts_again_from_the_first_block(db: Database) -> None:
    numbers = TicketNumbers(db.engine, "JS", CST, block=2, max_block=8)
    for _ in range(7):  # blocks of 2, 4 and 8 on the 28th
        await numbers.next(DAY)
    assert (await numbers.next(DAY + timedelta(days=1)))[0] == "JS20261129-000001"
    assert await _reserved(db, "20261129") == 2


def test_a_block_must_fit_under_the_maximum() -> None:
    with pytest.raises(ValueError, match="block"):
        TicketNumbers(None, "JS", CST, block=10, max_block=5)  # type: ignore[arg-type]
