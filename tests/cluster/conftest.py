"""Real processes on loopback: `hotline serve --role …` against a PostgreSQL database of its own
(created and dropped per test) and the Redis on 6379."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError
from sqlalchemy import text

from tests.agent_desk.conftest import free_port
from tests.agent_desk.test_serve_logging import Output
from tests.conftest import PG_URL, REQUIRE_PG, _pg_reachable
from ticketing.db import make_engine, make_session_factory
from ticketing.models import Base, LeaderTerm
from ticketing.seed import seed_reference_data

HOTLINE = str(Path(sys.executable).parent / "hotline")
REDIS_URL = "redis://127.0.0.1:6379/0"
JWT_SECRET = "cluster-test-secret-0123456789abcdef"


async def leader_row(db_url: str, name: str) -> LeaderTerm | None:
    """The singleton's term row."""
    engine = make_engine(db_url)
    try:
        async with make_session_factory(engine)() as session:
            return await session.get(LeaderTerm, name)
    finally:
        await engine.dispose()


async def until_leader(db_url: str, name: str, pid: int, timeout: float) -> tuple[LeaderTerm, float]:
    """Until the process `pid` leads the singleton: its term row and how long that took."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.timeout(timeout):
        while True:
            row = await leader_row(db_url, name)
            if row is not None and row.holder.endswith(f":{pid}"):
                return row, loop.time() - started
            await asyncio.sleep(0.1)


@pytest.fixture
async def redis() -> AsyncIterator[aioredis.Redis]:
    """The machine's Redis (CI, which requires its services, fails without it)."""
    client = aioredis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (RedisError, OSError):
        if REQUIRE_PG:
            pytest.fail(f"Redis not reachable at {REDIS_URL} and HOTLINE_TEST_REQUIRE_PG=1")
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    yield client
    await client.aclose()


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh, seeded PostgreSQL database that role processes share."""
    if not _pg_reachable(PG_URL):
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL not reachable at {PG_URL}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    name = f"hotline_cluster_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_URL.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        await seed_reference_data(make_session_factory(engine))
    finally:
        await engine.dispose()
    yield url
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@dataclass
class Node:
    """One `hotline serve` process."""

    roles: tuple[str, ...]
    port: int
    process: asyncio.subprocess.Process
    out: Output
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    async def ready(self, timeout: float = 30.0) -> None:
        """Until the process answers HTTP."""
        async with asyncio.timeout(timeout), httpx.AsyncClient() as client:
            while True:
                if self.process.returncode is not None:
                    raise AssertionError(f"{self.roles} exited: \n" + "\n".join(self.out.lines))
                try:
                    if (await client.get(self.base + "/health")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)


class Cluster:
    def __init__(self, tmp_path: Path, db_url: str, settings: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.db_url = db_url
        self.settings = settings
        self.nodes: list[Node] = []

    async def start(self, *roles: str, env: dict[str, str] | None = None, args: Sequence[str] = ()) -> Node:
        port = free_port()
        environment = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")} | {
            "HOTLINE_CONFIG": str(self.tmp_path / "absent.toml"), "HOTLINE_DB__URL": self.db_url,
            "HOTLINE_DESK__PORT": str(port), "HOTLINE_DESK__AUTH__JWT_SECRET": JWT_SECRET,
        } | self.settings | (env or {})
        argv = [HOTLINE, "serve", *(a for role in roles for a in ("--role", role)), *args]
        process = await asyncio.create_subprocess_exec(
            *argv, env=environment, cwd=self.tmp_path, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE)
        assert process.stderr is not None
        node = Node(roles, port, process, Output(process.stderr))
        self.nodes.append(node)
        await node.ready()
        return node

    async def close(self) -> None:
        await asyncio.gather(*(node.stop() for node in self.nodes))


@pytest.fixture
async def cluster(tmp_path: Path, pg_url: str) -> AsyncIterator[Cluster]:
    cluster = Cluster(tmp_path, pg_url, {})
    try:
        yield cluster
    finally:
        await cluster.close()


class RedisServer:
    """A private redis-server on a free port (a real Redis the test may stop and start again
    without disturbing the machine's shared one on 6379)."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.dir = tmp_path
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(self.dir), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        async with asyncio.timeout(10):
            while True:
                try:
                    _reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
                    writer.close()
                    return
                except OSError:
                    await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    if shutil.which("redis-server") is None:
        (pytest.fail if REQUIRE_PG else pytest.skip)("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
