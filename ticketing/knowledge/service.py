"""The knowledge base service: articles with a revision history, ranked Chinese search, use counts.

Every write is one transaction that changes the article and appends its `KbRevision`; an edit names
the revision it was made from, and a stale one raises `StaleRevision` (checked again by the UPDATE,
so two editors racing cannot both win). Search reads the full-text index
(`ticketing.knowledge.search`) and, by default, only articles valid today (local date) that are not
retired. Who may write what is the caller's business (the desk's roles); this service only records
the actor.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Row,
    Table,
    and_,
    exists,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from ticketing.db import SessionFactory
from ticketing.errors import ArticleNotFound, InvalidKnowledgeRequest, StaleRevision
from ticketing.knowledge.search import Mode, match
from ticketing.knowledge.segment import SEGMENTER, QueryWord, Segmenter
from ticketing.knowledge.snippet import snippet
from ticketing.knowledge.views import ArticleSummary, ArticleView, RevisionView
from ticketing.models import KbArticle, KbArticleRegion, KbArticleUnit, KbRevision, Unit, utcnow
from ticketing.regions import RegionRecord, province_records
from ticketing.settings import TicketingSettings
from ticketing.vocabulary import Category

_ARTICLES = cast(Table, KbArticle.__table__)
_LOAD = (selectinload(KbArticle.regions), selectinload(KbArticle.units))
# What a search result shows: columns, not entities (no index text, no identity map, one query for
# the places of a whole page).
_LISTED = (KbArticle.id, KbArticle.title, KbArticle.body, KbArticle.category, KbArticle.valid_from,
           KbArticle.valid_until, KbArticle.retired, KbArticle.hits, KbArticle.revision)
HITS = "hits"  # the sort of a list without a query; a search sorts by Mode


@dataclass(frozen=True)
class ArticleInput:
    title: str
    body: str
    category: Category = Category.CONSULTATION
    region_codes: tuple[str, ...] = ()  # none: the whole province
    unit_ids: tuple[str, ...] = ()
    valid_from: date | None = None
    valid_until: date | None = None

    def content(self) -> dict[str, Any]:
        return {"title": self.title, "body": self.body, "category": self.category,
                "region_codes": list(self.region_codes), "unit_ids": list(self.unit_ids),
                "valid_from": self.valid_from, "valid_until": self.valid_until}


@dataclass(frozen=True)
class SearchFilter:
    q: str = ""
    category: Category | None = None
    region_code: str | None = None  # the articles for this place: its own, its city's, the province's
    unit_id: str | None = None
    valid_on: date | None = None  # default: today
    include_inactive: bool = False  # also retired articles and those outside their dates


@dataclass(frozen=True)
class SearchPage:
    items: list[ArticleSummary]
    next_key: tuple[str, float, int] | None = None  # (sort, score or hits, id) of the last item


class KnowledgeBase:
    def __init__(self, sessions: SessionFactory, regions: Mapping[str, RegionRecord], *, tz: tzinfo,
                 clock: Callable[[], datetime] = utcnow, segmenter: Segmenter | None = None) -> None:
        self._sessions = sessions
        self._regions = regions
        self._tz = tz
        self._clock = clock
        self._segmenter = segmenter or SEGMENTER

    @classmethod
    def from_settings(cls, sessions: SessionFactory, settings: TicketingSettings) -> KnowledgeBase:
        regions = {r.code: r for r in province_records(settings.province_code)}
        return cls(sessions, regions, tz=ZoneInfo(settings.calendar.timezone))

    def today(self) -> date:
        return self._clock().astimezone(self._tz).date()

    def region_path(self, code: str) -> list[str]:
        """The region and every region above it (county → city → province)."""
        path, record = [], self._regions.get(code)
        if record is None:
            raise InvalidKnowledgeRequest(f"unknown region code {code!r}")
        while record is not None:
            path.append(record.code)
            record = self._regions.get(record.parent_code or "")
        return path

    # ---- queries -------------------------------------------------------------------------

    async def get(self, article_id: int) -> ArticleView:
        async with self._sessions() as session:
            article = await session.get(KbArticle, article_id, options=_LOAD)
            if article is None:
                raise ArticleNotFound(article_id)
            return ArticleView.of(article)

    async def revisions(self, article_id: int, *, before: int | None = None, limit: int = 50) -> list[RevisionView]:
        """The article's history, newest first; `before` continues after that revision number."""
        query = select(KbRevision).where(KbRevision.article_id == article_id)
        if before is not None:
            query = query.where(KbRevision.revision < before)
        async with self._sessions() as session:
            if await session.get(KbArticle, article_id) is None:
                raise ArticleNotFound(article_id)
            rows = await session.scalars(query.order_by(KbRevision.revision.desc()).limit(limit))
            return [RevisionView.of(r) for r in rows]

    async def search(self, wanted: SearchFilter, *, after: Sequence[Any] | None = None,
                     limit: int = 20) -> SearchPage:
        """A page of articles: ranked by relevance with a query (every word first, then any word or
        part of one if no article has them all), by hits without one. `after` is the last page's
        `next_key`."""
        where = self._filters(wanted)
        words = await self._query_words(wanted.q) if wanted.q.strip() else []
        if wanted.q.strip() and not words:
            return SearchPage([])  # punctuation only: nothing to look for
        sort = self._sort_of(after, bool(words))
        page = await self._page(where, words, sort, after, limit)
        if not page.items and after is None and sort is Mode.ALL and sum(len(w.terms) for w in words) > 1:
            page = await self._page(where, words, Mode.ANY, None, limit)
        return page

    async def every(self, wanted: SearchFilter, *, batch: int = 200) -> AsyncIterator[ArticleView]:
        """Every article the search finds, in its order, in full (for an export). The first page is
        read here, so a bad filter raises before the caller starts sending anything."""
        return self._every(wanted, await self.search(wanted, limit=batch), batch)

    async def _every(self, wanted: SearchFilter, page: SearchPage, batch: int) -> AsyncIterator[ArticleView]:
        while True:
            ids = [item.id for item in page.items]
            async with self._sessions() as session:
                found = {a.id: a for a in await session.scalars(
                    select(KbArticle).where(KbArticle.id.in_(ids)).options(*_LOAD))}
                views = [ArticleView.of(found[i]) for i in ids if i in found]
            for view in views:
                yield view
            if page.next_key is None:
                return
            page = await self.search(wanted, after=page.next_key, limit=batch)

    async def warm(self) -> None:
        """Load the segmenter now, so the first search does not wait for it."""
        await self._ready()

    # ---- commands ------------------------------------------------------------------------

    async def create(self, new: ArticleInput, actor: str, *, note: str | None = None) -> ArticleView:
        new = self._checked(new)
        index = await self._index_text(new.title, new.body)
        now = self._clock()
        async with self._sessions.begin() as session:
            await self._check_units(session, new.unit_ids)
            article = KbArticle(
                title=new.title, body=new.body, category=new.category, valid_from=new.valid_from,
                valid_until=new.valid_until, retired=False, hits=0, search_title=index[0],
                search_body=index[1], created_at=now, created_by=actor, updated_at=now, updated_by=actor,
                revision=1, regions=[KbArticleRegion(region_code=c) for c in new.region_codes],
                units=[KbArticleUnit(unit_id=u) for u in new.unit_ids],
            )
            session.add(article)
            await session.flush()
            session.add(_revision(article, "create", list(new.content()), actor, now, note))
            return ArticleView.of(article)

    async def edit(self, article_id: int, revision: int, new: ArticleInput, actor: str, *,
                   note: str | None = None) -> ArticleView:
        """Replace the article's content. Nothing changed: no new revision."""
        new = self._checked(new)
        index = await self._index_text(new.title, new.body)

        async def change(session: AsyncSession, article: KbArticle) -> list[str]:
            old = _content(article)
            changed = [name for name, value in new.content().items() if old[name] != value]
            if "unit_ids" in changed:
                await self._check_units(session, new.unit_ids)
            article.title, article.body, article.category = new.title, new.body, new.category
            article.valid_from, article.valid_until = new.valid_from, new.valid_until
            article.search_title, article.search_body = index
            if "region_codes" in changed:
                article.regions = [KbArticleRegion(region_code=c) for c in new.region_codes]
            if "unit_ids" in changed:
                article.units = [KbArticleUnit(unit_id=u) for u in new.unit_ids]
            return changed

        return await self._revise(article_id, revision, actor, note, "edit", change)

    async def set_retired(self, article_id: int, revision: int, retired: bool, actor: str, *,
                          note: str | None = None) -> ArticleView:
        """Retire (withdraw from searches; its history and the tickets citing it stay) or bring back."""

        async def change(_: AsyncSession, article: KbArticle) -> list[str]:
            if article.retired is retired:
                return []
            article.retired = retired
            return ["retired"]

        return await self._revise(article_id, revision, actor, note, "retire" if retired else "unretire", change)

    async def reindex(self) -> int:
        """Segment every article again (after a jieba upgrade, say); returns how many changed."""
        changed = 0
        async with self._sessions.begin() as session:
            rows = (await session.execute(select(KbArticle.id, KbArticle.title, KbArticle.body,
                                                 KbArticle.search_title, KbArticle.search_body))).all()
            for article_id, title, body, old_title, old_body in rows:
                index = await self._index_text(title, body)
                if index != (old_title, old_body):
                    await session.execute(update(_ARTICLES).where(_ARTICLES.c.id == article_id)
                                          .values(search_title=index[0], search_body=index[1]))
                    changed += 1
        return changed

    # ---- internals -----------------------------------------------------------------------

    async def _revise(self, article_id: int, revision: int, actor: str, note: str | None, action: str,
                      change: Callable[[AsyncSession, KbArticle], Any]) -> ArticleView:
        now = self._clock()
        try:
            async with self._sessions.begin() as session:
                article = await session.get(KbArticle, article_id, options=_LOAD)
                if article is None:
                    raise ArticleNotFound(article_id)
                if article.revision != revision:
                    raise StaleRevision(article_id, article.revision)
                changed: list[str] = await change(session, article)
                if not changed:
                    return ArticleView.of(article)
                article.revision = revision + 1
                article.updated_at, article.updated_by = now, actor
                session.add(_revision(article, action, changed, actor, now, note))
                await session.flush()
                return ArticleView.of(article)
        except StaleDataError:
            raise StaleRevision(article_id, await self._current_revision(article_id)) from None

    async def _current_revision(self, article_id: int) -> int:
        async with self._sessions() as session:
            return await session.scalar(select(KbArticle.revision).where(KbArticle.id == article_id)) or 0

    def _checked(self, new: ArticleInput) -> ArticleInput:
        title, body = new.title.strip(), new.body.strip()
        if not title or not body:
            raise InvalidKnowledgeRequest("an article needs a title and a body")
        regions = tuple(sorted(set(new.region_codes)))
        for code in regions:
            self.region_path(code)  # raises for an unknown code
        if new.valid_from and new.valid_until and new.valid_until < new.valid_from:
            raise InvalidKnowledgeRequest("valid_until is before valid_from")
        return ArticleInput(title, body, new.category, regions, tuple(sorted(set(new.unit_ids))),
                            new.valid_from, new.valid_until)

    async def _check_units(self, session: AsyncSession, unit_ids: Sequence[str]) -> None:
        if not unit_ids:
            return
        known = set((await session.scalars(select(Unit.id).where(Unit.id.in_(unit_ids)))).all())
        unknown = [u for u in unit_ids if u not in known]
        if unknown:
            raise InvalidKnowledgeRequest(f"unknown unit(s): {', '.join(unknown)}")

    async def _ready(self) -> Segmenter:
        if not self._segmenter.ready:
            await asyncio.to_thread(self._segmenter.load)  # about a second, once: not on the event loop
        return self._segmenter

    async def _index_text(self, title: str, body: str) -> tuple[str, str]:
        segmenter = await self._ready()
        return segmenter.index_text(title), segmenter.index_text(body)

    async def _query_words(self, q: str) -> list[QueryWord]:
        return (await self._ready()).query(q)

    def _filters(self, wanted: SearchFilter) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if not wanted.include_inactive:
            day = wanted.valid_on or self.today()
            where += [KbArticle.retired.is_(False),
                      or_(KbArticle.valid_from.is_(None), KbArticle.valid_from <= day),
                      or_(KbArticle.valid_until.is_(None), KbArticle.valid_until >= day)]
        if wanted.category is not None:
            where.append(KbArticle.category == wanted.category)
        if wanted.region_code:
            applies = select(KbArticleRegion.article_id).where(
                KbArticleRegion.region_code.in_(self.region_path(wanted.region_code)))
            province_wide = ~exists().where(KbArticleRegion.article_id == KbArticle.id)
            where.append(or_(province_wide, KbArticle.id.in_(applies)))
        if wanted.unit_id:
            where.append(KbArticle.id.in_(select(KbArticleUnit.article_id)
                                          .where(KbArticleUnit.unit_id == wanted.unit_id)))
        return where

    @staticmethod
    def _sort_of(after: Sequence[Any] | None, searching: bool) -> Mode | str:
        if after is None:
            return Mode.ALL if searching else HITS
        sort, value, last_id = after
        allowed = (Mode.ALL.value, Mode.ANY.value) if searching else (HITS,)
        # Scores are floats, hits and ids database integers; anything else was not made by us.
        value_ok = isinstance(value, float) and math.isfinite(value) if searching else _is_int32(value)
        if sort not in allowed or not value_ok or not _is_int32(last_id):
            raise InvalidKnowledgeRequest("the cursor does not belong to this search")
        return Mode(sort) if searching else HITS

    async def _page(self, where: list[ColumnElement[bool]], words: list[QueryWord], sort: Mode | str,
                    after: Sequence[Any] | None, limit: int) -> SearchPage:
        async with self._sessions() as session:
            if isinstance(sort, Mode):
                found = match(session.get_bind().dialect.name, words, sort)
                score: ColumnElement[Any] = found.score
                query = found.apply(select(*_LISTED, score.label("score")))
            else:
                score = _ARTICLES.c.hits
                query = select(*_LISTED, score.label("score"))
            if after is not None:
                _, value, last_id = after
                where = [*where, or_(score < value, and_(score == value, KbArticle.id < last_id))]
            query = query.where(*where).order_by(score.desc(), KbArticle.id.desc())
            rows = (await session.execute(query.limit(limit + 1))).all()
            regions, units = await _places(session, [row.id for row in rows[:limit]])
        terms = [t for word in words for t in word.terms]
        items = [_summary(row, regions.get(row.id, []), units.get(row.id, []), terms) for row in rows[:limit]]
        next_key = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_key = (str(sort), last.score, last.id)
        return SearchPage(items, next_key)


