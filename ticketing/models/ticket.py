"""The ticket (工单), its co-handlers and its append-only event history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ticketing.models.base import Base, enum_type, utcnow
from ticketing.models.region import RegionLevel
from ticketing.vocabulary import Category, Channel, Rating, TicketState


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_state_sign_due", "state", "sign_due_at"),
        Index("ix_tickets_state_due", "state", "due_at"),
        Index("ix_tickets_caller_created", "caller_number", "created_at"),
        # An agent's tickets, newest first: their page without walking everyone's newer tickets.
        Index("ix_tickets_creator_id", "creator_id", "id"),
        # Covers the KPI-by-city query, so it never reads the table itself.
        Index("ix_tickets_city_kpi", "city_code", "sign_ok", "close_ok", "satisfied", "created_at",
              "handling_seconds", "red_after"),
        # "Red now" (open and overdue) is the only KPI read from live rows: open tickets with a deadline.
        Index("ix_tickets_open_red", "red_after", "created_at", "city_code", "county_code", "lead_unit_id",
              "category", "channel", postgresql_where=text("red_after IS NOT NULL"),
              sqlite_where=text("red_after IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)  # JS20261128-000123
    digits: Mapped[str] = mapped_column(String(20), unique=True)  # 20261128000123, for DTMF
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    caller_number: Mapped[str | None] = mapped_column(String(32))
    caller_name: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[Category] = mapped_column(enum_type(Category))
    description: Mapped[str] = mapped_column(Text)
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    city_code: Mapped[str | None] = mapped_column(String(6))  # denormalised from region, for KPIs
    county_code: Mapped[str | None] = mapped_column(String(6), index=True)
    address: Mapped[str] = mapped_column(String(256), default="")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[TicketState] = mapped_column(enum_type(TicketState), default=TicketState.ACCEPTED)
    level: Mapped[RegionLevel | None] = mapped_column(enum_type(RegionLevel))
    lead_unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"), index=True)
    created_by: Mapped[str | None] = mapped_column(String(64), index=True)  # who, for people to read
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # who, for scoping
    # The submitter agreed to publication (Open311 lists it, masked). 举报 never is public.
    public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    dispatched_at: Mapped[datetime | None]
    sign_due_at: Mapped[datetime | None]
    signed_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    replied_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    answer: Mapped[str | None] = mapped_column(Text)  # direct answer or the unit's reply
    kb_article_id: Mapped[int | None] = mapped_column(ForeignKey("kb_articles.id"), index=True)  # its source
    rating: Mapped[Rating | None] = mapped_column(enum_type(Rating))
    redo_count: Mapped[int] = mapped_column(Integer, default=0)
    extension_count: Mapped[int] = mapped_column(Integer, default=0)
    return_count: Mapped[int] = mapped_column(Integer, default=0)  # 退单 by a lead unit
    extension_until: Mapped[datetime | None]  # requested new due date while 延期 is pending
    sign_breach_raised: Mapped[bool] = mapped_column(Boolean, default=False)
    due_breach_raised: Mapped[bool] = mapped_column(Boolean, default=False)
    callback_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # SLA outcomes maintained by the service; see ticketing.outcomes.
    sign_ok: Mapped[int | None] = mapped_column(SmallInteger)
    close_ok: Mapped[int | None] = mapped_column(SmallInteger)
    satisfied: Mapped[int | None] = mapped_column(SmallInteger)
    handling_seconds: Mapped[float | None] = mapped_column(Float)
    red_after: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)

    co_handlers: Mapped[list[TicketCoHandler]] = relationship(
        cascade="all, delete-orphan", lazy="raise", order_by="TicketCoHandler.unit_id"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class TicketCoHandler(Base):
    __tablename__ = "ticket_co_handlers"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), primary_key=True, index=True)


class TicketEvent(Base):
    """Append-only: who did what, when, from which state to which, and why."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[TicketState | None] = mapped_column(enum_type(TicketState))
    to_state: Mapped[TicketState | None] = mapped_column(enum_type(TicketState))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class TicketSequence(Base):
    """Per-day counter behind the readable ticket number."""

    __tablename__ = "ticket_sequences"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)  # YYYYMMDD, local date
    last: Mapped[int] = mapped_column(Integer, default=0)
