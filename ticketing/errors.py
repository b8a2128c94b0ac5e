"""Domain errors. Each carries what a caller needs to explain itself to a person."""

from __future__ import annotations

from collections.abc import Sequence

from ticketing.vocabulary import TicketState


class TicketingError(Exception):
    """Base class for errors the ticketing core raises on purpose."""


class TicketNotFound(TicketingError):
    def __init__(self, ticket_id: int | str) -> None:
        super().__init__(f"ticket {ticket_id} not found")
        self.ticket_id = ticket_id


class IllegalTransition(TicketingError):
    """The action is not allowed in the ticket's current state. Nothing was changed."""

    def __init__(self, state: TicketState, action: str, allowed: Sequence[str], why: str = "") -> None:
        detail = f" ({why})" if why else ""
        super().__init__(
            f"cannot {action!r} a ticket in state {state.value} ({state.label}){detail}; "
            f"allowed: {', '.join(allowed) or 'none'}"
        )
        self.state = state
        self.action = action
        self.allowed = list(allowed)


class ConcurrentUpdate(TicketingError):
    """Someone else changed the ticket first. Reload and retry; nothing was changed."""

    def __init__(self, ticket_id: int) -> None:
        super().__init__(f"ticket {ticket_id} was changed concurrently; reload and retry")
        self.ticket_id = ticket_id


class InvalidAction(TicketingError, ValueError):
    """The action is known and allowed, but its parameters are wrong (missing reason, bad date …)."""
