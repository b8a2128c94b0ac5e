"""Working time for SLA clocks: office hours on working days, honouring Chinese statutory holidays
and the weekend days swapped into working days (调休).

The official tables come from `chinese-calendar`, which raises for years it lacks. An administrator
enters such a year's State Council notice (its holidays and 调休 working days) on /admin; those
entries are stored in the database (`calendar_days`) and decide the year. A year that neither has
falls back to "Monday to Friday, minus the statutory holidays with a fixed Gregorian date, minus the
holidays listed in config" and logs one loud warning per year, rather than crashing the SLA clock.

Precedence for one day: an admin entry, then a config entry (`ticketing.calendar.extra_*`), then
the package's table, then the fallback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger(__name__)

OFFICIAL = "chinese-calendar"
ADMIN_ENTRIES = "admin entries (/admin working calendar)"
PACKAGE, ADMIN, CONFIG = "package", "admin", "config"  # where a year's days come from
FALLBACK = "fallback (weekends + fixed-date statutory holidays + configured holidays)"
# 《全国年节及纪念日放假办法》: 元旦 1 January, 劳动节 1–2 May, 国庆节 1–3 October.
FIXED_DATE_HOLIDAYS = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})
_MAX_SCAN_DAYS = 3 * 366


class WorkCalendar:
    """Which days are working days. Admin entries win over config, config over the official tables."""

    def __init__(self, extra_holidays: Iterable[date] = (), extra_workdays: Iterable[date] = (),
                 notices: Mapping[date, bool] | None = None) -> None:
        self._holidays = frozenset(extra_holidays)
        self._workdays = frozenset(extra_workdays)
        self._notices = dict(notices or {})  # admin entries: day → is a working day
        self._notice_years = frozenset(day.year for day in self._notices)
        self._warned_years: set[int] = set()
        self._year_counts: dict[int, list[int]] = {}
        self.is_workday = lru_cache(maxsize=4096)(self._is_workday)

    def workdays(self, first: date, last: date) -> int:
        """How many working days from `first` to `last`, both included (0 when last is before first)."""
        count = 0
        while first <= last:
            year_last = min(last, date(first.year, 12, 31))
            counts = self._counts(first.year)
            count += counts[year_last.timetuple().tm_yday] - counts[first.timetuple().tm_yday - 1]
            first = year_last + timedelta(days=1)
        return count

    def _counts(self, year: int) -> list[int]:
        """counts[n]: the working days among the year's first n days."""
        counts = self._year_counts.get(year)
        if counts is None:
            counts = [0]
            day = date(year, 1, 1)
            while day.year == year:
                counts.append(counts[-1] + self.is_workday(day))
                day += timedelta(days=1)
            self._year_counts[year] = counts
        return counts

    def with_notices(self, notices: Mapping[date, bool]) -> WorkCalendar:
        """The same config overrides with these admin entries (a new calendar: the caches are per day)."""
        return WorkCalendar(self._holidays, self._workdays, notices)

    def source(self, day: date) -> str:
        """Which table decides `day`'s year: the official one, the admin's entries, or the fallback."""
        if self._has_official(day):
            return OFFICIAL
        return ADMIN_ENTRIES if day.year in self._notice_years else FALLBACK

    def year_sources(self, year: int) -> list[str]:
        """Where `year`'s days come from (package, admin, config); empty: the fallback alone."""
        sources = [PACKAGE] if self._year_known(year) else []
        if year in self._notice_years:
            sources.append(ADMIN)
        if any(day.year == year for day in self._holidays | self._workdays):
            sources.append(CONFIG)
        return sources

    def _is_workday(self, day: date) -> bool:
        notice = self._notices.get(day)
        if notice is not None:
            return notice
        if day in self._workdays:
            return True
        if day in self._holidays:
            return False
        if self._has_official(day):
            return bool(chinese_calendar.is_workday(day))
        if day.year in self._notice_years:  # the year's notice lists its holidays: the rest is the week
            return day.weekday() < 5 and (day.month, day.day) not in FIXED_DATE_HOLIDAYS
        if day.year not in self._warned_years:
            self._warned_years.add(day.year)
            log.warning(
                "chinese-calendar has no holiday table for %d: SLA clocks fall back to weekends, the "
                "fixed-date statutory holidays and the configured holidays "
                "(ticketing.calendar.extra_holidays / extra_workdays). Enter the State Council's %d "
                "notice on /admin (工作日历 Working calendar) or upgrade chinese-calendar.",
                day.year, day.year,
            )
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_DATE_HOLIDAYS

    @staticmethod
    @lru_cache(maxsize=64)
    def _year_known(year: int) -> bool:
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except NotImplementedError:
            return False
        return True

    def _has_official(self, day: date) -> bool:
        return self._year_known(day.year)


