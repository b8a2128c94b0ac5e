"""A one-line summary: the caller's first real clause, without greetings and fillers."""

from __future__ import annotations

import re

_CLAUSES = re.compile(r"[，。！？；,.!?;\n]+")
_FILLERS = re.compile(r"^(?:喂|哎|诶|嗯|啊|呃|那个|就是|就是说|然后|我想说|你好|您好|请问一下|麻烦你)+")
_GREETING_ONLY = re.compile(r"^(?:喂|哎|嗯|啊|呃|你好|您好|在吗|是12345吗|是热线吗|请问|谢谢|打扰了)*$")
_INTENT_ONLY = re.compile(r"^我?(?:要|想|来)?(?:投诉|举报|咨询|反映|求助|建议|表扬)(?:一下|个事|个事情|一件事|个问题|一个问题|下)?$")
MAX_CHARS = 60


def summarise(text: str, *, max_chars: int = MAX_CHARS) -> str:
    for clause in _CLAUSES.split(text):
        clause = _FILLERS.sub("", clause.strip()).strip()
        if clause and not _GREETING_ONLY.match(clause) and not _INTENT_ONLY.match(clause):
            return clause if len(clause) <= max_chars else clause[: max_chars - 1] + "…"
    return ""
