"""Where a caller's number comes from: the city of a mainland mobile number segment or area code.

The number-to-place table is libphonenumber's geocoding data (`phonenumbers`), which is maintained
upstream; it names the place in Chinese ("江苏省南京市"), which is matched to our region tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import phonenumbers
from phonenumbers import geocoder

from ticketing.regions import RegionRecord


@dataclass(frozen=True)
class CallerArea:
    name: str  # as the numbering plan says it: "江苏省南京市", "北京市"
    region_code: str | None  # the city in our region tree, when it is one of ours


def caller_area(number: str | None, regions: Mapping[str, RegionRecord]) -> CallerArea | None:
    """The area of a caller number (mobile or landline with its area code), or None if unknown."""
    digits = "".join(ch for ch in number or "" if ch.isdigit())
    if len(digits) < 7:
        return None
    try:
        parsed = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException:
        return None
    name = geocoder.description_for_number(parsed, "zh")
    if not name or name == "中国":
        return None
    code = next((r.code for r in regions.values()
                 if r.city_code == r.code and r.parent_code is not None and name.endswith(r.name)), None)
    return CallerArea(name, code)