async def _places(session: AsyncSession, ids: list[int]) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """The region codes and the unit ids of these articles, each list sorted (as the relationships
    are), in one round trip."""
    regions: dict[int, list[str]] = {}
    units: dict[int, list[str]] = {}
    if not ids:
        return regions, units
    both = union_all(
        select(KbArticleRegion.article_id, literal(True).label("region"), KbArticleRegion.region_code.label("value"))
        .where(KbArticleRegion.article_id.in_(ids)),
        select(KbArticleUnit.article_id, literal(False), KbArticleUnit.unit_id)
        .where(KbArticleUnit.article_id.in_(ids)),
    ).subquery()
    for article_id, is_region, value in await session.execute(select(both).order_by(both.c.value)):
        (regions if is_region else units).setdefault(article_id, []).append(value)
    return regions, units


async def count_use(session: AsyncSession, article_id: int) -> int | None:
    """One more direct answer given with the article, inside the caller's transaction. Returns the
    revision the answer used, or None if the article does not exist or is retired."""
    result = await session.execute(
        update(_ARTICLES).where(_ARTICLES.c.id == article_id, _ARTICLES.c.retired.is_(False))
        .values(hits=_ARTICLES.c.hits + 1).returning(_ARTICLES.c.revision))
    revision: int | None = result.scalar_one_or_none()
    return revision


def _is_int32(value: Any) -> bool:
    return type(value) is int and 0 <= value < 2**31


def _content(article: KbArticle) -> dict[str, Any]:
    return {"title": article.title, "body": article.body, "category": article.category,
            "region_codes": [r.region_code for r in article.regions], "unit_ids": [u.unit_id for u in article.units],
            "valid_from": article.valid_from, "valid_until": article.valid_until}


def _revision(article: KbArticle, action: str, changed: list[str], actor: str, at: datetime,
              note: str | None) -> KbRevision:
    return KbRevision(article_id=article.id, revision=article.revision, at=at, actor=actor, action=action,
                      changed=changed, note=note, retired=article.retired, **_content(article))


def _summary(row: Row[Any], region_codes: list[str], unit_ids: list[str], terms: list[str]) -> ArticleSummary:
    excerpt, marks = snippet(row.body, terms)
    return ArticleSummary(
        id=row.id, title=row.title, snippet=excerpt, highlights=marks, category=row.category,
        region_codes=region_codes, unit_ids=unit_ids, valid_from=row.valid_from, valid_until=row.valid_until,
        retired=row.retired, hits=row.hits, revision=row.revision,
    )
