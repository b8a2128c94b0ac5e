"""Wallboard kiosk keys: a wall screen has no user to log in as, so it shows a key instead.

A key is created with `hotline users kiosk add NAME` (printed once, only its digest is stored) and
revoked with `hotline users kiosk revoke NAME`; a revoked key is refused within `check_seconds`,
on open streams too.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from agent_desk.accounts import key_digest, kiosk_for
from agent_desk.supervision.cache import TtlCache
from ticketing.db import SessionFactory


class KioskKeys:
    def __init__(self, sessions: SessionFactory, *, check_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._sessions = sessions
        self._names: TtlCache[str | None] = TtlCache(check_seconds, clock)

    async def name_of(self, key: str) -> str | None:
        """The kiosk's name if `key` is an active kiosk key, else None."""

        async def load() -> str | None:
            kiosk = await kiosk_for(self._sessions, key)
            return kiosk.name if kiosk is not None else None

        return await self._names.get(key_digest(key), load)
