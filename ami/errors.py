"""Errors the AMI adapter raises. Each names the server; action errors carry Asterisk's Message."""

from __future__ import annotations


class AmiError(Exception):
    """Base class for AMI adapter errors."""


class AmiAuthError(AmiError):
    """Asterisk rejected the login. Never retried: the settings must change."""

    def __init__(self, server: str, host: str, port: int, username: str, message: str) -> None:
        super().__init__(f"AMI login to {server} ({host}:{port}) as user {username!r} failed: {message}")
        self.server, self.host, self.port, self.username, self.asterisk_message = (
            server, host, port, username, message)


class AmiNotConnected(AmiError):
    """The action was not sent: the server is not connected (it is never queued for later)."""


class AmiTimeout(AmiError):
    """No (complete) answer to an action within its timeout."""


class AmiActionError(AmiError):
    """Asterisk answered `Response: Error` (or an OriginateResponse failure)."""

    def __init__(self, server: str, action: str, message: str) -> None:
        super().__init__(f"{action} on {server} failed: {message}")
        self.server, self.action, self.asterisk_message = server, action, message
