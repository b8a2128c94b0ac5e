"""Attempts at guessing a secret (a password, the phone number of a request), counted per subject
and per address by the throttle. Kept in the database so every worker process sees them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base


class ThrottleAttempt(Base):
    __tablename__ = "throttle_attempts"
    __table_args__ = (
        Index("ix_throttle_attempts_subject_at", "kind", "subject", "at"),
        Index("ix_throttle_attempts_address_at", "kind", "address", "at"),
        Index("ix_throttle_attempts_kind_at", "kind", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # which throttle: login, lookup
    at: Mapped[datetime]
    subject: Mapped[str] = mapped_column(String(64))  # a casefolded username, a request number
    address: Mapped[str] = mapped_column(String(64))  # an IPv4 address or an IPv6 /64
