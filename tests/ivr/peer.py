"""Asterisk's side of FastAGI, for tests: recorded transcripts and a simulated channel with a caller.

Everything Asterisk says here is a line taken from the recorded transcripts in
`tests/fixtures/asterisk/{agi,sip}` or a format res_agi.c prints (named where used). Every command
the server sends is checked against res_agi's argument parser and each handler's argument rules.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import FIXTURES

DEAD_REPLY = "511 Command Not Permitted on a dead channel or intercept routine"  # agi/fastagi_session.recv
DEAD_ALLOWED = {"SET VARIABLE", "GET VARIABLE", "GET FULL VARIABLE", "VERBOSE", "NOOP", "EXEC"}
MEDIA = {"ANSWER", "STREAM FILE", "GET DATA", "WAIT FOR DIGIT", "RECORD FILE", "SAY DIGITS", "SAY NUMBER"}


# ---- transcripts --------------------------------------------------------------------------


@dataclass(frozen=True)
class Transcript:
    """A recorded FastAGI session: Asterisk's environment block and its reply units, byte-exact."""

    environment: bytes  # up to and including the blank line
    replies: list[bytes]  # each unit ends with a status line; a HANGUP before it stays with it
    trailer: bytes  # what came after the last reply (Asterisk's closing HANGUP)
    sent: list[str]  # the commands the recording client sent

    @classmethod
    def load(cls, name: str) -> Transcript:
        base = FIXTURES / name
        recv = Path(f"{base}.recv").read_bytes()
        env_end = recv.index(b"\n\n") + 2
        units: list[bytes] = []
        pending = b""
        for line in recv[env_end:].splitlines(keepends=True):
            pending += line
            if line != b"HANGUP\n":
                units.append(pending)
                pending = b""
        sent = Path(f"{base}.sent").read_text().splitlines()
        return cls(recv[:env_end], units, pending, sent)

    def environment_for(self, script: str, **values: str) -> bytes:
        """The recorded block with another script name (and other `agi_*` values) swapped in."""
        lines = self.environment.decode().split("\n")
        swaps = {"agi_network_script": script,
                 "agi_request": f"agi://127.0.0.1:4573/{script}"} | {f"agi_{k}": v for k, v in values.items()}
        out = []
        for line in lines:
            key = line.split(":", 1)[0]
            out.append(f"{key}: {swaps[key]}" if key in swaps else line)
        return "\n".join(out).encode()


# ---- res_agi's parser and argument rules -----------------------------------------------------


def parse_args(line: str) -> list[str]:
    """res_agi.c parse_args(): spaces split, double quotes group, backslash escapes."""
    argv: list[str] = []
    cur: list[str] | None = None
    quoted = escaped = False
    whitespace = True
    for ch in line:
        if ch == '"' and not escaped:
            quoted = not quoted
            if quoted and whitespace:
                cur = []
                argv.append("")
                whitespace = False
            escaped = False
            continue
        if ch in " \t" and not quoted and not escaped:
            whitespace = True
            if cur is not None:
                argv[-1] = "".join(cur)
            cur = None
            continue
        if ch == "\\" and not escaped:
            escaped = True
            continue
        if whitespace:
            cur = []
            argv.append("")
            whitespace = False
        assert cur is not None
        cur.append(ch)
        argv[-1] = "".join(cur)
        escaped = False
    return argv


def _int(text: str) -> bool:
    return text.lstrip("-").isdigit()


def check_command(line: str) -> tuple[str, list[str]]:
    """Validate one command line the way Asterisk would; returns (verb, argv)."""
    assert "\r" not in line and "\n" not in line, f"command spans lines: {line!r}"
    argv = parse_args(line)
    assert argv, "empty command"
    words = [a.upper() for a in argv[:3]]
    for size in (3, 2, 1):
        verb = " ".join(words[:size])
        if verb in RULES:
            ok, why = RULES[verb](argv)
            assert ok, f"{verb}: {why}: {line!r}"
            return verb, argv
    raise AssertionError(f"unknown AGI command: {line!r}")


