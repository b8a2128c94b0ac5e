"""Programmatic Alembic: `hotline db upgrade` and the migration tests call these."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config


def alembic_config(url: str, engine_kwargs: dict[str, Any] | None = None) -> Config:
    """`engine_kwargs` go to `make_engine`, e.g. a PostgreSQL search_path in connect_args."""
    config = Config()
    config.set_main_option("script_location", str(files("ticketing.migrations")))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["engine_kwargs"] = engine_kwargs or {}
    return config


def upgrade(url: str, revision: str = "head", engine_kwargs: dict[str, Any] | None = None) -> None:
    command.upgrade(alembic_config(url, engine_kwargs), revision)


def downgrade(url: str, revision: str, engine_kwargs: dict[str, Any] | None = None) -> None:
    command.downgrade(alembic_config(url, engine_kwargs), revision)
