"""Station pulls made cheap: one session in one thread hop per poll, and built answers cached per station.

A station's answer (schedule.json, playlist.m3u or feed.rss) is a function of the rows that
`reach.station_schedule` reads, of the station and of the format, so a digest of those is its version:
a poll reads them with one indexed statement and builds the body, its ETag and its gzip form only when
they changed. Polls that arrive within LAWCAST_STATION_REVALIDATE_S of such a check are answered from
memory before routing (broadcast.asgi), unless
- a session in this process that wrote schedules committed (its service called
  `station_cache.schedule_changed`, which invalidates every entry at the commit),
- the entry's earliest item has left the look-behind window (each entry expires at that moment), or
- the token is not the one the entry was validated with.
Changes made by other processes, and items entering the far end of the window, show at the first
check after the revalidation window, which is far shorter than the stations' poll interval.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import auth
from assets import service as assets_service
from assets.answer_cache import Stale
from assets.http import Representation
from broadcast import asrun, reach
from broadcast.models import Area, Station
from broadcast.station_cache import MAX_ENTRIES, Pull, pull_cache
from broadcast.station_rss import build_station_rss
from broadcast.station_wire import ScheduleItem
from db import session_scope, utcnow
from errors import Forbidden, Unauthorized
from settings import get_settings
from textclean import clean_name

log = logging.getLogger(__name__)
# The window starts this long before now, so an item that is playing (or just ended) is still listed.
BEHIND = timedelta(minutes=10)
MEDIA_TYPES = {
    "schedule.json": "application/json",
    "playlist.m3u": "audio/x-mpegurl; charset=utf-8",
    "feed.rss": "application/rss+xml; charset=utf-8",
}
DEFAULT_HOURS = 48
MAX_HOURS = 168
SEEN_WAIT_MS = 50  # how long a poll waits for SQLite's write lock to record last-seen
# Token hash -> (station id, monotonic time) of pulls the database authenticated: while it is unreachable, only
# these tokens may get the station's last answer, so an unknown token never reads a schedule.
_verified: OrderedDict[str, tuple[int, float]] = OrderedDict()
_verified_lock = threading.Lock()


def cache_key(station_id: int, name: str, hours: int) -> str:
    """Cache key of one station's answer in one format and window."""
    return f"{station_id}:{name}:{hours}"


def recent(station_id: int, name: str, hours: int, token: str) -> Representation | None:
    """A station's answer validated moments ago for this very token, or None (the route then checks the database)."""
    entry = pull_cache.recent(cache_key(station_id, name, hours), get_settings().station_revalidate_s)
    if entry is None or time.time() >= entry.expires_at or entry.token_hash != auth.hash_token(token):
        return None
    return entry.rep


def stale(token: str | None, station_id: int, name: str, hours: int) -> Stale[Pull] | None:
    """The last answer built for this station, for a token verified within LAWCAST_STATION_STALE_IF_ERROR_S (outages)."""
    window = get_settings().station_stale_if_error_s
    if token is None or window <= 0:
        return None
    token_hash = auth.hash_token(token)
    seen = _verified.get(token_hash)
    if seen is None or seen[0] != station_id or time.monotonic() - seen[1] > window:
        return None
    found = pull_cache.stale(cache_key(station_id, name, hours), window)
    if found is None or found.value.token_hash != token_hash:
        return None
    return found


def _note_verified(token_hash: str, station_id: int) -> None:
    with _verified_lock:
        _verified[token_hash] = (station_id, time.monotonic())
        _verified.move_to_end(token_hash)
        while len(_verified) > MAX_ENTRIES:
            _verified.popitem(last=False)


def authenticate(session: Session, token: str | None, station_id: int) -> tuple[Station, list[int]]:
    """The station whose own token came with the request, with its area's ids from the root; 401 or 403 otherwise."""
    if token is None:
        raise Unauthorized("Thiếu mã trạm (missing station token)")
    row = session.execute(
        select(Station, Area.path).join(Area, Area.id == Station.area_id).where(Station.token_hash == auth.hash_token(token))
    ).one_or_none()
    if row is None:
        raise Unauthorized("Mã trạm không hợp lệ (invalid station token)")
    station, path = row
    if station.id != station_id:
        raise Forbidden("Mã này thuộc trạm khác; một trạm chỉ xem được lịch của chính nó (this token belongs to another station)")
    return station, [int(part) for part in path.strip("/").split("/") if part]


