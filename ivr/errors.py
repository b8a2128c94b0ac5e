"""Errors of the FastAGI layer. A hang-up is an exception so that every flow stops where it is."""

from __future__ import annotations


class AgiError(Exception):
    """Base class for everything the FastAGI layer raises on purpose."""


class AgiHangup(AgiError):
    """The caller hung up (or Asterisk closed the connection). Cleanup code still runs."""


class AgiProtocolError(AgiError):
    """Asterisk (or whatever is on the other end) said something that is not FastAGI."""


class AgiEnvironmentError(AgiProtocolError):
    """The `agi_*` block was cut short, malformed, too large or too slow to arrive."""


class AgiCommandError(AgiError):
    """Asterisk refused a command. `code` is 510 (unknown command) or 520 (bad syntax)."""

    def __init__(self, code: int, command: str, detail: str) -> None:
        super().__init__(f"{code} for {command!r}: {detail}")
        self.code = code
        self.command = command
        self.detail = detail
