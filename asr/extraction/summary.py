"""A one-line summary: the caller's first real clause, without greetings and fillers; a clause that only
says where the caller is (我家在玄武区珠江路) takes the next one with it, which says what is wrong."""

from __future__ import annotations

import re

_CLAUSES = re.compile(r"[，。！？；,.!?;\n]+")
_FILLERS = re.compile(r"^(?:喂|哎|诶|嗯|啊|呃|那个|就是|就是说|然后|我想说|你好|您好|请问一下|麻烦你)+")
_GREETING_ONLY = re.compile(r"^(?:喂|哎|嗯|啊|呃|你好|您好|在吗|是12345吗|是热线吗|请问|谢谢|打扰了)*$")
_INTENT_ONLY = re.compile(r"^我?(?:要|想|来)?(?:投诉|举报|咨询|反映|求助|建议|表扬)"
                          r"(?:一下|个事|个事情|一件事|个问题|一个问题|下)?$")
# "Where I am" and nothing else: 我家在…路, 我是鼓楼区的, 我住在新北区 (a place word ends it).
_WHERE_ONLY = re.compile(r"^(?:我家|我们家|我们|我)(?:住)?(?:在|是)\S{1,20}?"
                         r"(?:省|市|区|县|镇|乡|街道|路|街|巷|村|小区|号|栋|幢|的|这边|那边|附近)$")
MAX_CHARS = 60


def summarise(text: str, *, max_chars: int = MAX_CHARS) -> str:
    clauses = [_FILLERS.sub("", c.strip()).strip() for c in _CLAUSES.split(text)]
    clauses = [c for c in clauses if c and not _GREETING_ONLY.match(c)]
    real = [c for c in clauses if not _INTENT_ONLY.match(c)]
    chosen = real[0] if real else clauses[0] if clauses else ""
    if len(real) > 1 and _WHERE_ONLY.match(chosen):
        chosen = f"{chosen}，{real[1]}"
    return chosen if len(chosen) <= max_chars else chosen[: max_chars - 1] + "…"
