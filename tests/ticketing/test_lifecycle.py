"""Every (state, action) pair: legal ones move as declared, illegal ones change nothing; and the
declarations themselves: payloads, roles and lead units."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import func, select

from tests.conftest import Database
from tests.ticketing.helpers import EVERY_ACTION, Clock, service, ticket_in
from ticketing.actions import (
    ACTIONS,
    Dispatch,
    FollowUp,
    Note,
    Sign,
    TicketAction,
    actions_for,
    allowed_actions,
    target,
)
from ticketing.errors import IllegalTransition, InvalidAction
from ticketing.models import Role, Ticket, TicketEvent
from ticketing.vocabulary import TicketState

pytestmark = pytest.mark.anyio

ILLEGAL = [(state, action) for state in TicketState for action in ACTIONS if state not in ACTIONS[action].moves]
LEGAL = [(state, action) for state in TicketState for action in ACTIONS if state in ACTIONS[action].moves]


def test_every_state_is_reachable_and_closed_states_have_an_exit_or_end() -> None:
    reachable = {TicketState.ACCEPTED}
    frontier = [TicketState.ACCEPTED]
    while frontier:
        state = frontier.pop()
        for action in allowed_actions(state):
            nxt = target(state, action)
            if nxt not in reachable:
                reachable.add(nxt)
                frontier.append(nxt)
    assert reachable == set(TicketState)
    assert allowed_actions(TicketState.ARCHIVED) == ["note"]


def test_return_is_only_possible_before_sign_off() -> None:
    assert list(ACTIONS["return"].moves) == [TicketState.DISPATCHED]


def test_an_illegal_action_names_the_allowed_ones() -> None:
    with pytest.raises(IllegalTransition) as err:
        target(TicketState.ACCEPTED, "reply")
    assert "dispatch" in str(err.value) and "accepted" in str(err.value)


def test_payloads_are_one_discriminated_union() -> None:
    adapter = TypeAdapter(TicketAction)
    assert adapter.validate_python({"action": "note", "text": " 已联系 "}) == Note(text="已联系")
    assert adapter.validate_python({"action": "dispatch"}) == Dispatch()
    for bad in ({"action": "teleport"}, {"action": "reply"}, {"action": "sign", "colour": "red"},
                {"action": "follow_up", "rating": "meh"}, {"action": "return", "reason": "   "},
                {"action": "request_extension", "until": "2030-01-01T00:00:00", "reason": "naive"}):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)
    assert set(adapter.json_schema()["discriminator"]["mapping"]) == set(ACTIONS)


def test_what_a_person_may_do_is_state_and_role_and_lead_unit() -> None:
    def may(state: TicketState, role: Role, unit: str | None = None) -> list[str]:
        return actions_for(state, role, unit_id=unit, lead_unit_id="office:320106")

    assert may(TicketState.DISPATCHED, Role.HANDLER, "office:320106") == ["sign", "return", "note"]
    assert may(TicketState.DISPATCHED, Role.HANDLER, "dept:320106:housing") == ["note"]  # a co-handler
    assert may(TicketState.ACCEPTED, Role.AGENT) == ["dispatch", "close_direct", "note"]
    assert may(TicketState.REPLIED, Role.SUPERVISOR) == ["supervise", "note"]
    assert may(TicketState.RULING, Role.ADMIN) == allowed_actions(TicketState.RULING)
    assert may(TicketState.ARCHIVED, Role.DISPATCHER) == ["note"]
    assert Sign.lead_only and not FollowUp.lead_only


@pytest.mark.parametrize(("state", "action"), ILLEGAL, ids=[f"{s.value}-{a}" for s, a in ILLEGAL])
async def test_illegal_transition_raises_and_changes_nothing(db: Database, state: TicketState, action: str) -> None:
    svc = service(db.sessions, Clock())
    ticket_id = await ticket_in(svc, state)
    async with db.sessions() as session:
        before = await session.get(Ticket, ticket_id)
        events_before = await session.scalar(select(func.count()).select_from(TicketEvent))
    assert before is not None
    with pytest.raises(IllegalTransition) as err:
        await svc.act(ticket_id, EVERY_ACTION[action], "tester")
    assert err.value.state is state
    assert err.value.allowed == allowed_actions(state)
    assert state.value in str(err.value)
    async with db.sessions() as session:
        after = await session.get(Ticket, ticket_id)
        events_after = await session.scalar(select(func.count()).select_from(TicketEvent))
    assert after is not None
    assert (after.state, after.version, after.updated_at) == (before.state, before.version, before.updated_at)
    assert events_after == events_before


@pytest.mark.parametrize(("state", "action"), LEGAL, ids=[f"{s.value}-{a}" for s, a in LEGAL])
async def test_legal_transition_moves_and_records_an_event(
    sqlite_db: Database, state: TicketState, action: str,
) -> None:
    svc = service(sqlite_db.sessions, Clock())
    ticket_id = await ticket_in(svc, state)
    if action == "follow_up" and state is TicketState.CLOSED:
        with pytest.raises(InvalidAction, match="already rated"):
            await svc.act(ticket_id, EVERY_ACTION[action], "tester")
        return
    view = await svc.act(ticket_id, EVERY_ACTION[action], "tester")
    assert view.state is ACTIONS[action].moves[state]
    last = (await svc.history(ticket_id))[-1]
    assert (last.action, last.from_state, last.to_state, last.actor) == (action, state, view.state, "tester")
