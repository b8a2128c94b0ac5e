"""Portable SQL for local time buckets (day, hour) of UTC timestamps, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal


class local_bucket(FunctionElement[str]):
    """The start of the local time bucket ('day' or 'hour') of a UTC timestamp, as text."""

    type = String()
    inherit_cache = True
    # unit and offset change the SQL text, so they must be part of the statement cache key.
    _traverse_internals = [  # noqa: RUF012
        *FunctionElement._traverse_internals,
        ("unit", InternalTraversal.dp_string),
        ("offset_hours", InternalTraversal.dp_plain_obj),
    ]

    def __init__(self, column: ColumnElement[Any] | QueryableAttribute[Any], unit: str, offset_hours: int) -> None:
        if unit not in ("day", "hour"):
            raise ValueError(f"bucket unit must be day or hour, not {unit!r}")
        self.unit, self.offset_hours = unit, int(offset_hours)
        super().__init__(column)


@compiles(local_bucket, "sqlite")
def _bucket_sqlite(element: local_bucket, compiler: SQLCompiler, **kw: Any) -> str:
    fmt = "%Y-%m-%d" if element.unit == "day" else "%Y-%m-%dT%H:00"
    column = compiler.process(element.clauses, **kw)
    return f"strftime('{fmt}', {column}, '{element.offset_hours:+d} hours')"


@compiles(local_bucket, "postgresql")
def _bucket_pg(element: local_bucket, compiler: SQLCompiler, **kw: Any) -> str:
    fmt = "YYYY-MM-DD" if element.unit == "day" else 'YYYY-MM-DD"T"HH24:00'
    column = compiler.process(element.clauses, **kw)
    return (f"to_char(date_trunc('{element.unit}', ({column} AT TIME ZONE 'UTC') "
            f"+ interval '{element.offset_hours} hours'), '{fmt}')")
