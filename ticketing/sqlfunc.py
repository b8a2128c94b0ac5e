"""Portable SQL for time arithmetic: epoch seconds and local-day buckets, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal


class epoch_seconds(FunctionElement[float]):  # noqa: N801  (SQL function style)
    """Seconds since 1970-01-01 UTC of a UTC timestamp column."""

    type = Float()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(epoch_seconds, "postgresql")
def _epoch_pg(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


class local_bucket(FunctionElement[str]):  # noqa: N801
    """The start of the local time bucket ('day' or 'hour') of a UTC timestamp, as text."""

    type = String()
    inherit_cache = True
    # unit and offset change the SQL text, so they must be part of the statement cache key.
    _traverse_internals = [
        *FunctionElement._traverse_internals,
        ("unit", InternalTraversal.dp_string),
        ("offset_hours", InternalTraversal.dp_plain_obj),
    ]

    def __init__(self, column: ColumnElement[Any], unit: str, offset_hours: int) -> None:
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
