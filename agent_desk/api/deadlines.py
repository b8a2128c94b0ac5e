"""A ticket's deadlines as a person reads them: due when, met when, and working hours left (negative
once overdue), counted on the working calendar (`ticketing.worktime`). The timeline and the handlers'
inbox show the same figures from here."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from ticketing.views import TicketView
from ticketing.vocabulary import Light
from ticketing.worktime import WorkTime


class Deadline(BaseModel):
    name: Literal["sign", "resolve"]
    label: str
    due_at: datetime
    met_at: datetime | None  # when it was met (signed, answered); None while open
    working_hours_left: float  # working hours from now to the deadline; negative once overdue
    light: Light


def deadline_fields(view: Mapping[str, Any], worktime: WorkTime, now: datetime) -> list[dict[str, Any]]:
    """The sign-off deadline and the resolution deadline, each once it is set, as `Deadline`'s values
    from a ticket view's (`TicketView`'s fields; the inbox serialises them as they are)."""

    def deadline(name: Literal["sign", "resolve"], label: str, due: datetime | None, met: datetime | None,
                 light: Light) -> list[dict[str, Any]]:
        if due is None:
            return []
        until = met or now
        left = worktime.elapsed(until, due) - worktime.elapsed(due, until)
        return [{"name": name, "label": label, "due_at": due, "met_at": met,
                 "working_hours_left": round(left.total_seconds() / 3600, 2), "light": light}]

    return [*deadline("sign", "签收 sign-off", view["sign_due_at"], view["signed_at"], view["sign_light"]),
            *deadline("resolve", "办结 resolution", view["due_at"], view["replied_at"], view["light"])]


def deadlines(view: TicketView, worktime: WorkTime, now: datetime) -> list[Deadline]:
    """The sign-off deadline and the resolution deadline, each once it is set."""
    return [Deadline(**d) for d in deadline_fields(dict(view), worktime, now)]
