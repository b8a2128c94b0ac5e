"""Service hours in local time (the product's time zone, Asia/Shanghai by default)."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from ivr.hours import is_open
from ivr.settings import ServiceHours, ServiceWindow
from tests.ivr.conftest import LOCAL

WEEKDAYS_8_TO_18 = ServiceHours(windows=[ServiceWindow(days=[1, 2, 3, 4, 5], start=time(8), end=time(18))])
NIGHT_SHIFT = ServiceHours(windows=[ServiceWindow(days=[6], start=time(22), end=time(6))])
UNTIL_MIDNIGHT = ServiceHours(windows=[ServiceWindow(days=[7], start=time(20), end=time(0))])


@pytest.mark.parametrize(("hours", "utc", "expected"), [
    (ServiceHours(), datetime(2026, 11, 28, 19, 0, tzinfo=UTC), True),  # 7×24 by default
    (WEEKDAYS_8_TO_18, datetime(2026, 11, 30, 0, 0, tzinfo=UTC), True),  # Mon 08:00 CST
    (WEEKDAYS_8_TO_18, datetime(2026, 11, 29, 23, 59, tzinfo=UTC), False),  # Mon 07:59 CST
    (WEEKDAYS_8_TO_18, datetime(2026, 11, 30, 10, 0, tzinfo=UTC), False),  # Mon 18:00 CST: closed
    (WEEKDAYS_8_TO_18, datetime(2026, 11, 28, 2, 0, tzinfo=UTC), False),  # Saturday
    (NIGHT_SHIFT, datetime(2026, 11, 28, 15, 0, tzinfo=UTC), True),  # Sat 23:00 CST
    (NIGHT_SHIFT, datetime(2026, 11, 27, 19, 0, tzinfo=UTC), True),  # Sat 03:00 CST (same weekday list)
    (NIGHT_SHIFT, datetime(2026, 11, 28, 4, 0, tzinfo=UTC), False),  # Sat 12:00 CST
    (UNTIL_MIDNIGHT, datetime(2026, 11, 29, 15, 59, tzinfo=UTC), True),  # Sun 23:59 CST
    (UNTIL_MIDNIGHT, datetime(2026, 11, 29, 11, 0, tzinfo=UTC), False),  # Sun 19:00 CST
])
def test_is_open(hours: ServiceHours, utc: datetime, expected: bool) -> None:
    assert is_open(hours, utc, LOCAL) is expected


def test_bad_weekdays_are_refused() -> None:
    with pytest.raises(ValueError):
        ServiceWindow(days=[0, 8])
