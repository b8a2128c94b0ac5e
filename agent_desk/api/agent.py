"""Agents: queue log-in/out (AMI QueueAdd/QueueRemove), pause with a reason code, and the screen pop."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sse_starlette import EventSourceResponse, ServerSentEvent

from agent_desk.api.deps import AgentCaller, DeskDep
from agent_desk.api.errors import AUTHED, responses
from agent_desk.api.pagination import Page
from agent_desk.live.board import MemberView
from agent_desk.screen_pop import ScreenPop
from agent_desk.security.principal import Principal
from ticketing.models import AuditEntry, CallLeg, CallOutcome, utcnow

router = APIRouter(prefix="/api/agent", tags=["agent"])
QueueName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[\w\-.]+$")]
SSE_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"content": {"text/event-stream": {"schema": {"type": "string"}}},
                      "description": "server-sent events"}}


def ping_every() -> float:
    """A stream's keep-alive ping interval, at most 15 s and spread per stream: streams that opened together
    (every page after a restart) would otherwise ping all at once, a burst each change then waits behind."""
    return random.uniform(12, 15)


class PauseRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=64, description="one of GET /api/agent/pause-reasons")


class AgentStatus(BaseModel):
    interface: str
    queues: dict[str, MemberView]
    configured_queues: list[str]
    wrapup_seconds: int


class TodayCounts(BaseModel):
    since: datetime
    answered: int
    aht_seconds: float | None
    paused_seconds: float


class Accepted(BaseModel):
    status: str = "requested"
    detail: str


def _interface(who: Principal) -> str:
    if not who.agent_interface:
        raise HTTPException(409, "your account has no queue interface; ask an admin to set one")
    return who.agent_interface


@router.get("/status", response_model=AgentStatus, responses=responses(409, *AUTHED))
async def status(desk: DeskDep, who: AgentCaller) -> AgentStatus:
    """Your membership and state in each queue, as the live model sees it."""
    interface = _interface(who)
    memberships = desk.board.members().get(interface, [])
    return AgentStatus(interface=interface, queues=dict(memberships),
                       configured_queues=desk.settings.desk.agents.queues,
                       wrapup_seconds=desk.settings.desk.agents.wrapup_seconds)


@router.get("/today", response_model=TodayCounts, responses=responses(409, *AUTHED))
async def today(desk: DeskDep, who: AgentCaller) -> TodayCounts:
    """Your counts since midnight: calls answered at your queue interface and their average talk time
    (queue legs, as the per-agent KPIs count them: a call you transferred counts for you and for
    whoever answered it next), and time paused (from your pause and unpause requests in the audit log)."""
    interface = _interface(who)
    since, now = desk.day_start(), utcnow()
    async with desk.sessions() as session:
        answered, aht = (await session.execute(
            select(func.count(CallLeg.id), func.avg(CallLeg.talk_seconds))
            .where(CallLeg.interface == interface, CallLeg.outcome == CallOutcome.ANSWERED,
                   CallLeg.answered_at >= since))).one()
        pauses = (await session.execute(
            select(AuditEntry.at, AuditEntry.action)
            .where(AuditEntry.actor == who.username, AuditEntry.at >= since,
                   AuditEntry.action.in_(("queue.pause", "queue.unpause")), AuditEntry.outcome == "ok")
            .order_by(AuditEntry.at, AuditEntry.id))).all()
    paused, started = 0.0, None
    for at, action in pauses:
        if action == "queue.pause":
            started = started or at
        else:
            paused += (at - (started or since)).total_seconds()
            started = None
    if started is not None:
        paused += (now - started).total_seconds()
    return TodayCounts(since=since, answered=answered, aht_seconds=round(aht, 1) if aht is not None else None,
                       paused_seconds=round(paused, 1))


@router.get("/pause-reasons", response_model=Page[str], responses=responses(*AUTHED))
async def pause_reasons(desk: DeskDep, who: AgentCaller) -> Page[str]:
    """The configured pause reason codes (one page: the list is short and set by the operator)."""
    return Page[str](items=desk.settings.desk.agents.pause_reasons, next_cursor=None)


@router.post("/queues/{queue}/login", response_model=Accepted, status_code=202,
             responses=responses(404, 409, 502, 503, *AUTHED))
async def queue_login(queue: QueueName, desk: DeskDep, who: AgentCaller) -> Accepted:
    """Join a queue (AMI QueueAdd)."""
    if queue not in desk.settings.desk.agents.queues:
        raise HTTPException(404, f"unknown queue {queue!r}")
    interface = _interface(who)
    await desk.telephony.queue_add(queue, interface, who.username)
    await desk.audit.record(who.username, "queue.login", "queue", queue, interface=interface)
    return Accepted(detail=f"{interface} joining {queue}")


@router.post("/queues/{queue}/logout", response_model=Accepted, status_code=202,
             responses=responses(404, 409, 502, 503, *AUTHED))
async def queue_logout(queue: QueueName, desk: DeskDep, who: AgentCaller) -> Accepted:
    """Leave a queue (AMI QueueRemove)."""
    if queue not in desk.settings.desk.agents.queues:
        raise HTTPException(404, f"unknown queue {queue!r}")
    interface = _interface(who)
    await desk.telephony.queue_remove(queue, interface)
    await desk.audit.record(who.username, "queue.logout", "queue", queue, interface=interface)
    return Accepted(detail=f"{interface} leaving {queue}")


@router.post("/pause", response_model=Accepted, status_code=202,
             responses=responses(400, 409, 502, 503, *AUTHED))
async def pause(body: PauseRequest, desk: DeskDep, who: AgentCaller) -> Accepted:
    """Pause in every queue with a configured reason code (AMI QueuePause, Paused: true)."""
    if body.reason not in desk.settings.desk.agents.pause_reasons:
        raise HTTPException(400, f"unknown reason {body.reason!r}; use one of "
                                 f"{', '.join(desk.settings.desk.agents.pause_reasons)}")
    interface = _interface(who)
    await desk.telephony.queue_pause(interface, True, body.reason)
    await desk.audit.record(who.username, "queue.pause", "agent", interface, reason=body.reason)
    return Accepted(detail=f"{interface} paused: {body.reason}")


@router.post("/unpause", response_model=Accepted, status_code=202,
             responses=responses(409, 502, 503, *AUTHED))
async def unpause(desk: DeskDep, who: AgentCaller) -> Accepted:
    interface = _interface(who)
    await desk.telephony.queue_pause(interface, False)
    await desk.audit.record(who.username, "queue.unpause", "agent", interface)
    return Accepted(detail=f"{interface} available")


@router.get("/screen-pop/current", response_model=ScreenPop, responses={
    204: {"description": "you are not on a call"}, **responses(409, *AUTHED)})
async def current_pop(desk: DeskDep, who: AgentCaller) -> ScreenPop | Response:
    """The screen pop of the call you are connected to now, so a reloaded page gets it back."""
    pop = await desk.screen_pops.current(_interface(who))
    return pop if pop is not None else Response(status_code=204)


@router.get("/screen-pop", response_class=EventSourceResponse, responses={**SSE_RESPONSE, **responses(409, *AUTHED)})
async def screen_pop(request: Request, desk: DeskDep, who: AgentCaller) -> EventSourceResponse:
    """Server-sent events for your calls: `pop` events carry a ScreenPop (caller, 90-day tickets,
    IVR choice, ASR draft, recording link) when a call rings, connects, completes, or its draft is
    ready. A comment ping every 12–15 s keeps proxies from closing the stream."""
    interface = _interface(who)

    async def events() -> AsyncIterator[ServerSentEvent]:
        async with desk.screen_pops.listen(interface) as queue:
            yield ServerSentEvent(event="hello", data=json.dumps({"interface": interface}))
            while not await request.is_disconnected():
                try:
                    pop = await asyncio.wait_for(queue.get(), timeout=1.0)
                except TimeoutError:
                    continue
                yield ServerSentEvent(event="pop", data=pop.model_dump_json())

    return EventSourceResponse(events(), ping=ping_every())
