"""Cursor pagination: every list answers `{items, next_cursor}`; pass `cursor` back for the next page.

A cursor is opaque to clients: base64url of a JSON array, the last row's sort key (`Keyset`, for
lists read from the database page by page) or an offset (`list_page`, for short computed lists).
Keyset pagination keeps page N as fast as page 1 on a million rows. Every cursor is validated
against the types of its key before it reaches a query: a forged one answers 400.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import orjson
from fastapi import HTTPException, Query, Response
from pydantic import BaseModel, Field, Strict, TypeAdapter, ValidationError
from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import SQLColumnExpression

from ticketing.db import SessionFactory
from ticketing.instants import Instant

T = TypeVar("T")
AnySelect = Select[*tuple[Any, ...]]  # a SELECT of one entity or of several


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="pass as `cursor` to get the next page; null on the last")


CursorParam = Annotated[str | None, Query(description="opaque cursor from a previous page's next_cursor",
                                          max_length=512)]
LimitParam = Annotated[int, Query(ge=1, le=500, description="page size")]
# What a cursor may hold: row ids and offsets (32-bit, as the tables store them), instants, a
# ranking's score (a finite number) and the short name of the order it belongs to.
CursorInt = Annotated[int, Strict(), Field(ge=0, le=2**31 - 1)]
CursorScore = CursorInt | Annotated[float, Strict(), Field(allow_inf_nan=False)]
CursorName = Annotated[str, Strict(), Field(max_length=16)]
_KINDS: dict[type, TypeAdapter[Any]] = {int: TypeAdapter(CursorInt), datetime: TypeAdapter(Instant),
                                        float: TypeAdapter(CursorScore), str: TypeAdapter(CursorName)}


def json_page(page: Page[Any]) -> Response:
    """The page serialised once. Routes keep `response_model` for the OpenAPI document, but skip
    FastAPI's second validation of a model they have just built (it doubled the cost of a list)."""
    return Response(page.model_dump_json(), media_type="application/json")


def json_rows(items: list[dict[str, Any]], next_cursor: str | None) -> Response:
    """A page of views given as their fields (`ticketing.views.ticket_fields`, `calls.call_fields`),
    serialised as they are: the same bytes as `json_page` of the validated models
    (tests/agent_desk/test_row_views.py), without validating every field of every row of a list that
    typed columns just gave (docs/benchmarks.md, "the mix through wrk")."""
    return Response(orjson.dumps({"items": items, "next_cursor": next_cursor}, option=orjson.OPT_UTC_Z),
                    media_type="application/json")


def encode_cursor(*key: Any) -> str:
    plain = [k.isoformat() if isinstance(k, datetime) else k for k in key]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: Sequence[type]) -> tuple[Any, ...]:
    """The key a cursor holds, each part validated as its kind (int, datetime, float: a finite score,
    str: an order's name); else 400."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(kinds):
            raise ValueError("wrong shape")
        return tuple(_KINDS[kind].validate_python(part) for part, kind in zip(raw, kinds, strict=True))
    except (ValueError, ValidationError, UnicodeDecodeError, RecursionError):
        raise HTTPException(400, "malformed cursor") from None


@dataclass(frozen=True)
class Keyset:
    """The sort key of a keyset-paginated list: columns or expressions, all ascending or all descending,
    the last one unique (the row id)."""

    columns: tuple[SQLColumnExpression[Any], ...]
    kinds: tuple[type, ...]
    descending: bool = False

    def ordered(self, query: AnySelect) -> AnySelect:
        return query.order_by(*(c.desc() if self.descending else c.asc() for c in self.columns))

    def after(self, key: Sequence[Any]) -> ColumnElement[bool]:
        """Rows that come after `key` in this order: (a, b) > (x, y) spelled out for every database."""
        values = list(key)  # bound with each column's own type (UTC timestamps included)
        past = [c < v if self.descending else c > v for c, v in zip(self.columns, values, strict=True)]
        clauses = [and_(*(c == v for c, v in zip(self.columns[:i], values[:i], strict=True)), past[i])
                   for i in range(len(self.columns))]
        return or_(*clauses)


async def keyset_page(sessions: SessionFactory, query: AnySelect, keyset: Keyset, *, cursor: str | None,
                      limit: int, key: Callable[[Any], tuple[Any, ...]], view: Callable[[Any], T]) -> Page[T]:
    """One page of `query` (which must not be ordered yet) in `keyset` order after `cursor`.
    `key` gives a row's sort key, `view` what the page lists for it. A row is the entity the query
    selects, or a tuple of them when it selects several (a call and its claim)."""
    async with sessions() as session:
        rows = await keyset_rows(session, query, keyset, cursor=cursor, limit=limit,
                                 entities=len(query.column_descriptions) == 1)
    return Page[T](items=[view(r) for r in rows[:limit]], next_cursor=next_cursor(rows, limit, key))


async def keyset_rows(session: AsyncSession, query: AnySelect, keyset: Keyset, *, cursor: str | None,
                      limit: int, entities: bool = False) -> Sequence[Any]:
    """Up to `limit + 1` rows of `query` in `keyset` order after `cursor` (the one more tells whether a
    next page exists): for routes that read more in the same session before building their page.
    `entities`: the query selects one entity, and these are its objects rather than rows."""
    if cursor:
        query = query.where(keyset.after(decode_cursor(cursor, keyset.kinds)))
    result = await session.execute(keyset.ordered(query).limit(limit + 1))
    return result.scalars().all() if entities else result.all()


def next_cursor(rows: Sequence[Any], limit: int, key: Callable[[Any], tuple[Any, ...]]) -> str | None:
    """The cursor after a page of `keyset_rows`: its last row's key, if one more row came."""
    return encode_cursor(*key(rows[limit - 1])) if len(rows) > limit else None


def list_page(rows: Sequence[T], cursor: str | None, limit: int) -> Page[T]:
    """One page of a list computed in full (KPI rows, a ticket's history): the cursor is an offset."""
    (start,) = decode_cursor(cursor, (int,)) if cursor else (0,)
    page = list(rows[start:start + limit])
    return Page[T](items=page, next_cursor=encode_cursor(start + limit) if start + limit < len(rows) else None)
