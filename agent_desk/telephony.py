"""What the desk asks of the PBX, as a small interface. The AMI adapter implements it; without a
PBX (or during a replay) `NoTelephony` answers every request with `TelephonyUnavailable` (HTTP 503).
"""

from __future__ import annotations

from typing import Protocol


def extension_of(interface: str) -> str:
    """The dialplan extension of a queue member: PJSIP/agent1 or Local/agent1@agents → agent1."""
    return interface.split("/", 1)[-1].split("@", 1)[0]


class TelephonyError(Exception):
    """The PBX refused the action (AMI `Response: Error`); the message is Asterisk's."""


class TelephonyUnavailable(TelephonyError):
    """No PBX is connected."""


class Telephony(Protocol):
    async def queue_add(self, queue: str, interface: str, member_name: str) -> None: ...

    async def queue_remove(self, queue: str, interface: str) -> None: ...

    async def queue_pause(self, interface: str, paused: bool, reason: str | None = None,
                          queue: str | None = None) -> None: ...

    async def redirect(self, channel: str, context: str, exten: str, priority: int = 1) -> None: ...

    async def hangup(self, channel: str) -> None: ...

    async def originate(self, channel: str, context: str, exten: str, caller_id: str,
                        variables: dict[str, str] | None = None) -> None: ...

    def channel_of(self, linkedid: str) -> str | None:
        """The caller's live channel for a call, if it is still up."""
        ...


class NoTelephony:
    def __init__(self, why: str = "no PBX connected (configure [ami] servers)") -> None:
        self._why = why

    async def queue_add(self, queue: str, interface: str, member_name: str) -> None:
        raise TelephonyUnavailable(self._why)

    async def queue_remove(self, queue: str, interface: str) -> None:
        raise TelephonyUnavailable(self._why)

    async def queue_pause(self, interface: str, paused: bool, reason: str | None = None,
                          queue: str | None = None) -> None:
        raise TelephonyUnavailable(self._why)

    async def redirect(self, channel: str, context: str, exten: str, priority: int = 1) -> None:
        raise TelephonyUnavailable(self._why)

    async def hangup(self, channel: str) -> None:
        raise TelephonyUnavailable(self._why)

    async def originate(self, channel: str, context: str, exten: str, caller_id: str,
                        variables: dict[str, str] | None = None) -> None:
        raise TelephonyUnavailable(self._why)

    def channel_of(self, linkedid: str) -> str | None:
        return None
