"""Working-time arithmetic: statutory holidays, 调休 swaps, the 2027 fallback, and properties."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketing.worktime import FALLBACK, OFFICIAL, OfficeInterval, WorkCalendar, WorkTime

CST = ZoneInfo("Asia/Shanghai")
HOURS = [OfficeInterval(time(9), time(12)), OfficeInterval(time(13, 30), time(17, 30))]


def worktime(**calendar: object) -> WorkTime:
    return WorkTime(WorkCalendar(**calendar), HOURS, "Asia/Shanghai")  # type: ignore[arg-type]


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


def test_swapped_weekend_days_are_working_days_and_golden_week_is_not() -> None:
    cal = WorkCalendar()
    assert cal.is_workday(date(2026, 9, 20))  # Sunday, swapped in
    assert cal.is_workday(date(2026, 10, 10))  # Saturday, swapped in
    assert not any(cal.is_workday(date(2026, 10, d)) for d in range(1, 8))
    assert not cal.is_workday(date(2026, 11, 28))  # an ordinary Saturday


def test_four_hours_before_golden_week_lands_after_it() -> None:
    due = worktime().add_hours(cst(2026, 9, 30, 16, 0), 4)
    assert due == cst(2026, 10, 8, 11, 30)


def test_five_days_counts_the_swapped_saturday() -> None:
    due = worktime().add_days(cst(2026, 10, 8, 9, 0), 5)
    # 10-08, 10-09, 10-10 (Saturday, working), 10-12, 10-13
    assert due == cst(2026, 10, 13, 17, 30)


def test_weekend_start_begins_on_the_next_working_morning() -> None:
    assert worktime().add_hours(cst(2026, 11, 28, 22, 0), 1) == cst(2026, 11, 30, 10, 0)


def test_lunch_break_is_not_working_time() -> None:
    assert worktime().add_hours(cst(2026, 11, 30, 11, 30), 1) == cst(2026, 11, 30, 14, 0)


def test_the_fallback_knows_the_fixed_date_statutory_holidays() -> None:
    wt = worktime()
    # 元旦 (a Friday in 2027), 劳动节 and 国庆节 fall on fixed dates; lunar holidays need config.
    for day in (date(2027, 1, 1), date(2027, 5, 1), date(2027, 5, 2), date(2027, 10, 1), date(2027, 10, 2)):
        assert not wt.calendar.is_workday(day)
    assert wt.calendar.is_workday(date(2027, 1, 4)) and wt.calendar.is_workday(date(2027, 2, 8))
    assert wt.add_hours(cst(2026, 12, 31, 17, 0), 1) == cst(2027, 1, 4, 9, 30)


def test_2027_falls_back_with_one_loud_warning(caplog: pytest.LogCaptureFixture) -> None:
    wt = worktime()
    with caplog.at_level(logging.WARNING, logger="ticketing.worktime"):
        due = wt.add_days(cst(2027, 1, 8, 9, 0), 3)  # Friday
        wt.add_days(cst(2027, 2, 1, 9, 0), 10)
    assert due == cst(2027, 1, 12, 17, 30)  # Fri, Mon, Tue
    warnings = [r for r in caplog.records if "2027" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert wt.calendar.source(date(2027, 1, 8)) == FALLBACK
    assert wt.calendar.source(date(2026, 1, 8)) == OFFICIAL


def test_configured_holidays_and_workdays_override_the_tables() -> None:
    wt = worktime(extra_holidays=[date(2027, 2, 8)], extra_workdays=[date(2027, 1, 2)])
    assert not wt.calendar.is_workday(date(2027, 2, 8))  # a Monday, listed in config
    assert not wt.calendar.is_workday(date(2027, 1, 1))
    assert wt.calendar.is_workday(date(2027, 1, 2))  # a Saturday
    assert wt.add_hours(cst(2026, 12, 31, 17, 0), 1) == cst(2027, 1, 2, 9, 30)


def test_admin_notices_decide_their_year_before_config_without_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    base = worktime(extra_holidays=[date(2027, 2, 8), date(2027, 3, 1)])
    wt = WorkTime(base.calendar.with_notices({date(2027, 2, 8): True, date(2027, 2, 10): False,
                                              date(2027, 2, 20): True}), base.intervals, "Asia/Shanghai")
    with caplog.at_level(logging.WARNING, logger="ticketing.worktime"):
        assert wt.calendar.is_workday(date(2027, 2, 8))  # the admin's entry wins over config
        assert not wt.calendar.is_workday(date(2027, 2, 10))  # a Wednesday off
        assert wt.calendar.is_workday(date(2027, 2, 20))  # a Saturday worked
        assert not wt.calendar.is_workday(date(2027, 3, 1))  # config still counts where no entry says
        assert not wt.calendar.is_workday(date(2027, 10, 1))  # a fixed-date holiday
    assert not [r for r in caplog.records if "2027" in r.getMessage()]
    assert wt.calendar.year_sources(2027) == ["admin", "config"]
    assert wt.calendar.year_sources(2026) == ["package"] and wt.calendar.year_sources(2028) == []
    assert base.calendar.is_workday(date(2026, 10, 1)) is False


def test_naive_and_negative_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        worktime().add_hours(datetime(2026, 1, 5, 9), 1)
    with pytest.raises(ValueError, match="negative"):
        worktime().add(cst(2026, 1, 5, 9), timedelta(hours=-1))
    with pytest.raises(ValueError, match="overlap"):
        WorkTime(WorkCalendar(), [OfficeInterval(time(9), time(12)), OfficeInterval(time(11), time(13))], "UTC")


instants = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31),
                        timezones=st.just(UTC))
amounts = st.integers(min_value=1, max_value=60 * 7 * 15).map(lambda m: timedelta(minutes=m))
WT = worktime(extra_holidays=[date(2027, 1, 1)])


@settings(max_examples=300, deadline=None)
@given(start=instants, amount=amounts)
def test_a_due_date_is_always_inside_office_hours_on_a_working_day(start: datetime, amount: timedelta) -> None:
    due = WT.add(start, amount)
    assert WT.is_working_instant(due)
    assert due > start


@settings(max_examples=300, deadline=None)
@given(start=instants, a=amounts, b=amounts)
def test_adding_a_then_b_equals_adding_a_plus_b(start: datetime, a: timedelta, b: timedelta) -> None:
    assert WT.add(WT.add(start, a), b) == WT.add(start, a + b)


@settings(max_examples=200, deadline=None)
@given(start=instants, amount=amounts)
def test_elapsed_working_time_inverts_add(start: datetime, amount: timedelta) -> None:
    assert WT.elapsed(start, WT.add(start, amount)) == amount


@settings(max_examples=200, deadline=None)
@given(start=instants, a=amounts, b=amounts)
def test_more_working_time_is_never_earlier(start: datetime, a: timedelta, b: timedelta) -> None:
    small, large = sorted((a, b))
    assert WT.add(start, small) <= WT.add(start, large)


def day_by_day(wt: WorkTime, start: datetime, end: datetime) -> timedelta:
    """Working time between two instants, one day and one office interval at a time."""
    total = timedelta(0)
    local_start, local_end = start.astimezone(wt.tz), end.astimezone(wt.tz)
    day = local_start.date()
    while day <= local_end.date():
        if wt.calendar.is_workday(day):
            for interval in wt.intervals:
                begin = max(datetime.combine(day, interval.start, wt.tz), local_start)
                finish = min(datetime.combine(day, interval.end, wt.tz), local_end)
                total += max(finish - begin, timedelta(0))
        day += timedelta(days=1)
    return total


NOTICED = WorkTime(WorkCalendar(extra_holidays=[date(2026, 3, 3)], extra_workdays=[date(2026, 3, 7)],
                                notices={date(2028, 1, 3): False, date(2028, 1, 8): True}), HOURS, "Asia/Shanghai")


@settings(max_examples=300, deadline=None)
@given(start=instants, end=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31),
                                        timezones=st.just(UTC)))
def test_elapsed_over_long_spans_counts_every_working_day(start: datetime, end: datetime) -> None:
    assert NOTICED.elapsed(start, end) == (day_by_day(NOTICED, start, end) if end > start else timedelta(0))


def test_working_days_are_counted_across_years() -> None:
    cal = WorkCalendar()
    assert cal.workdays(date(2026, 10, 1), date(2026, 10, 7)) == 0  # the golden week
    assert cal.workdays(date(2026, 10, 1), date(2026, 10, 10)) == 3  # Thursday, Friday, the swapped Saturday
    assert cal.workdays(date(2025, 12, 31), date(2026, 1, 5)) == sum(
        cal.is_workday(date(2025, 12, 31) + timedelta(days=n)) for n in range(6))
    assert cal.workdays(date(2026, 1, 5), date(2026, 1, 4)) == 0
