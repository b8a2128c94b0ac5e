"""Asterisk's dialplan look-up, for checking `extensions.conf` without an Asterisk.

Ported from Asterisk 22's `main/pbx.c`:

- `ext_strncpy(…, nofluff=1)`: an extension is stored without spaces and `-` (outside `[…]`);
- `_extension_match_core(…, E_MATCH)`: does an extension or `_pattern` match a dialled string.
  In a pattern `X` is 0-9, `Z` 1-9, `N` 2-9 (either case), `[…]` a set with ranges, `.` one or
  more of anything and `!` zero or more; every other character, letters included, is itself and
  is compared case-sensitively. `-` is ignored outside sets, in the pattern and in the string;
- `ext_cmp`: the order a context keeps its extensions in. Plain extensions come before patterns;
  patterns compare position by position, the smaller character set first (`3` before `[1-3]`
  before `N` before `Z` before `X`, then `.`, then `!`, then the end). Names that compare equal
  are one extension;
- `pbx_find_extension` with `extenpatternmatchnew = no` (the default): walk the extensions in that
  order and take the first that matches and has the wanted priority, then try the `include`s.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

_WILDCARDS = {"N": "23456789", "X": "0123456789", "Z": "123456789"}
_WILDCARD = 0x18000  # '.'
_EARLY = 0x28000  # '!'
_END = 0x30000


class DialplanError(ValueError):
    """extensions.conf uses something this model does not cover, or that Asterisk rejects."""


# ---- one extension against one string ---------------------------------------------------------


def strip_fluff(name: str) -> str:
    """`ext_strncpy(nofluff)`: drop spaces and `-` outside a pattern's `[…]` sets."""
    out, in_set = [], False
    for ch in name:
        if ch == "[" and name.startswith("_"):
            in_set = True
        elif ch == "]":
            in_set = False
        elif ch in " -" and not in_set:
            continue
        out.append(ch)
    return "".join(out)


def _char_set(body: str) -> tuple[set[str], int]:
    """A `[…]` body as pbx.c reads it: characters and `a-b` ranges; also the lowest range start."""
    members: set[str] = set()
    lowest = 0xFF
    i = 0
    while i < len(body):
        first = last = body[i]
        if i + 2 < len(body) and body[i + 1] == "-":
            last = body[i + 2]
            i += 2
        lowest = min(lowest, ord(first))
        members.update(chr(c) for c in range(ord(first), ord(last) + 1))
        i += 1
    return members, lowest


def matches(extension: str, dialled: str) -> bool:
    """`_extension_match_core(extension, dialled, E_MATCH) != 0`."""
    if dialled.startswith("_"):
        raise DialplanError(f"comparing pattern with pattern is not modelled: {dialled!r}")
    if not extension.startswith("_"):
        return extension.replace("-", "") == dialled.replace("-", "")
    pattern, data = extension[1:], dialled
    p = d = 0
    while True:
        while d < len(data) and data[d] == "-":
            d += 1
        while p < len(pattern) and pattern[p] == "-":
            p += 1
        if d == len(data) or p == len(pattern) or pattern[p] == "/":
            break
        ch = pattern[p]
        if ch == "[":
            end = pattern.find("]", p + 1)
            if end < 0:
                return False  # Asterisk warns "Wrong usage of [] in the extension" and fails
            if end == p + 1:  # an empty set is skipped
                p = end + 1
                continue
            if data[d] not in _char_set(pattern[p + 1:end])[0]:
                return False
            p = end
        elif ch.upper() in _WILDCARDS:
            if data[d] not in _WILDCARDS[ch.upper()]:
                return False
        elif ch == ".":
            return True
        elif ch == "!":
            return True  # an early match (2) is a match
        elif data[d] != ch:
            return False
        d += 1
        p += 1
    if d < len(data):
        return False
    return p == len(pattern) or pattern[p] in "/!"


# ---- the order of a context's extensions ------------------------------------------------------


def _positions(pattern: str) -> Iterator[tuple[int, bytes]]:
    """`ext_cmp_pattern_pos` for each position: (score, the set as a 256-bit big-endian map)."""
    p = 0
    while True:
        while p < len(pattern) and pattern[p] == "-":
            p += 1
        if p == len(pattern):
            yield _END, bytes(32)
            return
        ch = pattern[p]
        p += 1
        if ch == ".":
            yield _WILDCARD, bytes(32)
            continue
        if ch == "!":
            yield _EARLY, bytes(32)
            continue
        if ch == "[":
            end = pattern.find("]", p)
            if end < 0:
                raise DialplanError(f"unclosed [ in _{pattern}")
            members, lowest = _char_set(pattern[p:end])
            p = end + 1
            if members:  # a set with no characters is skipped
                yield (len(members) << 8) | lowest, _bitmap(members)
            continue
        members = set(_WILDCARDS.get(ch.upper(), ch))
        yield (len(members) << 8) | ord(min(members)), _bitmap(members)


