"""Chinese word segmentation (jieba) for the knowledge base's index and queries.

Indexed text is cut in jieba's search mode: every word plus the dictionary words inside it
(住房公积金提取条件 → 住房 公积 积金 公积金 提取 条件), joined by spaces, so the databases' own
tokenizers (FTS5 unicode61, PostgreSQL 'simple') see one token per word.

A query is cut in accurate mode (公积金怎么提取 → 公积金 怎么 提取) and loses its function words
(怎么, 的, 吗 …) unless nothing else is left. Each word matches itself or, failing that, all of
the words inside it (停水通知 → 停水 + 通知), because a phrase can be cut as one word in a short
query and as several in a sentence (停水的通知).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jieba

# Words that carry no topic in a consultation query: particles, pronouns, question words.
_STOP_WORDS = (
    "的 地 得 了 着 过 吗 呢 吧 啊 呀 嘛 么 哦 是 在 和 与 及 或 就 都 也 还 又 把 被 给 对 向 从 到 有 没 没有 "
    "我 你 您 他 她 它 我们 你们 他们 自己 这 那 这个 那个 这些 那些 这里 那里 哪 哪个 哪些 哪里 哪儿 "
    "怎么 怎么样 怎样 如何 什么 为什么 为何 多少 几 是否 能否 能不能 可不可以 可以 能 会 要 想 需要 "
    "请问 请 问 问一下 一下 咨询 关于 一个 个"
)
STOP_WORDS = frozenset(_STOP_WORDS.split())


@dataclass(frozen=True, slots=True)
class QueryWord:
    text: str
    parts: tuple[str, ...] = ()  # the dictionary words inside it, if any

    @property
    def terms(self) -> tuple[str, ...]:
        return (self.text, *self.parts)


class Segmenter:
    """One jieba tokenizer, loaded on first use (about a second) and shared afterwards. jieba itself is
    imported then too, so commands that never search do not pay for it (nor see its import warning)."""

    def __init__(self) -> None:
        self._tokenizer: jieba.Tokenizer | None = None
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        return self._tokenizer is not None

    def load(self) -> jieba.Tokenizer:
        with self._lock:
            if self._tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                self._tokenizer = tokenizer
            return self._tokenizer

    def index_text(self, text: str) -> str:
        """The text as the index stores it: its words and the words inside them, space-separated."""
        return " ".join(_words(self.load().cut_for_search(text)))

    def query(self, text: str) -> list[QueryWord]:
        """The words of a query, without duplicates or (if anything else is left) function words."""
        tokenizer = self.load()
        words = list(dict.fromkeys(_words(tokenizer.cut(text))))
        topical = [w for w in words if w not in STOP_WORDS] or words
        found = []
        for word in topical:
            parts = tuple(p for p in dict.fromkeys(_words(tokenizer.cut_for_search(word))) if p != word)
            found.append(QueryWord(word, parts))
        return found


def _words(tokens: Iterable[str]) -> Iterable[str]:
    """Tokens with a letter or a digit in them, lower-cased (both databases fold case too)."""
    return (token.strip().lower() for token in tokens if any(ch.isalnum() for ch in token))


SEGMENTER = Segmenter()  # jieba's dictionary is big: one per process
