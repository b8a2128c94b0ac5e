"""One call's FastAGI connection: send a command, read its reply, notice the hang-up.

Asterisk writes `HANGUP` on its own when the channel goes away (before the reply to whatever
command is pending, or between commands). From then on only the commands res_agi allows on a
dead channel are sent; any other raises `AgiHangup` without a round trip. A `511` reply or the
connection closing also raise `AgiHangup`. A `-1` that can mean a sound Asterisk could not play
as well as a hang-up is settled with one NOOP before anything else is sent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from ivr.errors import AgiCommandError, AgiHangup, AgiProtocolError
from ivr.protocol import (
    HANGUP_LINE,
    AgiEnvironment,
    AgiReply,
    command_line,
    parse_reply,
    quote,
    status_code,
    word,
)

log = logging.getLogger(__name__)

# res_agi's command table marks these as allowed on a dead channel (CHANNEL STATUS is not).
DEAD_CHANNEL_COMMANDS = frozenset({
    "SET VARIABLE", "GET VARIABLE", "GET FULL VARIABLE", "VERBOSE", "NOOP", "EXEC",
    "DATABASE GET", "DATABASE PUT", "DATABASE DEL", "DATABASE DELTREE",
})
_MAX_USAGE_LINES = 200


@dataclass(frozen=True)
class Playback:
    """STREAM FILE / SAY *: the key that interrupted it (if any), where it stopped, and whether it played."""

    digit: str | None
    endpos: int | None
    played: bool


@dataclass(frozen=True)
class Recording:
    """RECORD FILE's outcome. `ended_by` is dtmf, timeout (limit or silence), hangup or error;
    `error` is Asterisk's word for an error: randomerror (the beep), writefile or waitfor."""

    path: str
    format: str
    ended_by: str
    digit: str | None
    endpos: int
    error: str | None = None

    @property
    def has_audio(self) -> bool:
        return self.ended_by != "error" and self.endpos > 0

    def duration_ms(self, sample_rate: int = 8000) -> int:
        return self.endpos * 1000 // sample_rate


@dataclass(frozen=True)
class Input:
    """GET DATA: the keys pressed (without the ending `#`) and whether it timed out."""

    digits: str
    timed_out: bool


CommandObserver = Callable[[str, float], None]