def _bitmap(members: set[str]) -> bytes:
    bits = bytearray(32)
    for ch in members:
        code = ord(ch)
        if code > 255:
            raise DialplanError(f"non-ASCII character {ch!r} in a pattern")
        bits[code // 8] |= 1 << (7 - code % 8)
    return bytes(bits)


def ext_cmp(left: str, right: str) -> int:
    """`ext_cmp`: < 0 when Asterisk tries `left` first. Names are already stripped of fluff."""
    if not left.startswith("_"):
        if right.startswith("_"):
            return -1
        a, b = left.encode(), right.encode()
        return (a > b) - (a < b)
    if not right.startswith("_"):
        return 1
    for (lscore, lbits), (rscore, rbits) in zip(_positions(left[1:]), _positions(right[1:]), strict=False):
        if lscore != rscore:
            return lscore - rscore
        if lbits != rbits:  # same score, different sets: memcmp(right, left)
            return (rbits > lbits) - (rbits < lbits)
        if lscore == _END:
            return 0
    raise AssertionError("unreachable: both patterns end with _END")


# ---- extensions.conf ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    priority: int
    label: str | None
    app: str
    data: str


@dataclass
class Extension:
    name: str  # as written
    steps: dict[int, Step] = field(default_factory=dict)

    @property
    def exten(self) -> str:
        return strip_fluff(self.name)

    def first(self) -> Step:
        return self.steps[1]

    def label(self, name: str) -> Step | None:
        return next((s for s in self.steps.values() if s.label == name), None)


@dataclass
class Context:
    name: str
    extensions: list[Extension] = field(default_factory=list)  # in Asterisk's order
    includes: list[str] = field(default_factory=list)

    def extension(self, name: str) -> Extension:
        """The extension stored under `name` (names that ext_cmp equal are one), added if new."""
        wanted = strip_fluff(name)
        for index, existing in enumerate(self.extensions):
            order = ext_cmp(existing.exten, wanted)
            if order == 0:
                return existing
            if order > 0:
                self.extensions.insert(index, Extension(name))
                return self.extensions[index]
        self.extensions.append(Extension(name))
        return self.extensions[-1]


_LINE = re.compile(r"^(exten|same|include)\s*=>?\s*(.*)$")
_PRIORITY = re.compile(r"^(\d+|n|hint)(?:\((\w+)\))?$")
_APP = re.compile(r"^(\w+)(?:\((.*)\))?$")


@dataclass
class Dialplan:
    contexts: dict[str, Context]
    general: dict[str, str]

    @classmethod
    def load(cls, path: Path) -> Dialplan:
        return cls.parse(path.read_text("utf-8"))

    @classmethod
    def parse(cls, text: str) -> Dialplan:
        contexts: dict[str, Context] = {}
        general: dict[str, str] = {}
        section = ""
        current: Extension | None = None
        last = 0
        for number, raw in enumerate(text.splitlines(), 1):
            line = _uncomment(raw).strip()
            if not line:
                continue
            if line.startswith("["):
                match = re.fullmatch(r"\[([^\]]+)\]", line)
                if match is None:
                    raise DialplanError(f"line {number}: templates and options are not modelled: {line}")
                section, current = match.group(1), None
                if section not in ("general", "globals"):
                    if section in contexts:
                        raise DialplanError(f"line {number}: [{section}] defined twice")
                    contexts[section] = Context(section)
                continue
            if section == "general":
                key, _, value = line.partition("=")
                general[key.strip()] = value.strip()
                continue
            if section == "globals":
                continue
            if not section:
                raise DialplanError(f"line {number}: outside a context: {line}")
            kind = _LINE.match(line)
            if kind is None:
                raise DialplanError(f"line {number}: not modelled: {line}")
            verb, rest = kind.groups()
            context = contexts[section]
            if verb == "include":
                context.includes.append(rest.strip())
                continue
            if verb == "exten":
                name, _, rest = rest.partition(",")
                if "/" in name:
                    raise DialplanError(f"line {number}: caller-id matching is not modelled: {name}")
                current = context.extension(name.strip())
            elif current is None:
                raise DialplanError(f"line {number}: `same` without an extension")
            priority_text, _, action = rest.partition(",")
            prio = _PRIORITY.match(priority_text.strip())
            app = _APP.match(action.strip())
            if prio is None or app is None:
                raise DialplanError(f"line {number}: cannot read priority and application: {line}")
            if prio.group(1) == "hint":
                continue
            priority = last + 1 if prio.group(1) == "n" else int(prio.group(1))
            if verb == "exten" and prio.group(1) == "n":
                raise DialplanError(f"line {number}: `n` needs an earlier priority of this extension")
            if priority in current.steps:
                raise DialplanError(f"line {number}: {current.name} priority {priority} already exists")
            current.steps[priority] = Step(priority, prio.group(2), app.group(1), app.group(2) or "")
            last = priority
        if general.get("extenpatternmatchnew", "no").lower() in ("yes", "true", "on", "1"):
            raise DialplanError("extenpatternmatchnew changes the look-up order; it is not modelled")
        return cls(contexts, general)

    def matching(self, context: str, dialled: str) -> list[Extension]:
        """Every extension of `context` (not its includes) that matches, in the order Asterisk tries."""
        return [e for e in self.contexts[context].extensions if matches(e.exten, dialled)]

    def find(self, context: str, dialled: str, priority: int | str = 1,
             _seen: frozenset[str] = frozenset()) -> Extension | None:
        """What Asterisk runs for (context, extension, priority or label), or None ("invalid")."""
        if context not in self.contexts or context in _seen:
            return None
        for extension in self.matching(context, dialled):
            found = extension.steps.get(priority) if isinstance(priority, int) else extension.label(priority)
            if found is not None:
                return extension
        for included in self.contexts[context].includes:
            if (hit := self.find(included, dialled, priority, _seen | {context})) is not None:
                return hit
        return None


def _uncomment(line: str) -> str:
    """Drop a `;` comment (an escaped `\\;` stays a semicolon)."""
    out: list[str] = []
    escaped = False
    for ch in line:
        if ch == ";" and not escaped:
            break
        escaped = ch == "\\" and not escaped
        out.append(ch)
    return "".join(out).replace("\\;", ";")


def substitute_exten(data: str, exten: str) -> str:
    """`${EXTEN}` as the dialplan would expand it when `exten` was dialled."""
    return data.replace("${EXTEN}", exten)
