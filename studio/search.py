"""Accent-folded full-text search over documents and productions.

Both backends index the same folded text: `fold()` strips every mark (so "phổ biến" and "pho bien" meet),
turns đ/Đ into d (unicode61 and PostgreSQL's parsers keep đ as a letter of its own), lowercases, and keeps
only letters and digits, every other character becoming a space. A query is folded the same way and each of its
words must begin a word of the row (AND of prefixes): "pho bien" finds "Luật Phổ biến, giáo dục pháp luật",
"dieu 5" every document with "Điều 5" in it.

- SQLite: FTS5 virtual tables (`unicode61 remove_diacritics 2`) holding the folded text, rowid = row id.
- PostgreSQL: tables with a `tsvector` built by `to_tsvector('simple', folded)` under a GIN index.

The service functions that write documents and productions call `index_document` / `index_productions`
explicitly; the migration 0003 fills the tables for rows made before it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Column, Connection, Integer, MetaData, Table, Text, bindparam, event, func, literal_column, select, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from db import Base

MAX_QUERY_WORDS = 12
SEARCH_TABLES = {"documents": "documents_search", "productions": "productions_search"}

# The combining marks Vietnamese uses after NFD: five tones, circumflex, breve and horn.
_VI_MARKS = tuple(chr(cp) for cp in (0x0300, 0x0301, 0x0303, 0x0309, 0x0323, 0x0302, 0x0306, 0x031B))
_ASCII_WORDS = bytes(c if chr(c).isalnum() else 0x20 for c in range(128)) + b" " * 128
_NOT_WORD = re.compile(r"[\W_]+")

# Not part of Base.metadata: these are virtual (SQLite) or hand-written (PostgreSQL) tables made by DDL below.
_search_meta = MetaData()
_tables = {
    name: Table(table, _search_meta, Column("rowid", Integer, primary_key=True), Column("title", Text), Column("body", Text))
    for name, table in SEARCH_TABLES.items()
}


def fold(value: str | None) -> str:
    """Text for the search index: marks removed, đ -> d, lowercase, words of letters and digits between spaces."""
    if not value:
        return ""
    decomposed = unicodedata.normalize("NFD", value.lower().replace("đ", "d"))
    ascii_bytes = decomposed.encode("ascii", "ignore")
    # Fast path (a 5 MB law folds in about 0.2 s): only Vietnamese marks were dropped by the ASCII encoding.
    if len(decomposed) - len(ascii_bytes) == sum(decomposed.count(mark) for mark in _VI_MARKS):
        return ascii_bytes.translate(_ASCII_WORDS).decode("ascii").strip()
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NOT_WORD.sub(" ", stripped).strip()


def query_words(q: str | None) -> list[str]:
    """The folded words of a search query (at most MAX_QUERY_WORDS); empty when it has no letter or digit."""
    return fold(q).split()[:MAX_QUERY_WORDS]


def ddl(dialect: str) -> list[str]:
    """Statements that create the search tables on a dialect (the migration 0003 keeps its own copy)."""
    out = []
    if dialect == "sqlite":
        for source, table in SEARCH_TABLES.items():
            out += [
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {table} USING fts5(title, body, "
                "tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3')",
                # Entries leave with their rows (PostgreSQL: the foreign key), so the index alone can count matches.
                f"CREATE TRIGGER IF NOT EXISTS {table}_delete AFTER DELETE ON {source} "
                f"BEGIN DELETE FROM {table} WHERE rowid = old.id; END",
            ]
        return out
    for source, table in SEARCH_TABLES.items():
        out += [
            f"CREATE TABLE IF NOT EXISTS {table} (rowid BIGINT PRIMARY KEY REFERENCES {source}(id) ON DELETE CASCADE, "
            "tsv TSVECTOR NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS ix_{table}_tsv ON {table} USING gin (tsv)",
        ]
    return out


@event.listens_for(Base.metadata, "after_create")
def _create_search_tables(_metadata: MetaData, connection: Connection, **_kw: Any) -> None:
    """`Base.metadata.create_all` (used by some benches instead of migrations) makes the search tables too."""
    for statement in ddl(connection.dialect.name):
        connection.execute(text(statement))


def _store(session: Session, kind: str, rows: Sequence[tuple[int, str, str]]) -> None:
    """Replace the index entries of (id, folded title, folded body) rows."""
    if not rows:
        return
    table = SEARCH_TABLES[kind]
    ids = [row[0] for row in rows]
    session.execute(text(f"DELETE FROM {table} WHERE rowid IN :ids").bindparams(bindparam("ids", expanding=True)), {"ids": ids})
    params = [{"id": i, "title": title, "body": body} for i, title, body in rows]
    if session.get_bind().dialect.name == "sqlite":
        insert = f"INSERT INTO {table} (rowid, title, body) VALUES (:id, :title, :body)"
    else:
        insert = f"INSERT INTO {table} (rowid, tsv) VALUES (:id, to_tsvector('simple', :title || ' ' || :body))"
    session.execute(text(insert), params)


def document_entry(
    doc_id: int, title: str | None, number: str | None, doc_type: str | None, body: str | None
) -> tuple[int, str, str]:
    """The index entry of a document: its title, number and type, then its whole text (every provision)."""
    return doc_id, fold(" ".join(part for part in (title, number, doc_type) if part)), fold(body)


def production_entry(production_id: int, title: str | None, document_number: str | None) -> tuple[int, str, str]:
    """The index entry of a production: its title, and its source document's number."""
    return production_id, fold(title), fold(document_number)


