"""Hourly roll-ups of the call KPIs' counters, kept by `ticketing.call_rollups` (see docs/reports.md)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base


class CallRollup(Base):
    """The counters of `ticketing.call_kpis.CallCounts` for the calls (under the queue each ended
    in), the queue legs, or the answered legs per agent (`ticketing.call_rollups.LEVELS`) that
    entered a queue in one local hour or day on one PBX. The summed seconds are kept in
    microseconds, so adding and taking back a call is exact."""

    __tablename__ = "call_rollups"
    # Today's rows take an update per ticket (per call): room on each page keeps those updates HOT (no
    # new index entry, far less WAL and time; measured in docs/benchmarks.md, "Intake").
    __table_args__ = ({"postgresql_with": {"fillfactor": 70}},)

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    period: Mapped[str] = mapped_column(String(16), primary_key=True)  # local hour 2026-11-28T09:00 or day 2026-11-28
    server: Mapped[str] = mapped_column(String(64), primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent: Mapped[str] = mapped_column(String(64), primary_key=True)
    offered: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    abandoned: Mapped[int] = mapped_column(Integer)
    short_abandoned: Mapped[int] = mapped_column(Integer)
    timeout: Mapped[int] = mapped_column(Integer)
    exit_with_key: Mapped[int] = mapped_column(Integer)
    transferred: Mapped[int] = mapped_column(Integer)
    unknown: Mapped[int] = mapped_column(Integer)
    in_queue: Mapped[int] = mapped_column(Integer)
    answered_within_15s: Mapped[int] = mapped_column(Integer)
    answered_within_sl: Mapped[int] = mapped_column(Integer)
    abandoned_within_sl: Mapped[int] = mapped_column(Integer)
    answered_wait_seconds: Mapped[int] = mapped_column(BigInteger)  # microseconds
    talk_seconds: Mapped[int] = mapped_column(BigInteger)  # microseconds
    talked: Mapped[int] = mapped_column(Integer)


class CallRollupBasis(Base):
    """What the call roll-ups were counted with (one row, id 1; none: the defaults): the calendar's
    UTC offset of the hours and the thresholds the counters compare waits with."""

    __tablename__ = "call_rollup_basis"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    utc_offset_hours: Mapped[int] = mapped_column(SmallInteger)
    service_level_seconds: Mapped[float] = mapped_column(Float)
    short_abandon_seconds: Mapped[float] = mapped_column(Float)
