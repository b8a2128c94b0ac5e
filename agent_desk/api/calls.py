"""Call records: list and read (scoped), attach to a ticket (idempotent), transfer, call back, recording."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Row, select, update

from agent_desk.api.csv_export import CSV_RESPONSE, Format, csv_response
from agent_desk.api.deps import AgentCaller, Caller, DeskDep, DeskStaff, require
from agent_desk.api.errors import AUTHED, responses
from agent_desk.api.pagination import (
    CursorParam,
    Keyset,
    LimitParam,
    Page,
    json_rows,
    keyset_rows,
    next_cursor,
)
from agent_desk.api.tickets import scoped_ticket
from agent_desk.desk import Desk
from agent_desk.security.files import file_under
from agent_desk.security.principal import Principal
from agent_desk.telephony import extension_of
from ticketing.actions import Note
from ticketing.instants import Instant
from ticketing.models import CallOutcome, CallRecord, Role, User

router = APIRouter(prefix="/api/calls", tags=["calls"])
NEWEST_FIRST = Keyset((CallRecord.id,), (int,), descending=True)
CallId = Annotated[int, Path(ge=1, le=2**31 - 1)]
# Who may have the PBX dial a caller back (the role table in docs/agent_desk.md): not handlers.
CallBackCaller = Annotated[Principal, Depends(require(Role.AGENT, Role.SUPERVISOR, Role.DISPATCHER))]


class CallView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    server: str
    linkedid: str
    caller_number: str | None
    caller_name: str | None
    ivr_path: str | None
    queue: str | None
    entered_at: datetime | None
    wait_seconds: float | None
    agent: str | None
    answered_at: datetime | None
    talk_seconds: float | None
    outcome: CallOutcome
    unknown_reason: str | None
    ended_at: datetime | None
    ticket_id: int | None
    has_recording: bool

    @classmethod
    def of(cls, call: CallRecord | Row[*tuple[Any, ...]]) -> CallView:
        """The view of a call record, or of a row of `CALL_VIEW_COLUMNS`."""
        return cls(**call_fields(call))


def call_fields(call: CallRecord | Row[*tuple[Any, ...]]) -> dict[str, Any]:
    """`CallView`'s values in its field order, unvalidated: the call list serialises these as they are
    (`json_rows`)."""
    return {"id": call.id, "server": call.server, "linkedid": call.linkedid, "caller_number": call.caller_number,
            "caller_name": call.caller_name, "ivr_path": call.ivr_path, "queue": call.queue,
            "entered_at": call.entered_at, "wait_seconds": call.wait_seconds, "agent": call.agent,
            "answered_at": call.answered_at, "talk_seconds": call.talk_seconds, "outcome": call.outcome,
            "unknown_reason": call.unknown_reason, "ended_at": call.ended_at, "ticket_id": call.ticket_id,
            "has_recording": bool(call.recording)}


# The columns `CallView.of` reads: the list reads these as rows (no ORM entities, nor their legs).
CALL_VIEW_COLUMNS = (
    CallRecord.id, CallRecord.server, CallRecord.linkedid, CallRecord.caller_number, CallRecord.caller_name,
    CallRecord.ivr_path, CallRecord.queue, CallRecord.entered_at, CallRecord.wait_seconds, CallRecord.agent,
    CallRecord.answered_at, CallRecord.talk_seconds, CallRecord.outcome, CallRecord.unknown_reason,
    CallRecord.ended_at, CallRecord.ticket_id, CallRecord.recording,
)
CALL_ROWS = select(*CALL_VIEW_COLUMNS)


class AttachRequest(BaseModel):
    ticket_id: int = Field(ge=1, le=2**31 - 1)


class TransferRequest(BaseModel):
    destination: str = Field(min_length=1, max_length=64, pattern=r"^[\w\-+*#.]+$",
                             description="a queue's extension or an agent extension in the transfer context")


class Accepted(BaseModel):
    status: str = "requested"
    detail: str


async def scoped_call(desk: Desk, who: Principal, call_id: int) -> CallRecord:
    async with desk.sessions() as session:
        call = await session.scalar(select(CallRecord).where(
            CallRecord.id == call_id, desk.call_scope(who)))
    if call is None:
        raise HTTPException(404, "call not found")
    return call


def call_filters(who: Principal, desk: Desk, queue: str | None, outcome: CallOutcome | None,
                 agent: str | None, since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [desk.call_scope(who)]
    if queue:
        where.append(CallRecord.queue == queue)
    if outcome:
        where.append(CallRecord.outcome == outcome)
    if agent:
        where.append(CallRecord.agent == agent)
    if since:
        where.append(CallRecord.entered_at >= since)
    if until:
        where.append(CallRecord.entered_at < until)
    return where


@router.get("", response_model=Page[CallView], responses={**CSV_RESPONSE, **responses(400, *AUTHED)})
async def list_calls(desk: DeskDep, who: Caller, cursor: CursorParam = None, limit: LimitParam = 50,
                     format: Format = "json", queue: Annotated[str | None, Query(max_length=64)] = None,
                     outcome: CallOutcome | None = None, agent: Annotated[str | None, Query(max_length=64)] = None,
                     since: Instant | None = None, until: Instant | None = None) -> Any:
    """Call records in your scope (agents: the calls they took), newest first."""
    where = call_filters(who, desk, queue, outcome, agent, since, until)
    if format == "csv":
        return csv_response(CallView, _stream(desk, NEWEST_FIRST.ordered(select(CallRecord).where(*where))), "calls")
    async with desk.reads() as session:
        rows = await keyset_rows(session, CALL_ROWS.where(*where), NEWEST_FIRST, cursor=cursor, limit=limit)
    return json_rows([call_fields(r) for r in rows[:limit]], next_cursor(rows, limit, lambda r: (r.id,)))


async def _stream(desk: Desk, query: Any) -> AsyncIterator[CallView]:
    async with desk.sessions() as session:
        async for call in await session.stream_scalars(query.execution_options(yield_per=500)):
            yield CallView.of(call)


class TransferDestinations(BaseModel):
    queues: list[str]
    agents: list[str]


async def transfer_destinations(desk: Desk) -> TransferDestinations:
    """Where a call can be transferred: the configured and live queues and other configured extensions
    of the transfer context, and active agents' extensions (the [transfer] context has one for each)."""
    settings = desk.settings.desk.agents
    queues = {*settings.queues, *settings.transfer_extensions, *(q.name for q in desk.board.model.snapshot().queues)}
    async with desk.sessions() as session:
        interfaces = await session.scalars(select(User.agent_interface).where(
            User.active.is_(True), User.agent_interface.is_not(None)))
        agents = {extension_of(i) for i in interfaces if i}
    return TransferDestinations(queues=sorted(queues), agents=sorted(agents))


