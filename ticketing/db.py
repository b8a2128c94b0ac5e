"""Engine and session factory. No globals: callers build them from settings and pass them on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SessionFactory = async_sessionmaker[AsyncSession]


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, pool_size: int | None = None, max_overflow: int | None = None,
                **kwargs: Any) -> AsyncEngine:
    """Create an async engine. SQLite gets WAL, foreign keys and a busy timeout (and SQLAlchemy's
    pool for it); PostgreSQL the pool's size when given (`db.pool_size`, `db.max_overflow`)."""
    if is_sqlite(url):
        kwargs.setdefault("connect_args", {}).setdefault("timeout", 30)
    else:
        kwargs.update({k: v for k, v in (("pool_size", pool_size), ("max_overflow", max_overflow)) if v is not None})
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)


def autocommit_sessions(sessions: SessionFactory) -> SessionFactory:
    """Sessions on the same engine in AUTOCOMMIT, for work that only reads: no BEGIN and ROLLBACK
    round trips around it. At PostgreSQL's READ COMMITTED each statement reads its own snapshot
    inside a transaction too, so reads see nothing different."""
    return make_session_factory(engine_of(sessions).execution_options(isolation_level="AUTOCOMMIT"))


def engine_of(sessions: SessionFactory) -> AsyncEngine:
    """The engine a session factory is bound to."""
    engine: AsyncEngine = sessions.kw["bind"]
    return engine
