"""The knowledge base (知识库): policy articles agents answer consultations from, and their history.

An article applies to regions (none listed: the whole province) and names the units that keep it.
`search_title` and `search_body` hold the jieba-segmented text that the full-text index reads
(`ticketing.models.knowledge_index`). `revision` is the optimistic-concurrency counter and the
number of the latest `KbRevision`; `hits` counts direct answers given with the article.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ticketing.models.base import Base, JSONType, enum_type, utcnow
from ticketing.vocabulary import Category


class KbArticle(Base):
    __tablename__ = "kb_articles"
    __table_args__ = (Index("ix_kb_articles_hits", "hits", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[Category] = mapped_column(enum_type(Category), index=True)
    valid_from: Mapped[date | None] = mapped_column(Date)  # local dates, both inclusive
    valid_until: Mapped[date | None] = mapped_column(Date)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    search_title: Mapped[str] = mapped_column(Text, default="")
    search_body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer, default=1)

    regions: Mapped[list[KbArticleRegion]] = relationship(
        cascade="all, delete-orphan", lazy="raise", order_by="KbArticleRegion.region_code"
    )
    units: Mapped[list[KbArticleUnit]] = relationship(
        cascade="all, delete-orphan", lazy="raise", order_by="KbArticleUnit.unit_id"
    )

    # The service sets the next revision itself; the UPDATE still checks the one it read.
    __mapper_args__ = {"version_id_col": revision, "version_id_generator": False}  # noqa: RUF012


class KbArticleRegion(Base):
    __tablename__ = "kb_article_regions"

    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"), primary_key=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), primary_key=True, index=True)


class KbArticleUnit(Base):
    __tablename__ = "kb_article_units"

    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), primary_key=True, index=True)


class KbRevision(Base):
    """Append-only: every version of an article, who made it, when, what changed and why."""

    __tablename__ = "kb_revisions"
    __table_args__ = (UniqueConstraint("article_id", "revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # create, edit, retire, unretire
    changed: Mapped[list[str]] = mapped_column(JSONType, default=list)  # field names
    note: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[Category] = mapped_column(enum_type(Category))
    region_codes: Mapped[list[str]] = mapped_column(JSONType, default=list)
    unit_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
