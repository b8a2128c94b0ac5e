"""Ticket actions: the lifecycle (docs/domain.md), one declaration per action.

Each action is a pydantic model: its fields are the payload, its class variables say which states it
moves between (`moves`) and which roles may take it (`roles`, `lead_only`), and `apply` is its effect
on the ticket row. `TicketAction`, the discriminated union of them all, is the registry: the state
machine, the role table, the HTTP routes and their OpenAPI schemas are all derived from it, so adding
an action is one class and one line in the union.

受理 accepted → 派单 dispatched → 签收/办理 handling → 答复 replied → 回访 follow-up → 办结 closed → 归档.
Side paths: 直接办结 close_direct; 退单 return (before sign-off, with a reason) → re-dispatch, or
escalate to 审定 ruling → rule; 延期 request_extension → approve/deny; 回访 unsatisfied → 重办 back to
handling; 督办 supervise and notes leave the state as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ticketing.errors import ActionForbidden, IllegalTransition, InvalidAction
from ticketing.instants import Instant
from ticketing.knowledge import count_use
from ticketing.models import Role, Ticket, TicketCoHandler, Unit
from ticketing.routing import RoutingDecision, RoutingRequest, RoutingTable
from ticketing.sla import SlaPolicy
from ticketing.vocabulary import OPEN_STATES, Rating, TicketState

S = TicketState
Answer = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
UnitId = Annotated[str, StringConstraints(min_length=1, max_length=48)]
RegionCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
DeptType = Annotated[str, StringConstraints(min_length=1, max_length=48)]

DESK = frozenset({Role.AGENT, Role.DISPATCHER})
DISPATCH = frozenset({Role.DISPATCHER})
HANDLER = frozenset({Role.HANDLER})


@dataclass(frozen=True)
class ActionContext:
    """What an action's effect may use, inside the service's transaction."""

    session: AsyncSession
    now: datetime
    sla: SlaPolicy
    routing: RoutingTable


@dataclass(frozen=True)
class Effect:
    """What an action did: event data for the history, and a target state when not the table's."""

    data: dict[str, Any] = field(default_factory=dict)
    state: TicketState | None = None


class Action(BaseModel):
    """One lifecycle action and its payload. Subclasses declare `action: Literal[name]`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: ClassVar[str]
    moves: ClassVar[Mapping[TicketState, TicketState]]
    roles: ClassVar[frozenset[Role]]  # besides Role.ADMIN, who may take every action
    lead_only: ClassVar[bool] = False  # a handler must belong to the lead unit; co-handlers add notes

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.name = cls.model_fields["action"].default

    def event_reason(self) -> str | None:
        """The text the history shows as this action's reason."""
        return getattr(self, "reason", None)

    async def apply(self, ticket: Ticket, ctx: ActionContext) -> Effect:
        return Effect()


