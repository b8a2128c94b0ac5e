"""Files sent with a ticket (a citizen's photos), for the staff who may read the ticket.

Each is sent with the content type decided when it was accepted (`agent_desk.photos`), as an
attachment-safe image: nosniff (the security headers) and a sandbox policy, so even a file that
was somehow not an image could not run as a page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import FileResponse
from pydantic import BaseModel
from sqlalchemy import select

from agent_desk.api.deps import Caller, DeskDep
from agent_desk.api.errors import AUTHED, responses
from agent_desk.api.tickets import TicketId, scoped_ticket
from agent_desk.security.files import file_under
from ticketing.models import TicketAttachment

router = APIRouter(prefix="/api/tickets", tags=["tickets"])
AttachmentId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class AttachmentView(BaseModel):
    id: int
    content_type: str
    size: int
    width: int
    height: int
    created_at: datetime


@router.get("/{ticket_id}/attachments", response_model=list[AttachmentView], responses=responses(404, *AUTHED))
async def attachments(ticket_id: TicketId, desk: DeskDep, who: Caller) -> list[AttachmentView]:
    """The photos sent with the ticket, oldest first."""
    await scoped_ticket(desk, who, ticket_id)
    async with desk.sessions() as session:
        rows = (await session.scalars(select(TicketAttachment).where(TicketAttachment.ticket_id == ticket_id)
                                      .order_by(TicketAttachment.id))).all()
    return [AttachmentView(id=r.id, content_type=r.content_type, size=r.size, width=r.width, height=r.height,
                           created_at=r.created_at) for r in rows]


@router.get("/{ticket_id}/attachments/{attachment_id}", response_class=FileResponse,
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}}, "description": "the photo"},
                       **responses(404, *AUTHED)})
async def attachment(ticket_id: TicketId, attachment_id: AttachmentId, desk: DeskDep, who: Caller) -> FileResponse:
    await scoped_ticket(desk, who, ticket_id)
    async with desk.sessions() as session:
        row = await session.scalar(select(TicketAttachment).where(
            TicketAttachment.id == attachment_id, TicketAttachment.ticket_id == ticket_id))
    path = file_under(desk.settings.desk.portal.photos_dir, row.path) if row is not None else None
    if row is None or path is None:
        raise HTTPException(404, "no such attachment")
    return FileResponse(path, media_type=row.content_type, content_disposition_type="inline",
                        filename=f"{ticket_id}-{row.id}{path.suffix}",
                        headers={"Content-Security-Policy": "sandbox; default-src 'none'"})
