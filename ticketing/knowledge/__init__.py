"""The knowledge base (知识库): policy articles with revisions, ranked Chinese full-text search on
SQLite FTS5 and PostgreSQL, and counts of the direct answers given with each article."""

from ticketing.knowledge.segment import Segmenter
from ticketing.knowledge.service import (
           ArticleInput,
           KnowledgeBase,
           SearchFilter,
           SearchPage,
           count_use,
)
from ticketing.knowledge.views import ArticleSummary, ArticleView, RevisionView

__all__ = ["ArticleInput", "ArticleSummary", "ArticleView", "KnowledgeBase", "RevisionView", "SearchFilter",
           "SearchPage", "Segmenter", "count_use"]
