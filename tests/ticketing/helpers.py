"""Builders shared by the ticketing tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ticketing.db import SessionFactory
from ticketing.routing import RoutingTable
from ticketing.service import NewTicket, TicketService
from ticketing.settings import CalendarSettings, SlaSettings
from ticketing.sla import SlaPolicy
from ticketing.vocabulary import Category, Channel, TicketState

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


# How to bring a fresh ticket into each state: a list of (action, params).
PATHS: dict[TicketState, list[tuple[str, dict[str, object]]]] = {
    TicketState.ACCEPTED: [],
    TicketState.DISPATCHED: [("dispatch", {})],
    TicketState.RETURNED: [("dispatch", {}), ("return", {"reason": "不属于本单位职责"})],
    TicketState.RULING: [("dispatch", {}), ("return", {"reason": "不属于本单位职责"}),
                         ("escalate", {"reason": "职责争议"})],
    TicketState.HANDLING: [("dispatch", {}), ("sign", {})],
    TicketState.EXTENSION_REQUESTED: [("dispatch", {}), ("sign", {}),
                                      ("request_extension", {"until": datetime(2027, 1, 20, tzinfo=UTC),
                                                             "reason": "需协调多部门"})],
    TicketState.REPLIED: [("dispatch", {}), ("sign", {}), ("reply", {"answer": "已修复"})],
    TicketState.CLOSED: [("dispatch", {}), ("sign", {}), ("reply", {"answer": "已修复"}),
                         ("follow_up", {"rating": "satisfied"})],
    TicketState.ARCHIVED: [("dispatch", {}), ("sign", {}), ("reply", {"answer": "已修复"}),
                           ("follow_up", {"rating": "satisfied"}), ("archive", {})],
}

# Valid parameters for trying any action from any state.
ACTION_PARAMS: dict[str, dict[str, object]] = {
    "dispatch": {}, "close_direct": {"answer": "已答复"}, "sign": {}, "return": {"reason": "r"},
    "escalate": {"reason": "r"}, "rule": {"lead_unit_id": "office:320106"},
    "request_extension": {"until": datetime(2027, 3, 1, tzinfo=UTC), "reason": "r"},
    "approve_extension": {}, "deny_extension": {"reason": "r"}, "reply": {"answer": "a"},
    "follow_up": {"rating": "satisfied"}, "archive": {}, "supervise": {"reason": "r"},
    "note": {"text": "t"},
}


async def ticket_in(svc: TicketService, state: TicketState, **overrides: object) -> int:
    view = await svc.create(new_ticket(**overrides), "agent:test")
    for action, params in PATHS[state]:
        view = await svc.act(view.id, action, "tester", **params)
    assert view.state is state
    return view.id
