"""The version rows every process checks to take up administrators' edits."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import Database
from ticketing.live_config import ROUTING, VersionCheck, bump

pytestmark = pytest.mark.anyio


async def test_two_first_edits_at_once_both_count(db: Database) -> None:
    """The very first edits of a kind, overlapping: neither fails on the row the other creates."""

    async def edit(delay_before: float, delay_after: float) -> None:
        await asyncio.sleep(delay_before)
        async with db.sessions() as session, session.begin():
            await bump(session, ROUTING)
            await asyncio.sleep(delay_after)  # still uncommitted while the other one writes

    await asyncio.gather(edit(0, 0.3), edit(0.1, 0))
    assert (await VersionCheck(db.sessions).current())[ROUTING] == 2
