"""Database plumbing: declarative base, engine, one session per request or task."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, cast

from fastapi import Depends
from sqlalchemy import JSON, DateTime, MetaData, Table, create_engine, event
from sqlalchemy.engine import CursorResult, Engine, Result
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from settings import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base whose constraint names are stable for Alembic."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}
    if TYPE_CHECKING:
        # Every model maps a Table (none maps a select), which the bulk writers need.
        __table__: ClassVar[Table]


def utcnow() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)


def rowcount(result: Result[Any]) -> int:
    """Rows an executed UPDATE or DELETE matched (Session.execute types every result as a Result, without rowcount)."""
    return cast("CursorResult[Any]", result).rowcount


# Worker threads anyio gives sync endpoints and run_in_threadpool (its default limiter).
THREAD_LIMIT = 40
POOL_MARGIN = 5  # PostgreSQL connections beyond THREAD_LIMIT and LAWCAST_STATION_THREADS
_engines: dict[str, Engine] = {}
_sessionmakers: dict[str, sessionmaker[Session]] = {}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the API read while a worker writes; busy_timeout rides out short write locks.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def get_engine(url: str | None = None) -> Engine:
    """Return the engine for the configured (or given) database URL, created once per URL."""
    url = url or get_settings().sqlalchemy_url
    engine = _engines.get(url)
    if engine is None:
        if url.startswith("sqlite"):
            get_settings().data_dir.mkdir(parents=True, exist_ok=True)
            # Unbounded overflow: a request that holds a connection while it waits for a worker thread (sync
            # dependency, then sync endpoint) must never wait on requests that wait for a connection.
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=10, max_overflow=-1)
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            # A server limits connections, so the pool stays bounded, but never below the threads that can hold
            # one at once: THREAD_LIMIT for sync endpoints plus the station-pull threads (LAWCAST_STATION_THREADS;
            # the margin covers their default of 4). Station pulls and feeds do all their database work inside
            # one thread hop, so they never hold a connection while they wait for a thread and can never exhaust
            # the pool. Routes that read in a sync dependency and then run a sync endpoint do hold one between
            # their two hops; that is staff traffic, and pool_timeout turns its worst case into an error, not a hang.
            max_overflow = THREAD_LIMIT + get_settings().station_threads + POOL_MARGIN - 10
            engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=max_overflow, pool_timeout=30)
        _engines[url] = engine
    return engine


def _sessionmaker() -> sessionmaker[Session]:
    url = get_settings().sqlalchemy_url
    maker = _sessionmakers.get(url)
    if maker is None:
        maker = sessionmaker(bind=get_engine(url), expire_on_commit=False)
        _sessionmakers[url] = maker
    return maker


def reset_engines() -> None:
    """Dispose every engine (used when settings change, e.g. in tests)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
    _sessionmakers.clear()


@contextmanager
def session_scope() -> Iterator[Session]:
    """One transaction: commit on success, roll back on error."""
    session = _sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_session() -> Iterator[Session]:
    """FastAPI dependency: one session per request, committed at the edge."""
    with session_scope() as session:
        yield session


# scope="function": the session commits before the answer is sent, so a commit that fails (the database went away)
# reaches the app's error handlers as a 503 instead of failing after a 200 was already sent.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
