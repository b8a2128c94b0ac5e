"""Agents' queue memberships over time: what "agents logged in" per hour is counted from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base


class AgentMembership(Base):
    """One stay of a member in a queue, from its login (Asterisk's LoginTime, else when it was
    seen added) to its removal; `logged_out_at` is NULL while it lasts. Keyed by (server, queue,
    interface, logged_in_at), so a resync that lists the member again never duplicates it."""

    __tablename__ = "agent_memberships"
    __table_args__ = (
        UniqueConstraint("server", "queue", "interface", "logged_in_at"),
        Index("ix_agent_memberships_queue_in", "queue", "logged_in_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    server: Mapped[str] = mapped_column(String(64))
    queue: Mapped[str] = mapped_column(String(64))
    interface: Mapped[str] = mapped_column(String(128))
    member_name: Mapped[str] = mapped_column(String(128))
    logged_in_at: Mapped[datetime]
    logged_out_at: Mapped[datetime | None]
