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


class DraftNotFound(TicketingError, LookupError):
    def __init__(self, draft_id: int) -> None:
        super().__init__(f"draft {draft_id} not found")
        self.draft_id = draft_id


class CallNotFound(TicketingError, LookupError):
    def __init__(self, call_id: int) -> None:
        super().__init__(f"call {call_id} not found")
        self.call_id = call_id


class AlreadyLinked(TicketingError):
    """The draft or call already belongs to a ticket: one ticket per draft and per call. Nothing was created."""

    def __init__(self, what: str, record_id: int, ticket_id: int, ticket_number: str) -> None:
        verb = "confirmed as" if what == "draft" else "attached to"
        super().__init__(f"{what} {record_id} is already {verb} ticket {ticket_number}")
        self.ticket_id = ticket_id
        self.ticket_number = ticket_number


class IllegalTransition(TicketingError):
    """The action is not allowed in the ticket's current state. Nothing was changed."""

    def __init__(self, state: TicketState, action: str, allowed: Sequence[str]) -> None:
        super().__init__(
            f"cannot {action!r} a ticket in state {state.value} ({state.label}); "
            f"allowed: {', '.join(allowed) or 'none'}"
        )
        self.state = state
        self.action = action
        self.allowed = list(allowed)


class ActionForbidden(TicketingError):
    """The caller's role (or unit) may not take this action on this ticket. Nothing was changed."""


class ConcurrentUpdate(TicketingError):
    """Someone else changed the ticket (or draft, or call) first. Reload and retry; nothing was changed."""

    def __init__(self, record_id: int, what: str = "ticket") -> None:
        super().__init__(f"{what} {record_id} was changed concurrently; reload and retry")


class InvalidAction(TicketingError):
    """The action is known and allowed, but its parameters are wrong (a date before the deadline …)."""


class RoutingError(TicketingError):
    """Routing rules or a routing request name a region or department type that does not exist."""


class ArticleNotFound(TicketingError, LookupError):
    def __init__(self, article_id: int) -> None:
        super().__init__(f"knowledge article {article_id} not found")
        self.article_id = article_id


class StaleRevision(TicketingError):
    """The article moved on since the revision the editor read. Reload and redo; nothing was changed."""

    def __init__(self, article_id: int, current: int) -> None:
        super().__init__(f"knowledge article {article_id} is at revision {current}; reload it and edit again")
        self.article_id = article_id
        self.current = current


class InvalidKnowledgeRequest(TicketingError):
    """An article or a search that cannot be taken as given (unknown region, dates the wrong way …)."""
