"""Builders shared by the ticketing tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ticketing.actions import (
    Action,
    ApproveExtension,
    Archive,
    CloseDirect,
    DenyExtension,
    Dispatch,
    Escalate,
    FollowUp,
    Note,
    Reply,
    RequestExtension,
    Return,
    Rule,
    Sign,
    Supervise,
)
from ticketing.db import SessionFactory
from ticketing.routing import RoutingTable
from ticketing.service import NewTicket, TicketService
from ticketing.settings import CalendarSettings, SlaSettings
from ticketing.sla import SlaPolicy
from ticketing.vocabulary import Category, Channel, Rating, TicketState

_ROUTING = RoutingTable.load()
_POLICY = SlaPolicy.from_settings(CalendarSettings(), SlaSettings())


class Clock:
    """A settable clock, so SLA behaviour is tested at chosen instants."""

    def __init__(self, now: datetime = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)) -> None:  # Mon 09:00 CST
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def service(sessions: SessionFactory, clock: Callable[[], datetime] | None = None) -> TicketService:
    return TicketService(sessions, sla=_POLICY, routing=_ROUTING, clock=clock or Clock())


def new_ticket(**overrides: object) -> NewTicket:
    values: dict[str, object] = {
        "channel": Channel.PHONE, "category": Category.COMPLAINT,
        "description": "小区门口路灯不亮已经一周了", "caller_number": "13812345678",
        "region_code": "320106", "address": "中山北路100号",
    }
    values.update(overrides)
    return NewTicket(**values)  # type: ignore[arg-type]


# How to bring a fresh ticket into each state.
_SIGNED: list[Action] = [Dispatch(), Sign()]
_REPLIED: list[Action] = [*_SIGNED, Reply(answer="已修复")]
_RETURNED: list[Action] = [Dispatch(), Return(reason="不属于本单位职责")]
PATHS: dict[TicketState, list[Action]] = {
    TicketState.ACCEPTED: [],
    TicketState.DISPATCHED: [Dispatch()],
    TicketState.RETURNED: _RETURNED,
    TicketState.RULING: [*_RETURNED, Escalate(reason="职责争议")],
    TicketState.HANDLING: _SIGNED,
    TicketState.EXTENSION_REQUESTED: [*_SIGNED, RequestExtension(until=datetime(2027, 1, 20, tzinfo=UTC),
                                                                 reason="需协调多部门")],
    TicketState.REPLIED: _REPLIED,
    TicketState.CLOSED: [*_REPLIED, FollowUp(rating=Rating.SATISFIED)],
    TicketState.ARCHIVED: [*_REPLIED, FollowUp(rating=Rating.SATISFIED), Archive()],
}

# A valid instance of every action, for trying any action from any state.
EVERY_ACTION: dict[str, Action] = {a.name: a for a in (
    Dispatch(), CloseDirect(answer="已答复"), Sign(), Return(reason="r"), Escalate(reason="r"),
    Rule(lead_unit_id="office:320106"), RequestExtension(until=datetime(2027, 3, 1, tzinfo=UTC), reason="r"),
    ApproveExtension(), DenyExtension(reason="r"), Reply(answer="a"), FollowUp(rating=Rating.SATISFIED),
    Archive(), Supervise(reason="r"), Note(text="t"),
)}


async def ticket_in(svc: TicketService, state: TicketState, **overrides: object) -> int:
    view = await svc.create(new_ticket(**overrides), "agent:test")
    for action in PATHS[state]:
        view = await svc.act(view.id, action, "tester")
    assert view.state is state
    return view.id
