"""An agent's claim on an abandoned caller: one agent calls each person back, and the result is kept."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, enum_type, utcnow


class CallbackResult(enum.StrEnum):
    REACHED = "reached"  # 已联系
    NO_ANSWER = "no_answer"  # 无人接听
    BUSY = "busy"  # 占线
    WRONG_NUMBER = "wrong_number"  # 空号/错号

    @property
    def label(self) -> str:
        return {"reached": "已联系", "no_answer": "无人接听", "busy": "占线", "wrong_number": "空号错号"}[self.value]


class CallbackClaim(Base):
    """`call_id` is unique: a second agent's claim on the same abandoned call is refused. Whose claim it
    is goes by user id (`claimer_id`), never by name."""

    __tablename__ = "callback_claims"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call_records.id"), unique=True)
    server: Mapped[str] = mapped_column(String(64))
    linkedid: Mapped[str] = mapped_column(String(64), index=True)  # the wallboard knows calls by this
    claimed_by: Mapped[str] = mapped_column(String(64))  # the claimer's username, for people to read
    claimer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)  # who, for deciding
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    called_at: Mapped[datetime | None]  # the last Originate
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[CallbackResult | None] = mapped_column(enum_type(CallbackResult))
    result_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)
