"""Per-ticket SLA outcomes, kept on the row so KPIs are sums of small integers.

The service recomputes them after every change (it is the only writer), so

    sign_ok          1 signed by the deadline, 0 signed late, NULL not signed (or no deadline)
    close_ok         1 closed on time (green), 0 closed late (yellow), NULL still open
    satisfied        1 satisfied or basically satisfied, 0 unsatisfied, NULL not rated
    handling_seconds closed_at − created_at for closed tickets, else NULL
    red_after        for an open ticket, the instant it turns (or turned) red; else NULL

are also what `ticketing.sla.light` reads, so the API's lights and the KPI counts cannot disagree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ticketing.vocabulary import (
    OPEN_STATES,
    SATISFIED_RATINGS,
    UNSIGNED_STATES,
    Rating,
    TicketState,
)


def outcomes(
    *,
    state: TicketState,
    created_at: datetime,
    sign_due_at: datetime | None,
    signed_at: datetime | None,
    due_at: datetime | None,
    replied_at: datetime | None,
    closed_at: datetime | None,
    rating: Rating | None,
) -> dict[str, Any]:
    sign_ok = None if signed_at is None or sign_due_at is None else int(signed_at <= sign_due_at)
    is_open = state in OPEN_STATES
    close_ok = None
    handling = None
    if not is_open:
        close_ok = int(due_at is None or (replied_at is not None and replied_at <= due_at))
        if closed_at is not None:
            handling = (closed_at - created_at).total_seconds()
    red_after = None
    if is_open:
        if signed_at is None and state in UNSIGNED_STATES:
            red_after = sign_due_at
        if due_at is not None and (replied_at is None or replied_at > due_at):
            red_after = due_at if red_after is None else min(red_after, due_at)
    return {
        "sign_ok": sign_ok,
        "close_ok": close_ok,
        "satisfied": None if rating is None else int(rating in SATISFIED_RATINGS),
        "handling_seconds": handling,
        "red_after": red_after,
    }


def refresh(ticket: Any) -> None:
    """Recompute the outcome columns of a Ticket row in place."""
    for key, value in outcomes(
        state=ticket.state, created_at=ticket.created_at, sign_due_at=ticket.sign_due_at,
        signed_at=ticket.signed_at, due_at=ticket.due_at, replied_at=ticket.replied_at,
        closed_at=ticket.closed_at, rating=ticket.rating,
    ).items():
        setattr(ticket, key, value)
