"""The FastAGI wire format: the `agi_*` environment block, command lines and reply lines.

Pure functions and value types; no I/O. Asterisk's reply grammar (res_agi.c):

    200 result=<int or digits> [(<data>)] [endpos=<int>]
    510 Invalid or unknown command
    511 Command Not Permitted on a dead channel[ or intercept routine]
    520 Invalid command syntax.  Proper usage not available.
    520-Invalid command syntax.  Proper usage follows:   (then usage lines, then "520 End of proper usage.")
    HANGUP                                               (asynchronous: the channel hung up)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from ivr.errors import AgiEnvironmentError, AgiProtocolError
from ticketing.vocabulary import known_caller_id

HANGUP_LINE = "HANGUP"
MAX_ENVIRONMENT_LINES = 256

_ENV_LINE = re.compile(r"^(agi_[A-Za-z0-9_]+):(?: (.*))?$")
_REPLY_200 = re.compile(r"^200 result=(?P<result>-?[0-9*#A-Da-d]*)(?: \((?P<data>.*)\))?"
                        r"(?: endpos=(?P<endpos>-?\d+))?(?: .*)?$")


@dataclass(frozen=True)
class AgiEnvironment:
    """What Asterisk tells us about the call before the first command."""

    values: dict[str, str]

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name if name.startswith("agi_") else f"agi_{name}", default)

    @property
    def script(self) -> str:
        """The script name: `ivr` for `agi://host:4573/ivr?x=1` or `…/hotline/ivr` (last path segment)."""
        raw = self.get("network_script") or urlsplit(self.get("request")).path
        return urlsplit(raw).path.strip("/").rsplit("/", 1)[-1]

    @property
    def query(self) -> dict[str, str]:
        raw = self.get("network_script") or urlsplit(self.get("request")).path
        return dict(parse_qsl(urlsplit(raw).query))

    @property
    def uniqueid(self) -> str:
        return self.get("uniqueid")

    @property
    def channel(self) -> str:
        return self.get("channel")

    @property
    def caller_number(self) -> str | None:
        return _known(self.get("callerid"))

    @property
    def caller_name(self) -> str | None:
        return _known(self.get("calleridname"))

    @property
    def args(self) -> list[str]:
        """`agi_arg_1`, `agi_arg_2`, … in order (from `AGI(agi://host/script,a,b)`)."""
        found: list[str] = []
        while (value := self.values.get(f"agi_arg_{len(found) + 1}")) is not None:
            found.append(value)
        return found


def _known(value: str) -> str | None:
    return known_caller_id(value.strip())


def parse_environment_line(line: str) -> tuple[str, str] | None:
    """One `agi_name: value` line → (name, value); the blank line → None. Anything else raises."""
    if line == "":
        return None
    match = _ENV_LINE.match(line)
    if match is None:
        raise AgiEnvironmentError(f"not an AGI environment line: {line[:80]!r}")
    return match.group(1), match.group(2) or ""


def parse_environment(lines: list[str]) -> AgiEnvironment:
    values: dict[str, str] = {}
    for line in lines:
        pair = parse_environment_line(line)
        if pair is None:
            break
        values[pair[0]] = pair[1]
    if "agi_request" not in values and "agi_network_script" not in values:
        raise AgiEnvironmentError("environment without agi_request")
    return AgiEnvironment(values)


@dataclass(frozen=True)
class AgiReply:
    """A `200` reply. `result` is kept as text because GET DATA returns digit strings (even empty)."""

    result: str
    data: str | None = None
    endpos: int | None = None
    raw: str = field(default="", compare=False)

    @property
    def code(self) -> int:
        """`result` as an integer; an empty result (GET DATA with no digits) is 0."""
        try:
            return int(self.result) if self.result not in ("", "-") else 0
        except ValueError:
            return 0

    @property
    def failed(self) -> bool:
        return self.result == "-1"

    @property
    def digit(self) -> str | None:
        """For STREAM FILE / WAIT FOR DIGIT / SAY *: the ASCII code of a pressed key, as the key."""
        code = self.code
        return chr(code) if 32 < code < 127 else None


def parse_reply(line: str) -> AgiReply:
    """Parse a `200` line. Other status lines are the channel's business (see `channel.py`)."""
    match = _REPLY_200.match(line)
    if match is None:
        raise AgiProtocolError(f"not a FastAGI reply: {line[:120]!r}")
    endpos = match.group("endpos")
    return AgiReply(match.group("result"), match.group("data"), int(endpos) if endpos else None, line)


def status_code(line: str) -> int | None:
    """The three-digit status of a reply line (`200`, `510`, `511`, `520`), or None."""
    if len(line) >= 3 and line[:3].isdigit() and (len(line) == 3 or line[3] in " -"):
        return int(line[:3])
    return None


def quote(argument: str) -> str:
    """Quote one command argument the way res_agi's parse_args() reads it back.

    Double quotes group words; a backslash escapes the next character. A newline would end the
    command line, so it becomes a space.
    """
    cleaned = argument.replace("\r", " ").replace("\n", " ")
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


def word(argument: str) -> str:
    """An argument as is when it is one plain word, else quoted (EXEC Playback beep)."""
    if argument and not any(ch.isspace() or ch in '"\\' for ch in argument):
        return argument
    return quote(argument)


def command_line(*words: str | int) -> str:
    """Join already-safe words into one command line (callers quote free text with `quote`)."""
    line = " ".join(str(word) for word in words)
    if "\n" in line or "\r" in line:
        raise ValueError(f"a command line must be one line: {line!r}")
    return line
