"""Shared fixtures: real SQLite and real PostgreSQL databases, seeded with Jiangsu's regions and units.

PostgreSQL tests use HOTLINE_TEST_PG_URL (default: the local server, database `test`). Each test run
gets its own schema, so parallel runs never collide. With HOTLINE_TEST_REQUIRE_PG=1 (CI) an
unreachable server fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ticketing.db import SessionFactory, make_engine, make_session_factory
from ticketing.models import Base

PG_URL = os.environ.get("HOTLINE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("HOTLINE_TEST_REQUIRE_PG") == "1"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "asterisk"
REFERENCE_TABLES = {"regions", "units"}


@dataclass(frozen=True)
class DatabaseTarget:
    """Where a test database lives: a URL plus engine keyword arguments (the PG schema)."""

    backend: str
    url: str
    engine_kwargs: dict[str, Any] = field(default_factory=dict)

    def engine(self, **extra: Any) -> AsyncEngine:
        return make_engine(self.url, **{**self.engine_kwargs, **extra})


@dataclass
class Database:
    target: DatabaseTarget
    engine: AsyncEngine
    sessions: SessionFactory

    @property
    def backend(self) -> str:
        return self.target.backend


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start from the product's defaults, whatever HOTLINE_* the operator's shell exports."""
    for name in list(os.environ):
        if name.startswith("HOTLINE_") and not name.startswith("HOTLINE_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    assert FIXTURES.is_dir(), f"Asterisk fixtures missing at {FIXTURES}"
    return FIXTURES


def _pg_reachable(url: str) -> bool:
    parts = urlsplit(url.replace("+asyncpg", ""))
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=2):
            return True
    except OSError:
        return False


async def _prepare(target: DatabaseTarget) -> None:
    from ticketing.seed import seed_reference_data

    engine = target.engine()
    try:
        async with engine.begin() as conn:
            if target.backend == "postgres":
                schema = target.engine_kwargs["connect_args"]["server_settings"]["search_path"]
                await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            await conn.run_sync(Base.metadata.create_all)
        await seed_reference_data(make_session_factory(engine))
    finally:
        await engine.dispose()


async def _drop_pg_schema(target: DatabaseTarget) -> None:
    engine = make_engine(target.url)
    schema = target.engine_kwargs["connect_args"]["server_settings"]["search_path"]
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_target(tmp_path_factory: pytest.TempPathFactory) -> DatabaseTarget:
    path = tmp_path_factory.mktemp("db") / "hotline.db"
    target = DatabaseTarget("sqlite", f"sqlite+aiosqlite:///{path}")
    asyncio.run(_prepare(target))
    return target


@pytest.fixture(scope="session")
def postgres_target() -> Iterator[DatabaseTarget]:
    if not _pg_reachable(PG_URL):
        message = f"PostgreSQL not reachable at {PG_URL} (set HOTLINE_TEST_PG_URL)"
        if REQUIRE_PG:
            pytest.fail(message + " and HOTLINE_TEST_REQUIRE_PG=1")
        pytest.skip(message)
    schema = f"hotline_test_{uuid.uuid4().hex[:10]}"
    target = DatabaseTarget(
        "postgres", PG_URL, {"connect_args": {"server_settings": {"search_path": schema}}}
    )
    asyncio.run(_prepare(target))
    yield target
    asyncio.run(_drop_pg_schema(target))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_target(request: pytest.FixtureRequest) -> DatabaseTarget:
    target: DatabaseTarget = request.getfixturevalue(f"{request.param}_target")
    return target


async def _wipe(engine: AsyncEngine) -> None:
    from ticketing.models import Unit
    from ticketing.seed import seed_reference_data

    try:
        async with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                if table.name not in REFERENCE_TABLES:
                    await conn.execute(delete(table))
            # A unit an administrator renamed gets the directory's name back for the next test.
            renamed = await conn.execute(update(Unit).where(Unit.renamed_by.is_not(None)).values(renamed_by=None))
        if renamed.rowcount:
            await seed_reference_data(make_session_factory(engine))
    finally:
        await engine.dispose()


@pytest.fixture
async def db(db_target: DatabaseTarget) -> AsyncIterator[Database]:
    """A seeded database on SQLite and on PostgreSQL. Everything but regions and units is wiped after."""
    engine = db_target.engine()
    try:
        yield Database(db_target, engine, make_session_factory(engine))
    finally:
        await _wipe(engine)


@pytest.fixture
async def sqlite_db(sqlite_target: DatabaseTarget) -> AsyncIterator[Database]:
    """SQLite only, for tests whose subject is not the database."""
    engine = sqlite_target.engine()
    try:
        yield Database(sqlite_target, engine, make_session_factory(engine))
    finally:
        await _wipe(engine)
