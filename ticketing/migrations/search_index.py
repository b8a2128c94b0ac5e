"""Autogenerate support for the knowledge base's full-text index (`ticketing.models.knowledge_index`).

The index is not a SQLAlchemy table, so Alembic would neither create it nor leave it alone. Here:
a comparator that asks for it when the database lacks it (so `make migration` writes the call
into the initial revision, after the tables), the renderer of that call, and the name filter that
keeps the index's own tables, column and index out of the model comparison. Importing this module
registers the comparator and the renderer; `env.py` and the migration test do.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from alembic.autogenerate import comparators, renderers
from alembic.autogenerate.api import AutogenContext
from alembic.operations.ops import MigrateOperation, UpgradeOps
from alembic.util import DispatchPriority, PriorityDispatchResult

from ticketing.models import knowledge_index

_MODULE = knowledge_index.__name__


class CreateSearchIndexOp(MigrateOperation):
    def reverse(self) -> DropSearchIndexOp:
        return DropSearchIndexOp()

    def to_diff_tuple(self) -> tuple[str, str]:
        return ("add_search_index", knowledge_index.TABLE)


class DropSearchIndexOp(MigrateOperation):
    def reverse(self) -> CreateSearchIndexOp:
        return CreateSearchIndexOp()

    def to_diff_tuple(self) -> tuple[str, str]:
        return ("remove_search_index", knowledge_index.TABLE)


def include_name(name: str | None, type_: str, parent_names: MutableMapping[Any, str | None]) -> bool:
    return not knowledge_index.is_part(name, type_, parent_names)


@comparators.dispatch_for("schema", priority=DispatchPriority.LAST)  # after the tables are created
def _compare(autogen_context: AutogenContext, upgrade_ops: UpgradeOps, _schemas: set[str | None]) -> Any:
    assert autogen_context.connection is not None
    if knowledge_index.missing(autogen_context.connection):
        upgrade_ops.ops.append(CreateSearchIndexOp())
    return PriorityDispatchResult.CONTINUE


@renderers.dispatch_for(CreateSearchIndexOp)
def _render_create(autogen_context: AutogenContext, _op: CreateSearchIndexOp) -> str:
    autogen_context.imports.add(f"import {_MODULE}")
    return f"{_MODULE}.create(op.get_bind())"


@renderers.dispatch_for(DropSearchIndexOp)
def _render_drop(autogen_context: AutogenContext, _op: DropSearchIndexOp) -> str:
    autogen_context.imports.add(f"import {_MODULE}")
    return f"{_MODULE}.drop(op.get_bind())"
