"""An app per test, on the `db` fixture (SQLite and PostgreSQL), with one user per role."""

from __future__ import annotations

import asyncio
import functools
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from agent_desk.accounts import NewUser, add_api_client, add_kiosk_key
from agent_desk.app import create_app
from agent_desk.desk import Desk
from agent_desk.live.board import LiveBoard
from agent_desk.security.passwords import hash_password
from agent_desk.settings import load_settings
from tests.conftest import Database
from ticketing.models import Role, User
from ticketing.vocabulary import Channel

PASSWORD = "correct-horse-battery"
NANJING = "320100"
XUANWU = "320102"  # a district of Nanjing
SUZHOU = "320500"
# Users per role; handler units are created by the seed (dept:<region>:<type>, office:<county>).
USERS = {
    "agent1": NewUser("agent1", Role.AGENT, PASSWORD, agent_interface="Local/agent1@agents"),
    "agent2": NewUser("agent2", Role.AGENT, PASSWORD, agent_interface="Local/agent2@agents"),
    "dispatcher": NewUser("dispatcher", Role.DISPATCHER, PASSWORD),
    "sup_province": NewUser("sup_province", Role.SUPERVISOR, PASSWORD, region_code="320000"),
    "sup_nanjing": NewUser("sup_nanjing", Role.SUPERVISOR, PASSWORD, region_code=NANJING),
    "sup_suzhou": NewUser("sup_suzhou", Role.SUPERVISOR, PASSWORD, region_code=SUZHOU),
    "admin": NewUser("admin", Role.ADMIN, PASSWORD),
}


@dataclass
class DeskClient:
    app: FastAPI
    http: httpx.AsyncClient
    desk: Desk
    db: Database
    tokens: dict[str, str] = field(default_factory=dict)
    api_key: str = ""
    kiosk_key: str = ""

    @property
    def kiosk(self) -> dict[str, str]:
        """Headers that open the wallboard, as a wall screen's kiosk key."""
        return {"X-Kiosk-Key": self.kiosk_key}

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    async def login(self, username: str, password: str = PASSWORD) -> str:
        response = await self.http.post("/api/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        self.tokens[username] = token
        return token

    async def add_handler(self, username: str, unit_id: str) -> None:
        await self.add(NewUser(username, Role.HANDLER, PASSWORD, unit_id=unit_id))

    async def add(self, new: NewUser) -> User:
        """Create a user (with the session's one precomputed hash) and log it in (a real session)."""
        async with self.desk.sessions.begin() as session:
            user = User(username=new.username, role=new.role, password_hash=password_hash(),
                        display_name=new.username, unit_id=new.unit_id, region_code=new.region_code,
                        agent_interface=new.agent_interface, active=True, token_generation=0)
            session.add(user)
        self.tokens[new.username] = (await self.desk.logins.start(user)).access.token
        return user


class RecordingPbx:
    """A stand-in PBX that records the actions asked of it (the AMI side is tested in tests/ami)."""

    def __init__(self) -> None:
        self.actions: list[tuple[str, Any]] = []
        self.variables: list[dict[str, str]] = []  # each Originate's channel variables
        self.live_channels = {"1795868623.2": "Local/talk@caller-sim-00000001;1"}

    async def queue_add(self, queue: str, interface: str, member_name: str) -> None:
        self.actions.append(("QueueAdd", (queue, interface, member_name)))

    async def queue_remove(self, queue: str, interface: str) -> None:
        self.actions.append(("QueueRemove", (queue, interface)))

    async def queue_pause(self, interface: str, paused: bool, reason: str | None = None,
                          queue: str | None = None) -> None:
        self.actions.append(("QueuePause", (interface, paused, reason)))

    async def redirect(self, channel: str, context: str, exten: str, priority: int = 1) -> None:
        self.actions.append(("Redirect", (channel, context, exten)))

    async def originate(self, channel: str, context: str, exten: str, caller_id: str,
                        variables: dict[str, str] | None = None) -> None:
        self.actions.append(("Originate", (channel, context, exten)))
        self.variables.append(dict(variables or {}))

    async def hangup(self, channel: str) -> None:
        self.actions.append(("Hangup", (channel,)))

    def channel_of(self, linkedid: str) -> str | None:
        return self.live_channels.get(linkedid)


@pytest.fixture
def pbx(client: DeskClient) -> RecordingPbx:
    fake = RecordingPbx()
    client.desk.telephony = fake
    return fake


@functools.cache
def password_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture
def board() -> LiveBoard:
    return LiveBoard(mode="offline")


@pytest.fixture
async def client(db: Database, board: LiveBoard) -> AsyncIterator[DeskClient]:
    settings = load_settings(db={"url": db.target.url},
                             desk={"auth": {"jwt_secret": "test-secret-of-sufficient-length-32b"}})
    app = create_app(settings, engine=db.engine, board=board, run_sweep=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as http:
            dc = DeskClient(app, http, app.state.desk, db)
            for new in USERS.values():
                await dc.add(new)
            dc.api_key = await add_api_client(dc.desk.sessions, "wechat-backend", Channel.WECHAT)
            dc.kiosk_key = await add_kiosk_key(dc.desk.sessions, "hall")
            yield dc


class LiveServer:
    """The already-started app served by a real uvicorn on loopback (for SSE and the browser)."""

    def __init__(self, app: FastAPI, port: int) -> None:
        self.app = app
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, lifespan="off",
                                log_level="warning", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        for _ in range(200):
            if self._server.started:
                return
            await asyncio.sleep(0.02)
        raise RuntimeError("uvicorn did not start")

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, 10)
            self._server = self._task = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def live_server(client: DeskClient) -> AsyncIterator[LiveServer]:
    server = LiveServer(client.app, free_port())
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
