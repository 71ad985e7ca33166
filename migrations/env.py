"""Alembic environment: runs migrations against the configured database."""

from __future__ import annotations

from alembic import context

import assets.models  # noqa: F401  (register tables)
import auth  # noqa: F401
import broadcast.models  # noqa: F401
import studio.models  # noqa: F401
from db import Base, get_engine
from studio.search import SEARCH_TABLES

target_metadata = Base.metadata


def _not_search_table(name: str | None, type_: str, _parent: object) -> bool:
    """Autogenerate leaves the search tables (and FTS5's shadow tables) alone: 0003 makes them by hand."""
    return not (type_ == "table" and name is not None and name.startswith(tuple(SEARCH_TABLES.values())))


def run_migrations() -> None:
    """Run migrations online, on the engine lawcast itself uses."""
    url = context.config.get_main_option("sqlalchemy.url")
    engine = get_engine(url)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch operation copies a table, drops the old one and renames the copy. With foreign keys on, that
            # drop deletes every row that references the table through ON DELETE CASCADE (a production's script
            # versions, jobs, outputs and audit trail). SQLite ignores this pragma inside a transaction: it comes first.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            context.configure(
                connection=connection,
                target_metadata=target_metadata,
                render_as_batch=sqlite,
                compare_type=True,
                include_name=_not_search_table,
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration left rows whose references are missing: {broken[:5]}")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


run_migrations()