def validated(token: str | None, station_id: int, name: str, hours: int) -> Pull:
    """A station's answer checked against the database now (blocking: run it in a worker thread); records last-seen."""
    key = cache_key(station_id, name, hours)
    generation = pull_cache.generation  # read before the rows, so a commit racing with this read still counts
    try:
        with session_scope() as session:
            station, area_ids = authenticate(session, token, station_id)
            _note_verified(station.token_hash, station.id)
            now = utcnow()
            rows = reach.station_schedule(
                session, station_id=station.id, area_ids=area_ids, start=now - BEHIND, end=now + timedelta(hours=hours)
            )
            version = _version(station, name, rows)
            pull = pull_cache.get_or_build(key, version, lambda: _build(station, name, rows), generation=generation)
            # Last, so a SQLite write lock is held only for the commit, not while reading.
            if asrun.touch(station, now=now):
                _write_seen(session)
        return pull
    finally:
        pull_cache.release(key)


def _write_seen(session: Session) -> None:
    """Write last-seen, but on SQLite only if the write lock comes at once: a poll never waits behind a long fill.

    A skipped write is made at the station's next poll (last-seen keeps its old value until then).
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return  # committed with the session; PostgreSQL locks only this station's row
    raw = connection.connection.dbapi_connection
    if raw is None:
        # Invalidated under us (the database went away mid-poll): skip the write like a busy one, don't fail the poll.
        log.info("last-seen of a station not written: the connection was lost")
        session.rollback()
        return
    (wait_ms,) = raw.execute("PRAGMA busy_timeout").fetchone()
    raw.execute(f"PRAGMA busy_timeout={SEEN_WAIT_MS}")
    try:
        session.flush()
        written = True
    except OperationalError:
        written = False
    finally:
        # Restored while the session still holds the connection (a rollback hands it back to the pool).
        raw.execute(f"PRAGMA busy_timeout={int(wait_ms)}")
    if not written:
        log.info("last-seen of a station not written: the database is busy writing")
        session.rollback()


def schedule_items(rows: Sequence[reach.ScheduleRow]) -> list[ScheduleItem]:
    """Items of a station's schedule as its answers show them."""
    return [
        {
            "airing_id": row.airing_id,
            "start": row.start.isoformat(),
            "end": row.end.isoformat(),
            "slot_end": row.slot_end.isoformat(),
            "overrun": row.overrun,
            "priority": row.priority,
            "title": row.title,
            "production_id": row.production_id,
            "media_url": assets_service.public_url(row.media_key),
            "sha256": row.sha256,
            "bytes": row.bytes,
            "duration_s": round(row.duration_s or 0.0, 3),
            "reason": row.reason,
        }
        for row in rows
    ]


def body(station: Station, name: str, items: Sequence[ScheduleItem]) -> bytes:
    """The bytes of one answer: schedule JSON, extended M3U with durations, or RSS."""
    if name == "schedule.json":
        return json.dumps({"station_id": station.id, "items": list(items)}, ensure_ascii=False).encode()
    if name == "playlist.m3u":
        lines = ["#EXTM3U"]
        for item in items:
            # One line per entry whatever a stored title holds: CR, LF and other controls would inject M3U lines.
            title = clean_name(str(item["title"]).replace("\x00", "")).replace(",", " ")
            lines.append(f"#EXTINF:{round(float(item['duration_s']))},{title} [{item['start']}]")
            lines.append(str(item["media_url"]))
        return ("\n".join(lines) + "\n").encode()
    return build_station_rss(station.id, station.name, items)


def leaves_at(rows: Sequence[reach.ScheduleRow]) -> float:
    """When the first of these items drops out of the look-behind window (epoch seconds; inf when there are none)."""
    # The query drops an item once now - BEHIND passes its end or its slot's end (an emergency: its start + MAX_SLOT).
    moments = [min(row.end, row.slot_end, row.start + reach.MAX_SLOT) + BEHIND for row in rows]
    return min(moments).timestamp() if moments else math.inf


def _version(station: Station, name: str, rows: Sequence[reach.ScheduleRow]) -> str:
    # Everything the answer is made of, so equal versions always mean equal bytes.
    who = (station.id, station.name if name == "feed.rss" else "", station.token_hash, name, get_settings().base_url)
    return hashlib.blake2b(repr((who, [tuple(row) for row in rows])).encode(), digest_size=20).hexdigest()


def _build(station: Station, name: str, rows: Sequence[reach.ScheduleRow]) -> Pull:
    rep = Representation.of(body(station, name, schedule_items(rows)), media_type=MEDIA_TYPES[name], last_modified=None)
    return Pull(rep, station.id, station.token_hash, leaves_at(rows))


def expire_all() -> None:
    """Forget every cached station answer and verified token (tests, settings changes)."""
    pull_cache.clear()
    with _verified_lock:
        _verified.clear()
