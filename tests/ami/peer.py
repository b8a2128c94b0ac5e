"""A loopback AMI peer that answers exactly what the recorded Asterisk said.

It reads a fixture pair (`.sent` actions, `.recv` replies): each action the client sends is
matched to the first unused recorded action with the same name and parameters, and answered with
the recorded reply blocks (response and list events) under the client's ActionID, followed by the
events Asterisk sent after them. Where Asterisk closed the socket at the end of a recording (a
restart, not a Logoff), the peer closes it after sending the recording's last bytes; a second
script answers the connection that follows (`asterisk_restart` then `asterisk_restart.after`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


def _blocks(text: str) -> list[str]:
    return [b for b in text.split("\r\n\r\n") if b.strip()]


def _fields(block: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in block.split("\r\n"):
        key, sep, value = line.partition(": ")
        if sep and key not in out:
            out[key] = value
    return out


@dataclass
class Script:
    actions: list[tuple[str, dict[str, str]]]
    replies: dict[str, list[str]]
    closes_after: str | None = None  # the recorded action whose reply ends with Asterisk closing

    @classmethod
    def merge(cls, *bases: Path) -> Script:
        scripts = [cls.load(base) for base in bases]
        return cls([a for s in scripts for a in s.actions],
                   {k: v for s in scripts for k, v in s.replies.items()})

    @classmethod
    def load(cls, base: Path) -> Script:
        sent = Path(f"{base}.sent").read_bytes().decode("utf-8")
        recv = Path(f"{base}.recv").read_bytes().decode("utf-8")
        recv = recv.split("\r\n", 1)[1] if recv.startswith("Asterisk Call Manager") else recv
        actions = []
        for block in _blocks(sent):
            f = _fields(block)
            actions.append((f.get("ActionID", ""), f))
        replies: dict[str, list[str]] = {}
        last = None
        for block in _blocks(recv):  # unsolicited events follow the reply they came after
            action_id = _fields(block).get("ActionID") or last
            if action_id:
                replies.setdefault(action_id, []).append(block)
                last = action_id
        closed_by_asterisk = last is not None and not replies[last][-1].startswith("Response: Goodbye")
        return cls(actions, replies, last if closed_by_asterisk else None)

    def reply(self, incoming: dict[str, str], used: set[str]) -> tuple[str, list[str]] | None:
        name = incoming.get("Action", "").lower()
        params = {k.lower(): v for k, v in incoming.items() if k not in ("ActionID", "Secret")}
        for action_id, recorded in self.actions:
            if action_id in used or recorded.get("Action", "").lower() != name:
                continue
            rec = {k.lower(): v for k, v in recorded.items() if k not in ("ActionID", "Secret")}
            if all(rec.get(k) == v for k, v in params.items() if k in rec) or name in ("login", "ping"):
                if name != "ping":
                    used.add(action_id)
                return action_id, self.replies.get(action_id, [])
        return None


@dataclass
class Peer:
    """`mode`: "normal"; "mute_ping" (never answer Ping: a half-open link); "reject" (bad login).
    `reconnect`: the script of every connection after the first (default: the same). While `frozen`
    is set, Pings go unanswered (a link frozen mid-session)."""

    script: Script
    mode: str = "normal"
    reconnect: Script | None = None
    extra_after_login: bytes = b""
    received: list[dict[str, str]] = field(default_factory=list)
    connections: int = 0
    frozen: bool = False
    writers: list[asyncio.StreamWriter] = field(default_factory=list)
    server: asyncio.AbstractServer | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        for writer in self.writers:
            writer.close()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def push(self, data: bytes) -> None:
        for writer in self.writers:
            writer.write(data)

    def drop_all(self) -> None:
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        script = self.reconnect if self.connections > 1 and self.reconnect is not None else self.script
        used: set[str] = set()
        writer.write(BANNER)
        try:
            while True:
                raw = await reader.readuntil(b"\r\n\r\n")
                incoming = _fields(raw.decode().strip())
                self.received.append(incoming)
                action_id = incoming.get("ActionID", "")
                name = incoming.get("Action", "").lower()
                if name == "login" and self.mode == "reject":
                    await asyncio.sleep(0.05)
                    writer.write(f"Response: Error\r\nActionID: {action_id}\r\n"
                                 "Message: Authentication failed\r\n\r\n".encode())
                    await writer.drain()
                    writer.close()
                    return
                if name == "ping" and (self.mode == "mute_ping" or self.frozen):
                    continue
                found = script.reply(incoming, used)
                recorded, blocks = found if found is not None else (
                    "", ["Response: Error\r\nActionID: x\r\nMessage: Invalid/unknown command"])
                out = []
                for block in blocks:
                    lines = [f"ActionID: {action_id}" if l.startswith("ActionID: ") else l
                             for l in block.split("\r\n")]
                    out.append("\r\n".join(lines) + "\r\n\r\n")
                writer.write("".join(out).encode())
                if name == "login" and self.extra_after_login:
                    writer.write(self.extra_after_login)
                await writer.drain()
                if recorded and recorded == script.closes_after:
                    writer.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
