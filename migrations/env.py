"""Alembic environment: runs migrations against the configured database."""

from __future__ import annotations

from alembic import context

import assets.models  # noqa: F401  (register tables)
import auth  # noqa: F401
import broadcast.models  # noqa: F401
import studio.models  # noqa: F401
from db import Base, get_engine

target_metadata = Base.metadata


def run_migrations() -> None:
    """Run migrations online, on the engine lawcast itself uses."""
    url = context.config.get_main_option("sqlalchemy.url")
    engine = get_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
