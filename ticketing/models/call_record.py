"""One record per telephone call (keyed by server + Asterisk Linkedid), linkable to a ticket."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, enum_type, utcnow


class CallOutcome(enum.StrEnum):
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    TIMEOUT = "timeout"
    TRANSFERRED = "transferred"
    UNKNOWN = "unknown"


class CallRecord(Base):
    __tablename__ = "call_records"
    __table_args__ = (
        UniqueConstraint("server", "linkedid"),
        Index("ix_call_records_queue_entered", "queue", "entered_at"),
        Index("ix_call_records_agent_answered", "agent", "answered_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    server: Mapped[str] = mapped_column(String(64))
    linkedid: Mapped[str] = mapped_column(String(64))
    caller_number: Mapped[str | None] = mapped_column(String(32), index=True)
    caller_name: Mapped[str | None] = mapped_column(String(64))
    dnis: Mapped[str | None] = mapped_column(String(32))
    ivr_path: Mapped[str | None] = mapped_column(String(128))
    queue: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None]
    entered_at: Mapped[datetime | None]
    entry_position: Mapped[int | None] = mapped_column(Integer)
    wait_seconds: Mapped[float | None] = mapped_column(Float)
    agent: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime | None]
    talk_seconds: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[CallOutcome] = mapped_column(enum_type(CallOutcome))
    hangup_cause: Mapped[str | None] = mapped_column(String(64))
    recording: Mapped[str | None] = mapped_column(String(256))
    ended_at: Mapped[datetime | None]
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
