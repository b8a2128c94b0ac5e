"""The ticket service: intake, the lifecycle, routing and SLA clocks, in one transaction per call."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NoReturn, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError
from structlog.contextvars import bound_contextvars

from ticketing import rollups
from ticketing.actions import Action, ActionContext, dispatch_fields, target
from ticketing.db import SessionFactory
from ticketing.errors import (
    AlreadyLinked,
    CallNotFound,
    ConcurrentUpdate,
    DraftNotFound,
    InvalidAction,
    TicketNotFound,
)
from ticketing.intake import LINKED, Intake, IntakeWriter, Taken
from ticketing.live_config import CALENDAR, ROUTING, VersionCheck, Versions, notices, saved_rules
from ticketing.models import Ticket, TicketEvent, utcnow
from ticketing.models.region import RegionLevel
from ticketing.numbering import TicketNumbers
from ticketing.outcomes import outcomes
from ticketing.outcomes import refresh as refresh_outcomes
from ticketing.routing import RoutingDecision, RoutingRequest, RoutingTable
from ticketing.settings import TicketingSettings
from ticketing.sla import SlaPolicy
from ticketing.views import EventView, TicketChange, TicketView
from ticketing.vocabulary import OPEN_STATES, Category, Channel, TicketState

log = logging.getLogger(__name__)
_DIGITS = re.compile(r"^\d{14}$")
_READ_TOGETHER = 500  # ids per IN list: well under every driver's parameter limit
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
    creator_id: int | None = None  # the desk user who keyed it in (scopes an agent's tickets)
    public: bool = False  # the submitter agreed to publication


def routing_table(settings: TicketingSettings) -> RoutingTable:
    """The configured routing rules (or the shipped ones) over the configured province."""
    return RoutingTable.load(Path(settings.routing_rules) if settings.routing_rules else None, settings.province_code)


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
        self._base_sla, self._base_routing = sla, routing  # from settings, before the admin's edits
        self._versions = VersionCheck(sessions)
        self._loaded: Versions = {}
        self._clock = clock
        self._numbers = TicketNumbers(self._engine, number_prefix, sla.worktime.tz)
        self._writer = IntakeWriter(self._engine)
        # Told of every committed change (intake and actions), e.g. to push it to open pages.
        self.on_change: Callable[[TicketChange], None] | None = None

    @classmethod
    def from_settings(cls, sessions: SessionFactory, settings: TicketingSettings,
                      clock: Callable[[], datetime] = utcnow) -> TicketService:
        return cls(sessions, sla=SlaPolicy.from_settings(settings.calendar, settings.sla),
                   routing=routing_table(settings), clock=clock, number_prefix=settings.number_prefix)

    # ---- queries -------------------------------------------------------------------------

    async def get(self, ticket_id: int) -> TicketView:
        async with self._sessions() as session:
            ticket = await session.get(Ticket, ticket_id, options=[selectinload(Ticket.co_handlers)])
            if ticket is None:
                raise TicketNotFound(ticket_id)
            return TicketView.of(ticket, self._clock())

    async def views(self, ticket_ids: Sequence[int]) -> dict[int, TicketView]:
        """The views of those of these tickets that exist, read together."""
        found: dict[int, TicketView] = {}
        async with self._sessions() as session:
            now = self._clock()
            for start in range(0, len(ticket_ids), _READ_TOGETHER):
                query = (select(Ticket).where(Ticket.id.in_(ticket_ids[start:start + _READ_TOGETHER]))
                         .options(selectinload(Ticket.co_handlers)))
                found.update((t.id, TicketView.of(t, now)) for t in await session.scalars(query))
        return found

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
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
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

    async def route(self, request: RoutingRequest) -> RoutingDecision:
        """The decision a dispatch now would make: under the rules saved on /admin, if any."""
        await self.refresh()
        return self.routing.route(request)

    async def refresh(self, *, at_once: bool = False) -> None:
        """Take up the administrators' calendar entries and routing rules if they changed since
        they were loaded (checked at most every 2 s; `at_once` after this process changed them)."""
        if at_once:
            self._versions.forget()
        versions = await self._versions.current()
        if versions == self._loaded:
            return
        async with self._sessions() as session:
            if versions.get(CALENDAR) != self._loaded.get(CALENDAR):
                self.sla = self._base_sla.with_notices(await notices(session))
            if versions.get(ROUTING) != self._loaded.get(ROUTING):
                rules = await saved_rules(session)
                self.routing = self._base_routing.with_rules(rules) if rules else self._base_routing
        self._loaded = versions

    # ---- commands ------------------------------------------------------------------------

    async def create(self, new: NewTicket, actor: str, *, dispatch: bool = False,
                     call_id: int | None = None, draft_id: int | None = None) -> TicketView:
        """受理: accept a request from any channel. With `dispatch`, also route and 派单 it.

        The ticket, its history and the links to the call record and the ASR draft it came from are
        one transaction: a draft or call already linked to a ticket raises AlreadyLinked naming it,
        and nothing is created. Every row is computed here and stored by `ticketing.intake` without
        ORM objects (one statement on PostgreSQL): intake is the hottest write path.
        """
        if not new.description.strip():
            raise InvalidAction("description must not be empty")
        await self.refresh()
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
            "level": None, "lead_unit_id": None, "created_by": actor, "creator_id": new.creator_id,
            "public": new.public, "created_at": now,
            "updated_at": now, "dispatched_at": None, "sign_due_at": None, "signed_at": None,
            "due_at": None, "replied_at": None, "closed_at": None, "answer": None, "kb_article_id": None,
            "rating": None, "redo_count": 0, "extension_count": 0, "return_count": 0, "extension_until": None,
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
            columns, data = dispatch_fields(decision, self.sla, now)
            values.update(columns, state=TicketState.DISPATCHED)
            events.append({"at": now, "actor": actor, "action": "dispatch",
                           "from_state": TicketState.ACCEPTED, "to_state": TicketState.DISPATCHED,
                           "reason": None, "data": data})
        values.update(outcomes(**{k: values[k] for k in _OUTCOME_INPUTS}))
        values["number"], values["digits"] = await self._numbers.next(now)
        links = [(what, record) for what, record in (("draft", draft_id), ("call", call_id)) if record is not None]
        # A new ticket's deadlines lie ahead of the red watermark (the sweeper's past): it adds no red.
        share = rollups.share(values.__getitem__, self.sla.worktime.tz, None)
        try:
            ticket_id = await self._writer.write(Intake(values, events, co, links, share))
        except Taken as taken:
            await self._explain_taken(taken.links)
        # The view only reads attributes: a plain namespace spares building an ORM instance. Co-handlers
        # by unit, as every later read of the ticket lists them.
        view = TicketView.of(cast(Ticket, SimpleNamespace(id=ticket_id, **values)), now, sorted(co))
        self._changed(view, events[-1]["action"], actor, None, now)
        return view

    async def act(self, ticket_id: int, action: Action, actor: str, *, expected_version: int | None = None,
                  unit_id: str | None = None) -> TicketView:
        """Apply one lifecycle action. Illegal ones raise IllegalTransition and change nothing.

        `expected_version`: the version the actor's page read; a ticket changed since raises
        ConcurrentUpdate (optimistic concurrency), so nobody acts on a case they have not seen.
        `unit_id`: the actor's unit, kept in the event (whose note it is on a co-handled case)."""
        await self.refresh()
        now = self._clock()
        try:
            async with self._sessions() as session, session.begin():
                ticket = await session.get(Ticket, ticket_id, options=[selectinload(Ticket.co_handlers)])
                if ticket is None:
                    raise TicketNotFound(ticket_id)
                if expected_version is not None and ticket.version != expected_version:
                    raise ConcurrentUpdate(ticket_id)
                before = ticket.state
                after = target(before, action.name)
                red_before = await rollups.watermark(session)
                counted = rollups.share(partial(getattr, ticket), self.sla.worktime.tz, red_before)
                effect = await action.apply(ticket, ActionContext(session, now, self.sla, self.routing))
                ticket.state = effect.state or after
                ticket.updated_at = now  # every action bumps the version, notes included
                refresh_outcomes(ticket)
                data = {**effect.data, "unit_id": unit_id} if unit_id else effect.data
                session.add(TicketEvent(
                    ticket_id=ticket.id, at=now, actor=actor, action=action.name, from_state=before,
                    to_state=ticket.state, reason=action.event_reason(), data=data,
                ))
                await session.flush()
                # Last, so the roll-up rows stay locked only until the commit that follows.
                await rollups.record(session, counted, rollups.share(
                    partial(getattr, ticket), self.sla.worktime.tz, red_before))
                view = TicketView.of(ticket, now)
        except StaleDataError:
            raise ConcurrentUpdate(ticket_id) from None
        self._changed(view, action.name, actor, action.event_reason(), now)
        return view

    def _changed(self, view: TicketView, action: str, actor: str, reason: str | None, at: datetime) -> None:
        with bound_contextvars(ticket=view.number):
            log.info("ticket %s: %s by %s, now %s", view.number, action, actor, view.state.value)
            if self.on_change is not None:
                self.on_change(TicketChange(ticket=view, action=action, actor=actor, reason=reason, at=at))

    # ---- internals -----------------------------------------------------------------------

    async def _explain_taken(self, links: Sequence[tuple[str, int]]) -> NoReturn:
        """Why the links were refused: the first record that is missing, or names the ticket that has it."""
        async with self._sessions() as session:
            for what, record_id in links:
                model = LINKED[what]
                row = (await session.execute(
                    select(Ticket.id, Ticket.number).select_from(model).outerjoin(Ticket, Ticket.id == model.ticket_id)
                    .where(model.id == record_id))).one_or_none()
                if row is None:
                    raise DraftNotFound(record_id) if what == "draft" else CallNotFound(record_id)
                if row.id is not None:
                    raise AlreadyLinked(what, record_id, row.id, row.number)
        what, record_id = links[0]
        raise ConcurrentUpdate(record_id, what)  # the other intake holding it was rolled back after all


__all__ = ["EventView", "NewTicket", "TicketService", "TicketView", "routing_table"]
