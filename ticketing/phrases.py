"""Finding known phrases in a caller's words: a dictionary indexed by first character.

One pass over the text, a few dictionary look-ups per character: no regular expressions, so
thousands of utterances per second. A phrase found inside a longer phrase that was also found does
not stand on its own (垃圾 inside 垃圾短信, 问问 inside 帮我问问).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple, Protocol, TypeVar


class Hit(NamedTuple):
    start: int
    end: int
    phrase: str


class PhraseIndex:
    def __init__(self, phrases: Iterable[str]) -> None:
        self.phrases = frozenset(p for p in phrases if p)
        lengths: dict[str, set[int]] = {}
        for phrase in self.phrases:
            lengths.setdefault(phrase[0], set()).add(len(phrase))
        self._lengths = {first: tuple(sorted(found, reverse=True)) for first, found in lengths.items()}

    def find(self, text: str) -> list[Hit]:
        """Every occurrence of every phrase, in the order they start."""
        hits = []
        for start, char in enumerate(text):
            for length in self._lengths.get(char, ()):
                phrase = text[start:start + length]
                if phrase in self.phrases:
                    hits.append(Hit(start, start + length, phrase))
        return hits


class Span(Protocol):
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


S = TypeVar("S", bound=Span)


def inside(inner: Span, outer: Span) -> bool:
    """`inner` lies within the longer `outer` (不满 inside 不满意)."""
    return outer.start <= inner.start and inner.end <= outer.end and (
        outer.end - outer.start > inner.end - inner.start)


def outermost(hits: list[S]) -> list[S]:
    """The hits not inside a longer hit (不满 inside 不满意)."""
    return [h for h in hits if not any(inside(h, o) for o in hits)]
