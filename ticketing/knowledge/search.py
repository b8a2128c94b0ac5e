"""Full-text match and rank over the knowledge base, in each database's own terms.

A query is a list of words (`segment.QueryWord`). `all` mode wants every word, each found as
itself or as all of its parts (停水通知: or 停水 and 通知); `any` mode wants any word or part.
The score is higher for a better match: SQLite's bm25 (negated: FTS5 returns lower-is-better)
with the title weighing TITLE_WEIGHT times the body, PostgreSQL's ts_rank over the title
(weight A) and body (weight B) lexemes, normalised by document length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    FromClause,
    Select,
    TableClause,
    column,
    func,
    literal_column,
    table,
)
from sqlalchemy.dialects.postgresql import TSQUERY

from ticketing.knowledge.segment import QueryWord
from ticketing.models import KbArticle
from ticketing.models.knowledge_index import FTS, VECTOR

TITLE_WEIGHT = 4.0
_Row = TypeVar("_Row", bound=tuple[Any, ...])
_FTS: TableClause = table(FTS, column("rowid"))
# FTS5's hidden column named after the table: MATCH and bm25 take it
_FTS_TABLE: ColumnClause[Any] = literal_column(FTS)
_LENGTH_NORMALISATION = 1  # ts_rank: divide by 1 + log(document length)


class Mode(StrEnum):
    ALL = "all"
    ANY = "any"


@dataclass(frozen=True)
class Match:
    """What a full-text query adds to a select over KbArticle: a join, a condition and a score."""

    join: FromClause | None
    onclause: ColumnElement[bool] | None
    condition: ColumnElement[bool]
    score: ColumnElement[float]

    def apply(self, query: Select[_Row]) -> Select[_Row]:
        if self.join is not None and self.onclause is not None:
            query = query.join(self.join, self.onclause)
        return query.where(self.condition)


def match(dialect: str, words: Sequence[QueryWord], mode: Mode) -> Match:
    if not words:
        raise ValueError("a full-text match needs at least one word")
    if dialect == "sqlite":
        expression = fts5_query(words, mode)
        score = -func.bm25(_FTS_TABLE, TITLE_WEIGHT, 1.0)
        return Match(_FTS, _FTS.c.rowid == KbArticle.id, _FTS_TABLE.bool_op("MATCH")(expression), score)
    vector: ColumnClause[Any] = literal_column(f"{KbArticle.__tablename__}.{VECTOR}")
    if mode is Mode.ANY:
        query = _pg_combine([_pg_term(term) for word in words for term in word.terms], Mode.ANY)
    else:
        query = _pg_combine([_pg_word(word) for word in words], Mode.ALL)
    return Match(None, None, vector.bool_op("@@")(query), func.ts_rank(vector, query, _LENGTH_NORMALISATION))


def fts5_query(words: Sequence[QueryWord], mode: Mode) -> str:
    """An FTS5 query string. Every term is a quoted string, so nothing a user types is syntax."""
    if mode is Mode.ANY:
        return " OR ".join(_quoted(term) for word in words for term in word.terms)
    return " AND ".join(_fts5_word(word) for word in words)


def _fts5_word(word: QueryWord) -> str:
    if not word.parts:
        return _quoted(word.text)
    return f"({_quoted(word.text)} OR ({' AND '.join(_quoted(p) for p in word.parts)}))"


def _quoted(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _pg_term(term: str) -> ColumnElement[object]:
    return func.phraseto_tsquery("simple", term, type_=TSQUERY)  # SQLAlchemy casts it to regconfig


def _pg_word(word: QueryWord) -> ColumnElement[object]:
    whole = _pg_term(word.text)
    if not word.parts:
        return whole
    return whole.op("||")(_pg_combine([_pg_term(p) for p in word.parts], Mode.ALL).self_group())


def _pg_combine(terms: Sequence[ColumnElement[object]], mode: Mode) -> ColumnElement[object]:
    combined = terms[0]
    for term in terms[1:]:
        combined = combined.op("&&" if mode is Mode.ALL else "||")(term.self_group())
    return combined


