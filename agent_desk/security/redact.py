"""Masking personal data in text that the public may read (Open311's public view of a request).

What is masked, each character by `*`:
- identity card numbers (18 characters, the last may be X; or the old 15 digits) and any other run
  of 7 or more digits, spaces or dashes between them allowed: mobile and landline numbers, QQ and
  bank account numbers;
- e-mail addresses;
- the request's own caller name wherever it appears, whole or by its parts of two or more
  characters;
- a name introduced by 我叫 / 名叫 / 姓名 / 联系人, a surname before 先生 / 女士 / 小姐 / 师傅 / 老师 /
  阿姨 / 大爷, and Mr / Mrs / Ms / Dr before a Latin name;
- flat and building numbers (3栋, 2单元, 502室).
Free text can name people in ways no pattern finds; a request is public only with its submitter's
consent, and this masking is the second line, not the first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Each pattern masks its group `m`, or the whole match when it has none.
_PATTERNS = [
    re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"),  # 居民身份证
    re.compile(r"(?<![0-9A-Za-z+])\+?\d(?:[ \-]?\d){6,}"),  # mobile, landline, QQ, account numbers
    re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+"),  # e-mail
    re.compile(r"(?:我叫|名叫|叫做|姓名|联系人)[:：\s]*(?P<m>[\u4e00-\u9fff]{1,3})"),
    re.compile(r"(?P<m>[\u4e00-\u9fff])(?:先生|女士|小姐|师傅|老师|阿姨|大爷|大妈)"),
    re.compile(r"\b(?:Mr|Mrs|Ms|Dr)\.? (?P<m>[A-Z][A-Za-z\-]+)"),
    re.compile(r"(?P<m>\d+)\s*(?:号楼|栋|幢|单元|室|户)"),
]


def _stars(match: re.Match[str]) -> str:
    whole = match.group(0)
    if "m" not in match.re.groupindex:
        return "".join("*" if ch.isalnum() else ch for ch in whole)
    start, end = match.start("m") - match.start(), match.end("m") - match.start()
    return whole[:start] + "*" * (end - start) + whole[end:]


def mask_personal(text: str, names: Iterable[str | None] = ()) -> str:
    """`text` with personal data replaced by `*`; `names` are known names (the caller's) to mask."""
    for name in names:
        if not name:
            continue
        parts = {name.strip(), "".join(name.split()), *name.split()}
        for part in sorted((p for p in parts if len(p) >= 2), key=len, reverse=True):
            text = text.replace(part, "*" * len(part))
    for pattern in _PATTERNS:
        text = pattern.sub(_stars, text)
    return text
