"""Portable SQL for local time buckets (day, hour, hour of the day) of UTC timestamps, on SQLite and
PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal

_SQLITE_FORMATS = {"day": "%Y-%m-%d", "hour": "%Y-%m-%dT%H:00", "hour_of_day": "%H:00"}
_PG_FORMATS = {"day": "YYYY-MM-DD", "hour": 'YYYY-MM-DD"T"HH24:00', "hour_of_day": "HH24:00"}


class local_bucket(FunctionElement[str]):
    """The local time bucket of a UTC timestamp, as text: 'day' 2026-11-28, 'hour' 2026-11-28T09:00,
    'hour_of_day' 09:00 (whatever the date)."""

    type = String()
    inherit_cache = True
    # unit and offset change the SQL text, so they must be part of the statement cache key.
    _traverse_internals = [  # noqa: RUF012
        *FunctionElement._traverse_internals,
        ("unit", InternalTraversal.dp_string),
        ("offset_hours", InternalTraversal.dp_plain_obj),
    ]

    def __init__(self, column: ColumnElement[Any] | QueryableAttribute[Any], unit: str, offset_hours: int) -> None:
        if unit not in _SQLITE_FORMATS:
            raise ValueError(f"bucket unit must be one of {', '.join(_SQLITE_FORMATS)}, not {unit!r}")
        self.unit, self.offset_hours = unit, int(offset_hours)
        super().__init__(column)


@compiles(local_bucket, "sqlite")
def _bucket_sqlite(element: local_bucket, compiler: SQLCompiler, **kw: Any) -> str:
    fmt = _SQLITE_FORMATS[element.unit]
    column = compiler.process(element.clauses, **kw)
    return f"strftime('{fmt}', {column}, '{element.offset_hours:+d} hours')"


@compiles(local_bucket, "postgresql")
def _bucket_pg(element: local_bucket, compiler: SQLCompiler, **kw: Any) -> str:
    fmt = _PG_FORMATS[element.unit]
    column = compiler.process(element.clauses, **kw)
    trunc = "day" if element.unit == "day" else "hour"
    return (f"to_char(date_trunc('{trunc}', ({column} AT TIME ZONE 'UTC') "
            f"+ interval '{element.offset_hours} hours'), '{fmt}')")
