"""Row-level scope, applied inside every query (not only at the routes).

- admin, dispatcher, province supervisor: everything;
- city supervisor: tickets of its city and the counties under it; calls of its city's queues
  (`desk.supervision.queue_cities`), of its city's PBXs (`ami.servers[].city_code`) or attached to its
  tickets; on the live board its city's PBXs;
- handler: tickets where its unit is the lead or a co-handler; calls attached to those tickets;
- agent: the tickets it created (by user id, never by name) and the calls answered at its exact
  queue interface (in any of their legs: a call it transferred stays its call too).

Rows outside the scope do not exist for the caller: the API answers 404, never 403.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_, select, true

from agent_desk.security.principal import Principal
from ticketing.models import CallLeg, CallRecord, Role, Ticket, TicketCoHandler


def ticket_scope(who: Principal) -> ColumnElement[bool]:
    if who.sees_everything:
        return true()
    if who.role is Role.SUPERVISOR:
        return Ticket.city_code == who.city_scope
    if who.role is Role.HANDLER:
        if who.unit_id is None:
            return false()
        co = select(TicketCoHandler.ticket_id).where(TicketCoHandler.unit_id == who.unit_id)
        return or_(Ticket.lead_unit_id == who.unit_id, Ticket.id.in_(co))
    if who.role is Role.AGENT:
        return Ticket.creator_id == who.user_id
    return false()


def ticket_scope_key(who: Principal) -> Hashable:
    """All that `ticket_scope(who)` depends on: callers with the same key see the same tickets."""
    if who.sees_everything:
        return "everything"
    return who.role, who.city_scope, who.unit_id, who.user_id if who.role is Role.AGENT else None


def call_scope(who: Principal, queue_cities: Mapping[str, str] | None = None,
               pbx_cities: Mapping[str, str] | None = None) -> ColumnElement[bool]:
    if who.sees_everything:
        return true()
    if who.role is Role.AGENT:
        return answered_at(who.agent_interface) if who.agent_interface else false()
    visible_tickets = select(Ticket.id).where(ticket_scope(who))
    attached = CallRecord.ticket_id.in_(visible_tickets)
    if who.role is Role.SUPERVISOR:
        queues = [q for q, city in (queue_cities or {}).items() if city == who.city_scope]
        pbxs = pbxs_of(who.city_scope, pbx_cities or {})
        return or_(attached, *([CallRecord.queue.in_(queues)] if queues else []),
                   *([CallRecord.server.in_(pbxs)] if pbxs else []))
    if who.role is Role.HANDLER:
        return attached
    return false()


def pbxs_of(city_code: str | None, pbx_cities: Mapping[str, str]) -> list[str]:
    """The PBXs that serve a city (`ami.servers[].city_code`)."""
    return [name for name, city in pbx_cities.items() if city == city_code]


def answered_at(interface: str) -> ColumnElement[bool]:
    """Calls answered at exactly this queue interface, in any leg."""
    legs = select(CallLeg.call_id).where(CallLeg.interface == interface)
    return or_(CallRecord.agent_interface == interface, CallRecord.id.in_(legs))


def _everything(_name: str) -> bool:
    return True


def _nothing(_name: str) -> bool:
    return False


@dataclass(frozen=True)
class LiveScope:
    """What a caller sees of the live board: the queues and the PBXs `queues` and `pbx` accept;
    `city_code` is the city it is bound to (None: the province)."""

    queues: Callable[[str], bool] = _everything
    pbx: Callable[[str], bool] = _everything
    city_code: str | None = None


def live_scope(who: Principal, queue_cities: Mapping[str, str], pbx_cities: Mapping[str, str]) -> LiveScope:
    """A city supervisor sees its city's PBXs (`ami.servers[].city_code`), all their queues; where
    its city has no PBX of its own, the queues mapped to its city (`queue_cities`) on any PBX."""
    if who.sees_everything:
        return LiveScope()
    if who.role is Role.SUPERVISOR:
        own = frozenset(pbxs_of(who.city_scope, pbx_cities))
        if own:
            return LiveScope(pbx=own.__contains__, city_code=who.city_scope)
        return LiveScope(queues=lambda queue: queue_cities.get(queue) == who.city_scope, city_code=who.city_scope)
    return LiveScope(_nothing, _nothing)
