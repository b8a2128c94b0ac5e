"""A file a citizen sent with a request (a photo), stored on disk beside the recordings.

The row keeps what the server decided the file is (its content type, from its bytes, after
re-encoding), never what the sender claimed, so it is always served as that type.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, utcnow


class TicketAttachment(Base):
    __tablename__ = "ticket_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    content_type: Mapped[str] = mapped_column(String(32))  # image/jpeg or image/png
    path: Mapped[str] = mapped_column(String(256))  # relative to desk.portal.photos_dir
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
