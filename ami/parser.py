"""Incremental parser for the AMI byte stream (CRLF framed, blank line between messages).

It is written for Asterisk's real output and for damaged input: a message is classified by its
first line (`Event:` or `Response:`), so an `OriginateResponse` event that carries a `Response:`
header stays an event. Headers with an empty value (`AccountCode: `) are kept. Garbage lines are
skipped, a message whose blank line is missing is split at the next `Event:` line, a message larger
than `max_message_bytes` is dropped without growing the buffer, and bytes that are not UTF-8 are
decoded as GB18030 (the encoding Chinese SIP phones use for caller names), never raising.

`wants(name, raw)` lets a consumer skip the header split for events it ignores; skipped events are
counted but never built, which is where most of the parsing time of a busy PBX goes (VarSet, CEL).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Message = dict[str, str]
EventFilter = Callable[[str, str], bool]

BANNER_PREFIX = b"Asterisk Call Manager/"
_SEP = b"\r\n\r\n"
_TEXT_SEP = "\r\n\r\n"
_EVENT_LINE = "\r\nEvent: "
_RESPONSE_LINE = "\r\nResponse: "
DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024


@dataclass
class ParserStats:
    messages: int = 0
    skipped: int = 0
    garbage: int = 0
    oversized: int = 0
    bytes: int = 0


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="replace")


def parse_headers(block: str) -> Message:
    """Split one message's lines into headers. Repeated keys (`Output:`) are joined with newlines."""
    lines = block.split("\r\n")
    try:
        message = dict(line.split(": ", 1) for line in lines)
        if len(message) == len(lines):
            return message
    except ValueError:
        pass
    message = {}
    for line in lines:
        key, sep, value = line.partition(": ")
        if not sep:
            if line.endswith(":") and " " not in line:
                key, value = line[:-1], ""
            else:
                continue  # garbage or a bare line
        if key in message:
            message[key] = f"{message[key]}\n{value}"
        else:
            message[key] = value
    return message


class AmiParser:
    """Feed raw bytes as they arrive; get complete messages back, in order."""

    def __init__(self, *, wants: EventFilter | None = None,
                 max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES, expect_banner: bool = True) -> None:
        self._wants = wants
        self._max = max_message_bytes
        self._buffer = b""
        self._discarding = False
        self._expect_banner = expect_banner
        self.banner: str | None = None
        self.stats = ParserStats()

    def reset(self) -> None:
        """Forget a partial message (the connection dropped); expect a new banner."""
        self._buffer = b""
        self._discarding = False
        self._expect_banner = True
        self.banner = None

    def feed(self, data: bytes) -> list[Message]:
        self.stats.bytes += len(data)
        buffer = self._buffer + data if self._buffer else data
        if self._discarding:
            end = buffer.find(_SEP)
            if end < 0:
                self._buffer = buffer[-3:]
                return []
            buffer = buffer[end + 4:]
            self._discarding = False
        if self._expect_banner:
            if b"\r\n" not in buffer and (len(buffer) < 64 or BANNER_PREFIX.startswith(buffer[:22])):
                self._buffer = buffer
                return []
            self._expect_banner = False
            if buffer.startswith(BANNER_PREFIX):
                line, _, buffer = buffer.partition(b"\r\n")
                self.banner = _decode(line)
        end = buffer.rfind(_SEP)
        if end < 0:
            self._keep(buffer)
            return []
        self._keep(buffer[end + 4:])
        return self._messages(_decode(buffer[:end]))

    def _keep(self, rest: bytes) -> None:
        if len(rest) > self._max:
            self.stats.oversized += 1
            self._discarding = True
            self._buffer = rest[-3:]
        else:
            self._buffer = rest

    def _messages(self, text: str) -> list[Message]:
        out: list[Message] = []
        wants = self._wants
        stats = self.stats
        for block in text.split(_TEXT_SEP):
            if len(block) > self._max:
                stats.oversized += 1
                continue
            if block.startswith("Event: "):
                if _EVENT_LINE in block:
                    self._split_run_on(block, out)
                    continue
                if wants is not None:
                    name_end = block.find("\r\n")
                    name = block[7:name_end] if name_end > 0 else block[7:]
                    if not wants(name, block):
                        stats.skipped += 1
                        continue
                out.append(parse_headers(block))
                stats.messages += 1
            elif block.startswith("Response: "):
                if _EVENT_LINE in block or block.count(_RESPONSE_LINE):
                    self._split_run_on(block, out)
                    continue
                out.append(parse_headers(block))
                stats.messages += 1
            else:
                self._salvage(block, out)
        return out

    def _salvage(self, block: str, out: list[Message]) -> None:
        """A block that starts with garbage: drop lines up to the first real message start."""
        block = block.lstrip("\r\n")
        if not block:
            return
        for marker in ("Event: ", "Response: "):
            if block.startswith(marker):
                out.extend(self._messages(block))
                return
        starts = [i for i in (block.find(_EVENT_LINE), block.find(_RESPONSE_LINE)) if i >= 0]
        self.stats.garbage += 1
        if starts:
            out.extend(self._messages(block[min(starts) + 2:]))

    def _split_run_on(self, block: str, out: list[Message]) -> None:
        """Two messages without the blank line between them: split before the second start line."""
        first_is_event = block.startswith("Event: ")
        cut = block.find(_EVENT_LINE, 1)
        if not first_is_event:
            response_cut = block.find(_RESPONSE_LINE, 1)
            if response_cut >= 0 and (cut < 0 or response_cut < cut):
                cut = response_cut
        self.stats.garbage += 1
        out.extend(self._messages(block[:cut]))
        out.extend(self._messages(block[cut + 2:]))


def message_kind(message: Message) -> str:
    """'event' or 'response', from the first header line (never from the presence of a key)."""
    first = next(iter(message), "")
    return "event" if first == "Event" else "response" if first == "Response" else "unknown"