@router.get("/transfer-destinations", response_model=TransferDestinations, responses=responses(*AUTHED))
async def list_transfer_destinations(desk: DeskDep, _who: AgentCaller) -> TransferDestinations:
    """Where the caller's call can be transferred (queues, and agents by extension)."""
    return await transfer_destinations(desk)


@router.get("/{call_id}", response_model=CallView, responses=responses(404, *AUTHED))
async def get_call(call_id: CallId, desk: DeskDep, who: Caller) -> CallView:
    return CallView.of(await scoped_call(desk, who, call_id))


@router.post("/{call_id}/attach", response_model=CallView, responses=responses(404, 409, *AUTHED))
async def attach_call(call_id: CallId, body: AttachRequest, desk: DeskDep, who: DeskStaff) -> CallView:
    """Attach the call record to an existing ticket you can see. Repeating it changes nothing;
    attaching a call that already belongs to another ticket answers 409."""
    call = await scoped_call(desk, who, call_id)
    await scoped_ticket(desk, who, body.ticket_id)
    if call.ticket_id == body.ticket_id:
        return CallView.of(call)
    if call.ticket_id is not None:
        raise HTTPException(409, f"call already attached to ticket {call.ticket_id}")
    async with desk.sessions.begin() as session:
        result = await session.execute(update(CallRecord).where(
            CallRecord.id == call_id, CallRecord.ticket_id.is_(None)).values(ticket_id=body.ticket_id))
        if result.rowcount == 0:  # type: ignore[attr-defined]
            raise HTTPException(409, "call was attached concurrently")
    await desk.tickets.act(body.ticket_id, Note(text=f"call {call.linkedid} attached"), who.username)
    await desk.audit.record(who.username, "call.attach", "call", call_id, ticket_id=body.ticket_id)
    return CallView.of(await scoped_call(desk, who, call_id))


