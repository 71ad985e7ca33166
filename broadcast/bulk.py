"""Bulk writes at scheduler volumes (hundreds of thousands of rows per fill), inside the caller's transaction.

SQLAlchemy's per-value type processing costs more than SQLite's own insert work at these volumes, so on
SQLite rows go to the driver's executemany with each column converted once per distinct value by the
column type's own bind processor (the stored text is exactly what the ORM writes). PostgreSQL (psycopg2)
takes COPY FROM STDIN; other databases take SQLAlchemy's batched multi-row INSERT.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from functools import lru_cache
from itertools import islice
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import String, Table, insert, type_coerce
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from timeutil import aware_utc

if TYPE_CHECKING:
    from psycopg2.extensions import connection as PgConnection

CHUNK = 50_000
# Comfortably under SQLite's default limit of 32,766 bound variables per statement.
IN_CHUNK = 10_000
_T = TypeVar("_T")


def chunks(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    """Consecutive lists of at most `size` items."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _converters(session: Session, table: Table, columns: Sequence[str]) -> list[Callable[[Any], Any] | None]:
    dialect = session.get_bind().dialect
    out: list[Callable[[Any], Any] | None] = []
    for name in columns:
        # dialect_impl: a TypeDecorator's own bind_processor skips the dialect's formatting (SQLite DATETIME text).
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        out.append(lru_cache(maxsize=1 << 16)(process) if process is not None else None)
    return out


def insert_rows(session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """INSERT rows given as tuples of hashable values in `columns` order; returns how many were written."""
    connection = session.connection()
    written = 0
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg2":
        return _copy(session, table, columns, rows)
    if connection.dialect.name != "sqlite":
        for batch in chunks(rows, CHUNK):
            connection.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in batch])
            written += len(batch)
        return written
    quote = connection.dialect.identifier_preparer.quote
    sql = f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) VALUES ({', '.join('?' for _ in columns)})"
    converters = _converters(session, table, columns)
    for batch in chunks(rows, CHUNK):
        if any(converters):
            by_column = [
                list(values) if convert is None else [None if v is None else convert(v) for v in values]
                for values, convert in zip(zip(*batch, strict=True), converters, strict=True)
            ]
            batch = list(zip(*by_column, strict=True))
        connection.exec_driver_sql(sql, batch)
        written += len(batch)
    return written


def _copy_field(value: Any) -> str:
    """One CSV field for COPY: NULL unquoted and empty, text always quoted (so '' stays an empty string)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.isoformat()
    return '"' + str(value).replace('"', '""') + '"'


def _copy(session: Session, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """PostgreSQL's COPY FROM STDIN (CSV), several times faster than multi-row INSERT; constraints still apply."""
    connection = session.connection()
    quote = connection.dialect.identifier_preparer.quote
    sql = f"COPY {quote(table.name)} ({', '.join(quote(c) for c in columns)}) FROM STDIN WITH (FORMAT csv)"
    # Checked out by session.connection(), and psycopg2's own: the caller runs this on psycopg2 only (COPY is not in the DB-API).
    cursor = cast("PgConnection", connection.connection.dbapi_connection).cursor()
    written = 0
    field = lru_cache(maxsize=1 << 16, typed=True)(_copy_field)  # typed: True and 1 are different fields
    try:
        for batch in chunks(rows, CHUNK):
            buffer = io.StringIO("".join(",".join(map(field, row)) + "\n" for row in batch))
            cursor.copy_expert(sql, buffer)
            written += len(batch)
    except connection.dialect.loaded_dbapi.IntegrityError as exc:
        raise IntegrityError(sql, None, exc) from exc
    finally:
        cursor.close()
    return written


_parse = lru_cache(maxsize=1 << 16)(aware_utc)  # equal texts (shared slot times) are parsed once


def raw_time(session: Session, column: Any) -> Any:
    """The column as the driver returns it (SQLite: text), to be read with `to_time`; skips per-row type processing."""
    return type_coerce(column, String) if session.get_bind().dialect.name == "sqlite" else column


def to_time(value: datetime | str) -> datetime:
    """An aware UTC datetime from what `raw_time` selected (equal texts are parsed once)."""
    return _parse(value) if isinstance(value, str) else aware_utc(value)