def index_document(session: Session, doc: Any) -> None:
    """Put a document (new or changed) in the search index; call it from the service that writes it."""
    session.flush()
    _store(session, "documents", [document_entry(doc.id, doc.title, doc.number, doc.doc_type, doc.text)])


def index_productions(session: Session, productions: Iterable[Any], document_number: str | None) -> None:
    """Put productions of one document (new or retitled) in the search index."""
    session.flush()
    _store(session, "productions", [production_entry(p.id, p.title, document_number) for p in productions])


def rebuild(session: Session) -> int:
    """Index every document and production again (after a bulk load); returns the number of entries."""
    from studio.models import Document, Production

    for table in SEARCH_TABLES.values():
        session.execute(text(f"DELETE FROM {table}"))
    count = 0
    docs = session.execute(select(Document.id, Document.title, Document.number, Document.doc_type, Document.text)).yield_per(500)
    for chunk in docs.partitions():
        _store(session, "documents", [document_entry(*row) for row in chunk])
        count += len(chunk)
    numbers = select(Production.id, Production.title, Document.number).join(Document, Document.id == Production.document_id)
    for rows in session.execute(numbers).yield_per(2000).partitions():
        _store(session, "productions", [production_entry(*row) for row in rows])
        count += len(rows)
    return count


def _condition(session: Session, kind: str, words: Sequence[str]) -> ColumnElement[Any]:
    """The search table's condition: every word begins a word of the entry."""
    table = _tables[kind]
    if session.get_bind().dialect.name == "sqlite":
        expression = " AND ".join(f'"{word}"*' for word in words)  # words are [a-z0-9] runs: nothing to escape
        condition: ColumnElement[Any] = literal_column(table.name).op("MATCH")(bindparam("search_q", expression))
    else:
        expression = " & ".join(f"{word}:*" for word in words)
        condition = literal_column("tsv").op("@@")(func.to_tsquery("simple", bindparam("search_q", expression)))
    return condition


def matching_ids(session: Session, kind: str, words: Sequence[str]) -> Any:
    """A subquery of the ids of `kind` ("documents" or "productions") whose index holds every word as a prefix."""
    return select(_tables[kind].c.rowid).where(_condition(session, kind, words))


def count(session: Session, kind: str, words: Sequence[str]) -> int:
    """How many rows of `kind` match: exact, since entries leave with their rows (FK on PostgreSQL, trigger on SQLite)."""
    return session.scalar(select(func.count()).select_from(_tables[kind]).where(_condition(session, kind, words))) or 0


def matches(
    session: Session, kind: str, id_column: ColumnElement[Any], words: Sequence[str], *, paging: bool = False
) -> ColumnElement[Any]:
    """A WHERE clause: the row's id is among the matches of `words` (`paging`: to page a search with no other filter)."""
    if not paging:
        return id_column.in_(matching_ids(session, kind, words))
    # Neither planner knows how many rows a search matches (PostgreSQL guesses 20 for a prefix query), so both would
    # drive a page from the match set and sort every match: 0.5 s for a deep page by title of a search matching
    # 50,000 productions. These forms make them walk the sort key's index instead and probe the match set (a hash on
    # PostgreSQL, whose IN inside IS TRUE is not turned into a join), bounded by the table's size. With other filters
    # their indexes should lead, and counting is best driven from the match set, so both keep the plain IN.
    if session.get_bind().dialect.name == "sqlite":
        return (id_column + 0).in_(matching_ids(session, kind, words))
    return id_column.in_(matching_ids(session, kind, words)).is_(True)
