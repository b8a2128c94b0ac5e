"""The knowledge base (知识库): every role searches and reads; handlers and admins keep the articles.

A handler keeps the articles of its own unit: what it writes must list its unit and apply only
inside the unit's region (the whole province only for a provincial unit); what it edits, retires
or unretires must already list its unit. Admins keep every article. Each write is a new revision
(`PUT` names the revision it edits: a stale one answers 409 with the current `revision`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel, Field

from agent_desk.api.csv_export import CSV_RESPONSE, Format, csv_response
from agent_desk.api.deps import Caller, DeskDep, require
from agent_desk.api.errors import AUTHED, responses
from agent_desk.api.pagination import CursorParam, Page, decode_cursor, encode_cursor, json_page
from agent_desk.desk import Desk
from agent_desk.security.principal import Principal
from ticketing.knowledge import (
    ArticleInput,
    ArticleSummary,
    ArticleView,
    RevisionView,
    SearchFilter,
)
from ticketing.models import Role, Unit
from ticketing.vocabulary import Category

router = APIRouter(prefix="/api/kb", tags=["knowledge base"])
Keeper = Annotated[Principal, Depends(require(Role.HANDLER))]  # and admins
ArticleId = Annotated[int, Path(ge=1, le=2**31 - 1)]
RegionCode = Annotated[str, Field(pattern=r"^\d{6}$")]
UnitId = Annotated[str, Field(min_length=1, max_length=48)]


class ArticleWrite(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20000)
    category: Category = Category.CONSULTATION
    region_codes: list[RegionCode] = Field(default_factory=list, max_length=200,
                                           description="where it applies; empty: the whole province")
    unit_ids: list[UnitId] = Field(default_factory=list, max_length=50, description="the units that keep it")
    valid_from: date | None = Field(None, description="first day it applies (local date), none: always did")
    valid_until: date | None = Field(None, description="last day it applies (local date), none: open-ended")
    note: str | None = Field(None, max_length=500, description="what this revision changes, for the history")

    def article(self) -> ArticleInput:
        return ArticleInput(self.title, self.body, self.category, tuple(self.region_codes), tuple(self.unit_ids),
                            self.valid_from, self.valid_until)


class ArticleEdit(ArticleWrite):
    revision: int = Field(ge=1, le=2**31 - 1, description="the revision this edit was made from")


class RevisionRef(BaseModel):
    revision: int = Field(ge=1, le=2**31 - 1, description="the revision you are looking at")
    note: str | None = Field(None, max_length=500)


@router.get("/articles", response_model=Page[ArticleSummary], responses={**CSV_RESPONSE, **responses(400, *AUTHED)})
async def list_articles(
    desk: DeskDep, who: Caller, cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=100, description="page size")] = 20, format: Format = "json",
    q: Annotated[str, Query(max_length=200, description="words to look for, in Chinese or not")] = "",
    category: Category | None = None,
    region_code: Annotated[str | None, Query(
        pattern=r"^\d{6}$", description="the caller's place: its articles, its city's, the province's")] = None,
    unit_id: Annotated[str | None, Query(max_length=48)] = None,
    valid_on: Annotated[date | None, Query(description="articles valid that day (default today)")] = None,
    include_inactive: Annotated[
        bool, Query(description="handlers and admins: retired and out-of-date ones too")] = False,
) -> Any:
    """Articles valid today, best match first with `q` (all its words, else any), most used first
    without. The snippet is plain text; `highlights` are [start, end) offsets in it, in Unicode
    code points. With format=csv: every matching article in full."""
    if include_inactive and who.role not in (Role.HANDLER, Role.ADMIN):
        raise HTTPException(403, "only handlers and admins list retired and out-of-date articles")
    wanted = SearchFilter(q=q, category=category, region_code=region_code, unit_id=unit_id, valid_on=valid_on,
                          include_inactive=include_inactive)
    if format == "csv":
        return csv_response(ArticleView, await desk.knowledge.every(wanted), "knowledge-base")
    after = decode_cursor(cursor, (str, float, int)) if cursor else None  # (order, score or hits, id)
    page = await desk.knowledge.search(wanted, after=after, limit=limit)
    next_cursor = encode_cursor(*page.next_key) if page.next_key else None
    return json_page(Page[ArticleSummary](items=page.items, next_cursor=next_cursor))


@router.get("/articles/{article_id}", response_model=ArticleView, responses=responses(404, *AUTHED))
async def get_article(article_id: ArticleId, desk: DeskDep, who: Caller) -> ArticleView:
    return await desk.knowledge.get(article_id)


@router.post("/articles", response_model=ArticleView, status_code=201, responses=responses(400, *AUTHED))
async def create_article(body: ArticleWrite, desk: DeskDep, who: Keeper) -> ArticleView:
    await _may_write(desk, who, body)
    view = await desk.knowledge.create(body.article(), who.username, note=body.note)
    await desk.audit.record(who.username, "kb.create", "kb_article", view.id, revision=view.revision)
    return view


@router.put("/articles/{article_id}", response_model=ArticleView, responses=responses(400, 404, 409, *AUTHED))
async def edit_article(article_id: ArticleId, body: ArticleEdit, desk: DeskDep, who: Keeper) -> ArticleView:
    """Replace the article's content; a new revision if anything changed."""
    await _may_change(desk, who, article_id)
    await _may_write(desk, who, body)
    view = await desk.knowledge.edit(article_id, body.revision, body.article(), who.username, note=body.note)
    await desk.audit.record(who.username, "kb.edit", "kb_article", article_id, revision=view.revision)
    return view


