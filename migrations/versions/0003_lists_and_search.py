"""full-text search over documents and productions

Revision ID: 0003
Revises: 0002

Search tables hold accent-folded text (studio.search.fold): FTS5 virtual tables on SQLite, tables with a
GIN-indexed tsvector on PostgreSQL. Documents and productions that exist before this revision are indexed
here. Indexes serve the lists' sort keys and date-range filters.
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op

import db  # noqa: F401

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

SEARCH_TABLES = {"documents": "documents_search", "productions": "productions_search"}
# One index per (sort key, id) of the lists (studio.lists, broadcast.lists): any page, however deep, walks an index.
LIST_INDEXES = {
    "documents": ["created_at", "title", "issued_on"],
    "productions": ["created_at", "updated_at", "title", "status"],
    "render_jobs": ["created_at", "status"],
    "stations": ["name", "last_seen_at"],
    "slots": ["name"],
}
BATCH = 500


def _create_search_tables(dialect: str) -> None:
    for source, table in SEARCH_TABLES.items():
        if dialect == "sqlite":
            op.execute(
                f"CREATE VIRTUAL TABLE {table} USING fts5(title, body, "
                "tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3')"
            )
            # Entries leave with their rows (PostgreSQL: the foreign key), so the index alone can count matches.
            op.execute(f"CREATE TRIGGER {table}_delete AFTER DELETE ON {source} BEGIN DELETE FROM {table} WHERE rowid = old.id; END")
        else:
            op.execute(
                f"CREATE TABLE {table} (rowid BIGINT PRIMARY KEY REFERENCES {source}(id) ON DELETE CASCADE, "
                "tsv TSVECTOR NOT NULL)"
            )
            op.execute(f"CREATE INDEX ix_{table}_tsv ON {table} USING gin (tsv)")


def _insert(dialect: str, table: str, rows: list[dict[str, object]]) -> None:
    if not rows:
        return
    if dialect == "sqlite":
        statement = f"INSERT INTO {table} (rowid, title, body) VALUES (:id, :title, :body)"
    else:
        statement = f"INSERT INTO {table} (rowid, tsv) VALUES (:id, to_tsvector('simple', :title || ' ' || :body))"
    op.get_bind().execute(sa.text(statement), rows)


def _index_existing(dialect: str) -> None:
    """Index the documents and productions made before this revision, in keyset batches (a law can be megabytes)."""
    from studio.search import fold  # the same folding the service applies to new rows and to queries

    bind = op.get_bind()
    last = 0
    while rows := bind.execute(sa.text(
        "SELECT id, title, number, doc_type, text FROM documents WHERE id > :last ORDER BY id LIMIT :n"
    ), {"last": last, "n": BATCH}).all():
        _insert(dialect, SEARCH_TABLES["documents"], [
            {"id": row.id, "title": fold(" ".join(p for p in (row.title, row.number, row.doc_type) if p)), "body": fold(row.text)}
            for row in rows
        ])
        last = rows[-1].id
    last = 0
    while rows := bind.execute(sa.text(
        "SELECT p.id, p.title, d.number FROM productions p JOIN documents d ON d.id = p.document_id "
        "WHERE p.id > :last ORDER BY p.id LIMIT :n"
    ), {"last": last, "n": BATCH * 4}).all():
        _insert(dialect, SEARCH_TABLES["productions"], [
            {"id": row.id, "title": fold(row.title), "body": fold(row.number)} for row in rows
        ])
        last = rows[-1].id


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table, columns in LIST_INDEXES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.create_index(f"ix_{table}_{column}_id", [column, "id"], unique=False)
    _create_search_tables(dialect)
    _index_existing(dialect)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in SEARCH_TABLES.values():
        if sqlite:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_delete")
        op.execute(f"DROP TABLE IF EXISTS {table}")
    for table, columns in LIST_INDEXES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_index(f"ix_{table}_{column}_id")
