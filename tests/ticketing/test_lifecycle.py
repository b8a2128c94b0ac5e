"""Every (state, action) pair: legal ones move as the table says, illegal ones change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.conftest import Database
from tests.ticketing.helpers import ACTION_PARAMS, Clock, service, ticket_in
from ticketing.errors import IllegalTransition, InvalidAction
from ticketing.lifecycle import ACTIONS, TRANSITIONS, allowed_actions, target
from ticketing.models import Ticket, TicketEvent
from ticketing.vocabulary import TicketState

pytestmark = pytest.mark.anyio

ILLEGAL = [(state, action) for state in TicketState for action in ACTIONS if state not in TRANSITIONS[action]]
LEGAL = [(state, action) for state in TicketState for action in ACTIONS if state in TRANSITIONS[action]]


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
    assert list(TRANSITIONS["return"]) == [TicketState.DISPATCHED]


def test_unknown_action_names_the_allowed_ones() -> None:
    with pytest.raises(IllegalTransition) as err:
        target(TicketState.ACCEPTED, "teleport")
    assert "dispatch" in str(err.value) and "accepted" in str(err.value)


@pytest.mark.parametrize(("state", "action"), ILLEGAL, ids=[f"{s.value}-{a}" for s, a in ILLEGAL])
async def test_illegal_transition_raises_and_changes_nothing(db: Database, state: TicketState, action: str) -> None:
    svc = service(db.sessions, Clock())
    ticket_id = await ticket_in(svc, state)
    async with db.sessions() as session:
        before = await session.get(Ticket, ticket_id)
        events_before = await session.scalar(select(func.count()).select_from(TicketEvent))
    assert before is not None
    with pytest.raises(IllegalTransition) as err:
        await svc.act(ticket_id, action, "tester", **ACTION_PARAMS[action])
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
async def test_legal_transition_moves_and_records_an_event(sqlite_db: Database, state: TicketState, action: str) -> None:
    svc = service(sqlite_db.sessions, Clock())
    ticket_id = await ticket_in(svc, state)
    if action == "follow_up" and state is TicketState.CLOSED:
        with pytest.raises(InvalidAction, match="already rated"):
            await svc.act(ticket_id, action, "tester", **ACTION_PARAMS[action])
        return
    view = await svc.act(ticket_id, action, "tester", **ACTION_PARAMS[action])
    assert view.state is TRANSITIONS[action][state]
    last = (await svc.history(ticket_id))[-1]
    assert (last.action, last.from_state, last.to_state, last.actor) == (action, state, view.state, "tester")
