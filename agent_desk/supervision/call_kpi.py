"""Telephony KPIs from call records, in SQL (DESIGN §3): one GROUP BY, no rows loaded.

The overall figures agree with the AMI engineer's `ticketing.call_kpis.compute_call_kpis` (which
folds records in Python; tests cross-check the two); this SQL form serves period and breakdown
queries over many days without loading every call.

- offered = calls that entered a queue; short abandon = abandoned with wait < `short_abandon_s`;
- answer rate (接通率) = answered ÷ (offered − short abandons); raw rate = answered ÷ offered;
- answered within 15 s (人工应答及时率) = answered with wait ≤ 15 s ÷ answered;
- service level = answered with wait ≤ T ÷ answered; SL2 = (answered + abandoned, each within T)
  ÷ (answered + abandoned), as Asterisk's servicelevel2 and `ticketing.call_kpis` compute it;
- ASA = mean wait of answered calls; AHT = mean talk time of answered calls.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from ticketing.models import CallOutcome, CallRecord
from ticketing.sqlfunc import local_bucket


class CallDimension(enum.StrEnum):
    QUEUE = "queue"
    AGENT = "agent"
    HOUR = "hour"
    DAY = "day"


@dataclass(frozen=True)
class CallKpi:
    key: str | None
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    answered_within_15s: int
    answered_within_sl: int
    abandoned_within_sl: int
    answer_rate: float | None
    raw_answer_rate: float | None
    answered_within_15s_rate: float | None
    service_level: float | None
    service_level2: float | None
    asa_seconds: float | None
    aht_seconds: float | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole > 0 else None


async def call_kpis(session: AsyncSession, *, since: datetime, until: datetime,
                    where: list[ColumnElement[bool]] | None = None, by: CallDimension | None = None,
                    service_level_s: float = 20, short_abandon_s: float = 5,
                    utc_offset_hours: int = 8) -> list[CallKpi]:
    answered = CallRecord.outcome == CallOutcome.ANSWERED
    abandoned = CallRecord.outcome == CallOutcome.ABANDONED
    wait = func.coalesce(CallRecord.wait_seconds, 0)
    key: ColumnElement[Any] | QueryableAttribute[Any] | None
    match by:
        case CallDimension.QUEUE:
            key = CallRecord.queue
        case CallDimension.AGENT:
            key = CallRecord.agent
        case CallDimension.HOUR | CallDimension.DAY:
            key = local_bucket(CallRecord.entered_at, by.value, utc_offset_hours)
        case _:
            key = None
    columns = [
        func.count().label("offered"),
        func.sum(case((answered, 1), else_=0)).label("answered"),
        func.sum(case((abandoned, 1), else_=0)).label("abandoned"),
        func.sum(case((and_(abandoned, wait < short_abandon_s), 1), else_=0)).label("short"),
        func.sum(case((and_(answered, wait <= 15), 1), else_=0)).label("within15"),
        func.sum(case((and_(answered, wait <= service_level_s), 1), else_=0)).label("within_sl"),
        func.sum(case((and_(abandoned, wait <= service_level_s), 1), else_=0)).label("abandoned_sl"),
        func.avg(case((answered, wait))).label("asa"),
        func.avg(case((answered, CallRecord.talk_seconds))).label("aht"),
    ]
    query = select(*([key.label("key")] if key is not None else []), *columns).where(
        CallRecord.queue.is_not(None), CallRecord.entered_at >= since, CallRecord.entered_at < until,
        *(where or []))
    if key is not None:
        query = query.group_by(key).order_by(key)
    result = []
    for row in (await session.execute(query)).all():
        offered, ans, ab = int(row.offered), int(row.answered or 0), int(row.abandoned or 0)
        short, w15, wsl, absl = (int(row.short or 0), int(row.within15 or 0), int(row.within_sl or 0),
                                 int(row.abandoned_sl or 0))
        result.append(CallKpi(
            key=str(row.key) if key is not None and row.key is not None else None,
            offered=offered, answered=ans, abandoned=ab, short_abandoned=short, answered_within_15s=w15,
            answered_within_sl=wsl, abandoned_within_sl=absl, answer_rate=_rate(ans, offered - short),
            raw_answer_rate=_rate(ans, offered), answered_within_15s_rate=_rate(w15, ans),
            service_level=_rate(wsl, ans), service_level2=_rate(wsl + absl, ans + ab),
            asa_seconds=round(float(row.asa), 2) if row.asa is not None else None,
            aht_seconds=round(float(row.aht), 2) if row.aht is not None else None,
        ))
    return result
