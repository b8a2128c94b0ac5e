"""XLSX export of a report table: the same columns and values as the API's JSON rows (numbers stay
numbers), one sheet of data and one that states each column's definition. Text is always written
as text, so nothing a caller typed is ever read as a formula."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from pydantic import BaseModel

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}, "text/csv": {"schema": {"type": "string"}},
                      XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
          "description": "JSON, or with format=csv or format=xlsx every row as a download"},
}


def _cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value


def workbook(model: type[BaseModel], rows: Iterable[BaseModel], *, title: str,
             about: Sequence[tuple[str, str]] = ()) -> bytes:
    """Sheet `title`: a header of field names, then one row per item as the API's JSON gives it.
    Sheet `definitions`: what `about` says (period, place) and each field's definition."""
    book = Workbook(write_only=True)
    data = book.create_sheet(title[:31])
    columns = list(model.model_fields)
    data.append(columns)
    for row in rows:
        values = row.model_dump(mode="json")
        data.append([_cell(data, values[c]) for c in columns])
    notes = book.create_sheet("definitions")
    for key, text in about:
        notes.append([_cell(notes, key), _cell(notes, text)])
    notes.append([])
    notes.append(["field", "definition"])
    for name, field in model.model_fields.items():
        notes.append([_cell(notes, name), _cell(notes, field.description or field.title or "")])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def xlsx_response(content: bytes, filename: str) -> Response:
    return Response(content, media_type=XLSX_MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{filename}.xlsx"'})
