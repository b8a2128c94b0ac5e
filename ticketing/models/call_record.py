"""One record per telephone call (keyed by server + Asterisk Linkedid), linkable to a ticket.

`queue`, `agent`, `answered_at` and `talk_seconds` describe where the call ended and who answered;
`entered_at`/`entry_position` the first queue it entered; `wait_seconds` the caller's total queue
time until answered. `legs` keeps one entry per queue visit (a Redirect between queues makes two),
which is what per-queue KPIs count. `final` is false while the call is still up.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, JSONType, enum_type, utcnow


class CallOutcome(enum.StrEnum):
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    TIMEOUT = "timeout"
    TRANSFERRED = "transferred"
    UNKNOWN = "unknown"
    SELF_SERVICE = "self_service"  # ended in the IVR without entering a queue


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
    ivr_result: Mapped[str | None] = mapped_column(String(64))
    ivr_path: Mapped[str | None] = mapped_column(String(255))
    draft_id: Mapped[int | None] = mapped_column(Integer, index=True)
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
    legs: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
