"""What the knowledge base hands out: an article, a search result, a revision. Immutable snapshots."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from ticketing.models import KbArticle, KbRevision
from ticketing.vocabulary import Category


class ArticleSummary(BaseModel):
    """One search result: the article without its body, with an excerpt around the matched words."""

    model_config = ConfigDict(frozen=True)

    id: int
    title: str
    snippet: str = Field(description="plain text around the first matched word (the body's start without q)")
    highlights: list[tuple[int, int]] = Field(description="[start, end) offsets of matched words in snippet")
    category: Category
    region_codes: list[str] = Field(description="regions it applies to; empty: the whole province")
    unit_ids: list[str]
    valid_from: date | None
    valid_until: date | None
    retired: bool
    hits: int = Field(description="direct answers (直接办结) given with this article")
    revision: int


class ArticleContent(BaseModel):
    """What an article says and where and when it applies: the part every revision keeps."""

    model_config = ConfigDict(frozen=True)

    title: str
    body: str
    category: Category
    region_codes: list[str] = Field(description="regions it applies to; empty: the whole province")
    unit_ids: list[str] = Field(description="the units that keep it")
    valid_from: date | None = Field(description="first day it applies (local date); none: always did")
    valid_until: date | None = Field(description="last day it applies (local date); none: open-ended")
    retired: bool


class ArticleView(ArticleContent):
    id: int
    hits: int = Field(description="direct answers (直接办结) given with this article")
    revision: int = Field(description="send it back with an edit; a stale one answers 409")
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str

    @classmethod
    def of(cls, article: KbArticle) -> ArticleView:
        return cls(
            id=article.id, title=article.title, body=article.body, category=article.category,
            region_codes=[r.region_code for r in article.regions], unit_ids=[u.unit_id for u in article.units],
            valid_from=article.valid_from, valid_until=article.valid_until, retired=article.retired,
            hits=article.hits, revision=article.revision, created_at=article.created_at,
            created_by=article.created_by, updated_at=article.updated_at, updated_by=article.updated_by,
        )


class RevisionView(ArticleContent):
    """One version of an article: its full content then, who made it, when, and what changed."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    article_id: int
    revision: int
    at: datetime
    actor: str
    action: str = Field(description="create, edit, retire or unretire")
    changed: list[str] = Field(description="the fields this revision changed")
    note: str | None

    @classmethod
    def of(cls, revision: KbRevision) -> RevisionView:
        return cls.model_validate(revision)
