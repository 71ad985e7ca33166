"""Station-facing endpoints: schedule, feed and playlist pulls, and as-run reports, each with the station's own token.

Every endpoint does its database work in one worker thread with its own session (no DB-reading
dependency before a sync endpoint), so a request holds a pooled connection only while it runs on a
thread and thousands of polling stations can never leave the pool to requests that wait for a thread.
Polls answered moments ago never reach these routes: broadcast.asgi.StationFastPath sends them from memory.
"""

from __future__ import annotations

from typing import Annotated

import anyio
from anyio.lowlevel import RunVar
from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from apitypes import Id
from assets.http import represent
from auth import bearer_token
from broadcast import asrun, pull
from broadcast import service as broadcast_service
from broadcast.schemas import PlaysIn, PlaysOut, StationMeOut, StationScheduleOut
from db import get_engine, session_scope
from errors import Unauthorized
from openapi import NOT_MODIFIED, content, get_and_head
from outages import kind, mark_stale
from settings import get_settings

router = APIRouter(prefix="/stations", tags=["stations"])
Hours = Annotated[int, Query(ge=1, le=pull.MAX_HOURS)]
_limiter: RunVar[anyio.CapacityLimiter] = RunVar("station_pull_limiter")


# Few threads on purpose: the driver releases the GIL for every row it steps, and with dozens of threads
# each waits to get it back from the others (one uvicorn worker on SQLite, 1,000 stations in turn: 1 thread
# answered 550 pulls/s, 40 threads 220). A database server gains from a few threads overlapping round trips.
def _pull_threads() -> anyio.CapacityLimiter:
    """This event loop's worker threads for pulls (LAWCAST_STATION_THREADS; 0: 1 on SQLite, 4 on a database server)."""
    try:
        return _limiter.get()
    except LookupError:
        threads = get_settings().station_threads or (1 if get_engine().dialect.name == "sqlite" else 4)
        limiter = anyio.CapacityLimiter(threads)
        _limiter.set(limiter)
        return limiter


def _whoami(token: str | None) -> dict[str, object]:
    with session_scope() as session:
        station = broadcast_service.station_for_token(session, token) if token else None
        if station is None:
            raise Unauthorized("Mã trạm không hợp lệ (invalid station token)")
        return {"id": station.id, "name": station.name, "area_id": station.area_id}


@router.get("/me", response_model=StationMeOut)
async def whoami(request: Request) -> dict[str, object]:
    """The station a token belongs to (the agent's first call)."""
    return await run_in_threadpool(_whoami, bearer_token(request))


async def _pull(request: Request, station_id: int, name: str, hours: int) -> Response:
    token = bearer_token(request)
    try:
        answer = await anyio.to_thread.run_sync(pull.validated, token, station_id, name, hours, limiter=_pull_threads())
    except Exception as exc:
        # A station must not lose its schedule because the database restarted: its last answer, marked stale.
        last = pull.stale(token, station_id, name, hours) if kind(exc) == "database" else None
        if last is None:
            raise  # the app answers a JSON 503 with Retry-After
        return mark_stale(represent(request, last.value.rep, max_age=0, private=True), last.age_s)
    return represent(request, answer.rep, max_age=0, private=True)


@get_and_head(
    router,
    "/{station_id}/schedule.json",
    response_class=Response,
    responses={200: {"model": StationScheduleOut}, 304: NOT_MODIFIED},
)
async def schedule(station_id: Id, request: Request, hours: Hours = pull.DEFAULT_HOURS) -> Response:
    """The station's schedule for the next hours; ETag and If-None-Match give 304."""
    return await _pull(request, station_id, "schedule.json", hours)


@get_and_head(
    router,
    "/{station_id}/playlist.m3u",
    response_class=Response,
    responses={200: content("audio/x-mpegurl", description="Extended M3U"), 304: NOT_MODIFIED},
)
async def playlist(station_id: Id, request: Request, hours: Hours = pull.DEFAULT_HOURS) -> Response:
    """Extended M3U of the schedule with durations."""
    return await _pull(request, station_id, "playlist.m3u", hours)


@get_and_head(
    router,
    "/{station_id}/feed.rss",
    response_class=Response,
    responses={200: content("application/rss+xml", description="RSS 2.0"), 304: NOT_MODIFIED},
)
async def station_feed(station_id: Id, request: Request, hours: Hours = pull.DEFAULT_HOURS) -> Response:
    """RSS of the station's upcoming items, for players that take podcasts."""
    return await _pull(request, station_id, "feed.rss", hours)


def _record(token: str | None, station_id: int, body: PlaysIn) -> dict[str, object]:
    with session_scope() as session:
        station, _ = pull.authenticate(session, token, station_id)
        try:
            result = asrun.record_plays(session, station=station, plays=body.plays, heartbeat=body.heartbeat)
            session.commit()
        except IntegrityError:
            # The same report arrived twice at once and the other request stored it first: it is now a duplicate.
            session.rollback()
            result = asrun.record_plays(session, station=session.merge(station), plays=body.plays, heartbeat=body.heartbeat)
            session.commit()
        return result


@router.post("/{station_id}/plays", response_model=PlaysOut)
async def plays(station_id: Id, body: PlaysIn, request: Request) -> dict[str, object]:
    """As-run reports, idempotent per (station, airing); an empty batch is a heartbeat."""
    return await run_in_threadpool(_record, bearer_token(request), station_id, body)
