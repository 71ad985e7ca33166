"""As-run log: station play reports (idempotent) and coverage reports (flushes, never commits).

A report is stored once per (station, airing), with the production title, script version and times
copied in, so later edits of the production do not change what the log says aired. A station may
report an airing that reached it, or one a later fill replaced (it may have aired it from its cache);
anything else is acknowledged as rejected, so one bad report never blocks a station's queue.
Each row keeps the slot's overrun policy (`overrun`) apart from what happened (`outcome`).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast import bulk, reach
from broadcast import service as broadcast_service
from broadcast.models import Airing, AiringStatus, Area, OccurrencePlan, PlayReport, Station
from broadcast.schemas import PlayIn
from broadcast.station_cache import schedule_changed
from db import utcnow
from studio.models import Output, Production
from timeutil import aware_utc

# Outcomes that count as aired: whole, stopped at the slot end, or let run past it.
AIRED = ("played", "cut", "overran")
COVERAGE_FIELDS = ["area_id", "area", "station_id", "station", "production_id", "production", "scheduled", "aired", "missing"]


def touch(station: Station, *, now: datetime | None = None, every_s: float = 60.0) -> bool:
    """Record that a station was seen, at most once a minute (polls are frequent); True when it wrote."""
    now = now or utcnow()
    if station.last_seen_at is not None and (now - aware_utc(station.last_seen_at)).total_seconds() < every_s:
        return False
    station.last_seen_at = now
    return True


def record_plays(
    session: Session, *, station: Station, plays: Sequence[PlayIn], heartbeat: dict[str, object] | None
) -> dict[str, object]:
    """Store as-run reports once per (station, airing); repeats count as duplicates, foreign ones as rejected."""
    now = utcnow()
    station.last_seen_at = now
    if heartbeat is not None:
        station.status = {**heartbeat, "received_at": now.isoformat()}
    ids = sorted({p.airing_id for p in plays})
    known: set[int] = set()
    airings: dict[int, Airing] = {}
    for chunk in bulk.chunks(ids, bulk.IN_CHUNK):
        known.update(
            session.scalars(
                select(PlayReport.airing_id).where(PlayReport.station_id == station.id, PlayReport.airing_id.in_(chunk))
            )
        )
        airings.update((a.id, a) for a in session.scalars(select(Airing).where(Airing.id.in_(chunk))))
    allowed = _allowed(session, station, [a for a in airings.values() if a.id not in known])
    productions = {
        p.id: p
        for p in session.scalars(select(Production).where(Production.id.in_({a.production_id for a in airings.values()} or {-1})))
    }
    outputs = {
        o.id: o for o in session.scalars(select(Output).where(Output.id.in_({a.output_id for a in airings.values()} or {-1})))
    }
    stored = duplicates = 0
    rejected: list[int] = []
    for play in plays:
        if play.airing_id in known:
            duplicates += 1
            continue
        airing = airings.get(play.airing_id)
        if airing is None or airing.id not in allowed:
            rejected.append(play.airing_id)
            continue
        production, output = productions[airing.production_id], outputs[airing.output_id]
        session.add(
            PlayReport(
                station_id=station.id,
                airing_id=airing.id,
                production_id=production.id,
                production_title=production.title,
                script_version=output.script_version,
                area_id=station.area_id,
                scheduled_start=aware_utc(airing.start),
                played_at=aware_utc(play.played_at),
                duration_s=play.duration_s,
                overrun=play.overrun,
                outcome=play.outcome or "played",
            )
        )
        if play.outcome in AIRED and (airing.target_kind, airing.target_id) == ("station", station.id):
            airing.status = AiringStatus.aired.value  # no longer planned: it leaves the station's schedule
            schedule_changed(session)
        known.add(airing.id)
        stored += 1
    session.flush()
    return {"stored": stored, "duplicates": duplicates, "rejected": rejected}


def _allowed(session: Session, station: Station, airings: Sequence[Airing]) -> set[int]:
    """Airings this station may report: those that reach it, and replaced ones no occurrence airs any more."""
    if not airings:
        return set()
    start = min(aware_utc(a.start) for a in airings)
    end = max(aware_utc(a.end) for a in airings)
    ok = {p.airing.id for p in reach.for_station(session, station, start=start, end=end, include_withdrawn=True)}
    orphans = [a for a in airings if a.id not in ok and a.plan_id is not None and a.status == AiringStatus.withdrawn.value]
    if orphans:
        linked = set(
            session.scalars(select(OccurrencePlan.plan_id).where(OccurrencePlan.plan_id.in_({a.plan_id for a in orphans})))
        )
        ok.update(a.id for a in orphans if a.plan_id not in linked)
    return ok


def coverage(session: Session, *, start: datetime, end: datetime, area_id: int | None = None) -> list[dict[str, object]]:
    """Scheduled against aired per area, station and production in a window."""
    stations = list(session.scalars(select(Station).order_by(Station.id)))
    if area_id is not None:
        allowed = set(broadcast_service.stations_under(session, broadcast_service.get_area(session, area_id)))
        stations = [s for s in stations if s.id in allowed]
    areas = {a.id: a for a in session.scalars(select(Area))}
    titles = dict(session.execute(select(Production.id, Production.title)).all())
    aired: dict[tuple[int, int], int] = defaultdict(int)
    for station_id, production_id in session.execute(
        select(PlayReport.station_id, PlayReport.production_id).where(
            PlayReport.scheduled_start >= start, PlayReport.scheduled_start < end, PlayReport.outcome.in_(AIRED)
        )
    ):
        aired[(station_id, production_id)] += 1
    counts = reach.scheduled_counts(session, start=start, end=end)
    network = broadcast_service.loudspeaker_channel_ids(session)
    rows = []
    for station in stations:
        scheduled: dict[int, int] = defaultdict(int)
        targets = [
            ("station", station.id),
            *(("area", a) for a in broadcast_service.ancestor_ids(areas[station.area_id])),
            *(("channel", c) for c in network),
        ]
        for target in targets:
            for production_id, count in counts.get(target, {}).items():
                scheduled[production_id] += count
        for production_id in sorted(set(scheduled) | {p for (s, p) in aired if s == station.id}):
            done = aired.get((station.id, production_id), 0)
            planned = scheduled.get(production_id, 0)
            rows.append(
                {
                    "area_id": station.area_id,
                    "area": areas[station.area_id].name,
                    "station_id": station.id,
                    "station": station.name,
                    "production_id": production_id,
                    "production": titles.get(production_id, ""),
                    "scheduled": planned,
                    "aired": done,
                    "missing": max(planned - done, 0),
                }
            )
    return rows


def totals(rows: Sequence[dict[str, object]], by: str) -> list[dict[str, object]]:
    """Coverage rows summed by 'area' or 'production'."""
    key_id, key_name = f"{by}_id", by
    sums: dict[object, dict[str, object]] = {}
    for row in rows:
        entry = sums.setdefault(
            row[key_id], {key_id: row[key_id], key_name: row[key_name], "scheduled": 0, "aired": 0, "missing": 0}
        )
        for field in ("scheduled", "aired", "missing"):
            entry[field] = _count(entry[field]) + _count(row[field])
    return list(sums.values())


def _count(value: object) -> int:
    """A count of a coverage row (plain dicts, so that a report can key them by any dimension)."""
    if isinstance(value, int | float | str):
        return int(value)
    raise TypeError(f"a coverage count must be a number, not {value!r}")


def coverage_csv(rows: Sequence[dict[str, object]]) -> str:
    """Coverage rows as CSV (UTF-8 with a header line)."""
    return rows_csv(rows, COVERAGE_FIELDS)


ASRUN_FIELDS = [
    "station_id",
    "station",
    "area_id",
    "airing_id",
    "production_id",
    "production_title",
    "script_version",
    "scheduled_start",
    "played_at",
    "duration_s",
    "overrun",
    "outcome",
]


def log_rows(
    session: Session, *, start: datetime, end: datetime, station_id: int | None = None, area_id: int | None = None
) -> list[dict[str, object]]:
    """The as-run log in a window (by actual play time), as stored: what aired, under the title it had then."""
    query = (
        select(PlayReport, Station.name)
        .join(Station, Station.id == PlayReport.station_id)
        .where(PlayReport.played_at >= start, PlayReport.played_at < end)
        .order_by(PlayReport.played_at, PlayReport.id)
    )
    if station_id is not None:
        query = query.where(PlayReport.station_id == station_id)
    if area_id is not None:
        allowed = broadcast_service.stations_under(session, broadcast_service.get_area(session, area_id))
        query = query.where(PlayReport.station_id.in_(allowed or [-1]))
    return [
        {
            "station_id": r.station_id,
            "station": name,
            "area_id": r.area_id,
            "airing_id": r.airing_id,
            "production_id": r.production_id,
            "production_title": r.production_title,
            "script_version": r.script_version,
            "scheduled_start": aware_utc(r.scheduled_start).isoformat(),
            "played_at": aware_utc(r.played_at).isoformat(),
            "duration_s": r.duration_s,
            "overrun": r.overrun,
            "outcome": r.outcome,
        }
        for r, name in session.execute(query)
    ]


def rows_csv(rows: Sequence[dict[str, object]], fields: Sequence[str]) -> str:
    """Rows as CSV (UTF-8 with a header line)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fields))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
