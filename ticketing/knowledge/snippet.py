"""The excerpt of an article shown in a result list, around the first word the query matched.

Made from the original text, not the index (which holds segmented words), and returned with the
[start, end) offsets of the matched words inside it, so a page can mark them without parsing HTML.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

WIDTH = 80  # characters of article text in a snippet
_LEAD = WIDTH // 4  # characters kept before the first match
ELLIPSIS = "…"


def snippet(text: str, terms: Iterable[str]) -> tuple[str, list[tuple[int, int]]]:
    flat = " ".join(text.split())
    ordered = sorted({t for t in terms if t}, key=len, reverse=True)  # longest first: 公积金 before 公积
    matches = list(re.finditer("|".join(map(re.escape, ordered)), flat, re.IGNORECASE)) if ordered else []
    start = max(0, matches[0].start() - _LEAD) if matches else 0
    end = min(len(flat), start + WIDTH)
    start = max(0, end - WIDTH)
    prefix = ELLIPSIS if start > 0 else ""
    excerpt = prefix + flat[start:end] + (ELLIPSIS if end < len(flat) else "")
    shift = len(prefix) - start
    marks = [(m.start() + shift, m.end() + shift) for m in matches if m.start() >= start and m.end() <= end]
    return excerpt, marks
