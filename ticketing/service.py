"""The ticket service: intake, the lifecycle, routing and SLA clocks, in one transaction per call."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from ticketing import lifecycle
from ticketing.db import SessionFactory
from ticketing.errors import ConcurrentUpdate, InvalidAction, TicketNotFound
from ticketing.models import Ticket, TicketCoHandler, TicketEvent, Unit, utcnow
from ticketing.models.region import RegionLevel
from ticketing.numbering import TicketNumbers
from ticketing.outcomes import outcomes
from ticketing.outcomes import refresh as refresh_outcomes
from ticketing.routing import RoutingDecision, RoutingRequest, RoutingTable
from ticketing.settings import TicketingSettings
from ticketing.sla import SlaPolicy
from ticketing.views import EventView, TicketView
from ticketing.vocabulary import OPEN_STATES, Category, Channel, Rating, TicketState

_DIGITS = re.compile(r"^\d{14}$")
# Built once: parameters travel separately, so the compiled SQL is cached.
_TICKETS = cast(Table, Ticket.__table__)
_INSERT_TICKET = insert(_TICKETS).returning(_TICKETS.c.id)
_INSERT_EVENT = insert(cast(Table, TicketEvent.__table__))
_INSERT_CO_HANDLER = insert(cast(Table, TicketCoHandler.__table__))
_OUTCOME_INPUTS = ("state", "created_at", "sign_due_at", "signed_at", "due_at", "replied_at", "closed_at", "rating")


@dataclass(frozen=True)
class NewTicket:
    channel: Channel
    category: Category
    description: str
    caller_number: str | None = None
    caller_name: str | None = None
    region_code: str | None = None
    address: str = ""
    priority: int = 0
    callback_requested: bool = False
    departments: tuple[str, ...] = ()  # for routing: department types, "province:TYPE" for provincial
    involved_regions: tuple[str, ...] = ()
    caller_area: str | None = None


# Parameters each action accepts; (name, required).
_PARAMS: dict[str, dict[str, bool]] = {
    "dispatch": {"lead_unit_id": False, "co_handler_ids": False, "departments": False,
                 "involved_regions": False, "caller_area": False, "reason": False},
    "close_direct": {"answer": True},
    "sign": {},
    "return": {"reason": True},
    "escalate": {"reason": True},
    "rule": {"lead_unit_id": True, "co_handler_ids": False, "reason": False},
    "request_extension": {"until": True, "reason": True},
    "approve_extension": {"reason": False},
    "deny_extension": {"reason": True},
    "reply": {"answer": True},
    "follow_up": {"rating": True, "reason": False},
    "archive": {},
    "supervise": {"reason": True},
    "note": {"text": True},
}


class TicketService:
    def __init__(
        self,
        sessions: SessionFactory,
        *,
        sla: SlaPolicy,
        routing: RoutingTable,
        clock: Callable[[], datetime] = utcnow,
        number_prefix: str = "JS",
    ) -> None:
        self._sessions = sessions
        self._engine: AsyncEngine = sessions.kw["bind"]
        self.sla = sla
        self.routing = routing
        self._clock = clock
        self._numbers = TicketNumbers(self._engine, number_prefix, sla.worktime.tz)

    @classmethod
    def from_settings(cls, sessions: SessionFactory, settings: TicketingSettings,
                      clock: Callable[[], datetime] = utcnow) -> TicketService:
        path = Path(settings.routing_rules) if settings.routing_rules else None
        return cls(
            sessions,
            sla=SlaPolicy.from_settings(settings.calendar, settings.sla),
            routing=RoutingTable.load(path, settings.province_code),
            clock=clock,
            number_prefix=settings.number_prefix,
        )

    # ---- queries -------------------------------------------------------------------------

    async def get(self, ticket_id: int) -> TicketView:
        async with self._sessions() as session:
            ticket = await session.get(Ticket, ticket_id, options=[selectinload(Ticket.co_handlers)])
            if ticket is None:
                raise TicketNotFound(ticket_id)
            return TicketView.of(ticket, self._clock())

    async def find_by_digits(self, digits: str) -> TicketView | None:
        """Look a ticket up by the digits a caller keys in (JS20261128-000123 → 20261128000123)."""
        digits = "".join(ch for ch in digits if ch.isdigit())
        if not _DIGITS.match(digits):
            return None
        async with self._sessions() as session:
            ticket = await session.scalar(
                select(Ticket).where(Ticket.digits == digits).options(selectinload(Ticket.co_handlers))
            )
            return TicketView.of(ticket, self._clock()) if ticket else None

    async def tickets_for_caller(
        self, caller_number: str, *, since: datetime, open_only: bool = False, limit: int = 50
    ) -> list[TicketView]:
        query = (
            select(Ticket)
            .where(Ticket.caller_number == caller_number, Ticket.created_at >= since)
            .options(selectinload(Ticket.co_handlers))
            .order_by(Ticket.created_at.desc())
            .limit(limit)
        )
        if open_only:
            query = query.where(Ticket.state.in_(OPEN_STATES))
        async with self._sessions() as session:
            now = self._clock()
            return [TicketView.of(t, now) for t in (await session.scalars(query)).all()]

    async def history(self, ticket_id: int) -> list[EventView]:
        async with self._sessions() as session:
            events = await session.scalars(
                select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)
            )
            return [EventView.of(e) for e in events]

    def allowed_actions(self, state: TicketState) -> list[str]:
        return lifecycle.allowed_actions(state)

    def route(self, request: RoutingRequest) -> RoutingDecision:
        return self.routing.route(request)

    # ---- commands ------------------------------------------------------------------------

    async def create(self, new: NewTicket, actor: str, *, dispatch: bool = False) -> TicketView:
        """受理: accept a request from any channel. With `dispatch`, also route and 派单 it.

        Written with Core inserts (no unit of work): intake is the hottest write path.
        """
        if not new.description.strip():
            raise InvalidAction("description must not be empty")
        region = self.routing.regions.get(new.region_code) if new.region_code else None
        if new.region_code and region is None:
            raise InvalidAction(f"unknown region code {new.region_code!r}")
        now = self._clock()
        values: dict[str, Any] = {
            "channel": new.channel, "category": new.category, "caller_number": new.caller_number,
            "caller_name": new.caller_name, "description": new.description.strip(),
            "region_code": new.region_code, "city_code": region.city_code if region else None,
            "county_code": region.code if region and region.level is RegionLevel.COUNTY else None,
            "address": new.address, "priority": new.priority, "state": TicketState.ACCEPTED,
            "level": None, "lead_unit_id": None, "created_by": actor, "created_at": now,
            "updated_at": now, "dispatched_at": None, "sign_due_at": None, "signed_at": None,
            "due_at": None, "replied_at": None, "closed_at": None, "answer": None, "rating": None,
            "redo_count": 0, "extension_count": 0, "extension_until": None,
            "sign_breach_raised": False, "due_breach_raised": False,
            "callback_requested": new.callback_requested, "version": 1,
        }
        events: list[dict[str, Any]] = [{"at": now, "actor": actor, "action": "accept", "from_state": None,
                                         "to_state": TicketState.ACCEPTED, "reason": None,
                                         "data": {"channel": new.channel.value}}]
        co: list[str] = []
        if dispatch:
            decision = self.routing.route(RoutingRequest(
                new.region_code, new.category.value, new.departments, new.involved_regions, new.caller_area))
            co = list(decision.co_handler_ids)
            data = self._dispatch_values(values, decision, now)
            values["state"] = TicketState.DISPATCHED
            events.append({"at": now, "actor": actor, "action": "dispatch",
                           "from_state": TicketState.ACCEPTED, "to_state": TicketState.DISPATCHED,
                           "reason": None, "data": data})
        values.update(outcomes(**{k: values[k] for k in _OUTCOME_INPUTS}))
        values["number"], values["digits"] = await self._numbers.next(now)
        async with self._engine.begin() as conn:
            ticket_id = (await conn.execute(_INSERT_TICKET, values)).scalar_one()
            await conn.execute(_INSERT_EVENT, [{**e, "ticket_id": ticket_id} for e in events])
            if co:
                await conn.execute(_INSERT_CO_HANDLER, [{"ticket_id": ticket_id, "unit_id": u} for u in co])
        # The view only reads attributes: a plain namespace spares building an ORM instance.
        return TicketView.of(cast(Ticket, SimpleNamespace(id=ticket_id, **values)), now, co)

    async def act(self, ticket_id: int, action: str, actor: str, **params: Any) -> TicketView:
        """Apply one lifecycle action. Illegal ones raise IllegalTransition and change nothing."""
        spec = _PARAMS.get(action)
        if spec is not None:
            unknown = set(params) - set(spec)
            missing = [name for name, required in spec.items() if required and params.get(name) in (None, "")]
            if unknown:
                raise InvalidAction(f"{action}: unexpected parameter(s) {', '.join(sorted(unknown))}")
            if missing:
                raise InvalidAction(f"{action}: missing {', '.join(missing)}")
        now = self._clock()
        try:
            async with self._sessions() as session, session.begin():
                ticket = await session.get(Ticket, ticket_id, options=[selectinload(Ticket.co_handlers)])
                if ticket is None:
                    raise TicketNotFound(ticket_id)
                before = ticket.state
                after = lifecycle.target(before, action)
                after, data = await self._apply(session, ticket, action, after, now, params)
                ticket.state = after
                ticket.updated_at = now  # every action bumps the version, notes included
                refresh_outcomes(ticket)
                session.add(TicketEvent(
                    ticket_id=ticket.id, at=now, actor=actor, action=action, from_state=before,
                    to_state=after, reason=params.get("reason") or params.get("text"), data=data,
                ))
                await session.flush()
                view = TicketView.of(ticket, now)
        except StaleDataError:
            raise ConcurrentUpdate(ticket_id) from None
        return view

    # ---- internals -----------------------------------------------------------------------

    def _dispatch_values(self, values: dict[str, Any], decision: RoutingDecision, now: datetime) -> dict[str, Any]:
        """Set the dispatch fields in `values` (a dict or a row's __dict__ view); return event data."""
        sign_due = self.sla.sign_due(now)
        values.update(lead_unit_id=decision.lead_unit_id, level=decision.level, dispatched_at=now,
                      sign_due_at=sign_due, signed_at=None, due_at=None, sign_breach_raised=False)
        return {"lead_unit_id": decision.lead_unit_id, "co_handler_ids": list(decision.co_handler_ids),
                "level": decision.level.value, "rule": decision.rule, "reasons": list(decision.reasons),
                "sign_due_at": sign_due.isoformat()}

    async def _decision(self, session: AsyncSession, ticket: Ticket, params: dict[str, Any]) -> RoutingDecision:
        lead = params.get("lead_unit_id")
        if lead is None:
            return self.routing.route(RoutingRequest(
                ticket.region_code, ticket.category.value, tuple(params.get("departments") or ()),
                tuple(params.get("involved_regions") or ()), params.get("caller_area"),
            ))
        co = tuple(params.get("co_handler_ids") or ())
        units = {u.id: u for u in (await session.scalars(select(Unit).where(Unit.id.in_((lead, *co))))).all()}
        missing = [u for u in (lead, *co) if u not in units]
        if missing:
            raise InvalidAction(f"unknown unit(s): {', '.join(missing)}")
        if lead in co:
            raise InvalidAction("the lead unit cannot also be a co-handler")
        return RoutingDecision(lead, co, units[lead].level, "manual", (f"chosen by dispatcher: {units[lead].name}",))

    async def _apply(self, session: AsyncSession, ticket: Ticket, action: str, after: TicketState,
                     now: datetime, params: dict[str, Any]) -> tuple[TicketState, dict[str, Any]]:
        data: dict[str, Any] = {}
        if action in ("dispatch", "rule"):
            decision = await self._decision(session, ticket, params)
            fields: dict[str, Any] = {}
            data = self._dispatch_values(fields, decision, now)
            for key, value in fields.items():
                setattr(ticket, key, value)
            ticket.co_handlers = [TicketCoHandler(unit_id=u) for u in decision.co_handler_ids]
        elif action == "close_direct":
            ticket.answer = params["answer"]
            ticket.replied_at = ticket.closed_at = now
        elif action == "sign":
            ticket.signed_at = now
            ticket.due_at = self.sla.resolution_due(now)
            ticket.due_breach_raised = False
            data = {"due_at": ticket.due_at.isoformat(), "on_time": ticket.sign_due_at is None or now <= ticket.sign_due_at}
        elif action == "return":
            data = {"returned_by": ticket.lead_unit_id}
        elif action == "request_extension":
            until = _aware(params["until"], "until")
            if ticket.due_at is not None and now > ticket.due_at:
                raise InvalidAction("an extension must be requested before the deadline")
            if ticket.due_at is not None and until <= ticket.due_at:
                raise InvalidAction("the requested date must be after the current due date")
            ticket.extension_until = until
            data = {"until": until.isoformat(), "due_at": ticket.due_at.isoformat() if ticket.due_at else None}
        elif action == "approve_extension":
            assert ticket.extension_until is not None
            data = {"from": ticket.due_at.isoformat() if ticket.due_at else None,
                    "to": ticket.extension_until.isoformat()}
            ticket.due_at, ticket.extension_until = ticket.extension_until, None
            ticket.extension_count += 1
            ticket.due_breach_raised = False
        elif action == "deny_extension":
            ticket.extension_until = None
        elif action == "reply":
            ticket.answer = params["answer"]
            ticket.replied_at = now
        elif action == "follow_up":
            rating = Rating(params["rating"])
            if ticket.state is TicketState.CLOSED and ticket.rating is not None:
                raise InvalidAction("this ticket was already rated")
            ticket.rating = rating
            data = {"rating": rating.value}
            if rating is Rating.UNSATISFIED:
                after = lifecycle.redo_target(ticket.state)
                ticket.redo_count += 1
                ticket.replied_at = ticket.closed_at = None
                if after is TicketState.HANDLING:
                    ticket.due_at = self.sla.resolution_due(now)
                    ticket.due_breach_raised = False
                    data["due_at"] = ticket.due_at.isoformat()
                data["redo"] = ticket.redo_count
            elif ticket.closed_at is None:
                ticket.closed_at = now
        return after, data


def _aware(value: Any, name: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidAction(f"{name}: not an ISO 8601 timestamp: {value!r}") from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidAction(f"{name} must be a timestamp with a time zone")
    return value


__all__ = ["EventView", "NewTicket", "TicketService", "TicketView"]
