"""A satisfaction answer a caller keyed in the IVR survey. Kept even when no ticket can take it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, enum_type, utcnow
from ticketing.vocabulary import Rating


class CallSurvey(Base):
    """One survey answer. `applied`: it became the ticket's 回访 rating (and so counts in the KPI)."""

    __tablename__ = "call_surveys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    server: Mapped[str | None] = mapped_column(String(64))
    call_uniqueid: Mapped[str] = mapped_column(String(64), index=True)
    call_linkedid: Mapped[str | None] = mapped_column(String(64), index=True)
    caller_number: Mapped[str | None] = mapped_column(String(32), index=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("drafts.id"), index=True)
    rating: Mapped[Rating] = mapped_column(enum_type(Rating))
    applied: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)  # why it was not applied
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
