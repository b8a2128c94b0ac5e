"""Input types shared by the routes, so each kind of value is validated once, the same way everywhere.

A value outside what the product can store or compute with is refused here with a clear message
(422, or 400 under Open311), never later with a 500.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
_PHONE = re.compile(r"\+?\d(?:[ \-]?\d){2,19}")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})+")
_WEB_URL = re.compile(r"https?://[^\s/?#]+[^\s]*", re.IGNORECASE)


def _instant(value: datetime) -> datetime:
    try:
        utc: datetime | None = value.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 pushed past the calendar by its offset
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise ValueError(f"must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (UTC)")
    return utc


def _phone(value: str) -> str:
    value = value.strip()
    if not _PHONE.fullmatch(value):
        raise ValueError("must be a phone number: digits, optionally a leading + and spaces or dashes")
    return value


def _email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise ValueError("must be an e-mail address")
    return value


def _web_url(value: str) -> str:
    value = value.strip()
    if not _WEB_URL.fullmatch(value):
        raise ValueError("must be an http:// or https:// URL")
    return value


# An instant with a time zone, within what every store and clock computation handles.
Instant = Annotated[AwareDatetime, AfterValidator(_instant)]
Phone = Annotated[str, AfterValidator(_phone)]
Email = Annotated[str, AfterValidator(_email)]
WebUrl = Annotated[str, AfterValidator(_web_url)]


def phone_digits(number: str) -> str:
    """A phone number reduced to compare equal however it was written: digits only, without the
    country code 86 or a trunk 0 before a mobile number."""
    digits = "".join(ch for ch in number if ch.isdigit())
    for prefix in ("0086", "86", "0"):
        rest = digits[len(prefix):]
        if digits.startswith(prefix) and len(rest) == 11 and rest.startswith("1"):
            return rest
    return digits
