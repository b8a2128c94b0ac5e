"""Configuration administrators edit at run time, read by every process: the working calendar's
entries (a year's State Council notice) and the routing rules.

The database is the one home of both edits. Each edit bumps its row in `config_versions` in the same
transaction; a process compares those versions with the ones it loaded, at most once per `ttl`
seconds (one tiny query), and reloads what changed. So a change reaches every worker within `ttl`,
and the worker that made it at once (`forget()`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.db import SessionFactory
from ticketing.models import CalendarDay, ConfigVersion, RoutingRuleRow, utcnow
from ticketing.routing import Rule, validate_rules

CALENDAR, ROUTING = "calendar", "routing"
Versions = dict[str, int]


@dataclass(frozen=True)
class NoticeDay:
    day: date
    workday: bool  # False: a holiday (放假); True: a weekend day worked (调休上班)
    note: str = ""


class VersionCheck:
    """The current versions, asked of the database at most once per `ttl` seconds."""

    def __init__(self, sessions: SessionFactory, ttl: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._sessions, self._ttl, self._clock = sessions, ttl, clock
        self._cached: Versions | None = None
        self._checked_at = 0.0

    async def current(self) -> Versions:
        now = self._clock()
        if self._cached is None or now - self._checked_at >= self._ttl:
            async with self._sessions() as session:
                rows = (await session.execute(select(ConfigVersion.name, ConfigVersion.version))).all()
            self._cached, self._checked_at = {name: version for name, version in rows}, now
        return self._cached

    def forget(self) -> None:
        """Ask again next time (after this process changed something)."""
        self._cached = None


async def notices(session: AsyncSession) -> dict[date, bool]:
    """Every admin calendar entry: day → is a working day."""
    rows = await session.execute(select(CalendarDay.day, CalendarDay.workday))
    return {day: workday for day, workday in rows.all()}


async def notice_days(session: AsyncSession, year: int) -> list[NoticeDay]:
    rows = await session.scalars(select(CalendarDay).where(CalendarDay.year == year).order_by(CalendarDay.day))
    return [NoticeDay(r.day, r.workday, r.note) for r in rows]


async def notice_years(session: AsyncSession) -> list[int]:
    return list((await session.scalars(select(CalendarDay.year).distinct().order_by(CalendarDay.year))).all())


async def replace_year(session: AsyncSession, year: int, days: Sequence[NoticeDay], actor: str) -> None:
    """A year's notice, replacing what was entered for it before (an empty list removes the year)."""
    seen: set[date] = set()
    for entry in days:
        if entry.day.year != year:
            raise ValueError(f"{entry.day.isoformat()} is not in {year}")
        if entry.day in seen:
            raise ValueError(f"{entry.day.isoformat()} is listed twice")
        seen.add(entry.day)
        if entry.workday and entry.day.weekday() < 5:
            raise ValueError(f"{entry.day.isoformat()} is a weekday: only a weekend day can be a 调休 working day")
    await session.execute(delete(CalendarDay).where(CalendarDay.year == year))
    now = utcnow()
    session.add_all(CalendarDay(day=e.day, year=year, workday=e.workday, note=e.note.strip()[:64],
                                updated_by=actor, updated_at=now) for e in days)
    await bump(session, CALENDAR)


async def saved_rules(session: AsyncSession) -> list[Rule]:
    """The admin's rules in order; empty: none saved, the rules file decides."""
    rows = await session.scalars(select(RoutingRuleRow).order_by(RoutingRuleRow.position))
    return [Rule(r.name, r.when, r.lead, r.co, r.explain) for r in rows]


async def save_rules(session: AsyncSession, rules: Sequence[Rule]) -> None:
    checked = validate_rules(rules)
    await session.execute(delete(RoutingRuleRow))
    session.add_all(RoutingRuleRow(position=i, **asdict(rule)) for i, rule in enumerate(checked))
    await bump(session, ROUTING)


async def bump(session: AsyncSession, name: str) -> None:
    """One statement, so two first edits at once both count (an UPDATE-else-INSERT would collide)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(ConfigVersion).values(name=name, version=1)
    await session.execute(stmt.on_conflict_do_update(index_elements=[ConfigVersion.name],
                                                     set_={"version": ConfigVersion.version + 1}))
