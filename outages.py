"""Outages answer like a service: an unreachable database or broker gives a JSON 503 with Retry-After.

The API turns every other unexpected error into a JSON 500, never plain text. Station pulls and public
feeds answer their last built body during a database outage instead (broadcast.station_routes, feeds.routes),
marked stale by `mark_stale`, for up to LAWCAST_STATION_STALE_IF_ERROR_S / LAWCAST_FEED_STALE_IF_ERROR_S.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from typing import Literal

import kombu.exceptions
from sqlalchemy import exc as sa_exc
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from errors import ServiceUnavailable

log = logging.getLogger(__name__)
RETRY_AFTER_S = 5
DATABASE_DOWN = "Cơ sở dữ liệu tạm thời không truy cập được; thử lại sau ít giây (database unavailable, retry shortly)"
BROKER_DOWN = "Hàng đợi xử lý tạm thời không truy cập được; thử lại sau ít giây (job broker unavailable, retry shortly)"
INTERNAL = "Lỗi máy chủ ngoài dự kiến; lỗi đã được ghi lại (internal server error)"
STALE_HEADERS = {"X-Lawcast-Stale": "1", "Warning": '110 - "Response is Stale"'}
# SQLite reports mistakes in SQL or schema as OperationalError too: those are bugs, not outages.
_MISTAKES = ("no such table", "no such column", "has no column", "syntax error")
Kind = Literal["database", "broker"]


def _optional_errors() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """Driver errors of PostgreSQL and Redis, when those clients are installed (the services extra)."""
    database: list[type[Exception]] = []
    broker: list[type[Exception]] = [kombu.exceptions.OperationalError, kombu.exceptions.ConnectionError]
    try:
        import psycopg2

        database += [psycopg2.OperationalError, psycopg2.InterfaceError]
    except ImportError:
        pass
    try:
        import redis.exceptions

        broker += [redis.exceptions.ConnectionError, redis.exceptions.TimeoutError]
    except ImportError:
        pass
    return tuple(database), tuple(broker)


_SERVER_DB_ERRORS, BROKER_ERRORS = _optional_errors()
# Every error class the 503 handler is registered for; anything of these that is not an outage answers a JSON 500.
HANDLED: tuple[type[Exception], ...] = (
    sa_exc.SQLAlchemyError,
    sqlite3.Error,
    kombu.exceptions.KombuError,
    *_SERVER_DB_ERRORS,
    *BROKER_ERRORS,
)


def _mistake(error: BaseException | None) -> bool:
    text = str(error).lower()
    return isinstance(error, sqlite3.InterfaceError) or any(marker in text for marker in _MISTAKES)


def _database_down(error: BaseException) -> bool:
    if isinstance(error, (sa_exc.TimeoutError, sa_exc.DisconnectionError)):
        return True  # pool exhausted, or a connection lost and not replaced
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        return isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError)) and not _mistake(error.orig)
    if isinstance(error, sqlite3.OperationalError):
        return not _mistake(error)
    return isinstance(error, _SERVER_DB_ERRORS)


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__


def kind(error: BaseException) -> Kind | None:
    """Which service an error says is unreachable (the outermost wrapper decides), or None for any other error."""
    for link in _chain(error):
        if isinstance(link, BROKER_ERRORS):
            return "broker"
        if _database_down(link):
            return "database"
    return None


def unavailable(error: BaseException) -> ServiceUnavailable | None:
    """The 503 an infrastructure error stands for, or None when it is not an outage."""
    found = kind(error)
    if found is None:
        return None
    return ServiceUnavailable(DATABASE_DOWN if found == "database" else BROKER_DOWN, retry_after_s=RETRY_AFTER_S)


async def infrastructure_error(request: Request, exc: Exception) -> JSONResponse:
    """Database and broker errors: a JSON 503 with Retry-After for an outage, a JSON 500 for anything else."""
    outage = unavailable(exc)
    if outage is None:
        # Handled here, so the server never sees it: log it the way it would have.
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": INTERNAL}, status_code=500)
    log.warning(
        "%s %s answered 503: %s", request.method, request.url.path, str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    )
    return JSONResponse({"detail": outage.detail}, status_code=outage.status, headers=outage.headers)


async def internal_error(request: Request, exc: Exception) -> JSONResponse:
    """Any other unexpected error: a JSON 500 (the server still logs the traceback, as Starlette re-raises it)."""
    return JSONResponse({"detail": INTERNAL}, status_code=500)


def mark_stale(response: Response, age_s: float) -> Response:
    """Mark an answer served from memory during an outage: X-Lawcast-Stale, Warning 110 and its Age in seconds."""
    for name, value in STALE_HEADERS.items():
        response.headers[name] = value
    response.headers["Age"] = str(int(age_s))
    return response
