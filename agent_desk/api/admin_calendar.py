"""Administration of the working calendar (/admin): a year's State Council notice (holidays and
调休 working days), stored in the database; the years covered and where each comes from; the
deadlines an instant gets under the calendar in use. The SLA clocks of every process take a saved
notice up within seconds (`ticketing.live_config`)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field, NaiveDatetime

from agent_desk.api.deps import AdminCaller, DeskDep
from agent_desk.api.errors import AUTHED, responses
from agent_desk.desk import Desk
from ticketing.errors import InvalidAction
from ticketing.live_config import NoticeDay, notice_days, notice_years, replace_year
from ticketing.models import utcnow

router = APIRouter(prefix="/api/admin/calendar", tags=["admin"])
Year = Annotated[int, Path(ge=2000, le=2199)]


class DayModel(BaseModel):
    day: date
    workday: bool = Field(description="false: a holiday (放假); true: a weekend day worked (调休上班)")
    note: str = Field("", max_length=64)


class YearView(BaseModel):
    year: int
    sources: list[str] = Field(description="package (chinese-calendar), admin (entered here), config "
                                           "(ticketing.calendar.extra_*); empty: weekends and fixed-date "
                                           "holidays only, with a warning in the log")
    days: list[DayModel]


class Coverage(BaseModel):
    timezone: str = Field(description="the hotline's clock, on which deadlines are shown")
    years: list[YearView]


class YearWrite(BaseModel):
    days: list[DayModel] = Field(max_length=80)


class Deadlines(BaseModel):
    dispatched_at: datetime
    sign_due_at: datetime
    resolution_due_at: datetime = Field(description="when signed off at sign_due_at")


@router.get("", response_model=Coverage, responses=responses(*AUTHED))
async def coverage(desk: DeskDep, who: AdminCaller) -> Coverage:
    """Last year to two years ahead, and every year with entries: where each year's days come from."""
    await desk.tickets.refresh()
    this_year = utcnow().astimezone(desk.zone).year
    async with desk.sessions() as session:
        years = sorted({*range(this_year - 1, this_year + 3), *await notice_years(session)})
    return Coverage(timezone=desk.zone.key, years=[await _year(desk, year, days=False) for year in years])


@router.get("/deadlines", response_model=Deadlines, responses=responses(400, *AUTHED))
async def deadlines(desk: DeskDep, who: AdminCaller, at: Annotated[NaiveDatetime, Query(
        description="a dispatch time on the hotline's clock (calendar.timezone), e.g. 2027-02-05T16:00")]) -> Deadlines:
    """The deadlines a case dispatched at `at` gets under the calendar in use (as a new dispatch
    would), on the hotline's clock."""
    await desk.tickets.refresh()
    sla, zone = desk.tickets.sla, desk.zone
    if not 2000 <= at.year < 2200:
        raise InvalidAction("at must be between 2000 and 2199")
    start = at.replace(tzinfo=zone)
    try:
        sign_due = sla.sign_due(start)
        resolution_due = sla.resolution_due(sign_due)
    except ValueError as exc:  # no working time within the scan horizon
        raise InvalidAction(str(exc)) from None
    return Deadlines(dispatched_at=start, sign_due_at=sign_due.astimezone(zone),
                     resolution_due_at=resolution_due.astimezone(zone))


@router.get("/{year}", response_model=YearView, responses=responses(*AUTHED))
async def year_view(year: Year, desk: DeskDep, who: AdminCaller) -> YearView:
    await desk.tickets.refresh()
    return await _year(desk, year, days=True)


@router.put("/{year}", response_model=YearView, responses=responses(400, *AUTHED))
async def save_year(year: Year, body: YearWrite, desk: DeskDep, who: AdminCaller) -> YearView:
    """Replace the year's entries (an empty list removes them). SLA clocks use them at once."""
    async with desk.sessions() as session:
        before = await notice_days(session, year)
    days = [NoticeDay(d.day, d.workday, d.note) for d in body.days]
    try:
        async with desk.sessions.begin() as session:
            await replace_year(session, year, days, who.username)
    except ValueError as exc:
        raise InvalidAction(str(exc)) from None
    await desk.audit.record(who.username, "calendar.year", "calendar", year,
                            before=[asdict(d) for d in before], after=[asdict(d) for d in days])
    await desk.tickets.refresh(at_once=True)
    return await _year(desk, year, days=True)


async def _year(desk: Desk, year: int, *, days: bool) -> YearView:
    entries: list[NoticeDay] = []
    if days:
        async with desk.sessions() as session:
            entries = await notice_days(session, year)
    return YearView(year=year, sources=desk.tickets.sla.worktime.calendar.year_sources(year),
                    days=[DayModel(day=e.day, workday=e.workday, note=e.note) for e in entries])
