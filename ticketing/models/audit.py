"""The audit log: every state change made through the desk, with its actor. Append-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)  # username, "api:<client>" or "system"
    action: Mapped[str] = mapped_column(String(48))  # e.g. "ticket.sign", "user.login", "queue.pause"
    target_type: Mapped[str] = mapped_column(String(24))  # ticket, call, user, queue, api_client
    target_id: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16), default="ok")  # ok, denied, failed
    source_ip: Mapped[str | None] = mapped_column(String(45))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