@router.post("/articles/{article_id}/retire", response_model=ArticleView,
             responses=responses(404, 409, *AUTHED))
async def retire_article(article_id: ArticleId, body: RevisionRef, desk: DeskDep, who: Keeper) -> ArticleView:
    """Withdraw it from agents' searches. It stays readable by id, with its history and its tickets."""
    return await _set_retired(desk, who, article_id, body, True)


@router.post("/articles/{article_id}/unretire", response_model=ArticleView,
             responses=responses(404, 409, *AUTHED))
async def unretire_article(article_id: ArticleId, body: RevisionRef, desk: DeskDep, who: Keeper) -> ArticleView:
    return await _set_retired(desk, who, article_id, body, False)


async def _set_retired(desk: Desk, who: Principal, article_id: int, body: RevisionRef, retired: bool) -> ArticleView:
    await _may_change(desk, who, article_id)
    view = await desk.knowledge.set_retired(article_id, body.revision, retired, who.username, note=body.note)
    await desk.audit.record(who.username, "kb.retire" if retired else "kb.unretire", "kb_article", article_id,
                            revision=view.revision)
    return view


@router.get("/articles/{article_id}/revisions", response_model=Page[RevisionView],
            responses={**CSV_RESPONSE, **responses(400, 404, *AUTHED)})
async def article_revisions(article_id: ArticleId, desk: DeskDep, who: Caller, cursor: CursorParam = None,
                            limit: Annotated[int, Query(ge=1, le=100, description="page size")] = 20,
                            format: Format = "json") -> Any:
    """Every version of the article, newest first: its content then, who, when, what changed."""
    if format == "csv":
        every = await desk.knowledge.revisions(article_id, limit=2**31 - 1)
        return csv_response(RevisionView, every, f"kb-article-{article_id}-revisions")
    (before,) = decode_cursor(cursor, (int,)) if cursor else (None,)
    rows = await desk.knowledge.revisions(article_id, before=before, limit=limit + 1)
    items = rows[:limit]
    next_cursor = encode_cursor(items[-1].revision) if len(rows) > limit else None
    return json_page(Page[RevisionView](items=items, next_cursor=next_cursor))


async def _may_change(desk: Desk, who: Principal, article_id: int) -> None:
    current = await desk.knowledge.get(article_id)  # 404 first: a missing article is missing for all
    if who.role is Role.HANDLER and who.unit_id not in current.unit_ids:
        raise HTTPException(403, "only admins and the handlers of the units listed on it may change this article")


async def _may_write(desk: Desk, who: Principal, body: ArticleWrite) -> None:
    if who.role is not Role.HANDLER:
        return
    if who.unit_id is None or who.unit_id not in body.unit_ids:
        raise HTTPException(400, f"a handler's article must list its own unit ({who.unit_id}) in unit_ids")
    async with desk.sessions() as session:
        unit = await session.get(Unit, who.unit_id)
    assert unit is not None  # a handler's unit is a foreign key
    outside = [code for code in body.region_codes if unit.region_code not in desk.knowledge.region_path(code)]
    if outside or (not body.region_codes and unit.region_code != desk.settings.ticketing.province_code):
        raise HTTPException(400, f"a handler of {unit.name} writes articles for places inside {unit.region_code}; "
                                 "list them in region_codes")
