"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from tests.conftest import PG_URL, DatabaseTarget
from ticketing.migrations.runner import downgrade, upgrade
from ticketing.migrations.search_index import include_name
from ticketing.models import Base


def _diff(sync_url: str, schema: str | None = None) -> list[object]:
    engine = create_engine(sync_url)
    try:
        with engine.connect() as conn:
            if schema:
                conn.execute(text(f'SET search_path TO "{schema}"'))
            context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_sqlite_migrations_match_the_models(tmp_path: Path) -> None:
    path = tmp_path / "migrated.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    assert _diff(f"sqlite:///{path}") == []
    downgrade(f"sqlite+aiosqlite:///{path}", "base")
    upgrade(f"sqlite+aiosqlite:///{path}")


@pytest.mark.postgres
def test_postgres_migrations_match_the_models(postgres_target: DatabaseTarget) -> None:
    schema = f"hotline_mig_{uuid.uuid4().hex[:8]}"
    sync_url = PG_URL.replace("+asyncpg", "+psycopg")
    admin = create_engine(sync_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        upgrade(PG_URL, engine_kwargs={"connect_args": {"server_settings": {"search_path": schema}}})
        assert _diff(sync_url, schema) == []
        with admin.connect() as conn:  # storage parameters are no part of the comparison above
            options = dict(conn.execute(text(
                "SELECT c.relname, c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :schema AND c.relname IN ('ticket_rollups', 'call_rollups')"),
                {"schema": schema}).all())
        assert options == {"ticket_rollups": ["fillfactor=70"], "call_rollups": ["fillfactor=70"]}
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
