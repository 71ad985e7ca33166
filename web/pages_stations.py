"""Stations (fleet health): every station with its area, poll age, heartbeat and 7-day played share; availability per
commune and district; a station's page with its schedule, as-run log, heartbeat and token rotation.

A user scoped to an area sees only the stations in it; any other station answers 404.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from apitypes import Id
from broadcast import scope as area_scope
from broadcast import service as broadcast_service
from broadcast.models import Area, PlayReport, Station
from db import SessionDep, utcnow
from pagination import PageParams
from studio.models import Production
from timeutil import aware_utc
from web import fleet, nav
from web.pages_documents import PageNo, Search, pages_of
from web.render import PageRoute, env, page
from web.security import Acting, SignedIn, Viewer

router = APIRouter(route_class=PageRoute)
PER_PAGE = 50
AHEAD = timedelta(hours=48)
BEHIND = timedelta(hours=2)
SHOWN = 100  # schedule items and as-run rows on a station's page
WORST_COMMUNES = 50
Health = Annotated[str | None, Query(max_length=10)]
# Names the operations pages show (renders, emergency, stations, users), each a message of the catalogues.
env.globals.update(
    AREA_KINDS=nav.AREA_KINDS,
    PRIORITIES=nav.PRIORITIES,
    AIRING_STATUS=nav.AIRING_STATUS,
    OUTCOMES=nav.OUTCOMES,
    HEARTBEAT_FIELDS=nav.HEARTBEAT_FIELDS,
    STEP_LABELS=nav.EMERGENCY_STEPS,
    JOB_STAGES=nav.JOB_STAGES,
)


@router.get("/stations")
def stations(
    request: Request,
    session: SessionDep,
    who: SignedIn,
    q: Search = None,
    area_id: Annotated[Id | None, Query()] = None,
    health: Health = None,
    page_no: PageNo = 1,
) -> Response:
    """The fleet: every station in the user's area, worst first, and availability per commune and district."""
    scope = area_scope.of(session, who.user)
    now = utcnow()
    listing = fleet.station_rows(
        session,
        scope,
        params=PageParams(page_no, PER_PAGE),
        q=(q or "").strip() or None,
        area_id=area_id,
        health=health if health in fleet.HEALTH else None,
        now=now,
    )
    chosen = area_scope.area(session, scope, area_id) if area_id is not None else None
    # Availability follows the chosen area, so a district's communes are all shown, not the province's worst.
    within = area_scope.Scope(chosen.id, chosen.path, chosen.name) if chosen is not None else scope
    available = fleet.availability(session, within, now=now)
    return page(
        request,
        who,
        "app/stations.html",
        {
            "listing": listing,
            "districts": available["district"],
            "communes": available["commune"][:WORST_COMMUNES],
            "communes_total": len(available["commune"]),
            "q": q or "",
            "health": health or "",
            "area_id": area_id or "",
            "chosen": chosen,
            "scope": scope,
            "page_no": page_no,
            "pages": pages_of(listing.total, PER_PAGE),
            "green_s": int(fleet.GREEN_WITHIN.total_seconds()),
        },
    )


def _schedule(session: Session, station: Station, area: Area) -> list[dict[str, Any]]:
    now = utcnow()
    airings = fleet.schedule(session, station, area.path, start=now - BEHIND, end=now + AHEAD, limit=SHOWN)
    ids = {a.production_id for a in airings}
    titles = dict(session.execute(select(Production.id, Production.title).where(Production.id.in_(ids or {-1}))).all())
    return [
        {"airing": a, "title": titles.get(a.production_id, ""), "start": aware_utc(a.start), "end": aware_utc(a.end)}
        for a in airings
    ]


def _asrun(session: Session, station: Station) -> list[PlayReport]:
    since = utcnow() - fleet.WINDOW
    return list(
        session.scalars(
            select(PlayReport)
            .where(PlayReport.station_id == station.id, PlayReport.played_at >= since)
            .order_by(PlayReport.played_at.desc(), PlayReport.id.desc())
            .limit(SHOWN)
        )
    )


def station_page(request: Request, session: Session, who: Viewer, station: Station, *, new_token: str = "") -> Response:
    """A station's page (also shown once with its new token after a rotation)."""
    area = broadcast_service.get_area(session, station.area_id)
    trail = {a.id: a for a in session.scalars(select(Area).where(Area.id.in_(fleet.ancestors(area.path))))}
    now = utcnow()
    seen = aware_utc(station.last_seen_at) if station.last_seen_at else None
    return page(
        request,
        who,
        "app/station.html",
        {
            "station": station,
            "area": area,
            "trail": [trail[i] for i in fleet.ancestors(area.path) if i in trail],
            "health": fleet.health_of(seen, now),
            "age_s": (now - seen).total_seconds() if seen else None,
            "heartbeat": {k: v for k, v in (station.status or {}).items() if k != "received_at"},
            "heartbeat_at": fleet.heartbeat_time(station.status),
            "share": fleet.shares(session, [(station.id, area.path)], now=now)[station.id],
            "schedule": _schedule(session, station, area),
            "asrun": _asrun(session, station),
            "new_token": new_token,
            "can_rotate": who.has("scheduler", "producer"),
            "now": now,
        },
        headers={"Referrer-Policy": "no-referrer"} if new_token else None,
    )


@router.get("/stations/{station_id}")
def station(station_id: Id, request: Request, session: SessionDep, who: SignedIn) -> Response:
    """One station: health, heartbeat, the next 48 hours of its schedule, its as-run log, and token rotation."""
    return station_page(request, session, who, area_scope.station(session, area_scope.of(session, who.user), station_id))


@router.post("/stations/{station_id}/token")
def rotate_token(station_id: Id, request: Request, session: SessionDep, who: Acting) -> Response:
    """Give the station a new token (the old one stops at once); the page shows it this one time only."""
    who.need("scheduler", "producer")
    area_scope.station(session, area_scope.of(session, who.user), station_id)
    found, token = broadcast_service.rotate_station_token(session, station_id=station_id)
    session.commit()
    return station_page(request, session, who, found, new_token=token)
