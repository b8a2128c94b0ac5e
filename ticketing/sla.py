"""SLA deadlines and traffic lights.

- Sign-off (签收) is due `sign_off_hours` working hours after dispatch (default 4, target 1).
- Resolution is due `resolution_days` working days after sign-off (default 5, target 3).
- Lights: green = closed on time; yellow = closed late; red = open and overdue, for sign-off or
  for resolution; none = open and within its deadlines. "On time" compares the moment the answer
  was delivered (`replied_at`: the unit's 答复, or the agent's direct answer) with `due_at`, so a
  follow-up call days later does not make a unit late.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime

from ticketing.outcomes import outcomes
from ticketing.settings import CalendarSettings, SlaSettings
from ticketing.vocabulary import Light, TicketState
from ticketing.worktime import OfficeInterval, WorkCalendar, WorkTime


@dataclass(frozen=True)
class SlaPolicy:
    worktime: WorkTime
    sign_off_hours: float = 4
    resolution_days: float = 5

    @classmethod
    def from_settings(cls, calendar: CalendarSettings, sla: SlaSettings) -> SlaPolicy:
        worktime = WorkTime(
            WorkCalendar(calendar.extra_holidays, calendar.extra_workdays),
            [OfficeInterval(h.start, h.end) for h in calendar.office_hours],
            calendar.timezone,
        )
        return cls(worktime, sla.sign_off_hours, sla.resolution_days)

    def with_notices(self, notices: Mapping[date, bool]) -> SlaPolicy:
        """The same policy on a calendar with these admin entries (day → is a working day)."""
        worktime = WorkTime(self.worktime.calendar.with_notices(notices), self.worktime.intervals,
                            self.worktime.tz.key)
        return replace(self, worktime=worktime)

    def sign_due(self, dispatched_at: datetime) -> datetime:
        return self.worktime.add_hours(dispatched_at, self.sign_off_hours)

    def resolution_due(self, signed_at: datetime) -> datetime:
        return self.worktime.add_days(signed_at, self.resolution_days)


def light(
    state: TicketState,
    *,
    now: datetime,
    created_at: datetime,
    sign_due_at: datetime | None,
    signed_at: datetime | None,
    due_at: datetime | None,
    replied_at: datetime | None,
) -> Light:
    result = outcomes(state=state, created_at=created_at, sign_due_at=sign_due_at,
                      signed_at=signed_at, due_at=due_at, replied_at=replied_at, closed_at=None,
                      rating=None)
    if result["close_ok"] is not None:
        return Light.GREEN if result["close_ok"] else Light.YELLOW
    red_after = result["red_after"]
    return Light.RED if red_after is not None and now > red_after else Light.NONE


def sign_light(*, now: datetime, sign_due_at: datetime | None, signed_at: datetime | None) -> Light:
    """The sign-off light alone: red while unsigned past its deadline."""
    if sign_due_at is None:
        return Light.NONE
    if signed_at is None:
        return Light.RED if now > sign_due_at else Light.NONE
    return Light.GREEN if signed_at <= sign_due_at else Light.YELLOW
