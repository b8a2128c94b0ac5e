"""CSV export of any table the API lists: same filters and scope, every row, streamed.

The file is meant for spreadsheets, which run a cell starting with = + - @ (or a tab or carriage
return before one) as a formula: such text cells get a leading apostrophe, so they stay text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Literal

from fastapi import Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

Format = Annotated[Literal["json", "csv"], Query(description="csv: every row in scope, as a download")]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}},
          "description": "JSON, or with format=csv every matching row as CSV"},
}


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (bool, int, float)):
        return str(value)  # a negative number is a number, not a formula
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, (list, tuple)):
        value = ";".join(str(v.value if isinstance(v, Enum) else v) for v in value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


async def _each(rows: AsyncIterable[BaseModel] | Iterable[BaseModel]) -> AsyncIterator[BaseModel]:
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            yield row
    else:
        for row in rows:
            yield row


def csv_response(model: type[BaseModel], rows: AsyncIterable[BaseModel] | Iterable[BaseModel],
                 filename: str) -> StreamingResponse:
    columns = list(model.model_fields)

    async def body() -> AsyncIterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        yield "\ufeff" + _drain(buffer)  # BOM: spreadsheet programs then read Chinese text right
        async for item in _each(rows):
            data = item.model_dump()
            writer.writerow([_cell(data.get(c)) for c in columns])
            yield _drain(buffer)

    return StreamingResponse(body(), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'})
