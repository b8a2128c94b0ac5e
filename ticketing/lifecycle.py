"""The ticket state machine (docs/domain.md) as a table: action → {from state: to state}.

受理 accepted → 派单 dispatched → 签收/办理 handling → 答复 replied → 回访 follow-up → 办结 closed → 归档.
Side paths: 直接办结 close_direct; 退单 return (before sign-off, with a reason) → re-dispatch, or
escalate to 审定 ruling → rule; 延期 request_extension → approve/deny; 回访 unsatisfied → 重办 back to
handling; 督办 supervise and notes leave the state as it is.
"""

from __future__ import annotations

from types import MappingProxyType

from ticketing.errors import IllegalTransition
from ticketing.vocabulary import OPEN_STATES, TicketState

S = TicketState

TRANSITIONS: MappingProxyType[str, MappingProxyType[TicketState, TicketState]] = MappingProxyType({
    action: MappingProxyType(moves) for action, moves in {
        "dispatch": {S.ACCEPTED: S.DISPATCHED, S.RETURNED: S.DISPATCHED},
        "close_direct": {S.ACCEPTED: S.CLOSED},
        "sign": {S.DISPATCHED: S.HANDLING},
        "return": {S.DISPATCHED: S.RETURNED},
        "escalate": {S.RETURNED: S.RULING},
        "rule": {S.RULING: S.DISPATCHED},
        "request_extension": {S.HANDLING: S.EXTENSION_REQUESTED},
        "approve_extension": {S.EXTENSION_REQUESTED: S.HANDLING},
        "deny_extension": {S.EXTENSION_REQUESTED: S.HANDLING},
        "reply": {S.HANDLING: S.REPLIED},
        # Satisfied → closed; unsatisfied → 重办 (see `follow_up_target`). A direct answer may be
        # rated once after closing.
        "follow_up": {S.REPLIED: S.CLOSED, S.CLOSED: S.CLOSED},
        "archive": {S.CLOSED: S.ARCHIVED},
        "supervise": {state: state for state in OPEN_STATES},
        "note": {state: state for state in S},
    }.items()
})

ACTIONS = tuple(TRANSITIONS)


def allowed_actions(state: TicketState) -> list[str]:
    return [action for action, moves in TRANSITIONS.items() if state in moves]


def target(state: TicketState, action: str) -> TicketState:
    """The state `action` leads to from `state`, or IllegalTransition naming the allowed actions."""
    moves = TRANSITIONS.get(action)
    if moves is None:
        raise IllegalTransition(state, action, allowed_actions(state), "unknown action")
    if state not in moves:
        raise IllegalTransition(state, action, allowed_actions(state))
    return moves[state]


def redo_target(state: TicketState) -> TicketState:
    """Where an unsatisfied follow-up sends the ticket: back to the unit, or to the platform."""
    return S.HANDLING if state is S.REPLIED else S.ACCEPTED
