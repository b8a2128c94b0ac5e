"""Cursor pagination: every list answers `{items, next_cursor}`; pass `cursor` back for the next page.

A cursor is opaque to clients (base64url of the last row's sort key). Keyset pagination keeps
page N as fast as page 1 on a million rows.
"""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import HTTPException, Query, Response
from pydantic import BaseModel, Field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="pass as `cursor` to get the next page; null on the last")


CursorParam = Annotated[str | None, Query(description="opaque cursor from a previous page's next_cursor",
                                          max_length=512)]
LimitParam = Annotated[int, Query(ge=1, le=500, description="page size")]


def json_page(page: Page[Any]) -> Response:
    """The page serialised once. Routes keep `response_model` for the OpenAPI document, but skip
    FastAPI's second validation of a model they have just built (it doubled the cost of a list)."""
    return Response(page.model_dump_json(), media_type="application/json")


def encode_cursor(*key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(400, "malformed cursor") from None
    if not isinstance(key, list) or len(key) != arity:
        raise HTTPException(400, "malformed cursor")
    return key