class AgiChannel:
    """Commands for one call. Not shared between tasks: a call's flow runs them one at a time."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        environment: AgiEnvironment,
        *,
        reply_timeout: float = 900.0,
        observer: CommandObserver | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.env = environment
        self.reply_timeout = reply_timeout
        self.hung_up = False
        self.closed = False
        self._busy = False
        self._observer = observer

    # ---- the codec -----------------------------------------------------------------------

    async def command(self, line: str) -> AgiReply:
        """Send one command line and return its `200` reply.

        A `-1` result is returned, not raised: for some commands it means a missing file. Asterisk
        follows a real hang-up with `HANGUP` and answers `511` from then on, which do raise.
        """
        verb = _verb(line)
        if self.closed or (self.hung_up and verb not in DEAD_CHANNEL_COMMANDS):
            raise AgiHangup(f"channel gone; not sending {verb}")
        if self._busy:
            raise RuntimeError("one AGI command at a time per channel")
        self._busy = True
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.reply_timeout):
                try:
                    self._writer.write(line.encode() + b"\n")
                    await self._writer.drain()
                except (ConnectionError, RuntimeError) as exc:
                    self.closed = True
                    raise AgiHangup(f"connection lost while sending {verb}: {exc}") from None
                return await self._read_reply(line)
        except TimeoutError:
            self.closed = True
            raise AgiHangup(f"no reply to {verb} within {self.reply_timeout:g} s") from None
        finally:
            self._busy = False
            if self._observer is not None:
                self._observer(verb, time.perf_counter() - started)

    async def _readline(self) -> str:
        try:
            raw = await self._reader.readline()
        except (ConnectionError, asyncio.LimitOverrunError, ValueError) as exc:
            self.closed = True
            raise AgiHangup(f"connection broken: {exc}") from None
        if not raw.endswith(b"\n"):
            self.closed = True
            raise AgiHangup("Asterisk closed the connection")
        return raw.rstrip(b"\r\n").decode("utf-8", errors="replace")

    async def _read_reply(self, line: str) -> AgiReply:
        while True:
            text = await self._readline()
            if text == HANGUP_LINE:
                self.hung_up = True
                continue
            code = status_code(text)
            if code == 200:
                return parse_reply(text)
            if code == 511:
                self.hung_up = True
                raise AgiHangup(text)
            if code == 510:
                raise AgiCommandError(510, line, text[4:])
            if code == 520:
                raise AgiCommandError(520, line, await self._usage(text))
            self.closed = True  # out of step with the peer: nothing after this can be trusted
            raise AgiProtocolError(f"unexpected reply to {_verb(line)}: {text[:120]!r}")

    async def _usage(self, first: str) -> str:
        if not first.startswith("520-"):
            return first[4:]
        lines = [first[4:]]
        for _ in range(_MAX_USAGE_LINES):
            text = await self._readline()
            if text.startswith("520 "):
                return "\n".join(lines)
            lines.append(text)
        self.closed = True
        raise AgiProtocolError("520 usage text never ended")

    async def hung_up_after_failure(self) -> bool:
        """Did a `-1` mean that the caller hung up, rather than a sound that could not be played?

        Asterisk answers both the same way. On a hung-up channel res_agi writes `HANGUP` before it
        reads another command, so one NOOP (allowed on a dead channel) tells them apart.
        """
        if not (self.hung_up or self.closed):
            await self.command("NOOP")
        return self.hung_up or self.closed

    # ---- typed commands ------------------------------------------------------------------

    async def answer(self) -> None:
        if (await self.command("ANSWER")).failed:
            raise AgiHangup("ANSWER failed")

    async def stream_file(self, name: str, escape_digits: str = "", offset: int | None = None) -> Playback:
        """Play a sound file. A missing file (`-1 endpos=0`) is not an error here (`played=False`);
        a playback that started and then failed (`-1 endpos=N`) is a hang-up."""
        words: list[str | int] = ["STREAM FILE", word(name), quote(escape_digits)]
        if offset is not None:
            words.append(offset)
        reply = await self.command(command_line(*words))
        if reply.failed and (reply.endpos or 0) > (offset or 0):
            raise AgiHangup(f"playback of {name} broke off at sample {reply.endpos}")  # it had started
        if reply.failed and await self.hung_up_after_failure():
            raise AgiHangup(f"caller hung up before {name} played")
        return Playback(reply.digit if reply.code > 0 else None, reply.endpos, not reply.failed)

    async def get_data(self, prompt: str, timeout_ms: int, max_digits: int) -> Input:
        """Play `prompt` and collect up to `max_digits` keys (`#` ends early).

        Asterisk answers -1 both for a hang-up and for a prompt it cannot open; in the second case
        the keys are collected again without the prompt, so a missing sound never loses the caller.
        """
        reply = await self.command(command_line("GET DATA", word(prompt), timeout_ms, max_digits))
        if reply.failed and prompt and not await self.hung_up_after_failure():
            log.warning("call %s: GET DATA could not play %s; asking again without it",
                        self.env.uniqueid, prompt)
            reply = await self.command(command_line("GET DATA", word(""), timeout_ms, max_digits))
        if reply.failed:
            raise AgiHangup("GET DATA failed: the caller hung up")
        digits = "".join(ch for ch in reply.result if ch.isdigit() or ch in "*#ABCDabcd")
        return Input(digits, reply.data == "timeout")

    async def wait_for_digit(self, timeout_ms: int) -> str | None:
        reply = await self.command(command_line("WAIT FOR DIGIT", timeout_ms))
        if reply.failed:
            raise AgiHangup("WAIT FOR DIGIT returned -1")
        return reply.digit

    async def record_file(
        self,
        path: str,
        fmt: str = "wav",
        *,
        escape_digits: str = "#",
        timeout_ms: int = 60_000,
        beep: bool = True,
        silence_seconds: int | None = None,
    ) -> Recording:
        """Record to `path` (no extension). A hang-up is reported, not raised: the audio counts."""
        words: list[str | int] = ["RECORD FILE", word(path), fmt, quote(escape_digits), timeout_ms, 0]
        if beep:
            words.append("BEEP")
        if silence_seconds:
            words.append(f"s={silence_seconds}")
        reply = await self.command(command_line(*words))
        data = (reply.data or "").strip()
        if reply.failed or data == "hangup":
            ended_by = "hangup" if data in ("hangup", "") else "error"
        elif data == "dtmf":
            ended_by = "dtmf"
        elif data == "timeout":
            ended_by = "timeout"
        else:
            ended_by = "error"  # randomerror: the beep could not be played or was cut short
        if ended_by == "error" and data == "randomerror" and await self.hung_up_after_failure():
            ended_by = "hangup"  # during the beep, before anything was recorded
        digit = reply.digit if ended_by == "dtmf" else None
        return Recording(path, fmt, ended_by, digit, max(reply.endpos or 0, 0),
                         (data or "unknown") if ended_by == "error" else None)

    async def say_digits(self, digits: str, escape_digits: str = "") -> Playback:
        return await self._say(command_line("SAY DIGITS", digits, quote(escape_digits)))

    async def say_number(self, number: int, escape_digits: str = "") -> Playback:
        return await self._say(command_line("SAY NUMBER", int(number), quote(escape_digits)))

    async def _say(self, line: str) -> Playback:
        """SAY *: `-1` is a missing digits/* sound, or a hang-up."""
        reply = await self.command(line)
        if reply.failed and await self.hung_up_after_failure():
            raise AgiHangup(f"caller hung up during {_verb(line)}")
        return Playback(reply.digit if reply.code > 0 else None, None, not reply.failed)

    async def set_variable(self, name: str, value: str | int) -> None:
        await self.command(command_line("SET VARIABLE", _name(name), quote(str(value))))

    async def get_variable(self, name: str) -> str | None:
        reply = await self.command(command_line("GET VARIABLE", _name(name)))
        return reply.data if reply.code == 1 else None

    async def get_full_variable(self, expression: str, channel: str | None = None) -> str | None:
        words: list[str | int] = ["GET FULL VARIABLE", quote(expression)]
        if channel:
            words.append(quote(channel))
        reply = await self.command(command_line(*words))
        return reply.data if reply.code == 1 else None

    async def exec(self, application: str, options: str = "") -> int:
        words: list[str | int] = ["EXEC", _name(application)]
        if options:
            words.append(word(options))
        return (await self.command(command_line(*words))).code

    async def verbose(self, message: str, level: int = 1) -> None:
        await self.command(command_line("VERBOSE", quote(message), level))

    async def close(self) -> None:
        if self._writer.is_closing():
            self.closed = True
            return
        self.closed = True
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except (ConnectionError, OSError):
            pass


def _verb(line: str) -> str:
    words = line.split(" ", 3)
    for size in (3, 2, 1):
        verb = " ".join(words[:size]).upper()
        if verb in _KNOWN_VERBS:
            return verb
    return words[0].upper()


def _name(name: str) -> str:
    if not name or any(ch.isspace() or ch in '"\\' for ch in name):
        raise ValueError(f"not a valid variable or application name: {name!r}")
    return name


_KNOWN_VERBS = frozenset({
    "ANSWER", "STREAM FILE", "GET DATA", "WAIT FOR DIGIT", "RECORD FILE", "SAY DIGITS", "SAY NUMBER",
    "SET VARIABLE", "GET VARIABLE", "GET FULL VARIABLE", "EXEC", "VERBOSE", "NOOP", "HANGUP",
    "CHANNEL STATUS", "DATABASE GET", "DATABASE PUT", "DATABASE DEL", "DATABASE DELTREE",
    "CONTROL STREAM FILE", "GET OPTION", "SAY ALPHA", "SAY DATE", "SAY TIME", "SAY DATETIME",
    "SAY PHONETIC", "SET CONTEXT", "SET EXTENSION", "SET PRIORITY", "SET MUSIC", "SET AUTOHANGUP",
    "SET CALLERID",
})
