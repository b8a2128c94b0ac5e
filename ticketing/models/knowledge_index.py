"""The knowledge base's full-text index: DDL per database, over the jieba-segmented columns.

SQLAlchemy tables cannot describe it, so this module owns it; `create()` runs after `kb_articles`
is created, by `Base.metadata.create_all` (the table event below) and by the migration (an
autogenerate comparator in `ticketing.migrations.search_index` renders the call).

- SQLite: `kb_fts`, an external-content FTS5 table over `kb_articles.search_title/search_body`
  (tokenizer unicode61: the text is already one jieba word per token), kept in step by triggers,
  so every write to the article table, the tests' wipe included, reaches the index.
- PostgreSQL: `kb_articles.search_vector`, a stored generated `tsvector` ('simple' configuration:
  no stemming, no stop words; title weight A, body weight B) with a GIN index.

The queries over it are in `ticketing.knowledge.search`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, event, text

from ticketing.models.knowledge import KbArticle

TABLE = "kb_articles"
FTS = "kb_fts"  # SQLite
VECTOR = "search_vector"  # PostgreSQL
VECTOR_INDEX = "ix_kb_articles_search_vector"
_TRIGGERS = ("kb_fts_insert", "kb_fts_delete", "kb_fts_update")
_COLUMNS = "search_title, search_body"
_OLD = f"INSERT INTO {FTS}({FTS}, rowid, {_COLUMNS}) VALUES ('delete', old.id, old.search_title, old.search_body);"
_NEW = f"INSERT INTO {FTS}(rowid, {_COLUMNS}) VALUES (new.id, new.search_title, new.search_body);"

_SQLITE_CREATE = (
    (f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5({_COLUMNS}, content='{TABLE}', "
     "content_rowid='id', tokenize='unicode61')"),
    f"CREATE TRIGGER IF NOT EXISTS kb_fts_insert AFTER INSERT ON {TABLE} BEGIN {_NEW} END",
    f"CREATE TRIGGER IF NOT EXISTS kb_fts_delete AFTER DELETE ON {TABLE} BEGIN {_OLD} END",
    f"CREATE TRIGGER IF NOT EXISTS kb_fts_update AFTER UPDATE OF {_COLUMNS} ON {TABLE} BEGIN {_OLD} {_NEW} END",
    f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')",  # rows written before the index existed
)
_SQLITE_DROP = (*(f"DROP TRIGGER IF EXISTS {name}" for name in _TRIGGERS), f"DROP TABLE IF EXISTS {FTS}")

_PG_CREATE = (
    (f"ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS {VECTOR} tsvector GENERATED ALWAYS AS ("
     "setweight(to_tsvector('simple', search_title), 'A') || "
     "setweight(to_tsvector('simple', search_body), 'B')) STORED"),
    f"CREATE INDEX IF NOT EXISTS {VECTOR_INDEX} ON {TABLE} USING gin ({VECTOR})",
)
_PG_DROP = (f"DROP INDEX IF EXISTS {VECTOR_INDEX}", f"ALTER TABLE {TABLE} DROP COLUMN IF EXISTS {VECTOR}")


def create(connection: Connection) -> None:
    for statement in _SQLITE_CREATE if _sqlite(connection) else _PG_CREATE:
        connection.execute(text(statement))


def drop(connection: Connection) -> None:
    for statement in _SQLITE_DROP if _sqlite(connection) else _PG_DROP:
        connection.execute(text(statement))


def missing(connection: Connection) -> list[str]:
    """The parts of the index this database lacks (all of them before `kb_articles` exists)."""
    if _sqlite(connection):
        present = set(connection.scalars(text(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'trigger') AND name LIKE 'kb_fts%'")))
        return [name for name in (FTS, *_TRIGGERS) if name not in present]
    found = []
    if connection.scalar(text("SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
                              "AND table_name = :t AND column_name = :c"), {"t": TABLE, "c": VECTOR}):
        found.append(VECTOR)
    if connection.scalar(text("SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = :i"),
                         {"i": VECTOR_INDEX}):
        found.append(VECTOR_INDEX)
    return [name for name in (VECTOR, VECTOR_INDEX) if name not in found]


def is_part(name: str | None, type_: str, parent_names: Mapping[Any, str | None]) -> bool:
    """Whether a reflected object is part of this index, which the models do not describe
    (Alembic's `include_name` hook leaves these out of the model comparison)."""
    if name is None:
        return False
    if type_ == "table":
        return name == FTS or name.startswith(f"{FTS}_")  # FTS5 keeps its data in kb_fts_* tables
    if type_ == "column":
        return name == VECTOR and parent_names.get("table_name") == TABLE
    return type_ == "index" and name == VECTOR_INDEX


def _sqlite(connection: Connection) -> bool:
    return connection.dialect.name == "sqlite"


@event.listens_for(KbArticle.__table__, "after_create")
def _after_create(_table: Any, connection: Connection, **_kw: Any) -> None:
    create(connection)


@event.listens_for(KbArticle.__table__, "before_drop")
def _before_drop(_table: Any, connection: Connection, **_kw: Any) -> None:
    drop(connection)
