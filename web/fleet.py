"""Fleet health for the stations pages: last poll age, heartbeat, and the share of scheduled airings reported played,
per station, and availability rolled up per commune and district, within a user's area scope.

Everything is aggregated by the database. Availability is one GROUP BY over the stations. The 7-day share is counted
only for the stations a page shows, through the (target, start) indexes of airings and occurrences, so a page costs
the same with 1,000 stations and a million airings as with ten.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from broadcast import asrun, plans
from broadcast import scope as area_scope
from broadcast.models import Airing, AiringStatus, Area, Occurrence, OccurrencePlan, PlayReport, Priority, Station
from broadcast.reach import MAX_SLOT
from broadcast.service import loudspeaker_channel_ids
from db import utcnow
from pagination import Listing, PageParams, count
from timeutil import aware_utc

POLL_S = 30  # the station agent's poll interval (`lawcast agent`, broadcast/agent.py run(poll_s=30))
SEEN_EVERY_S = 60  # a poll records last-seen at most once a minute (broadcast.asrun.touch)
# Green: seen within two poll intervals, counted at the granularity last-seen is recorded with (else a healthy
# station polling every 30 s would flicker amber). Amber up to an hour (the dashboard's "silent"), then red.
GREEN_WITHIN = timedelta(seconds=2 * max(POLL_S, SEEN_EVERY_S))
AMBER_WITHIN = timedelta(hours=1)
WINDOW = timedelta(days=7)
HEALTH = ("green", "amber", "red")
COUNTED = (*plans.LIVE, AiringStatus.aired.value)  # scheduled airings, as the coverage report counts them


def health_of(last_seen: datetime | None, now: datetime) -> str:
    """green, amber or red from the age of a station's last poll (never polled: red)."""
    if last_seen is None:
        return "red"
    age = now - aware_utc(last_seen)
    return "green" if age < GREEN_WITHIN else "amber" if age < AMBER_WITHIN else "red"


def health_filter(health: str, now: datetime) -> Any:
    """The SQL condition of one health colour."""
    green, amber = now - GREEN_WITHIN, now - AMBER_WITHIN
    if health == "green":
        return Station.last_seen_at >= green
    if health == "amber":
        return (Station.last_seen_at < green) & (Station.last_seen_at >= amber)
    return Station.last_seen_at.is_(None) | (Station.last_seen_at < amber)


def ancestors(path: str) -> list[int]:
    """Area ids from the root down to the area with this materialised path."""
    return [int(part) for part in path.strip("/").split("/") if part]


@dataclass
class Share:
    """Scheduled airings and those reported played (aired, cut or overran) in the window."""

    scheduled: int = 0
    played: int = 0

    @property
    def ratio(self) -> float | None:
        """played / scheduled, at most 1 (None when nothing was scheduled)."""
        return min(self.played / self.scheduled, 1.0) if self.scheduled else None


def _per_target(session: Session, kind: str, ids: Sequence[int], start: datetime, end: datetime) -> dict[int, int]:
    """Airings starting in [start, end) on targets of one kind: direct ones and those of the targets' occurrences."""
    out: dict[int, int] = defaultdict(int)
    if not ids:
        return out
    direct = (
        select(Airing.target_id, func.count())
        .where(
            Airing.target_kind == kind,
            Airing.target_id.in_(ids),
            Airing.start >= start,
            Airing.start < end,
            Airing.plan_id.is_(None),
            Airing.status.in_(COUNTED),
        )
        .group_by(Airing.target_id)
    )
    linked = (
        select(Occurrence.target_id, func.count())
        .join(OccurrencePlan, OccurrencePlan.occurrence_id == Occurrence.id)
        .join(Airing, Airing.plan_id == OccurrencePlan.plan_id)
        .where(
            Occurrence.target_kind == kind,
            Occurrence.target_id.in_(ids),
            Occurrence.start > start - MAX_SLOT,
            Occurrence.start < end,
            Airing.start >= start,
            Airing.start < end,
            Airing.status.in_(COUNTED),
        )
        .group_by(Occurrence.target_id)
    )
    for query in (direct, linked):
        for target_id, n in session.execute(query):
            if target_id is not None:  # the queries match target ids in `ids`; a shared plan's airing has none
                out[int(target_id)] += int(n)
    return out


def shares(session: Session, stations: Sequence[tuple[int, str]], *, now: datetime | None = None) -> dict[int, Share]:
    """The 7-day share of each (station id, area path): airings on the station, its areas and the loudspeaker network."""
    end = now or utcnow()
    start = end - WINDOW
    ids = [station_id for station_id, _path in stations]
    areas = sorted({a for _id, path in stations for a in ancestors(path)})
    network = loudspeaker_channel_ids(session)
    on_station = _per_target(session, "station", ids, start, end)
    on_area = _per_target(session, "area", areas, start, end)
    on_network = sum(_per_target(session, "channel", network, start, end).values())
    played = dict(
        session.execute(
            select(PlayReport.station_id, func.count())
            .where(
                PlayReport.station_id.in_(ids or [-1]),
                PlayReport.scheduled_start >= start,
                PlayReport.scheduled_start < end,
                PlayReport.outcome.in_(asrun.AIRED),
            )
            .group_by(PlayReport.station_id)
        ).all()
    )
    return {
        station_id: Share(
            on_station.get(station_id, 0) + sum(on_area.get(a, 0) for a in ancestors(path)) + on_network,
            int(played.get(station_id, 0)),
        )
        for station_id, path in stations
    }


@dataclass
class StationRow:
    """One line of the fleet list."""

    station: Station
    area_name: str
    area_path: str
    health: str
    age_s: float | None
    heartbeat_at: datetime | None
    share: Share


