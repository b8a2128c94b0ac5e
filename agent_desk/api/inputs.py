"""Input types shared by the routes, so each kind of value is validated once, the same way everywhere
(422, or 400 under Open311). Instants are `ticketing.instants.Instant`, which the domain's action
payloads use too."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_PHONE = re.compile(r"\+?\d(?:[ \-]?\d){2,19}")
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})+")
_WEB_URL = re.compile(r"https?://[^\s/?#]+[^\s]*", re.IGNORECASE)


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
