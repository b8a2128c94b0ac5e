"""The caller's area from their number's long-distance prefix (区号).

Only fixed-line numbers carry an area; mobile numbers (1xx) do not, and give None. The table
covers Jiangsu's 13 cities; extend it for another province.

| prefix | city | code |
|---|---|---|
| 025 | 南京 | 320100 |  | 0510 | 无锡 | 320200 |  | 0516 | 徐州 | 320300 |
| 0519 | 常州 | 320400 |  | 0512 | 苏州 | 320500 |  | 0513 | 南通 | 320600 |
| 0518 | 连云港 | 320700 |  | 0517 | 淮安 | 320800 |  | 0515 | 盐城 | 320900 |
| 0514 | 扬州 | 321000 |  | 0511 | 镇江 | 321100 |  | 0523 | 泰州 | 321200 |
| 0527 | 宿迁 | 321300 |
"""

from __future__ import annotations

import re

AREA_CODES: dict[str, str] = {
    "025": "320100", "0510": "320200", "0516": "320300", "0519": "320400", "0512": "320500",
    "0513": "320600", "0518": "320700", "0517": "320800", "0515": "320900", "0514": "321000",
    "0511": "321100", "0523": "321200", "0527": "321300",
}
_INTERNATIONAL = re.compile(r"^(?:\+|00)?86(?=[1-9]\d{8,10}$)")


def national_number(number: str) -> str:
    """+86 25 8456 1234 → 02584561234; 13812345678 stays; other noise is dropped."""
    digits = re.sub(r"[^\d+]", "", number)
    if _INTERNATIONAL.match(digits):
        rest = _INTERNATIONAL.sub("", digits)
        return rest if rest.startswith("1") else "0" + rest
    return digits.lstrip("+")


def caller_area(number: str | None) -> str | None:
    """The city region code for a fixed-line caller, or None (mobile, unknown, withheld)."""
    if not number:
        return None
    national = national_number(number)
    for length in (3, 4):
        code = AREA_CODES.get(national[:length])
        if code and len(national) >= length + 7:
            return code
    return None
