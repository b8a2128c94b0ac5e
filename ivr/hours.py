"""Service hours: is an agent there to answer right now?"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from ivr.settings import ServiceHours


def is_open(hours: ServiceHours, now: datetime, tz: ZoneInfo) -> bool:
    """True inside any window (local time in `tz`). No windows: always open (7×24)."""
    if not hours.windows:
        return True
    local = now.astimezone(tz)
    day, clock = local.isoweekday(), local.time().replace(tzinfo=None)
    for window in hours.windows:
        if day in window.days and _inside(clock, window.start, window.end):
            return True
    return False


def _inside(clock: time, start: time, end: time) -> bool:
    if end == time(0):  # until midnight
        return clock >= start
    if start <= end:
        return start <= clock < end
    return clock >= start or clock < end  # a window across midnight, e.g. 22:00–06:00
