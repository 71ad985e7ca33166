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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Select, func, or_, select
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


@dataclass(frozen=True)
class CoverageRow:
    """Scheduled against aired for one station and production in a window."""

    area_id: int
    area: str
    station_id: int
    station: str
    production_id: int
    production: str
    scheduled: int
    aired: int
    missing: int


@dataclass(frozen=True)
class CoverageTotal:
    """Coverage rows summed over one key: an area, a station or a production (their ids), or a channel (its slug)."""

    key: int | str
    name: str
    scheduled: int
    aired: int
    missing: int


Dimension = Literal["area", "station", "production"]
_DIMENSIONS: dict[Dimension, Callable[[CoverageRow], tuple[int, str]]] = {
    "area": lambda row: (row.area_id, row.area),
    "station": lambda row: (row.station_id, row.station),
    "production": lambda row: (row.production_id, row.production),
}


def coverage(session: Session, *, start: datetime, end: datetime, area_id: int | None = None) -> list[CoverageRow]:
    """Scheduled against aired per area, station and production in a window: every station's, or those under an area."""
    stations = select(Station.id, Station.name, Station.area_id).join(Area, Station.area_id == Area.id).order_by(Station.id)
    areas = select(Area)
    network = broadcast_service.loudspeaker_channel_ids(session)
    in_scope: Select[int] | None = None  # the stations under the area (None: every station)
    targets: list[tuple[str, Sequence[int] | Select[int]]] | None = None  # what sounds at them (None: every target)
    if area_id is not None:
        area = broadcast_service.get_area(session, area_id)
        under = Area.path.startswith(area.path)
        stations, areas = stations.where(under), areas.where(under)
        in_scope = select(Station.id).join(Area, Station.area_id == Area.id).where(under)
        # A station's areas are this area's ancestors or lie beneath it; the network's channels reach every station.
        reaching = select(Area.id).where(or_(Area.id.in_(broadcast_service.ancestor_ids(area)), under))
        targets = [("station", in_scope), ("area", reaching), ("channel", network)]
    found = session.execute(stations).tuples().all()
    if not found:
        return []
    named = {a.id: a for a in session.scalars(areas)}
    counts = reach.scheduled_counts(session, start=start, end=end, targets=targets)
    aired = _aired(session, start=start, end=end, station_ids=in_scope)
    scheduled = {
        station_id: _scheduled(
            counts,
            [
                ("station", station_id),
                *(("area", a) for a in broadcast_service.ancestor_ids(named[station_area])),
                *(("channel", c) for c in network),
            ],
        )
        for station_id, _name, station_area in found
    }
    titles = _titles(session, {p for per in (*scheduled.values(), *aired.values()) for p in per})
    rows = []
    for station_id, station_name, station_area in found:
        planned, done = scheduled[station_id], aired.get(station_id, {})
        for production_id in sorted(set(planned) | set(done)):
            expected, count = planned.get(production_id, 0), done.get(production_id, 0)
            rows.append(
                CoverageRow(
                    area_id=station_area,
                    area=named[station_area].name,
                    station_id=station_id,
                    station=station_name,
                    production_id=production_id,
                    production=titles.get(production_id, ""),
                    scheduled=expected,
                    aired=count,
                    missing=max(expected - count, 0),
                )
            )
    return rows


def _scheduled(counts: dict[tuple[str, int], dict[int, int]], targets: Sequence[tuple[str, int]]) -> dict[int, int]:
    """Scheduled airings per production at one station: the sum over the targets that sound there."""
    out: dict[int, int] = defaultdict(int)
    for target in targets:
        for production_id, count in counts.get(target, {}).items():
            out[production_id] += count
    return out


def _aired(session: Session, *, start: datetime, end: datetime, station_ids: Select[int] | None) -> dict[int, dict[int, int]]:
    """Airings reported aired, by scheduled start in [start, end), per station and production (of every station or these)."""
    query = (
        select(PlayReport.station_id, PlayReport.production_id, func.count())
        .where(PlayReport.scheduled_start >= start, PlayReport.scheduled_start < end, PlayReport.outcome.in_(AIRED))
        .group_by(PlayReport.station_id, PlayReport.production_id)
    )
    if station_ids is not None:
        query = query.where(PlayReport.station_id.in_(station_ids))
    out: dict[int, dict[int, int]] = defaultdict(dict)
    for station_id, production_id, count in session.execute(query).tuples():
        out[station_id][production_id] = count
    return out


def _titles(session: Session, production_ids: set[int]) -> dict[int, str]:
    """The current titles of these productions."""
    titles: dict[int, str] = {}
    for chunk in bulk.chunks(sorted(production_ids), bulk.IN_CHUNK):
        titles.update(session.execute(select(Production.id, Production.title).where(Production.id.in_(chunk))).tuples().all())
    return titles


def totals(rows: Sequence[CoverageRow], by: Dimension) -> list[CoverageTotal]:
    """Coverage rows summed by area, station or production, in the order each first appears."""
    return totals_by(rows, _DIMENSIONS[by])


def totals_by(rows: Sequence[CoverageRow], key: Callable[[CoverageRow], tuple[int | str, str]]) -> list[CoverageTotal]:
    """Coverage rows summed by a key, named as its first row names it, in the order each key first appears."""
    names: dict[int | str, str] = {}
    sums: dict[int | str, list[int]] = {}
    for row in rows:
        value, name = key(row)
        entry = sums.get(value)
        if entry is None:
            names[value], entry = name, sums.setdefault(value, [0, 0, 0])
        entry[0] += row.scheduled
        entry[1] += row.aired
        entry[2] += row.missing
    return [CoverageTotal(value, names[value], scheduled, aired, missing) for value, (scheduled, aired, missing) in sums.items()]


def coverage_csv(rows: Sequence[CoverageRow]) -> str:
    """Coverage rows as CSV (UTF-8 with a header line)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COVERAGE_FIELDS)
    writer.writerows([getattr(row, field) for field in COVERAGE_FIELDS] for row in rows)
    return buffer.getvalue()


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
