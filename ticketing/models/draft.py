"""A draft ticket: what the IVR recorded and ASR extracted, waiting for an agent to confirm it."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, enum_type, utcnow
from ticketing.vocabulary import Channel


class DraftStatus(enum.StrEnum):
    PENDING = "pending"  # recording queued for transcription
    READY = "ready"  # transcript and extracted fields present
    FAILED = "failed"  # transcription failed; the audio is still on the draft
    NO_SPEECH = "no_speech"  # audio judged empty (silence, too short)


class Draft(Base):
    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    server: Mapped[str | None] = mapped_column(String(64))
    call_linkedid: Mapped[str | None] = mapped_column(String(64), index=True)
    caller_number: Mapped[str | None] = mapped_column(String(32), index=True)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    callback_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    recording_path: Mapped[str | None] = mapped_column(String(256))
    status: Mapped[DraftStatus] = mapped_column(enum_type(DraftStatus), default=DraftStatus.PENDING)
    transcript: Mapped[str | None] = mapped_column(Text)
    words: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"words": [{word,start,end,conf}]}
    category: Mapped[str | None] = mapped_column(String(24))
    region_code: Mapped[str | None] = mapped_column(String(6))
    address: Mapped[str | None] = mapped_column(String(256))
    department_type: Mapped[str | None] = mapped_column(String(32))
    department_reason: Mapped[str | None] = mapped_column(String(256))  # 停水 → 供水, matter table row 1
    suggested_unit_id: Mapped[str | None] = mapped_column(String(48))
    summary: Mapped[str | None] = mapped_column(String(256))
    extraction: Mapped[dict[str, Any]] = mapped_column(default=dict)  # evidence, digits, ambiguity
    error: Mapped[str | None] = mapped_column(Text)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
