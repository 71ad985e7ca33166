"""Airings: filling occurrences through the pure scheduler (flushes, never commits).

A fill plans every occurrence in its window that has not begun (or has begun with nothing planned):
- pinned airings are kept and their time is used first; the other planned airings of those occurrences
  are replaced;
- occurrences that get identical plans share one Plan (see models.Plan); an occurrence whose new plan
  equals the one it has keeps it, so running a fill again changes nothing stations see (ids, ETags);
- a replaced plan that a station may already hold is kept as withdrawn (see plans.release).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from broadcast import bulk, plans, scheduler
from broadcast import service as broadcast_service
from broadcast.models import (
    Airing,
    AiringStatus,
    Area,
    Campaign,
    Channel,
    Occurrence,
    OccurrencePlan,
    Plan,
    Priority,
    Slot,
    Station,
)
from db import utcnow
from errors import Invalid
from studio.models import JobStatus, Output, Production, ProductionStatus, RenderJob

SCHEDULABLE = (ProductionStatus.approved.value, ProductionStatus.published.value)
LIVE = plans.LIVE
COUNTED = (*LIVE, AiringStatus.aired.value)
PROFILE_FOR_CHANNEL = {"radio": "radio", "tv": "video_16x9", "loudspeaker": "loudspeaker", "podcast": "podcast", "web": "podcast"}
AIRING_COLUMNS = (
    "plan_id", "target_kind", "target_id", "production_id", "output_id", "start", "end", "priority", "status",
    "reason", "pinned", "created_at", "updated_at",
)
MAX_SLOT = timedelta(seconds=broadcast_service.MAX_SLOT_S)

Key = tuple[int, datetime]
Signature = tuple[tuple[int, int, datetime, datetime], ...]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def profile_for(target_kind: str, target_id: int, channels: dict[int, Channel]) -> str:
    """The output profile a target airs (loudspeaker unless a channel says otherwise)."""
    if target_kind == "channel":
        channel = channels.get(target_id)
        return PROFILE_FOR_CHANNEL.get(channel.kind if channel else "loudspeaker", "loudspeaker")
    return "loudspeaker"


def candidates(session: Session, profile: str) -> list[scheduler.Candidate]:
    """Approved productions with a finished output of the profile (their newest render)."""
    rows = session.execute(
        select(Production, Output)
        .join(Output, Output.production_id == Production.id)
        .join(RenderJob, Output.job_id == RenderJob.id)
        .where(
            Production.status.in_(SCHEDULABLE),
            Production.source_repealed.is_(False),
            RenderJob.status == JobStatus.succeeded.value,
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
                production_id=production.id, output_id=output.id, title=production.title, duration_s=output.duration_s,
                priority=Priority.normal.value, approved_at=_aware(production.approved_at or production.created_at),
                series=production.series_id, part=production.part or 0,
            )
        )
    return out


@dataclass
class FillSummary:
    """What a fill did: airing rows written, placements (item x occurrence), shared plans, kept and under-filled."""

    created: int
    placed: int
    plans: int
    occurrences: int
    unchanged: int
    kept_pinned: int
    underfilled: list[Gap] = field(default_factory=list)

    @property
    def underfilled_total(self) -> int:
        """Occurrences left with unused time."""
        return sum(gap.occurrences for gap in self.underfilled)


@dataclass
class _Layers:
    """The plans linked to the occurrences being filled, and their airings."""

    fill: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    signature: dict[int, Signature] = field(default_factory=dict)
    target: dict[int, tuple[str | None, int | None]] = field(default_factory=dict)
    pinned: dict[int, list[tuple[int, int, datetime, datetime]]] = field(default_factory=lambda: defaultdict(list))
    every: dict[int, list[tuple[int, int, datetime, datetime]]] = field(default_factory=lambda: defaultdict(list))


def layers(session: Session, links: dict[int, list[int]]) -> _Layers:
    """The plans linked to these occurrences, split into fill plans (with signatures) and pinned airings."""
    out = _Layers()
    plan_ids = sorted({p for ids in links.values() for p in ids})
    by_plan: dict[int, list[tuple[int, int, datetime, datetime, bool, str | None, int | None]]] = defaultdict(list)
    for chunk in bulk.chunks(plan_ids, bulk.IN_CHUNK):
        for row in session.execute(
            select(Airing.plan_id, Airing.production_id, Airing.output_id, Airing.start, Airing.end, Airing.pinned,
                   Airing.target_kind, Airing.target_id)
            .where(Airing.plan_id.in_(chunk), Airing.status.in_(COUNTED))
            .order_by(Airing.start, Airing.id)
        ):
            by_plan[row[0]].append((row[1], row[2], _aware(row[3]), _aware(row[4]), row[5], row[6], row[7]))
    for plan_id, rows in by_plan.items():
        out.target[plan_id] = (rows[0][5], rows[0][6])
        if not any(r[4] for r in rows):
            out.signature[plan_id] = tuple((r[0], r[1], r[2], r[3]) for r in rows)
    for occurrence_id, ids in links.items():
        for plan_id in ids:
            rows = by_plan.get(plan_id, [])
            out.every[occurrence_id] += [(r[0], r[1], r[2], r[3]) for r in rows]
            if plan_id in out.signature:
                out.fill[occurrence_id].append(plan_id)
            else:
                out.pinned[occurrence_id] += [(r[0], r[1], r[2], r[3]) for r in rows if r[4]]
    return out


def _links(session: Session, start: datetime, end: datetime, occurrence_ids: Sequence[int] | None) -> dict[int, list[int]]:
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


@dataclass(frozen=True)
class Gap:
    """An under-filled occurrence and how many occurrences share its plan (and so its gap)."""

    underfill: scheduler.Underfill
    occurrences: int


def fill(
    session: Session, *, start: datetime, end: datetime, freshness_days: int, now: datetime | None = None,
    occurrence_ids: Sequence[int] | None = None,
) -> FillSummary:
    """Fill the occurrences starting in [start, end) (or only the given ones) with approved content; pins are kept."""
    if end <= start:
        raise Invalid("Thời điểm kết thúc phải sau thời điểm bắt đầu (end must be after start)")
    now = now or utcnow()
    fresh = timedelta(days=freshness_days)
    channels = {c.id: c for c in session.scalars(select(Channel))}
    query = (
        select(Occurrence.id, Occurrence.slot_id, bulk.raw_time(session, Occurrence.start), bulk.raw_time(session, Occurrence.end),
               Occurrence.target_kind, Occurrence.target_id)
        .where(Occurrence.start >= start, Occurrence.start < end, Occurrence.cancelled.is_(False), Occurrence.end > now)
    )
    if occurrence_ids is not None:
        rows = [r for chunk in bulk.chunks(occurrence_ids, bulk.IN_CHUNK) for r in session.execute(query.where(Occurrence.id.in_(chunk)))]
    else:
        rows = session.execute(query).all()
    overrun = dict(session.execute(select(Slot.id, Slot.overrun)).all())
    linked = layers(session, _links(session, start, end, occurrence_ids))
    history = _history(session, start, end, fresh, now, skip={r[0] for r in rows})
    station_sets = _station_sets(session, {(r[4], r[5]) for r in rows} | {(h[0], h[1]) for h in history if h[0]}, channels)
    existing = [
        scheduler.Existing(slot_id, occ_start, pid, oid, a_start, a_end, station_sets.get((kind, target), ()), False)
        for kind, target, slot_id, occ_start, pid, oid, a_start, a_end in history
    ]
    by_profile: dict[str, list[scheduler.SlotOccurrence]] = defaultdict(list)
    profiles = {key: profile_for(key[0], key[1], channels) for key in station_sets}
    to_time, make = bulk.to_time, scheduler.SlotOccurrence
    kept_pinned = 0
    for occ_id, slot_id, raw_start, raw_end, kind, target in rows:
        occ_start, occ_end = to_time(raw_start), to_time(raw_end)
        stations = station_sets[(kind, target)]
        if linked.every and occ_id in linked.every:
            if occ_start < now and linked.fill.get(occ_id):
                # Already on air with a plan: it stays as it is and counts as history.
                existing += [scheduler.Existing(slot_id, occ_start, p, o, s, e, stations, False) for p, o, s, e in linked.every[occ_id]]
                continue
            pinned = linked.pinned.get(occ_id, ())
            kept_pinned += len(pinned)
            existing += [scheduler.Existing(slot_id, occ_start, p, o, s, e, stations, True) for p, o, s, e in pinned]
        by_profile[profiles[(kind, target)]].append(make(slot_id, occ_start, occ_end, kind, target, stations, overrun[slot_id], occ_id))
    campaigns = _campaigns(session, start, end)
    writer = _PlanWriter(session, linked, now)
    gaps: list[Gap] = []
    for profile, occurrences in by_profile.items():
        result = scheduler.fill(
            occurrences, candidates(session, profile), campaigns=campaigns, existing=existing,
            freshness_days=freshness_days, now=now, share=True,
        )
        writer.add(occurrences, result)
        followers = Counter(result.same_as.values())
        gaps += [Gap(u, 1 + followers.get((u.slot_id, u.occurrence_start), 0)) for u in result.underfilled]
    writer.write()
    return FillSummary(
        created=writer.created, placed=writer.placed, plans=writer.plans,
        occurrences=sum(len(o) for o in by_profile.values()), unchanged=writer.unchanged, kept_pinned=kept_pinned,
        underfilled=gaps,
    )


@dataclass
class _NewPlan:
    airings: list[scheduler.PlannedAiring]
    start: datetime
    end: datetime
    kinds: set[str] = field(default_factory=set)
    targets: set[tuple[str, int]] = field(default_factory=set)
    occurrence_ids: list[int] = field(default_factory=list)


@dataclass
class _Choice:
    """What every occurrence following one leader gets."""

    airings: list[scheduler.PlannedAiring]
    signature: Signature
    reuse: int | None
    plan: _NewPlan | None = None


class _PlanWriter:
    """Turns scheduler results into plans, airings and links, reusing plans that already say the same."""

    def __init__(self, session: Session, linked: _Layers, now: datetime) -> None:
        self.session, self.layers, self.now = session, linked, now
        self.pool: dict[Signature, int] = {}
        for plan_id, signature in linked.signature.items():
            if linked.target[plan_id][0] != "channel":
                self.pool.setdefault(signature, plan_id)
        self.new: list[_NewPlan] = []
        self.links: list[tuple[int, int]] = []
        self.unlinked: list[tuple[int, int]] = []
        self.untarget: set[int] = set()
        self.created = self.placed = self.plans = self.unchanged = 0

    def add(self, occurrences: Sequence[scheduler.SlotOccurrence], result: scheduler.FillResult) -> None:
        """Decide each occurrence's plan from one scheduler run (occurrences carry their ids in `ref`)."""
        items: dict[Key, list[scheduler.PlannedAiring]] = defaultdict(list)
        for airing in result.airings:
            items[(airing.slot_id, airing.occurrence_start)].append(airing)
        choices: dict[Key, _Choice] = {}
        same_as, current_fill, signatures = result.same_as, self.layers.fill, self.layers.signature
        for occ in occurrences:
            key = (occ.slot_id, occ.start)
            leader = same_as.get(key, key)
            choice = choices.get(leader)
            if choice is None:
                planned = items.get(leader, [])
                wanted = tuple((a.production_id, a.output_id, a.start, a.end) for a in planned)
                choice = choices[leader] = _Choice(planned, wanted, self.pool.get(wanted) if wanted else None)
            self.placed += len(choice.airings)
            current = current_fill.get(occ.ref) if current_fill else None
            if current:
                if len(current) == 1 and signatures[current[0]] == choice.signature:
                    self.unchanged += 1
                    continue
                self.unlinked += [(occ.ref, plan_id) for plan_id in current]
            if not choice.airings:
                continue
            target = (occ.target_kind, occ.target_id)
            if occ.target_kind == "channel":
                # Channel schedules are read by target (feeds, calendars): never shared.
                plan = _NewPlan(choice.airings, occ.start, occ.end)
                self.new.append(plan)
            elif choice.reuse is not None:
                self.links.append((occ.ref, choice.reuse))
                if self.layers.target[choice.reuse] != target:
                    self.untarget.add(choice.reuse)
                continue
            else:
                plan = choice.plan
                if plan is None:
                    plan = choice.plan = _NewPlan(choice.airings, occ.start, occ.end)
                    self.new.append(plan)
            plan.kinds.add(occ.target_kind)
            plan.targets.add(target)
            plan.occurrence_ids.append(occ.ref)

    def write(self) -> None:
        """Write every decision: unlink replaced plans, create new ones, link, release orphans."""
        session = self.session
        plans.unlink(session, self.unlinked)
        plan_ids: list[int] = []
        for chunk in bulk.chunks(self.new, bulk.CHUNK):
            rows = [{"start": plan.start, "end": plan.end, "created_at": self.now} for plan in chunk]
            plan_ids += session.scalars(insert(Plan).returning(Plan.id, sort_by_parameter_order=True), rows).all()
        airing_rows = []
        for plan, plan_id in zip(self.new, plan_ids, strict=True):
            kind = next(iter(plan.kinds)) if len(plan.kinds) == 1 else None
            target_id = next(iter(plan.targets))[1] if len(plan.targets) == 1 else None
            airing_rows += [
                (plan_id, kind, target_id, a.production_id, a.output_id, a.start, a.end, a.priority,
                 AiringStatus.planned.value, a.reason, False, self.now, self.now)
                for a in plan.airings
            ]
            self.links += [(occ_id, plan_id) for occ_id in plan.occurrence_ids]
        self.created = bulk.insert_rows(session, Airing.__table__, AIRING_COLUMNS, airing_rows)  # type: ignore[arg-type]
        self.links.sort()  # primary-key order: the link index grows at its end
        bulk.insert_rows(session, OccurrencePlan.__table__, ("occurrence_id", "plan_id"), self.links)  # type: ignore[arg-type]
        self.plans = len(plan_ids)
        for chunk in bulk.chunks(sorted(self.untarget), bulk.IN_CHUNK):
            session.execute(update(Airing).where(Airing.plan_id.in_(chunk)).values(target_id=None))
        plans.release(session, [plan_id for _, plan_id in self.unlinked], now=self.now)
        session.flush()


