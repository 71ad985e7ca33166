"""Station-facing endpoints: schedule, feed and playlist pulls, and as-run reports, each with the station's own token."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from assets import service as assets_service
from auth import bearer_token
from broadcast import airings as airings_service
from broadcast import asrun
from broadcast import service as broadcast_service
from broadcast.models import Slot, Station
from broadcast.schemas import PlaysIn
from db import SessionDep, utcnow
from feeds.http import conditional_response
from feeds.station import build_station_rss
from studio.models import Output, Production

router = APIRouter(prefix="/stations", tags=["stations"])


def current_station(request: Request, session: SessionDep, station_id: Annotated[int, Path()]) -> Station:
    """The station whose own token came with the request; any other station's token gets 403."""
    token = bearer_token(request)
    if token is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Thiếu mã trạm (missing station token)", headers={"WWW-Authenticate": "Bearer"})
    station = broadcast_service.station_for_token(session, token)
    if station is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Mã trạm không hợp lệ (invalid station token)", headers={"WWW-Authenticate": "Bearer"})
    if station.id != station_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Mã này thuộc trạm khác; một trạm chỉ xem được lịch của chính nó")
    return station


StationDep = Annotated[Station, Depends(current_station)]


@router.get("/me")
def whoami(request: Request, session: SessionDep) -> dict[str, object]:
    """The station a token belongs to (the agent's first call)."""
    token = bearer_token(request)
    station = broadcast_service.station_for_token(session, token) if token else None
    if station is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Mã trạm không hợp lệ (invalid station token)", headers={"WWW-Authenticate": "Bearer"})
    return {"id": station.id, "name": station.name, "area_id": station.area_id}


def schedule_items(session: Session, station: Station, hours: int) -> list[dict[str, object]]:
    """The station's look-ahead window as plain items (emergencies first)."""
    now = utcnow()
    rows = airings_service.airings_for_station(session, station, start=now - timedelta(minutes=10), end=now + timedelta(hours=hours))
    outputs = {o.id: o for o in session.scalars(select(Output).where(Output.id.in_([a.output_id for a in rows] or [-1])))}
    titles = dict(session.execute(select(Production.id, Production.title).where(Production.id.in_([a.production_id for a in rows] or [-1]))).all())
    overruns = dict(session.execute(select(Slot.id, Slot.overrun).where(Slot.id.in_([a.slot_id for a in rows if a.slot_id] or [-1]))).all())
    items = []
    for airing in rows:
        output = outputs[airing.output_id]
        items.append({
            "airing_id": airing.id,
            "start": airing.start.isoformat(),
            "end": airing.end.isoformat(),
            "priority": airing.priority,
            "title": titles.get(airing.production_id, ""),
            "production_id": airing.production_id,
            "media_url": assets_service.public_url(output.media_key),
            "sha256": output.sha256,
            "bytes": output.bytes,
            "duration_s": round(output.duration_s or 0.0, 3),
            "overrun": overruns.get(airing.slot_id, "cut") if airing.slot_id else "finish",
            "reason": airing.reason,
        })
    return items


@router.api_route("/{station_id}/schedule.json", methods=["GET", "HEAD"])
def schedule(station: StationDep, request: Request, session: SessionDep, hours: Annotated[int, Query(ge=1, le=168)] = 48) -> Response:
    """The station's schedule for the next hours; ETag and If-None-Match give 304."""
    station.last_seen_at = utcnow()
    session.commit()
    body = json.dumps({"station_id": station.id, "items": schedule_items(session, station, hours)}, ensure_ascii=False).encode()
    return conditional_response(request, body, media_type="application/json", last_modified=None, max_age=0)


@router.api_route("/{station_id}/playlist.m3u", methods=["GET", "HEAD"])
def playlist(station: StationDep, request: Request, session: SessionDep, hours: Annotated[int, Query(ge=1, le=168)] = 48) -> Response:
    """Extended M3U of the schedule with durations."""
    lines = ["#EXTM3U"]
    for item in schedule_items(session, station, hours):
        lines.append(f"#EXTINF:{round(float(item['duration_s']))},{item['title']} [{item['start']}]")  # type: ignore[arg-type]
        lines.append(str(item["media_url"]))
    body = ("\n".join(lines) + "\n").encode()
    return conditional_response(request, body, media_type="audio/x-mpegurl; charset=utf-8", last_modified=None, max_age=0)


@router.api_route("/{station_id}/feed.rss", methods=["GET", "HEAD"])
def station_feed(station: StationDep, request: Request, session: SessionDep, hours: Annotated[int, Query(ge=1, le=168)] = 48) -> Response:
    """RSS of the station's upcoming items, for players that take podcasts."""
    body = build_station_rss(station.id, station.name, schedule_items(session, station, hours))
    return conditional_response(request, body, media_type="application/rss+xml; charset=utf-8", last_modified=None, max_age=0)


@router.post("/{station_id}/plays")
def plays(station: StationDep, body: PlaysIn, session: SessionDep) -> dict[str, int]:
    """As-run reports, idempotent per (station, airing); an empty batch is a heartbeat."""
    result = asrun.record_plays(session, station=station, plays=body.plays, heartbeat=body.heartbeat)
    session.commit()
    return result
