"""Row-level scope, applied inside every query (not only at the routes).

- admin, dispatcher, province supervisor: everything;
- city supervisor: tickets of its city and the counties under it; calls of its city's queues
  (`desk.supervision.queue_cities`) or attached to its tickets;
- handler: tickets where its unit is the lead or a co-handler; calls attached to those tickets;
- agent: the tickets it created (by user id, never by name) and the calls answered at its exact
  queue interface (in any of their legs: a call it transferred stays its call too).

Rows outside the scope do not exist for the caller: the API answers 404, never 403.
"""

from __future__ import annotations

from collections.abc import Mapping

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


def call_scope(who: Principal, queue_cities: Mapping[str, str] | None = None) -> ColumnElement[bool]:
    if who.sees_everything:
        return true()
    if who.role is Role.AGENT:
        return answered_at(who.agent_interface) if who.agent_interface else false()
    visible_tickets = select(Ticket.id).where(ticket_scope(who))
    attached = CallRecord.ticket_id.in_(visible_tickets)
    if who.role is Role.SUPERVISOR:
        queues = [q for q, city in (queue_cities or {}).items() if city == who.city_scope]
        return or_(CallRecord.queue.in_(queues), attached) if queues else attached
    if who.role is Role.HANDLER:
        return attached
    return false()


def answered_at(interface: str) -> ColumnElement[bool]:
    """Calls answered at exactly this queue interface, in any leg."""
    legs = select(CallLeg.call_id).where(CallLeg.interface == interface)
    return or_(CallRecord.agent_interface == interface, CallRecord.id.in_(legs))


def may_see_live_queue(who: Principal, queue: str, queue_cities: Mapping[str, str] | None = None) -> bool:
    if who.sees_everything:
        return True
    if who.role is Role.SUPERVISOR:
        return (queue_cities or {}).get(queue) == who.city_scope
    return False