def _history(
    session: Session, start: datetime, end: datetime, fresh: timedelta, now: datetime, *, skip: set[int]
) -> list[tuple[str | None, int | None, int, datetime, int, int, datetime, datetime]]:
    """Airings around the window that count for freshness and campaigns: (kind, target, slot, occurrence start, production, output, start, end)."""
    out: list[tuple[str | None, int | None, int, datetime, int, int, datetime, datetime]] = []
    # Occurrences before the window, those in it that already ended, and those after it (the ones being
    # filled are replaced, not history).
    lo, hi = start - fresh, end + fresh
    ranges = [(lo - MAX_SLOT, start), (start, min(now, end)), (end, hi)]
    for range_lo, range_hi in ranges:
        if range_hi <= range_lo:
            continue
        for row in session.execute(
            select(Occurrence.id, Occurrence.target_kind, Occurrence.target_id, Occurrence.slot_id, Occurrence.start,
                   Airing.production_id, Airing.output_id, Airing.start, Airing.end)
            .join(OccurrencePlan, OccurrencePlan.occurrence_id == Occurrence.id)
            .join(Airing, Airing.plan_id == OccurrencePlan.plan_id)
            .where(Occurrence.start >= range_lo, Occurrence.start < range_hi, Airing.status.in_(COUNTED),
                   Airing.start >= lo, Airing.start < hi)
        ):
            if row[0] not in skip:
                out.append((row[1], row[2], row[3], _aware(row[4]), row[5], row[6], _aware(row[7]), _aware(row[8])))
    for airing in session.scalars(
        select(Airing).where(Airing.plan_id.is_(None), Airing.start >= lo, Airing.start < hi, Airing.status.in_(COUNTED))
    ):
        out.append((airing.target_kind, airing.target_id, 0, _aware(airing.start), airing.production_id, airing.output_id,
                    _aware(airing.start), _aware(airing.end)))
    return out


def _station_sets(session: Session, targets: set[tuple[str, int]], channels: dict[int, Channel]) -> dict[tuple[str, int], tuple[int, ...]]:
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


def _campaigns(session: Session, start: datetime, end: datetime) -> list[scheduler.Campaign]:
    out = []
    for c in session.scalars(select(Campaign).where(Campaign.end > start, Campaign.start < end)):
        stations: set[int] = set()
        for area_id in c.area_ids:
            stations.update(broadcast_service.stations_under(session, broadcast_service.get_area(session, area_id)))
        out.append(
            scheduler.Campaign(
                id=c.id, name=c.name, topic=c.topic, production_ids=tuple(c.production_ids), start=_aware(c.start),
                end=_aware(c.end), station_ids=tuple(sorted(stations)), min_airings_per_station=c.min_airings_per_station,
            )
        )
    return out
