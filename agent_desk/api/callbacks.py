"""Abandoned callers of the agent's own queues: claim one (so no two agents call the same person),
call back (AMI Originate), and record the result. The wallboard marks the callers called back.

An agent's own queues are those the live model shows it a member of now.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from agent_desk.api.calls import NEWEST_FIRST, Accepted, dial_back
from agent_desk.api.deps import AgentCaller, DeskDep
from agent_desk.api.errors import AUTHED, responses
from agent_desk.api.pagination import CursorParam, LimitParam, Page, keyset_page
from agent_desk.desk import Desk
from agent_desk.security.principal import Principal
from ticketing.models import CallbackClaim, CallbackResult, CallOutcome, CallRecord, utcnow

router = APIRouter(prefix="/api/agent/abandoned", tags=["agent"])
CallId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class ClaimView(BaseModel):
    claimed_by: str
    mine: bool
    claimed_at: datetime
    called_at: datetime | None
    attempts: int
    result: CallbackResult | None
    result_label: str | None
    result_at: datetime | None
    note: str | None


class AbandonedCaller(BaseModel):
    call_id: int
    caller_number: str | None
    queue: str | None
    entered_at: datetime | None
    ended_at: datetime | None
    wait_seconds: float | None
    claim: ClaimView | None

    @classmethod
    def of(cls, call: CallRecord, claim: CallbackClaim | None, who: Principal) -> AbandonedCaller:
        return cls(call_id=call.id, caller_number=call.caller_number, queue=call.queue,
                   entered_at=call.entered_at, ended_at=call.ended_at, wait_seconds=call.wait_seconds,
                   claim=None if claim is None else ClaimView(
                       claimed_by=claim.claimed_by, mine=claim.claimer_id == who.user_id,
                       claimed_at=claim.claimed_at, called_at=claim.called_at, attempts=claim.attempts,
                       result=claim.result, result_label=claim.result.label if claim.result else None,
                       result_at=claim.result_at, note=claim.note))


class ResultRequest(BaseModel):
    result: CallbackResult
    note: str | None = Field(None, min_length=1, max_length=1000)


def own_queues(desk: Desk, who: Principal) -> list[str]:
    if not who.agent_interface:
        raise HTTPException(409, "your account has no queue interface; ask an admin to set one")
    return [queue for queue, _ in desk.board.members().get(who.agent_interface, [])]


async def _abandoned(desk: Desk, who: Principal, call_id: int) -> tuple[CallRecord, CallbackClaim | None]:
    queues = own_queues(desk, who)
    async with desk.sessions() as session:
        row = (await session.execute(
            select(CallRecord, CallbackClaim).outerjoin(CallbackClaim, CallbackClaim.call_id == CallRecord.id)
            .where(CallRecord.id == call_id, CallRecord.outcome == CallOutcome.ABANDONED,
                   CallRecord.queue.in_(queues)))).first()
    if row is None:
        raise HTTPException(404, "no abandoned call of your queues with this id")
    return row


def _my_claim(claim: CallbackClaim | None, who: Principal) -> CallbackClaim:
    if claim is None:
        raise HTTPException(409, "claim the caller first")
    if claim.claimer_id != who.user_id:
        raise HTTPException(409, f"{claim.claimed_by} is calling this caller back")
    return claim


@router.get("", response_model=Page[AbandonedCaller], responses=responses(400, 409, *AUTHED))
async def abandoned_callers(desk: DeskDep, who: AgentCaller, cursor: CursorParam = None,
                            limit: LimitParam = 50) -> Page[AbandonedCaller]:
    """Today's abandoned callers of the queues you are in now, newest first, with who claimed them."""
    queues = own_queues(desk, who)
    query = (select(CallRecord, CallbackClaim).outerjoin(CallbackClaim, CallbackClaim.call_id == CallRecord.id)
             .where(CallRecord.outcome == CallOutcome.ABANDONED, CallRecord.queue.in_(queues),
                    CallRecord.entered_at >= desk.day_start()))
    return await keyset_page(desk.sessions, query, NEWEST_FIRST, cursor=cursor, limit=limit,
                             key=lambda row: (row[0].id,), view=lambda row: AbandonedCaller.of(row[0], row[1], who))


@router.post("/{call_id}/claim", response_model=AbandonedCaller, status_code=201,
             responses={200: {"model": AbandonedCaller, "description": "you had already claimed it"},
                        **responses(404, 409, *AUTHED)})
async def claim(call_id: CallId, desk: DeskDep, who: AgentCaller, response: Response) -> AbandonedCaller:
    """Take this caller: from now on only you call them back. Another agent's claim answers 409."""
    call, existing = await _abandoned(desk, who, call_id)
    if existing is not None:
        response.status_code = 200
        return AbandonedCaller.of(call, _my_claim(existing, who), who)
    try:
        async with desk.sessions.begin() as session:
            session.add(CallbackClaim(call_id=call.id, server=call.server, linkedid=call.linkedid,
                                      claimed_by=who.username, claimer_id=who.user_id,
                                      claimed_at=utcnow(), attempts=0))
    except IntegrityError:
        _, taken = await _abandoned(desk, who, call_id)
        _my_claim(taken, who)  # raises: someone else was quicker
    await desk.audit.record(who.username, "call.claim", "call", call.id)
    return AbandonedCaller.of(*await _abandoned(desk, who, call_id), who)


@router.post("/{call_id}/callback", response_model=Accepted, status_code=202,
             responses=responses(404, 409, 502, 503, *AUTHED))
async def callback(call_id: CallId, desk: DeskDep, who: AgentCaller) -> Accepted:
    """Call your claimed caller back (AMI Originate: their line first, then your extension)."""
    call, existing = await _abandoned(desk, who, call_id)
    mine = _my_claim(existing, who)
    number = await dial_back(desk, who, call)
    async with desk.sessions.begin() as session:
        row = await session.get(CallbackClaim, mine.id)
        assert row is not None
        row.called_at = utcnow()
        row.attempts += 1
    return Accepted(detail=f"calling {number} back")


@router.post("/{call_id}/result", response_model=AbandonedCaller, responses=responses(404, 409, *AUTHED))
async def record_result(call_id: CallId, body: ResultRequest, desk: DeskDep, who: AgentCaller) -> AbandonedCaller:
    """Record how the call-back went (reached, no answer, busy, wrong number) with an optional note."""
    call, existing = await _abandoned(desk, who, call_id)
    mine = _my_claim(existing, who)
    async with desk.sessions.begin() as session:
        row = await session.get(CallbackClaim, mine.id)
        assert row is not None
        row.result, row.result_at, row.note = body.result, utcnow(), body.note
    await desk.audit.record(who.username, "call.callback_result", "call", call.id, result=body.result.value)
    return AbandonedCaller.of(*await _abandoned(desk, who, call_id), who)