RULES: dict[str, Callable[[list[str]], tuple[bool, str]]] = {
    "ANSWER": lambda a: (len(a) == 1, "no arguments"),
    "STREAM FILE": lambda a: (4 <= len(a) <= 5 and (len(a) == 4 or _int(a[4])), "file, escape digits[, offset]"),
    "GET DATA": lambda a: (3 <= len(a) <= 5 and all(_int(x) for x in a[3:]), "file[, timeout[, max]]"),
    "WAIT FOR DIGIT": lambda a: (len(a) == 4 and _int(a[3]), "timeout"),
    "RECORD FILE": lambda a: (len(a) >= 6 and _int(a[5]) and all(_int(x) or x == "BEEP" or x.startswith("s=")
                                                                  for x in a[6:]),
                              "file format escape timeout [offset] [BEEP] [s=N]"),
    "SAY DIGITS": lambda a: (len(a) == 4 and a[2].isdigit(), "digits, escape digits"),
    "SAY NUMBER": lambda a: (4 <= len(a) <= 5 and _int(a[2]), "number, escape digits[, gender]"),
    "SET VARIABLE": lambda a: (len(a) == 4, "name, value"),
    "GET VARIABLE": lambda a: (len(a) == 3, "name"),
    "GET FULL VARIABLE": lambda a: (len(a) in (4, 5), "expression[, channel]"),
    "EXEC": lambda a: (len(a) >= 2, "application[, options]"),
    "VERBOSE": lambda a: (len(a) >= 2 and (len(a) == 2 or _int(a[2])), "message[, level]"),
    "NOOP": lambda a: (True, ""),
}


# ---- a simulated channel with a scripted caller ---------------------------------------------


@dataclass(frozen=True)
class Press:
    keys: str  # what the caller keys, e.g. "2" or "20261128000123#"


@dataclass(frozen=True)
class Silence:
    """The caller does nothing: the next input command times out."""


@dataclass(frozen=True)
class Listen:
    """The caller listens to the next prompt to its end (pressing nothing)."""


@dataclass(frozen=True)
class Speak:
    samples: int = 75118  # agi/fastagi_session: 200 result=12631 (timeout) endpos=75118
    end_key: str | None = None  # "#" to end with the key instead of silence


@dataclass(frozen=True)
class HangUp:
    """The caller hangs up during the next media command (for RECORD FILE: while it records, or
    `during_beep`, before anything is recorded)."""

    during_beep: bool = False


Action = Press | Silence | Listen | Speak | HangUp