def dispatch_fields(decision: RoutingDecision, sla: SlaPolicy, now: datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ticket columns a (re-)dispatch sets, and its event data; shared with intake's `dispatch=True`."""
    sign_due = sla.sign_due(now)
    columns = {"lead_unit_id": decision.lead_unit_id, "level": decision.level, "dispatched_at": now,
               "sign_due_at": sign_due, "signed_at": None, "due_at": None, "sign_breach_raised": False}
    data = {"lead_unit_id": decision.lead_unit_id, "co_handler_ids": list(decision.co_handler_ids),
            "level": decision.level.value, "rule": decision.rule, "reasons": list(decision.reasons),
            "sign_due_at": sign_due.isoformat()}
    return columns, data


def _route_to(ticket: Ticket, decision: RoutingDecision, ctx: ActionContext) -> Effect:
    columns, data = dispatch_fields(decision, ctx.sla, ctx.now)
    for key, value in columns.items():
        setattr(ticket, key, value)
    ticket.co_handlers = [TicketCoHandler(unit_id=u) for u in decision.co_handler_ids]
    return Effect(data)


async def _chosen(lead: str, co: tuple[str, ...], ctx: ActionContext) -> RoutingDecision:
    """A dispatcher's own choice of units instead of the routing rules' decision."""
    wanted = (lead, *co)
    units = {u.id: u for u in (await ctx.session.scalars(select(Unit).where(Unit.id.in_(wanted)))).all()}
    missing = [u for u in wanted if u not in units]
    if missing:
        raise InvalidAction(f"unknown unit(s): {', '.join(missing)}")
    if lead in co:
        raise InvalidAction("the lead unit cannot also be a co-handler")
    return RoutingDecision(lead, co, units[lead].level, "manual", (f"chosen by dispatcher: {units[lead].name}",))


class Dispatch(Action):
    """派单: route the ticket (or send it to the units given) and start the sign-off clock."""

    action: Literal["dispatch"] = "dispatch"
    lead_unit_id: UnitId | None = Field(None, description="overrides routing")
    co_handler_ids: list[UnitId] = Field(default_factory=list, max_length=20, description="with lead_unit_id")
    departments: list[DeptType] | None = Field(
        None, max_length=10, description="routing input, e.g. water_supply; none given: suggested from the description")
    involved_regions: list[RegionCode] = Field(default_factory=list, max_length=20, description="routing input")
    caller_area: RegionCode | None = Field(None, description="routing input: region code of the caller's number")
    reason: Reason | None = None

    moves = {S.ACCEPTED: S.DISPATCHED, S.RETURNED: S.DISPATCHED}
    roles = DESK

    async def apply(self, ticket: Ticket, ctx: ActionContext) -> Effect:
        if self.lead_unit_id is not None:
            return _route_to(ticket, await _chosen(self.lead_unit_id, tuple(self.co_handler_ids), ctx), ctx)
        departments = self.departments
        if departments is None:
            departments = [s.dept_type for s in ctx.routing.suggest_departments(ticket.description)]
        decision = ctx.routing.route(RoutingRequest(
            ticket.region_code, ticket.category.value, tuple(departments), tuple(self.involved_regions),
            self.caller_area))
        return _route_to(ticket, decision, ctx)


class CloseDirect(Action):
    """直接办结: the agent answered the caller at once; the ticket closes."""

    action: Literal["close_direct"] = "close_direct"
    answer: Answer
    article_id: int | None = Field(None, ge=1, le=2**31 - 1, description=(
        "the knowledge-base article the answer came from: the ticket keeps it, and the article's hits rise"))

    moves = {S.ACCEPTED: S.CLOSED}
    roles = DESK

    async def apply(self, ticket: Ticket, ctx: ActionContext) -> Effect:
        data: dict[str, Any] = {}
        if self.article_id is not None:  # before the ticket changes: this UPDATE would flush it
            revision = await count_use(ctx.session, self.article_id)
            if revision is None:
                raise InvalidAction(f"knowledge article {self.article_id} does not exist or is retired")
            data = {"article_id": self.article_id, "article_revision": revision}
        ticket.answer = self.answer
        ticket.replied_at = ticket.closed_at = ctx.now
        ticket.kb_article_id = self.article_id
        return Effect(data)


class Sign(Action):
    """签收: the lead unit takes the ticket; the resolution clock starts."""

    action: Literal["sign"] = "sign"

    moves = {S.DISPATCHED: S.HANDLING}
    roles = HANDLER
    lead_only = True

    async def apply(self, ticket: Ticket, ctx: ActionContext) -> Effect:
        ticket.signed_at = ctx.now
        ticket.due_at = ctx.sla.resolution_due(ctx.now)
        ticket.due_breach_raised = False
        on_time = ticket.sign_due_at is None or ctx.now <= ticket.sign_due_at
        return Effect({"due_at": ticket.due_at.isoformat(), "on_time": on_time})


class Return(Action):
    """退单: the lead unit sends the ticket back before signing, saying why."""

    action: Literal["return"] = "return"
    reason: Reason

    moves = {S.DISPATCHED: S.RETURNED}
    roles = HANDLER
    lead_only = True

    async def apply(self, ticket: Ticket, ctx: ActionContext) -> Effect:
        ticket.return_count += 1
        return Effect({"returned_by": ticket.lead_unit_id})


class Escalate(Action):
    """审定: a disputed return goes to a ruling."""

    action: Literal["escalate"] = "escalate"
    reason: Reason

    moves = {S.RETURNED: S.RULING}
    roles = DISPATCH


class Rule(Action):
    """The ruling: the units it names handle the ticket, which is dispatched to them."""

    action: Literal["rule"] = "rule"
    lead_unit_id: UnitId
    co_handler_ids: list[UnitId] = Field(default_factory=list, max_length=20)
    reason: Reason | None = None

    moves = {S.RULING: S.DISPATCHED}
    roles = DISPATCH

    async def apply(self, ticket: Ticket, ctx: ActionContext) -> Effect:
        return _route_to(ticket, await _chosen(self.lead_unit_id, tuple(self.co_handler_ids), ctx), ctx)


class RequestExtension(Action):
    """延期: the lead unit asks, before the deadline, for a later due date."""

    action: Literal["request_extension"] = "request_extension"
    until: Instant = Field(description="the new due date")
    reason: Reason

    moves = {S.HANDLING: S.EXTENSION_REQUESTED}
    roles = HANDLER
    lead_only = True

    async def apply(self, ticket: Ticket, ctx: ActionContext) -> Effect:
        if ticket.due_at is not None and ctx.now > ticket.due_at:
            raise InvalidAction("an extension must be requested before the deadline")
        if ticket.due_at is not None and self.until <= ticket.due_at:
            raise InvalidAction("the requested date must be after the current due date")
        ticket.extension_until = self.until
        return Effect({"until": self.until.isoformat(),
                       "due_at": ticket.due_at.isoformat() if ticket.due_at else None})


class ApproveExtension(Action):
    """The requested date becomes the due date."""

    action: Literal["approve_extension"] = "approve_extension"
    reason: Reason | None = None

    moves = {S.EXTENSION_REQUESTED: S.HANDLING}
    roles = DISPATCH

    async def apply(self, ticket: Ticket, ctx: ActionContext) -> Effect:
        assert ticket.extension_until is not None  # set by every way into EXTENSION_REQUESTED
        data = {"from": ticket.due_at.isoformat() if ticket.due_at else None, "to": ticket.extension_until.isoformat()}
        ticket.due_at, ticket.extension_until = ticket.extension_until, None
        ticket.extension_count += 1
        ticket.due_breach_raised = False
        return Effect(data)


class DenyExtension(Action):
    """The due date stays."""

    action: Literal["deny_extension"] = "deny_extension"
    reason: Reason

    moves = {S.EXTENSION_REQUESTED: S.HANDLING}
    roles = DISPATCH

    async def apply(self, ticket: Ticket, ctx: ActionContext) -> Effect:
        ticket.extension_until = None
        return Effect()


class Reply(Action):
    """答复: the lead unit's answer; the follow-up call comes next."""

    action: Literal["reply"] = "reply"
    answer: Answer

    moves = {S.HANDLING: S.REPLIED}
    roles = HANDLER
    lead_only = True

    async def apply(self, ticket: Ticket, ctx: ActionContext) -> Effect:
        ticket.answer = self.answer
        ticket.replied_at = ctx.now
        return Effect()


class FollowUp(Action):
    """回访: the caller's rating. Satisfied closes; unsatisfied sends the work back (重办).

    A direct answer (already closed) may be rated once."""

    action: Literal["follow_up"] = "follow_up"
    rating: Rating
    reason: Reason | None = None

    moves = {S.REPLIED: S.CLOSED, S.CLOSED: S.CLOSED}
    roles = DESK

    async def apply(self, ticket: Ticket, ctx: ActionContext) -> Effect:
        if ticket.state is S.CLOSED and ticket.rating is not None:
            raise InvalidAction("this ticket was already rated")
        ticket.rating = self.rating
        data: dict[str, Any] = {"rating": self.rating.value}
        if self.rating is not Rating.UNSATISFIED:
            if ticket.closed_at is None:
                ticket.closed_at = ctx.now
            return Effect(data)
        # 重办: back to the unit that answered, or to the platform for a direct answer.
        redo = S.HANDLING if ticket.state is S.REPLIED else S.ACCEPTED
        ticket.redo_count += 1
        ticket.replied_at = ticket.closed_at = None
        if redo is S.HANDLING:
            ticket.due_at = ctx.sla.resolution_due(ctx.now)
            ticket.due_breach_raised = False
            data["due_at"] = ticket.due_at.isoformat()
        data["redo"] = ticket.redo_count
        return Effect(data, redo)


class Archive(Action):
    """归档."""

    action: Literal["archive"] = "archive"

    moves = {S.CLOSED: S.ARCHIVED}
    roles = DISPATCH


class Supervise(Action):
    """督办: press the units to act; the state stays."""

    action: Literal["supervise"] = "supervise"
    reason: Reason

    moves = {state: state for state in OPEN_STATES}
    roles = frozenset({Role.DISPATCHER, Role.SUPERVISOR})


class Note(Action):
    """A note in the history; co-handling units write theirs here."""

    action: Literal["note"] = "note"
    text: Answer

    moves = {state: state for state in S}
    roles = frozenset({Role.AGENT, Role.DISPATCHER, Role.HANDLER, Role.SUPERVISOR})

    def event_reason(self) -> str | None:
        return self.text


TicketAction = Annotated[
    Dispatch | CloseDirect | Sign | Return | Escalate | Rule | RequestExtension | ApproveExtension
    | DenyExtension | Reply | FollowUp | Archive | Supervise | Note,
    Field(discriminator="action"),
]
ACTIONS: Mapping[str, type[Action]] = MappingProxyType(
    {cls.name: cls for cls in get_args(get_args(TicketAction)[0])})


# What each state allows, whoever asks: fixed by the actions' moves, so listed once (every view lists it).
_ALLOWED: Mapping[TicketState, tuple[str, ...]] = MappingProxyType(
    {state: tuple(name for name, action in ACTIONS.items() if state in action.moves) for state in TicketState})


def allowed_actions(state: TicketState) -> list[str]:
    """What the state allows, whoever asks."""
    return list(_ALLOWED[state])


def target(state: TicketState, action: str) -> TicketState:
    """The state `action` leads to from `state`, or IllegalTransition naming the allowed actions."""
    moves = ACTIONS[action].moves
    if state not in moves:
        raise IllegalTransition(state, action, allowed_actions(state))
    return moves[state]


def refusal(action: type[Action], role: Role, *, unit_id: str | None, lead_unit_id: str | None) -> str | None:
    """Why `role` (of `unit_id`) may not take `action` on a ticket led by `lead_unit_id`; None if it may."""
    if role is Role.ADMIN:
        return None
    if role not in action.roles:
        return f"role {role.value} may not {action.name}; it may {', '.join(role_actions(role))}"
    if action.lead_only and role is Role.HANDLER and unit_id != lead_unit_id:
        return f"only the lead unit may {action.name}; co-handlers add notes"
    return None


def authorize(action: type[Action], role: Role, *, unit_id: str | None, lead_unit_id: str | None) -> None:
    why = refusal(action, role, unit_id=unit_id, lead_unit_id=lead_unit_id)
    if why is not None:
        raise ActionForbidden(why)


def role_actions(role: Role) -> list[str]:
    """Every action the role may take in some state."""
    return [name for name, action in ACTIONS.items() if role is Role.ADMIN or role in action.roles]


def actions_for(state: TicketState, role: Role, *, unit_id: str | None, lead_unit_id: str | None) -> list[str]:
    """What this person may do to this ticket now: its state ∩ their role ∩ lead unit or not."""
    return [name for name in allowed_actions(state)
            if refusal(ACTIONS[name], role, unit_id=unit_id, lead_unit_id=lead_unit_id) is None]
