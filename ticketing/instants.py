"""The instants the product accepts from outside: timezone-aware, and within what every store and
every clock computation handles. `9999-12-31T23:59:59-14:00` parses, but is past the calendar once
its offset is applied; such a value is refused with a clear message, never stored or compared."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _in_range(value: datetime) -> datetime:
    try:
        utc: datetime | None = value.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 pushed past the calendar by its offset
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValueError(f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (UTC)")
    return utc


Instant = Annotated[AwareDatetime, AfterValidator(_in_range)]