@dataclass(frozen=True)
class OfficeInterval:
    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError(f"office interval {self.start}–{self.end} must start before it ends")


class WorkTime:
    """Arithmetic on working time. Amounts are working durations; instants are aware datetimes."""

    def __init__(self, calendar: WorkCalendar, office_hours: Iterable[OfficeInterval], tz: str) -> None:
        self.calendar = calendar
        self.intervals = sorted(office_hours, key=lambda i: i.start)
        if not self.intervals:
            raise ValueError("at least one office-hours interval is needed")
        for before, after in zip(self.intervals, self.intervals[1:], strict=False):
            if after.start < before.end:
                raise ValueError(f"office intervals overlap: {before} and {after}")
        self.tz = ZoneInfo(tz)
        self.day_length = sum((_span(i) for i in self.intervals), timedelta())

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The instant at which `amount` of working time after `start` has elapsed.

        Landing exactly at the end of an office interval returns that end, so adding a then b
        equals adding a + b.
        """
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if amount < timedelta(0):
            raise ValueError("amount must not be negative")
        if amount == timedelta(0):
            return start
        local = start.astimezone(self.tz)
        remaining = amount
        day = local.date()
        for _ in range(_MAX_SCAN_DAYS):
            if self.calendar.is_workday(day):
                for interval in self.intervals:
                    begin = datetime.combine(day, interval.start, self.tz)
                    end = datetime.combine(day, interval.end, self.tz)
                    if end <= local:
                        continue
                    begin = max(begin, local)
                    available = end - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(UTC)
                    remaining -= available
            day += timedelta(days=1)
        raise ValueError(f"no working time within {_MAX_SCAN_DAYS} days of {start.isoformat()}")

    def add_hours(self, start: datetime, hours: float) -> datetime:
        return self.add(start, timedelta(hours=hours))

    def add_days(self, start: datetime, days: float) -> datetime:
        """Working days, each as long as one day's office hours."""
        return self.add(start, self.day_length * days)

    def is_working_instant(self, moment: datetime) -> bool:
        local = moment.astimezone(self.tz)
        if not self.calendar.is_workday(local.date()):
            return False
        return any(i.start <= local.time() <= i.end for i in self.intervals)

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Working time between two instants (zero if end <= start)."""
        if end <= start:
            return timedelta(0)
        local_start, local_end = start.astimezone(self.tz), end.astimezone(self.tz)
        first, last = local_start.date(), local_end.date()
        if first == last:
            return self._within(first, local_start, local_end)
        whole_days = self.calendar.workdays(first + timedelta(days=1), last - timedelta(days=1))
        return (self._within(first, local_start, local_end) + self.day_length * whole_days
                + self._within(last, local_start, local_end))

    def _within(self, day: date, local_start: datetime, local_end: datetime) -> timedelta:
        """Working time of one day that falls between two local instants."""
        total = timedelta(0)
        if self.calendar.is_workday(day):
            for interval in self.intervals:
                begin = max(datetime.combine(day, interval.start, self.tz), local_start)
                finish = min(datetime.combine(day, interval.end, self.tz), local_end)
                if finish > begin:
                    total += finish - begin
        return total


def _span(interval: OfficeInterval) -> timedelta:
    return datetime.combine(date.min, interval.end) - datetime.combine(date.min, interval.start)
