"""One record per telephone call (keyed by server + Asterisk Linkedid), linkable to a ticket, and
one `CallLeg` per queue visit (a Redirect between queues makes two).

A call's `queue`, `outcome` and `wait_seconds` are those of its last leg (the queue it ended in,
its final outcome, the wait in that queue); `agent`, `agent_interface`, `answered_at` and `talk_seconds` those of
the last leg an agent answered; `entered_at`/`entry_position` those of the first queue it entered.
Per-queue KPIs count legs, per-call KPIs count records (docs/metrics.md). `final` is false while
the call is still up. A call whose outcome stayed `unknown` after reconciliation says why in
`unknown_reason` (the link's gap, and that queue_log did not resolve it; `ami.reconcile`).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ticketing.models.base import Base, enum_type, utcnow
from ticketing.vocabulary import IVR_PATH_MAX_LENGTH


class CallOutcome(enum.StrEnum):
    ANSWERED = "answered"
    ABANDONED = "abandoned"  # the caller hung up while waiting
    TIMEOUT = "timeout"  # the queue gave up: Queue() timeout, leave-when-empty (EXITWITHTIMEOUT, EXITEMPTY)
    EXIT_WITH_KEY = "exit_with_key"  # the caller left by a key the queue's context handles (EXITWITHKEY)
    TRANSFERRED = "transferred"  # redirected out of the queue while waiting
    UNKNOWN = "unknown"  # not seen: ended while the link was down, or not decided yet
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
    ivr_path: Mapped[str | None] = mapped_column(String(IVR_PATH_MAX_LENGTH))
    draft_id: Mapped[int | None] = mapped_column(Integer, index=True)
    queue: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime | None]
    entered_at: Mapped[datetime | None]
    entry_position: Mapped[int | None] = mapped_column(Integer)
    wait_seconds: Mapped[float | None] = mapped_column(Float)
    agent: Mapped[str | None] = mapped_column(String(64))  # the member name (MemberName) that answered
    agent_interface: Mapped[str | None] = mapped_column(String(128), index=True)  # … and its queue interface
    answered_at: Mapped[datetime | None]
    talk_seconds: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[CallOutcome] = mapped_column(enum_type(CallOutcome))
    unknown_reason: Mapped[str | None] = mapped_column(String(255))  # why an `unknown` outcome stayed unknown
    hangup_cause: Mapped[str | None] = mapped_column(String(64))
    recording: Mapped[str | None] = mapped_column(String(256))
    ended_at: Mapped[datetime | None]
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    legs: Mapped[list[CallLeg]] = relationship(order_by="CallLeg.seq", lazy="selectin",
                                               cascade="all, delete-orphan", passive_deletes=True)


class CallLeg(Base):
    """One stay of a call in one queue. `outcome` is NULL while the caller is still in the queue."""

    __tablename__ = "call_legs"
    __table_args__ = (
        UniqueConstraint("call_id", "seq"),
        Index("ix_call_legs_queue_entered", "queue", "entered_at"),
        Index("ix_call_legs_agent_answered", "agent", "answered_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call_records.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    queue: Mapped[str] = mapped_column(String(64))
    uniqueid: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[datetime | None]
    position: Mapped[int | None] = mapped_column(Integer)
    wait_seconds: Mapped[float | None] = mapped_column(Float)
    agent: Mapped[str | None] = mapped_column(String(64))
    interface: Mapped[str | None] = mapped_column(String(128), index=True)  # the member that answered
    answered_at: Mapped[datetime | None]
    talk_seconds: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[CallOutcome | None] = mapped_column(enum_type(CallOutcome))
    left_at: Mapped[datetime | None]
    ring_no_answer: Mapped[int] = mapped_column(Integer, default=0)
    complete_reason: Mapped[str | None] = mapped_column(String(16))
