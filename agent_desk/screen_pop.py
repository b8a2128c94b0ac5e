"""Screen pops: when a queue call rings or connects at an agent, push what the agent needs to see.

The pops follow the AMI live model's `AgentCall` events (ringing, connected, completed). A pop
carries the caller's number and the city it comes from, their tickets from the last
`screen_pop_days`, the IVR choice, the ASR draft (transcript and extracted fields once ready) and
the recording link. When ASR finishes a draft later, `draft_ready` pushes it again to the agent on
that call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import select

from ami.bus import EventBus, Subscription
from ami.events import AgentCall
from ticketing.caller_area import caller_area
from ticketing.db import SessionFactory
from ticketing.models import CallRecord, Draft, DraftStatus, utcnow
from ticketing.service import TicketService
from ticketing.views import TicketView


class DraftView(BaseModel):
    id: int
    status: DraftStatus
    transcript: str | None
    category: str | None
    region_code: str | None
    address: str | None
    department_type: str | None
    department_reason: str | None  # why that department: 停水 → 供水, matter table row 1
    suggested_unit_id: str | None
    summary: str | None
    callback_requested: bool
    extraction: dict[str, Any]
    ticket_id: int | None

    @classmethod
    def of(cls, draft: Draft) -> DraftView:
        return cls(id=draft.id, status=draft.status, transcript=draft.transcript, category=draft.category,
                   region_code=draft.region_code, address=draft.address,
                   department_type=draft.department_type, department_reason=draft.department_reason,
                   suggested_unit_id=draft.suggested_unit_id,
                   summary=draft.summary, callback_requested=draft.callback_requested,
                   extraction=draft.extraction or {}, ticket_id=draft.ticket_id)


class ScreenPop(BaseModel):
    kind: Literal["ringing", "connected", "completed", "draft_ready"]
    at: datetime
    interface: str
    queue: str
    server: str
    linkedid: str
    caller_number: str | None
    caller_name: str | None
    caller_area: str | None  # the number's city as the numbering plan names it, e.g. 江苏省南京市
    caller_region_code: str | None  # that city in the region tree, when it is one of ours
    call_id: int | None
    ivr_choice: str | None
    recording_url: str | None
    draft: DraftView | None
    recent_tickets: list[TicketView]


class ScreenPops:
    def __init__(self, sessions: SessionFactory, tickets: TicketService, *, history_days: int = 90) -> None:
        self._sessions = sessions
        self._tickets = tickets
        self._history = timedelta(days=history_days)
        self._streams: dict[str, EventBus[ScreenPop]] = {}
        self._connected: dict[tuple[str, str], str] = {}  # (server, linkedid) → interface

    @asynccontextmanager
    async def listen(self, interface: str) -> AsyncIterator[Subscription[ScreenPop]]:
        async with self._streams.setdefault(interface, EventBus()).subscribe(maxsize=64) as pops:
            yield pops

    def listening(self, interface: str) -> bool:
        stream = self._streams.get(interface)
        return stream is not None and stream.active

    async def on_signal(self, signal: AgentCall) -> ScreenPop | None:
        """Track the call and push a pop, if the agent has its screen open (no query otherwise)."""
        if signal.kind == "connected":
            self._connected[(signal.server, signal.linkedid)] = signal.interface
        elif signal.kind == "completed":
            self._connected.pop((signal.server, signal.linkedid), None)
        if not self.listening(signal.interface):
            return None
        pop = await self.build(signal.kind, signal.interface, signal.queue, signal.server, signal.linkedid,
                               signal.caller_number, signal.caller_name)
        self._publish(pop)
        return pop

    async def current(self, interface: str) -> ScreenPop | None:
        """The pop of the call this interface is connected to now (a reloaded page gets it back)."""
        key = next((k for k, i in reversed(self._connected.items()) if i == interface), None)
        if key is None:
            return None
        return await self.build("connected", interface, "", key[0], key[1], None, None)

    async def draft_ready(self, draft_id: int) -> ScreenPop | None:
        """Tell the agent on the draft's call (if any) that the transcript is ready."""
        async with self._sessions() as session:
            draft = await session.get(Draft, draft_id)
        if draft is None or draft.call_linkedid is None:
            return None
        key = (draft.server or "", draft.call_linkedid)
        interface = self._connected.get(key) or next(
            (i for (s, l), i in self._connected.items() if l == draft.call_linkedid), None)
        if interface is None or not self.listening(interface):
            return None
        pop = await self.build("draft_ready", interface, "", draft.server or "", draft.call_linkedid,
                               draft.caller_number, None)
        self._publish(pop)
        return pop

    async def build(self, kind: Literal["ringing", "connected", "completed", "draft_ready"], interface: str,
                    queue: str, server: str, linkedid: str, caller_number: str | None,
                    caller_name: str | None) -> ScreenPop:
        async with self._sessions() as session:
            call = await session.scalar(select(CallRecord).where(CallRecord.linkedid == linkedid)
                                        .order_by(CallRecord.id.desc()).limit(1))
            draft = await session.scalar(select(Draft).where(Draft.call_linkedid == linkedid)
                                         .order_by(Draft.id.desc()).limit(1))
        number = caller_number or (call.caller_number if call else None)
        recent = (await self._tickets.tickets_for_caller(number, since=utcnow() - self._history)
                  if number else [])
        recording = None
        if call is not None and call.recording:
            recording = f"/api/calls/{call.id}/recording"
        area = caller_area(number, self._tickets.routing.regions)
        return ScreenPop(
            kind=kind, at=utcnow(), interface=interface, queue=queue or (call.queue if call and call.queue else ""),
            server=server, linkedid=linkedid, caller_number=number,
            caller_name=caller_name or (call.caller_name if call else None),
            caller_area=area.name if area else None, caller_region_code=area.region_code if area else None,
            call_id=call.id if call else None, ivr_choice=call.ivr_path if call else None,
            recording_url=recording, draft=DraftView.of(draft) if draft else None, recent_tickets=recent,
        )

    def _publish(self, pop: ScreenPop) -> None:
        stream = self._streams.get(pop.interface)
        if stream is not None:
            stream.publish(pop)
