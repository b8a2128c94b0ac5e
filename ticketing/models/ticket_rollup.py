"""Daily roll-ups of the ticket KPIs' counters, kept by `ticketing.rollups` (see docs/metrics.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base


class TicketRollup(Base):
    """The counters of the tickets created on one local day (or month) with one set of dimension values.

    Each `grain` keeps some of the dimensions (`ticketing.rollups.GRAINS`); the others hold '' there,
    as does a dimension the ticket has no value for (a city-level ticket's county).
    """

    __tablename__ = "ticket_rollups"
    # Today's rows take an update per ticket (per call): room on each page keeps those updates HOT (no
    # new index entry, far less WAL and time; measured in docs/benchmarks.md, "Intake").
    __table_args__ = ({"postgresql_with": {"fillfactor": 70}},)

    grain: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # local date 2026-11-28, or month 2026-11
    city_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(48), primary_key=True)  # the lead unit
    category: Mapped[str] = mapped_column(String(24), primary_key=True)
    channel: Mapped[str] = mapped_column(String(24), primary_key=True)
    total: Mapped[int] = mapped_column(Integer)
    signed: Mapped[int] = mapped_column(Integer)
    signed_on_time: Mapped[int] = mapped_column(Integer)
    closed: Mapped[int] = mapped_column(Integer)
    green: Mapped[int] = mapped_column(Integer)
    rated: Mapped[int] = mapped_column(Integer)
    satisfied: Mapped[int] = mapped_column(Integer)
    redone: Mapped[int] = mapped_column(Integer)
    extended: Mapped[int] = mapped_column(Integer)
    returned: Mapped[int] = mapped_column(Integer)
    handling_us: Mapped[int] = mapped_column(BigInteger)  # summed closed − created, microseconds: exact
    red: Mapped[int] = mapped_column(Integer)  # open and past a deadline before the red watermark


class RedWatermark(Base):
    """The instant up to which `ticket_rollups.red` counts the tickets that turned red (one row, id 1;
    none: the roll-ups count no red yet, and red now is counted from the tickets)."""

    __tablename__ = "ticket_red_watermark"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    at: Mapped[datetime | None]
