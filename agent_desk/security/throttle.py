"""Throttling of guesses at a secret (a password, the phone number a request was made with), shared
through the database so it holds across worker processes.

Two limits within a sliding window: failed attempts per subject (a username from any address, or
one request's number), and failed attempts per address across subjects (so spraying many usernames
from one place is caught). An attempt is written before the secret is checked, so a burst of
parallel attempts is counted too; a successful one is then deleted, with the subject's earlier
failures.

Why the database and not Redis: every deployment already shares one database between its API
workers, and the embedded default (`make run`, SQLite) has no Redis. Guesses are rare next to the
argon2 check a log-in costs, so one insert and two indexed counts per attempt are negligible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.db import SessionFactory
from ticketing.models import ThrottleAttempt, utcnow


@dataclass(frozen=True)
class Attempt:
    id: int
    subject: str
    retry_after: float  # seconds; 0 when the attempt may go ahead


class Throttle:
    def __init__(self, sessions: SessionFactory, kind: str, *, per_subject: int, per_address: int,
                 window_seconds: float, clock: Callable[[], datetime] = utcnow) -> None:
        self._sessions = sessions
        self._kind = kind
        self._per_subject = per_subject
        self._per_address = per_address
        self._window = timedelta(seconds=window_seconds)
        self._clock = clock

    async def attempt(self, subject: str, address: str) -> Attempt:
        """Record an attempt and say whether it may go ahead. A refused attempt is not kept."""
        now = self._clock()
        since = now - self._window
        subject, address = subject.casefold()[:64], address[:64]
        async with self._sessions.begin() as session:
            await session.execute(delete(ThrottleAttempt).where(ThrottleAttempt.kind == self._kind,
                                                                ThrottleAttempt.at < since))
            attempt_id: int = (await session.execute(
                insert(ThrottleAttempt).values(kind=self._kind, at=now, subject=subject, address=address)
                .returning(ThrottleAttempt.id))).scalar_one()
        earlier = (ThrottleAttempt.kind == self._kind, ThrottleAttempt.id < attempt_id, ThrottleAttempt.at >= since)
        async with self._sessions() as session:
            oldest = [await _oldest_over(session, ThrottleAttempt.subject == subject, self._per_subject, earlier),
                      await _oldest_over(session, ThrottleAttempt.address == address, self._per_address, earlier)]
        blocked = [at for at in oldest if at is not None]
        if not blocked:
            return Attempt(attempt_id, subject, 0.0)
        async with self._sessions.begin() as session:
            await session.execute(delete(ThrottleAttempt).where(ThrottleAttempt.id == attempt_id))
        return Attempt(attempt_id, subject, max(1.0, (min(blocked) + self._window - now).total_seconds()))

    async def succeeded(self, attempt: Attempt) -> None:
        async with self._sessions.begin() as session:
            await session.execute(delete(ThrottleAttempt).where(or_(
                ThrottleAttempt.id == attempt.id,
                (ThrottleAttempt.kind == self._kind) & (ThrottleAttempt.subject == attempt.subject)
                & (ThrottleAttempt.id < attempt.id))))


async def _oldest_over(session: AsyncSession, key: ColumnElement[bool], limit: int,
                       earlier: tuple[ColumnElement[bool], ...]) -> datetime | None:
    """The oldest counted attempt if `limit` or more earlier attempts match `key`, else None."""
    count, oldest = (await session.execute(
        select(func.count(), func.min(ThrottleAttempt.at)).where(key, *earlier))).one()
    return oldest if count >= limit else None