@dataclass
class SimulatedChannel:
    """Plays Asterisk for one call. Media commands consume the caller's next action."""

    caller: list[Action] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    linkedid: str = "1795868652.16"
    missing_files: set[str] = field(default_factory=set)
    hangup_notice_first: bool = True  # HANGUP before the next reply (as recorded) or right after -1
    hangup_at: int | None = None  # the caller hangs up during the n-th media command (1-based)
    dead: bool = False
    media_count: int = 0
    _notice_pending: bool = False
    media_after_hangup: list[str] = field(default_factory=list)
    after_hangup: list[str] = field(default_factory=list)  # every command sent once the caller was gone

    def __call__(self, line: str) -> bytes:
        verb, argv = check_command(line)
        if self.dead:
            self.after_hangup.append(line)
        prefix = ""
        if self._notice_pending:
            prefix, self._notice_pending = "HANGUP\n", False
        if self.dead and verb not in DEAD_ALLOWED:
            self.media_after_hangup.append(line)
            return (prefix + DEAD_REPLY + "\n").encode()
        if verb in MEDIA:
            self.media_count += 1
            if self.media_count == self.hangup_at:
                self.caller.insert(0, HangUp())
        reply = self._reply(verb, argv)
        if self.dead and not prefix and not self._notice_pending and verb in MEDIA:
            if self.hangup_notice_first:
                self._notice_pending = True
            else:
                reply += "\nHANGUP"
        return (prefix + reply + "\n").encode()

    def _next(self) -> Action:
        while self.caller and isinstance(self.caller[0], Listen):
            self.caller.pop(0)
        return self.caller.pop(0) if self.caller else Silence()

    def _hang_up(self) -> None:
        self.dead = True

    def _reply(self, verb: str, argv: list[str]) -> str:
        if verb == "SET VARIABLE":
            self.variables[argv[2]] = argv[3]
            return "200 result=1"
        if verb == "GET VARIABLE":
            value = self.variables.get(argv[2])
            return "200 result=0" if value is None else f"200 result=1 ({value})"
        if verb == "GET FULL VARIABLE":
            return f"200 result=1 ({self.linkedid})" if argv[3] == "${CHANNEL(linkedid)}" else "200 result=1 ()"
        if verb == "VERBOSE":
            return "200 result=1"  # agi/fastagi_session.recv
        if verb == "NOOP":
            return "200 result=0"  # res_agi handle_noop
        if verb == "EXEC":
            return "200 result=0"
        if verb == "ANSWER":
            if self.caller and isinstance(self.caller[0], HangUp):
                self.caller.pop(0)
                self._hang_up()
                return "200 result=-1"
            return "200 result=0"
        if verb == "STREAM FILE":
            return self._stream(argv[2], argv[3])
        if verb == "GET DATA":
            return self._get_data(argv)
        if verb == "WAIT FOR DIGIT":
            action = self._next()
            if isinstance(action, HangUp):
                self._hang_up()
                return "200 result=-1"
            if isinstance(action, Press):
                self._push_rest(action)
                return f"200 result={ord(action.keys[0])}"
            return "200 result=0"
        if verb == "RECORD FILE":
            return self._record(argv)
        if verb in ("SAY DIGITS", "SAY NUMBER"):
            if self.caller and isinstance(self.caller[0], HangUp):
                self.caller.pop(0)
                self._hang_up()
                return "200 result=-1"
            return "200 result=0"
        raise AssertionError(f"unhandled {verb}")

    def _push_rest(self, action: Press) -> None:
        if len(action.keys) > 1:
            self.caller.insert(0, Press(action.keys[1:]))

    def _stream(self, name: str, escape: str) -> str:
        if self.caller and isinstance(self.caller[0], HangUp):
            self.caller.pop(0)
            self._hang_up()
            return "200 result=-1 endpos=1200"  # res_agi: "200 result=%d endpos=%ld"
        if name in self.missing_files:
            return "200 result=-1 endpos=0"  # res_agi: ast_openstream failed
        if self.caller and isinstance(self.caller[0], Listen):
            self.caller.pop(0)
            return "200 result=0 endpos=3404"
        if self.caller and isinstance(self.caller[0], Press) and self.caller[0].keys[0] in escape:
            action = self.caller.pop(0)
            assert isinstance(action, Press)
            self._push_rest(action)
            return f"200 result={ord(action.keys[0])} endpos=1600"
        return "200 result=0 endpos=3404"  # agi/fastagi_session.recv

    def _get_data(self, argv: list[str]) -> str:
        prompt = argv[2]
        max_digits = int(argv[4]) if len(argv) > 4 else 1024
        action = self._next()
        if isinstance(action, HangUp):
            self._hang_up()
            return "200 result=-1"
        if prompt and prompt in self.missing_files:
            self.caller.insert(0, action)
            return "200 result=-1"  # ast_app_getdata_full: ast_streamfile failed
        if isinstance(action, Press):
            keys = action.keys
            end = keys.find("#")
            if end >= 0:
                digits, rest = keys[:end], keys[end + 1:]
                if len(digits) <= max_digits:
                    if rest:
                        self.caller.insert(0, Press(rest))
                    return f"200 result={digits}"
            digits, rest = keys[:max_digits], keys[max_digits:]
            if rest:
                self.caller.insert(0, Press(rest))
            if len(digits) == max_digits:
                return f"200 result={digits}"
            return f"200 result={digits} (timeout)"
        return "200 result= (timeout)"  # res_agi: "200 result=%s (timeout)" with no digits

    def _record(self, argv: list[str]) -> str:
        action = self._next()
        beep = argv[7:8] == ["BEEP"]
        # res_agi handle_recordfile: when the beep cannot be played (no file, or the caller hangs up
        # during it) nothing is recorded: "200 result=%d (randomerror) endpos=%ld", -1, the offset sent.
        if beep and isinstance(action, HangUp) and action.during_beep:
            self._hang_up()
            return f"200 result=-1 (randomerror) endpos={argv[6]}"
        if isinstance(action, HangUp):
            self._hang_up()
            return "200 result=-1 (hangup) endpos=40000"  # res_agi: "(hangup) endpos=%ld"
        if beep and "beep" in self.missing_files:
            self.caller.insert(0, action)
            return f"200 result=-1 (randomerror) endpos={argv[6]}"
        if isinstance(action, Speak):
            if action.end_key:
                return f"200 result={ord(action.end_key)} (dtmf) endpos={action.samples}"
            return f"200 result=12631 (timeout) endpos={action.samples}"
        return "200 result=0 (timeout) endpos=0"


# ---- running one call against the server -----------------------------------------------------


@dataclass
class PeerLog:
    commands: list[str] = field(default_factory=list)
    closed_by_server: bool = False


Responder = Callable[[str], bytes | None]


async def run_call(port: int, environment: bytes, respond: Responder, *, closing: bytes = b"HANGUP\n",
                   timeout: float = 10.0) -> PeerLog:
    """Connect, send the environment, answer each command via `respond` until the server closes.

    `respond` returning None closes the connection from Asterisk's side (the channel is gone).
    """
    log = PeerLog()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(environment)
        await writer.drain()
        while True:
            line = await asyncio.wait_for(reader.readline(), timeout)
            if not line:
                log.closed_by_server = True
                break
            assert line.endswith(b"\n"), f"command without newline: {line!r}"
            text = line[:-1].decode()
            log.commands.append(text)
            reply = respond(text)
            if reply is None:
                break
            writer.write(reply)
            await writer.drain()
        if log.closed_by_server and closing:
            try:
                writer.write(closing)
            except (ConnectionError, RuntimeError):
                pass
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass
    return log


def replay(transcript: Transcript) -> Responder:
    """Answer the n-th command with the n-th recorded reply unit; then the channel is gone."""
    units = list(transcript.replies)

    def respond(line: str) -> bytes | None:
        check_command(line)
        return units.pop(0) if units else None

    return respond
