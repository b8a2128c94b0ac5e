"""Asterisk's realtime `queue_log` table, read back as queue_log lines for `ami.queue_log`.

With `queue_log => pgsql,<database>,<table>` in extconfig.conf, Asterisk's logger (main/logger.c
`ast_queue_log`) stores each entry as a row instead of (or besides, `queue_log_to_file`) a line:
`time` (the text `%F %T.%6q`: local time, or UTC with logger.conf's `queue_log_realtime_use_gmt`),
`callid`, `queuename`, `agent`, `event`, and the event's parameters — split over `data1`…`data5`
when the table has those columns (the schema Asterisk ships, contrib/ast-db-manage), else whole in
`data`, `|`-separated as in the file. Each row becomes the line the file would hold
(`epoch|callid|queue|agent|EVENT|params…`), so one parser decides outcomes for both. Reading goes
through the product's SQLAlchemy async stack (asyncpg for PostgreSQL). The table's schema, the
Asterisk configuration and what the reads cost: docs/ami.md, deploy/asterisk/.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, column, literal_column, select, table
from sqlalchemy.exc import DBAPIError

from ticketing.db import make_engine

ROW_COLUMNS = ("time", "callid", "queuename", "agent", "event")
DATA_COLUMNS = ("data1", "data2", "data3", "data4", "data5")


class QueueLogTableError(Exception):
    """The table cannot be read, or is not Asterisk's queue_log."""


def row_line(row: Mapping[str, Any], zone: tzinfo = UTC) -> str:
    """One queue_log row as the line the file holds (CHAR columns lose their padding)."""
    missing = [name for name in ROW_COLUMNS if name not in row]
    if missing:
        raise QueueLogTableError(f"not a queue_log row: no column {', '.join(missing)}")
    at = row["time"]
    if isinstance(at, str):
        at = datetime.fromisoformat(at.strip())
    if not isinstance(at, datetime):
        raise QueueLogTableError(f"queue_log time {at!r} is not a timestamp")
    if at.tzinfo is None:
        at = at.replace(tzinfo=zone)
    if all(name in row for name in DATA_COLUMNS):
        params = [_text(row[name]) for name in DATA_COLUMNS]
        while params and not params[-1]:
            params.pop()
    elif "data" in row:
        params = [_text(row["data"])]
    else:
        raise QueueLogTableError("a queue_log table has data1…data5 (or a single data) column")
    fields = [str(int(at.timestamp())), *(_text(row[name]) for name in ROW_COLUMNS[1:]), *params]
    return "|".join(fields)


def _text(value: Any) -> str:
    return "" if value is None else str(value).rstrip(" ")


class QueueLogTableReader:
    """The rows of one PBX's queue_log table since a moment, as lines; `close()` frees the pool."""

    def __init__(self, url: str, name: str = "queue_log", *, timezone: str = "UTC") -> None:
        schema, _, bare = name.rpartition(".")
        self._table = table(bare, column("time"), schema=schema or None)
        self._zone = ZoneInfo(timezone)
        self._engine = make_engine(url)
        self.describe = f"table {name} at {self._engine.url.render_as_string(hide_password=True)}"

    async def lines_since(self, since: datetime) -> list[str]:
        # `time` is Asterisk's `timestamp` without a zone, written in the configured zone.
        cutoff = since.astimezone(self._zone).replace(tzinfo=None)
        every: Select[Any] = select(literal_column("*")).select_from(self._table)
        try:
            async with self._engine.connect() as connection:
                names = (await connection.execute(every.limit(0))).keys()
                columns = [name.lower() for name in names]
                # rows of one instant (a `time` without fractions) keep the order Asterisk wrote them in
                order = [self._table.c.time, *([column("id")] if "id" in columns else [])]
                result = await connection.execute(every.where(self._table.c.time >= cutoff).order_by(*order))
                rows = result.all()
        except DBAPIError as exc:  # the driver's own error says it best (no SQL, no wrapper)
            root = exc.orig.__cause__ or exc.orig if exc.orig is not None else exc
            raise QueueLogTableError(f"{type(root).__name__}: {root}") from exc
        return [row_line(dict(zip(columns, row, strict=True)), self._zone) for row in rows]

    async def close(self) -> None:
        await self._engine.dispose()
