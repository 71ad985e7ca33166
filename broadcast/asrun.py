"""As-run log: station play reports (idempotent) and coverage reports (flushes, never commits)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast import airings as airings_service
from broadcast import service as broadcast_service
from broadcast.models import Airing, AiringStatus, Area, PlayReport, Station
from broadcast.schemas import PlayIn
from db import utcnow
from errors import Invalid
from studio.models import Output, Production


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def record_plays(session: Session, *, station: Station, plays: Sequence[PlayIn], heartbeat: dict[str, object] | None) -> dict[str, int]:
    """Store as-run reports once per (station, airing); repeats are acknowledged and ignored."""
    now = utcnow()
    station.last_seen_at = now
    if heartbeat is not None:
        station.status = {**heartbeat, "received_at": now.isoformat()}
    ids = [p.airing_id for p in plays]
    known = set(session.scalars(select(PlayReport.airing_id).where(PlayReport.station_id == station.id, PlayReport.airing_id.in_(ids or [-1]))))
    airings = {a.id: a for a in session.scalars(select(Airing).where(Airing.id.in_(ids or [-1])))}
    reachable = _reachable_ids(session, station, list(airings.values()))
    stored = duplicates = 0
    for play in plays:
        if play.airing_id in known:
            duplicates += 1
            continue
        airing = airings.get(play.airing_id)
        if airing is None or airing.id not in reachable:
            raise Invalid(f"Lượt phát {play.airing_id} không thuộc lịch của trạm {station.id}")
        production = session.get(Production, airing.production_id)
        output = session.get(Output, airing.output_id)
        assert production is not None and output is not None
        session.add(
            PlayReport(
                station_id=station.id, airing_id=airing.id, production_id=production.id, production_title=production.title,
                script_version=output.script_version, area_id=station.area_id, scheduled_start=_aware(airing.start),
                played_at=play.played_at if play.played_at.tzinfo else play.played_at.replace(tzinfo=UTC),
                duration_s=play.duration_s, status=play.status,
            )
        )
        if airing.target_kind == "station" and play.status == "played":
            airing.status = AiringStatus.aired.value
        known.add(airing.id)
        stored += 1
    session.flush()
    return {"stored": stored, "duplicates": duplicates}


def _reachable_ids(session: Session, station: Station, airings: Sequence[Airing]) -> set[int]:
    if not airings:
        return set()
    start = min(_aware(a.start) for a in airings)
    end = max(_aware(a.end) for a in airings)
    reach = airings_service.airings_for_station(session, station, start=start, end=end, include_withdrawn=True)
    return {a.id for a in reach}


def coverage(session: Session, *, start: datetime, end: datetime, area_id: int | None = None) -> list[dict[str, object]]:
    """Scheduled against aired per area, station and production in a window."""
    stations = list(session.scalars(select(Station).order_by(Station.id)))
    if area_id is not None:
        area = broadcast_service.get_area(session, area_id)
        allowed = set(broadcast_service.stations_under(session, area))
        stations = [s for s in stations if s.id in allowed]
    areas = {a.id: a for a in session.scalars(select(Area))}
    titles = dict(session.execute(select(Production.id, Production.title)).all())
    aired: dict[tuple[int, int], int] = defaultdict(int)
    for report in session.scalars(
        select(PlayReport).where(PlayReport.scheduled_start >= start, PlayReport.scheduled_start < end, PlayReport.status == "played")
    ):
        aired[(report.station_id, report.production_id)] += 1
    rows = []
    for station in stations:
        scheduled: dict[int, int] = defaultdict(int)
        for airing in airings_service.airings_for_station(session, station, start=start, end=end, include_withdrawn=False):
            if _aware(airing.start) >= start:
                scheduled[airing.production_id] += 1
        for production_id in sorted(set(scheduled) | {p for (s, p) in aired if s == station.id}):
            done = aired.get((station.id, production_id), 0)
            planned = scheduled.get(production_id, 0)
            rows.append({
                "area_id": station.area_id, "area": areas[station.area_id].name, "station_id": station.id,
                "station": station.name, "production_id": production_id, "production": titles.get(production_id, ""),
                "scheduled": planned, "aired": done, "missing": max(planned - done, 0),
            })
    return rows


def coverage_csv(rows: Sequence[dict[str, object]]) -> str:
    """Coverage rows as CSV (UTF-8 with a header line)."""
    buffer = io.StringIO()
    fields = ["area_id", "area", "station_id", "station", "production_id", "production", "scheduled", "aired", "missing"]
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