def heartbeat_time(status: dict[str, Any] | None) -> datetime | None:
    """When the station's last heartbeat arrived (stored with it as ISO text), if any."""
    value = (status or {}).get("received_at")
    try:
        return aware_utc(datetime.fromisoformat(value)) if isinstance(value, str) else None
    except ValueError:
        return None


def station_rows(
    session: Session,
    scope: area_scope.Scope,
    *,
    params: PageParams,
    q: str | None = None,
    area_id: int | None = None,
    health: str | None = None,
    now: datetime | None = None,
) -> Listing[StationRow]:
    """A page of stations in the scope (longest silent first, then by name), each with its health and 7-day share."""
    now = now or utcnow()
    query = select(Station, Area.name, Area.path).join(Area, Area.id == Station.area_id)
    if not scope.everywhere:
        query = query.where(Area.path.startswith(scope.path or "", autoescape=True))
    if area_id is not None:
        query = query.where(Area.path.startswith(area_scope.area(session, scope, area_id).path, autoescape=True))
    if q:
        query = query.where(Station.name.icontains(q, autoescape=True) | Station.code.icontains(q, autoescape=True))
    if health in HEALTH:
        query = query.where(health_filter(health, now))
    total = count(session, query)
    order = (Station.last_seen_at.asc().nulls_first(), Station.name, Station.id)
    found = (
        session.execute(query.order_by(*order).offset(params.offset).limit(params.per_page)).all()
        if params.offset < total
        else []
    )
    counted = shares(session, [(station.id, path) for station, _name, path in found], now=now)
    rows = []
    for station, area_name, path in found:
        seen = aware_utc(station.last_seen_at) if station.last_seen_at else None
        rows.append(
            StationRow(
                station,
                area_name,
                path,
                health_of(seen, now),
                (now - seen).total_seconds() if seen else None,
                heartbeat_time(station.status),
                counted[station.id],
            )
        )
    return Listing(rows, total)


@dataclass
class Availability:
    """Stations of one commune or district by health."""

    area: Area
    stations: int = 0
    health: dict[str, int] = field(default_factory=lambda: dict.fromkeys(HEALTH, 0))

    @property
    def available(self) -> float:
        """The part of the stations that polled recently (green)."""
        return self.health["green"] / self.stations if self.stations else 0.0


def availability(session: Session, scope: area_scope.Scope, *, now: datetime | None = None) -> dict[str, list[Availability]]:
    """Availability per commune and per district in the scope (one grouped statement), least available first."""
    now = now or utcnow()
    green, amber = now - GREEN_WITHIN, now - AMBER_WITHIN
    # NULL last-seen compares as unknown: neither green nor amber, so never-seen stations count as red.
    greens = func.coalesce(func.sum(case((Station.last_seen_at >= green, 1), else_=0)), 0)
    ambers = func.coalesce(func.sum(case(((Station.last_seen_at < green) & (Station.last_seen_at >= amber), 1), else_=0)), 0)
    grouped = select(Station.area_id, func.count(), greens, ambers).group_by(Station.area_id)
    areas_query = select(Area)
    if not scope.everywhere:
        grouped = grouped.where(Station.area_id.in_(area_scope.area_ids(scope)))
        areas_query = areas_query.where(Area.path.startswith(scope.path or "", autoescape=True))
    per_area = session.execute(grouped).all()
    areas = {a.id: a for a in session.scalars(areas_query)}
    out: dict[str, dict[int, Availability]] = {"commune": {}, "district": {}}
    for area_id, total, n_green, n_amber in per_area:
        here = areas.get(area_id)
        for ancestor_id in ancestors(here.path) if here else []:
            ancestor = areas.get(ancestor_id)
            if ancestor is None or ancestor.kind not in out:
                continue
            entry = out[ancestor.kind].setdefault(ancestor_id, Availability(ancestor))
            entry.stations += int(total)
            entry.health["green"] += int(n_green)
            entry.health["amber"] += int(n_amber)
            entry.health["red"] += int(total) - int(n_green) - int(n_amber)
    return {kind: sorted(found.values(), key=lambda a: (a.available, a.area.name)) for kind, found in out.items()}


def schedule(session: Session, station: Station, area_path: str, *, start: datetime, end: datetime, limit: int) -> list[Airing]:
    """Airings (any status) reaching a station in [start, end), as broadcast.reach finds them, emergencies first.

    One indexed statement per target kind and way (direct, through occurrences), instead of one OR across kinds,
    which SQLite answers by walking every direct airing.
    """
    targets = [("station", [station.id]), ("area", ancestors(area_path)), ("channel", loudspeaker_channel_ids(session))]
    found: dict[int, Airing] = {}
    for kind, ids in targets:
        if not ids:
            continue
        direct = select(Airing).where(
            Airing.target_kind == kind,
            Airing.target_id.in_(ids),
            Airing.plan_id.is_(None),
            Airing.start > start - MAX_SLOT,
            Airing.start < end,
            Airing.end > start,
        )
        linked_plans = (
            select(OccurrencePlan.plan_id)
            .join(Occurrence, Occurrence.id == OccurrencePlan.occurrence_id)
            .where(
                Occurrence.target_kind == kind,
                Occurrence.target_id.in_(ids),
                Occurrence.start > start - MAX_SLOT,
                Occurrence.start < end,
                Occurrence.end > start,
            )
        )
        linked = select(Airing).where(Airing.plan_id.in_(linked_plans), Airing.start < end, Airing.end > start)
        for query in (direct, linked):
            found.update((airing.id, airing) for airing in session.scalars(query))
    ordered = sorted(found.values(), key=lambda a: (a.priority != Priority.emergency.value, aware_utc(a.start), a.id))
    return ordered[:limit]