@router.post("/{call_id}/transfer", response_model=Accepted, status_code=202,
             responses=responses(404, 409, 502, 503, *AUTHED))
async def transfer_call(call_id: CallId, body: TransferRequest, desk: DeskDep, who: AgentCaller) -> Accepted:
    """Move the live call to another queue or extension (AMI Redirect)."""
    call = await scoped_call(desk, who, call_id)
    channel = desk.telephony.channel_of(call.linkedid)
    if channel is None:
        raise HTTPException(409, "the call is no longer live")
    known = await transfer_destinations(desk)
    if body.destination not in {*known.queues, *known.agents}:
        raise HTTPException(422, f"unknown transfer destination {body.destination!r}: "
                                 "give a queue or an agent's extension (GET /api/calls/transfer-destinations)")
    context = desk.settings.desk.agents.transfer_context
    await desk.telephony.redirect(channel, context, body.destination)
    await desk.audit.record(who.username, "call.transfer", "call", call_id, destination=body.destination)
    return Accepted(detail=f"redirecting {channel} to {body.destination}@{context}")


@router.post("/{call_id}/hangup", response_model=Accepted, status_code=202,
             responses=responses(404, 409, 502, 503, *AUTHED))
async def hang_up(call_id: CallId, desk: DeskDep, who: AgentCaller) -> Accepted:
    """End the live call: hang up the caller's channel (AMI Hangup, cause 16 normal clearing)."""
    call = await scoped_call(desk, who, call_id)
    channel = desk.telephony.channel_of(call.linkedid)
    if channel is None:
        raise HTTPException(409, "the call is no longer live")
    await desk.telephony.hangup(channel)
    await desk.audit.record(who.username, "call.hangup", "call", call_id)
    return Accepted(detail=f"hanging up {channel}")


@router.post("/{call_id}/callback", response_model=Accepted, status_code=202,
             responses=responses(404, 409, 502, 503, *AUTHED))
async def call_back(call_id: CallId, desk: DeskDep, who: CallBackCaller) -> Accepted:
    """Call an abandoned caller back (AMI Originate): the caller's line is dialled first
    (`desk.agents.callback_channel`), then connected in `callback_context` to you — an agent's own
    extension — or, for supervisors and dispatchers, to `callback_queue`."""
    call = await scoped_call(desk, who, call_id)
    number = await dial_back(desk, who, call)
    return Accepted(detail=f"calling {number} back")


async def dial_back(desk: Desk, who: Principal, call: CallRecord) -> str:
    """Originate the call-back of `call` for `who` (see `call_back`), audit it, return the number."""
    number = await dial(desk, who, call.caller_number, {"HOTLINE_CALLBACK_OF": call.linkedid}, "call")
    await desk.audit.record(who.username, "call.callback", "call", call.id, number=number)
    return number


async def dial(desk: Desk, who: Principal, number: str | None, variables: dict[str, str], what: str) -> str:
    """Have the PBX call `number` (AMI Originate: their line first), then connect them in
    `callback_context` to `who`'s own extension, or to `callback_queue` for staff without one."""
    if not number or not number.isdigit():
        raise HTTPException(409, f"the {what} has no caller number to dial")
    agents = desk.settings.desk.agents
    channel = agents.callback_channel.replace("{number}", number)
    target = extension_of(who.agent_interface) if who.agent_interface else agents.callback_queue
    await desk.telephony.originate(channel, agents.callback_context, target, agents.callback_caller_id, variables)
    return number


@router.get("/{call_id}/recording", response_class=FileResponse,
            responses={200: {"content": {"audio/wav": {}}, "description": "the call's recording"},
                       **responses(404, *AUTHED)})
async def recording(call_id: CallId, desk: DeskDep, who: Caller) -> FileResponse:
    """The call's recording, if it is a file under `desk.agents.recordings_dir`."""
    call = await scoped_call(desk, who, call_id)
    path = file_under(desk.settings.desk.agents.recordings_dir, call.recording)
    if path is None:
        raise HTTPException(404, "no recording for this call")
    return FileResponse(path, media_type="audio/wav", filename=path.name)
