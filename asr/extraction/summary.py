"""A one-line summary: the caller's first real clause, without greetings and fillers."""

from __future__ import annotations

import re

_CLAUSES = re.compile(r"[，。！？；,.!?;\n]+")
_FILLERS = re.compile(r"^(?:喂|哎|诶|嗯|啊|呃|那个|就是|就是说|然后|我想说|你好|您好|请问一下|麻烦你)+")
_GREETING_ONLY = re.compile(r"^(?:喂|哎|嗯|啊|呃|你好|您好|在吗|是12345吗|是热线吗|请问|谢谢|打扰了)*$")
_INTENT_ONLY = re.compile(r"^我?(?:要|想|来)?(?:投诉|举报|咨询|反映|求助|建议|表扬)"
                          r"(?:一下|个事|个事情|一件事|个问题|一个问题|下)?$")
MAX_CHARS = 60


def summarise(text: str, *, max_chars: int = MAX_CHARS) -> str:
    clauses = [_FILLERS.sub("", c.strip()).strip() for c in _CLAUSES.split(text)]
    clauses = [c for c in clauses if c and not _GREETING_ONLY.match(c)]
    chosen = next((c for c in clauses if not _INTENT_ONLY.match(c)), clauses[0] if clauses else "")
    return chosen if len(chosen) <= max_chars else chosen[: max_chars - 1] + "…"
