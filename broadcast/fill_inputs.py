"""What a fill reads: schedulable candidates, the plans already linked to occurrences, the airings that count
as history, the stations each target reaches, and running campaigns (reads only)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from broadcast import bulk, plans, scheduler
from broadcast import service as broadcast_service
from broadcast.models import Airing, AiringStatus, Area, Campaign, Channel, Occurrence, OccurrencePlan, Priority, Station
from studio.models import JobStatus, Output, Production, ProductionStatus, RenderJob
from timeutil import aware_utc

SCHEDULABLE = (ProductionStatus.approved.value, ProductionStatus.published.value)
COUNTED = (*plans.LIVE, AiringStatus.aired.value)
PROFILE_FOR_CHANNEL = {"radio": "radio", "tv": "video_16x9", "loudspeaker": "loudspeaker", "podcast": "podcast", "web": "podcast"}
MAX_SLOT = timedelta(seconds=broadcast_service.MAX_SLOT_S)
Timing = tuple[int, int, datetime, datetime]  # (production, output, start, end) of one airing
Signature = tuple[Timing, ...]


class PlanAiring(NamedTuple):
    """A live airing of a plan linked to an occurrence being filled."""

    production_id: int
    output_id: int
    start: datetime
    end: datetime
    pinned: bool
    target_kind: str | None
    target_id: int | None

    @property
    def timing(self) -> Timing:
        """What the airing plays and when, as plan signatures compare it."""
        return (self.production_id, self.output_id, self.start, self.end)


class Aired(NamedTuple):
    """An airing that counts for freshness and campaigns; slot_id is 0 for direct airings (emergencies)."""

    target_kind: str | None
    target_id: int | None
    slot_id: int
    occurrence_start: datetime
    production_id: int
    output_id: int
    start: datetime
    end: datetime


def profile_for(target_kind: str, target_id: int, channels: dict[int, Channel]) -> str:
    """The output profile a target airs (loudspeaker unless a channel says otherwise)."""
    if target_kind == "channel":
        channel = channels.get(target_id)
        return PROFILE_FOR_CHANNEL.get(channel.kind if channel else "loudspeaker", "loudspeaker")
    return "loudspeaker"


def candidates(session: Session, profile: str) -> list[scheduler.Candidate]:
    """Approved productions with a finished output of the profile, rendered from exactly the approved version."""
    rows = session.execute(
        select(Production, Output)
        .join(Output, Output.production_id == Production.id)
        .join(RenderJob, Output.job_id == RenderJob.id)
        .where(
            Production.status.in_(SCHEDULABLE),
            Production.source_repealed.is_(False),
            RenderJob.status == JobStatus.succeeded.value,
            Output.script_version == Production.approved_version,
            Output.profile == profile,
            Output.kind.in_(("audio", "video")),
        )
        .order_by(Output.id.desc())
    ).all()
    seen: set[int] = set()
    out = []
    for production, output in rows:
        if production.id in seen or not output.duration_s:
            continue
        seen.add(production.id)
        out.append(
            scheduler.Candidate(
                production_id=production.id,
                output_id=output.id,
                title=production.title,
                duration_s=output.duration_s,
                priority=Priority.normal.value,
                approved_at=aware_utc(production.approved_at or production.created_at),
                series=production.series_id,
                part=production.part or 0,
            )
        )
    return out


@dataclass
class Layers:
    """The plans linked to the occurrences being filled, and their airings."""

    fill: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    signature: dict[int, Signature] = field(default_factory=dict)
    target: dict[int, tuple[str | None, int | None]] = field(default_factory=dict)
    pinned: dict[int, list[Timing]] = field(default_factory=lambda: defaultdict(list))
    every: dict[int, list[Timing]] = field(default_factory=lambda: defaultdict(list))


def layers(session: Session, links: dict[int, list[int]]) -> Layers:
    """The plans linked to these occurrences, split into fill plans (with signatures) and pinned airings."""
    out = Layers()
    plan_ids = sorted({p for ids in links.values() for p in ids})
    by_plan: dict[int, list[PlanAiring]] = defaultdict(list)
    for chunk in bulk.chunks(plan_ids, bulk.IN_CHUNK):
        for plan_id, production_id, output_id, start, end, pinned, target_kind, target_id in session.execute(
            select(
                Airing.plan_id,
                Airing.production_id,
                Airing.output_id,
                Airing.start,
                Airing.end,
                Airing.pinned,
                Airing.target_kind,
                Airing.target_id,
            )
            .where(Airing.plan_id.in_(chunk), Airing.status.in_(COUNTED))
            .order_by(Airing.start, Airing.id)
        ):
            by_plan[cast(int, plan_id)].append(  # selected by plan id: never None here
                PlanAiring(production_id, output_id, aware_utc(start), aware_utc(end), pinned, target_kind, target_id)
            )
    for plan_id, rows in by_plan.items():
        out.target[plan_id] = (rows[0].target_kind, rows[0].target_id)
        if not any(r.pinned for r in rows):
            out.signature[plan_id] = tuple(r.timing for r in rows)
    for occurrence_id, ids in links.items():
        for plan_id in ids:
            rows = by_plan.get(plan_id, [])
            out.every[occurrence_id] += [r.timing for r in rows]
            if plan_id in out.signature:
                out.fill[occurrence_id].append(plan_id)
            else:
                out.pinned[occurrence_id] += [r.timing for r in rows if r.pinned]
    return out


def linked_plans(session: Session, start: datetime, end: datetime, occurrence_ids: Sequence[int] | None) -> dict[int, list[int]]:
    if occurrence_ids is not None:
        return plans.plans_of(session, occurrence_ids)
    out: dict[int, list[int]] = defaultdict(list)
    for occurrence_id, plan_id in session.execute(
        select(OccurrencePlan.occurrence_id, OccurrencePlan.plan_id)
        .join(Occurrence, Occurrence.id == OccurrencePlan.occurrence_id)
        .where(Occurrence.start >= start, Occurrence.start < end)
    ):
        out[occurrence_id].append(plan_id)
    return out


def history(session: Session, start: datetime, end: datetime, fresh: timedelta, now: datetime, *, skip: set[int]) -> list[Aired]:
    """Airings around the window that count for freshness and campaigns."""
    out: list[Aired] = []
    # Occurrences before the window, those in it that already ended, and those after it (the ones being
    # filled are replaced, not history).
    lo, hi = start - fresh, end + fresh
    ranges = [(lo - MAX_SLOT, start), (start, min(now, end)), (end, hi)]
    for range_lo, range_hi in ranges:
        if range_hi <= range_lo:
            continue
        out += _planned_history(session, range_lo, range_hi, lo, hi, skip)
    return out + _direct_history(session, lo, hi)


def _planned_history(
    session: Session, range_lo: datetime, range_hi: datetime, lo: datetime, hi: datetime, skip: set[int]
) -> list[Aired]:
    """Counted airings in [lo, hi) of the plans of occurrences starting in [range_lo, range_hi), but those in `skip`."""
    out: list[Aired] = []
    for occ_id, kind, target_id, slot_id, occ_start, production_id, output_id, a_start, a_end in session.execute(
        select(
            Occurrence.id,
            Occurrence.target_kind,
            Occurrence.target_id,
            Occurrence.slot_id,
            Occurrence.start,
            Airing.production_id,
            Airing.output_id,
            Airing.start,
            Airing.end,
        )
        .join(OccurrencePlan, OccurrencePlan.occurrence_id == Occurrence.id)
        .join(Airing, Airing.plan_id == OccurrencePlan.plan_id)
        .where(
            Occurrence.start >= range_lo,
            Occurrence.start < range_hi,
            Airing.status.in_(COUNTED),
            Airing.start >= lo,
            Airing.start < hi,
        )
    ):
        if occ_id not in skip:
            out.append(
                Aired(
                    kind,
                    target_id,
                    slot_id,
                    aware_utc(occ_start),
                    production_id,
                    output_id,
                    aware_utc(a_start),
                    aware_utc(a_end),
                )
            )
    return out


def _direct_history(session: Session, lo: datetime, hi: datetime) -> list[Aired]:
    """Counted airings in [lo, hi) outside any plan (emergencies), with slot 0."""
    return [
        Aired(
            airing.target_kind,
            airing.target_id,
            0,
            aware_utc(airing.start),
            airing.production_id,
            airing.output_id,
            aware_utc(airing.start),
            aware_utc(airing.end),
        )
        for airing in session.scalars(
            select(Airing).where(Airing.plan_id.is_(None), Airing.start >= lo, Airing.start < hi, Airing.status.in_(COUNTED))
        )
    ]


def station_sets(
    session: Session, targets: set[tuple[str, int]], channels: dict[int, Channel]
) -> dict[tuple[str, int], tuple[int, ...]]:
    """Stations each target reaches (a station, every station under an area, or the whole network)."""
    areas = {a.id: a for a in session.scalars(select(Area))}
    stations = session.execute(select(Station.id, Station.area_id)).all()
    under: dict[int, list[int]] = defaultdict(list)
    for station_id, area_id in stations:
        area = areas.get(area_id)
        for ancestor in broadcast_service.ancestor_ids(area) if area else ():
            under[ancestor].append(station_id)
    everyone = tuple(sid for sid, _ in stations)
    out: dict[tuple[str, int], tuple[int, ...]] = {}
    for kind, target_id in targets:
        if kind == "station":
            out[(kind, target_id)] = (target_id,)
        elif kind == "area":
            out[(kind, target_id)] = tuple(under.get(target_id, ()))
        else:
            channel = channels.get(target_id)
            out[(kind, target_id)] = everyone if channel and channel.kind == "loudspeaker" else ()
    return out


def campaigns(session: Session, start: datetime, end: datetime) -> list[scheduler.Campaign]:
    out = []
    for c in session.scalars(select(Campaign).where(Campaign.end > start, Campaign.start < end)):
        stations: set[int] = set()
        for area_id in c.area_ids:
            stations.update(broadcast_service.stations_under(session, broadcast_service.get_area(session, area_id)))
        out.append(
            scheduler.Campaign(
                id=c.id,
                name=c.name,
                topic=c.topic,
                production_ids=tuple(c.production_ids),
                start=aware_utc(c.start),
                end=aware_utc(c.end),
                station_ids=tuple(sorted(stations)),
                min_airings_per_station=c.min_airings_per_station,
            )
        )
    return out
