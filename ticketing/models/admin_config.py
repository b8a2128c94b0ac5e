"""What administrators edit at run time and every process reads: the working calendar's entries,
the routing rules, and one version counter per kind so a process notices a change at once."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, utcnow


class CalendarDay(Base):
    """One day of a year's State Council notice: a holiday (放假) or a swapped working day (调休上班)."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    workday: Mapped[bool] = mapped_column(Boolean)  # False: a holiday; True: a weekend day worked
    note: Mapped[str] = mapped_column(String(64), default="")  # 春节, 国庆节 …
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoutingRuleRow(Base):
    """One routing rule, in order (`position`); once any row exists these replace the rules file."""

    __tablename__ = "routing_rules"

    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    when: Mapped[str] = mapped_column(String(32))
    lead: Mapped[str] = mapped_column(String(32))
    co: Mapped[str] = mapped_column(String(32))
    explain: Mapped[str] = mapped_column(String(400))


class ConfigVersion(Base):
    """Bumped in the same transaction as an edit of `name` ("calendar", "routing")."""

    __tablename__ = "config_versions"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
