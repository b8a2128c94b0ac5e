"""Hot spots: a category in a county rising far above its usual rate within the last hour.

Usual rate = tickets per hour in that (category, county) over the previous `baseline_days`.
An alert fires when the last hour has at least `min_tickets` and more than `factor` × usual
(a water outage floods one county with 求助 calls within minutes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.models import Ticket


@dataclass(frozen=True)
class HotSpot:
    category: str
    county_code: str
    last_hour: int
    usual_per_hour: float
    factor: float | None  # last_hour ÷ usual; None when there is no history


async def hot_spots(session: AsyncSession, *, now: datetime, factor: float = 3, min_tickets: int = 5,
                    baseline_days: int = 14, scope: ColumnElement[bool] | None = None) -> list[HotSpot]:
    hour_ago = now - timedelta(hours=1)
    base_from = hour_ago - timedelta(days=baseline_days)
    where = [Ticket.county_code.is_not(None)] + ([scope] if scope is not None else [])
    recent_q = (select(Ticket.category, Ticket.county_code, func.count().label("n"))
                .where(Ticket.created_at >= hour_ago, Ticket.created_at <= now, *where)
                .group_by(Ticket.category, Ticket.county_code).having(func.count() >= min_tickets))
    recent = {(str(r.category), str(r.county_code)): int(r.n) for r in (await session.execute(recent_q)).all()}
    if not recent:
        return []
    counties = sorted({county for _, county in recent})
    base_q = (select(Ticket.category, Ticket.county_code, func.count().label("n"))
              .where(Ticket.created_at >= base_from, Ticket.created_at < hour_ago,
                     Ticket.county_code.in_(counties), *where)
              .group_by(Ticket.category, Ticket.county_code))
    baseline = {(str(r.category), str(r.county_code)): int(r.n) for r in (await session.execute(base_q)).all()}
    hours = baseline_days * 24
    spots = []
    for (category, county), n in recent.items():
        usual = baseline.get((category, county), 0) / hours
        if n > factor * usual:
            spots.append(HotSpot(category, county, n, round(usual, 3), round(n / usual, 1) if usual else None))
    return sorted(spots, key=lambda s: -s.last_hour)
