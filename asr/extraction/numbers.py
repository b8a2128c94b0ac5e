"""Spoken Chinese numbers: digit strings (幺三八…) and small positional numbers (八十八号)."""

from __future__ import annotations

import re
from dataclasses import dataclass

DIGIT_CHARS = {
    "零": "0", "〇": "0", "○": "0", "洞": "0", "幺": "1", "一": "1", "壹": "1", "二": "2",
    "两": "2", "贰": "2", "三": "3", "叁": "3", "四": "4", "肆": "4", "五": "5", "伍": "5",
    "六": "6", "陆": "6", "七": "7", "柒": "7", "八": "8", "捌": "8", "九": "9", "玖": "9",
}
_DIGIT_CLASS = "0-9" + "".join(DIGIT_CHARS)
# Three or more spoken digits in a row (spaces and dashes allowed between them) are a number
# read out digit by digit: phone numbers, ticket numbers, ID numbers.
_DIGIT_RUN = re.compile(rf"[{_DIGIT_CLASS}](?:[ \-－]?[{_DIGIT_CLASS}]){{2,}}")
_VALUE = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
          "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_POSITIONAL = re.compile(r"[零〇一二两三四五六七八九十百千]+(?=号|栋|幢|单元|室|楼|层|弄|组|排)")
_TICKET_DIGITS = re.compile(r"^20\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])\d{6}$")


@dataclass(frozen=True, slots=True)
class SpokenNumber:
    digits: str
    kind: str  # mobile, landline, ticket, number
    spoken: str

    def as_dict(self) -> dict[str, str]:
        return {"digits": self.digits, "kind": self.kind, "spoken": self.spoken}


def digit_string(spoken: str) -> str:
    """幺三八 一二三四 → 1381234; Arabic digits pass through; separators are dropped."""
    return "".join(DIGIT_CHARS.get(ch, ch) for ch in spoken if ch in DIGIT_CHARS or ch.isdigit())


def classify(digits: str) -> str:
    if len(digits) == 11 and digits.startswith("1"):
        return "mobile"
    if _TICKET_DIGITS.match(digits):
        return "ticket"
    if digits.startswith("0") and 10 <= len(digits) <= 12 or len(digits) in (7, 8):
        return "landline"
    return "number"


def positional_value(spoken: str) -> int | None:
    """八十八 → 88, 十二 → 12, 三百零五 → 305, 二三 → 23 (read digit by digit)."""
    if not any(ch in _UNITS for ch in spoken):
        digits = digit_string(spoken)
        return int(digits) if digits else None
    total, current = 0, 0
    for ch in spoken:
        if ch in _UNITS:
            total += (current or 1) * _UNITS[ch]
            current = 0
        elif ch in _VALUE:
            current = _VALUE[ch]
        else:
            return None
    return total + current


def find_numbers(text: str) -> list[SpokenNumber]:
    numbers = []
    for match in _DIGIT_RUN.finditer(text):
        digits = digit_string(match.group())
        numbers.append(SpokenNumber(digits, classify(digits), match.group()))
    return numbers


def normalise_numbers(text: str) -> str:
    """Write spoken digit runs and house/building numbers as Arabic digits."""
    text = _DIGIT_RUN.sub(lambda m: digit_string(m.group()), text)

    def positional(match: re.Match[str]) -> str:
        value = positional_value(match.group())
        return str(value) if value is not None else match.group()

    return _POSITIONAL.sub(positional, text)
