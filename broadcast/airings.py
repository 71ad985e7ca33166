"""Airings: filling occurrences through the pure scheduler, emergencies, withdrawal, station schedules.

Functions flush but never commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session

from broadcast import scheduler
from broadcast import service as broadcast_service
from broadcast.models import Airing, AiringStatus, Area, Campaign, Channel, Occurrence, Priority, Slot, Station
from db import utcnow
from errors import Conflict, Invalid
from studio import service as studio_service
from studio.models import JobStatus, Output, Production, ProductionStatus, RenderJob

SCHEDULABLE = (ProductionStatus.approved.value, ProductionStatus.published.value)
LIVE = (AiringStatus.planned.value, AiringStatus.published.value)
ALL = tuple(status.value for status in AiringStatus)
PROFILE_FOR_CHANNEL = {"radio": "radio", "tv": "video_16x9", "loudspeaker": "loudspeaker", "podcast": "podcast", "web": "podcast"}


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _profile_for(session: Session, target_kind: str, target_id: int, channels: dict[int, Channel]) -> str:
    if target_kind == "channel":
        channel = channels.get(target_id) or session.get(Channel, target_id)
        return PROFILE_FOR_CHANNEL.get(channel.kind if channel else "loudspeaker", "loudspeaker")
    return "loudspeaker"


def _candidates(session: Session, profile: str) -> list[scheduler.Candidate]:
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
            )
        )
    return out


@dataclass
class FillSummary:
    """What a fill did."""

    created: int
    kept_pinned: int
    underfilled: list[scheduler.Underfill]


def fill(session: Session, *, start: datetime, end: datetime, freshness_days: int, now: datetime | None = None) -> FillSummary:
    """Fill every occurrence in [start, end) with approved content; pinned airings are kept."""
    if end <= start:
        raise Invalid("Thời điểm kết thúc phải sau thời điểm bắt đầu (end must be after start)")
    now = now or utcnow()
    channels = {c.id: c for c in session.scalars(select(Channel))}
    slot_rows = session.execute(
        select(Occurrence.id, Occurrence.slot_id, Occurrence.start, Occurrence.end, Slot.target_kind, Slot.target_id, Slot.overrun)
        .join(Slot, Occurrence.slot_id == Slot.id)
        .where(Occurrence.start >= start, Occurrence.start < end, Occurrence.cancelled.is_(False))
        .order_by(Occurrence.start)
    ).all()
    station_sets = _station_sets(session, {(r.target_kind, r.target_id) for r in slot_rows})
    occurrence_ids = {(r.slot_id, _aware(r.start)): r.id for r in slot_rows}
    by_profile: dict[str, list[scheduler.SlotOccurrence]] = defaultdict(list)
    for r in slot_rows:
        by_profile[_profile_for(session, r.target_kind, r.target_id, channels)].append(
            scheduler.SlotOccurrence(
                slot_id=r.slot_id, start=_aware(r.start), end=_aware(r.end), target_kind=r.target_kind,
                target_id=r.target_id, station_ids=station_sets.get((r.target_kind, r.target_id), ()), overrun=r.overrun,
            )
        )
    existing = _existing(session, start - timedelta(days=freshness_days), end, station_sets)
    pinned = sum(1 for e in existing if e.pinned)
    # Non-pinned future airings in the window are replaced by this fill.
    session.execute(
        delete(Airing).where(
            Airing.occurrence_id.in_(list(occurrence_ids.values()) or [-1]),
            Airing.pinned.is_(False),
            Airing.start >= now,
            Airing.status.in_(LIVE),
        )
    )
    existing = [e for e in existing if e.pinned or e.start < now or (e.slot_id, e.occurrence_start) not in occurrence_ids]
    campaigns = _campaigns(session, start, end)
    created = 0
    underfilled: list[scheduler.Underfill] = []
    for profile, occurrences in by_profile.items():
        result = scheduler.fill(
            occurrences, _candidates(session, profile), campaigns=campaigns, existing=existing,
            freshness_days=freshness_days, now=now,
        )
        targets = {(o.slot_id, o.start): (o.target_kind, o.target_id) for o in occurrences}
        rows = [
            {
                "occurrence_id": occurrence_ids.get((a.slot_id, a.occurrence_start)), "slot_id": a.slot_id,
                "target_kind": targets[(a.slot_id, a.occurrence_start)][0], "target_id": targets[(a.slot_id, a.occurrence_start)][1],
                "production_id": a.production_id, "output_id": a.output_id, "start": a.start, "end": a.end,
                "priority": a.priority, "status": AiringStatus.planned.value, "reason": a.reason, "pinned": False,
                "created_at": now, "updated_at": now,
            }
            for a in result.airings
        ]
        for chunk in range(0, len(rows), 5000):
            session.execute(insert(Airing), rows[chunk : chunk + 5000])
        created += len(rows)
        underfilled += result.underfilled
    session.flush()
    return FillSummary(created, pinned, underfilled)


def _station_sets(session: Session, targets: set[tuple[str, int]]) -> dict[tuple[str, int], tuple[int, ...]]:
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
            channel = session.get(Channel, target_id)
            out[(kind, target_id)] = everyone if channel and channel.kind == "loudspeaker" else ()
    return out


def _existing(session: Session, start: datetime, end: datetime, station_sets: dict[tuple[str, int], tuple[int, ...]]) -> list[scheduler.Existing]:
    rows = session.execute(
        select(Airing, Occurrence.start)
        .outerjoin(Occurrence, Airing.occurrence_id == Occurrence.id)
        .where(Airing.start >= start, Airing.start < end, Airing.status.in_((*LIVE, AiringStatus.aired.value)))
    ).all()
    return [
        scheduler.Existing(
            slot_id=a.slot_id or 0, occurrence_start=_aware(occ_start or a.start), production_id=a.production_id,
            output_id=a.output_id, start=_aware(a.start), end=_aware(a.end),
            station_ids=station_sets.get((a.target_kind, a.target_id), ()), pinned=a.pinned,
        )
        for a, occ_start in rows
    ]


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


def pin(session: Session, *, occurrence_id: int, production_id: int) -> Airing:
    """Place a production in an occurrence by hand; later fills keep it."""
    occurrence = session.get(Occurrence, occurrence_id)
    if occurrence is None:
        raise Invalid(f"Không có lượt phát {occurrence_id}")
    slot = session.get(Slot, occurrence.slot_id)
    assert slot is not None
    profile = _profile_for(session, slot.target_kind, slot.target_id, {})
    candidate = next((c for c in _candidates(session, profile) if c.production_id == production_id), None)
    if candidate is None:
        raise Conflict(f"Sản phẩm {production_id} chưa được duyệt phát hoặc chưa có bản dựng '{profile}'")
    used = session.scalars(select(Airing).where(Airing.occurrence_id == occurrence_id, Airing.pinned.is_(True))).all()
    begin = max([_aware(occurrence.start), *(_aware(a.end) for a in used)])
    finish = begin + timedelta(seconds=candidate.duration_s)
    if finish > _aware(occurrence.end):
        raise Conflict(f"Sản phẩm dài {candidate.duration_s:.0f} giây, không vừa thời gian còn lại của khung")
    airing = Airing(
        occurrence_id=occurrence_id, slot_id=slot.id, target_kind=slot.target_kind, target_id=slot.target_id,
        production_id=production_id, output_id=candidate.output_id, start=begin, end=finish,
        priority=Priority.normal.value, status=AiringStatus.planned.value, reason="Xếp thủ công (ghim) bởi người lập lịch", pinned=True,
    )
    session.add(airing)
    session.flush()
    return airing


def emergency(session: Session, *, production_id: int, area_id: int, now: datetime | None = None) -> Airing:
    """Air a production at once at the head of every station in an area (quiet hours do not apply)."""
    now = now or utcnow()
    area = broadcast_service.get_area(session, area_id)
    candidate = next((c for c in _candidates(session, "loudspeaker") if c.production_id == production_id), None)
    if candidate is None:
        raise Conflict(f"Sản phẩm {production_id} phải được duyệt phát và có bản dựng loa trước khi phát khẩn cấp")
    airing = Airing(
        occurrence_id=None, slot_id=None, target_kind="area", target_id=area.id, production_id=production_id,
        output_id=candidate.output_id, start=now, end=now + timedelta(seconds=candidate.duration_s),
        priority=Priority.emergency.value, status=AiringStatus.published.value,
        reason=f"Khẩn cấp (Thông tư 39/2020/TT-BTTTT): phát ngay tại mọi trạm thuộc {area.name}", pinned=True,
    )
    session.add(airing)
    session.flush()
    return airing


def withdraw_future(session: Session, production_ids: Sequence[int], *, now: datetime | None = None) -> int:
    """Withdraw every future airing of these productions; stations see it in their next poll."""
    if not production_ids:
        return 0
    result = session.execute(
        update(Airing)
        .where(Airing.production_id.in_(list(production_ids)), Airing.end > (now or utcnow()), Airing.status.in_(LIVE))
        .values(status=AiringStatus.withdrawn.value, updated_at=utcnow())
    )
    session.flush()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def airings_for_station(
    session: Session, station: Station, *, start: datetime, end: datetime, include_withdrawn: bool = False
) -> list[Airing]:
    """Airings that reach a station in a window (live ones unless asked): emergencies first, then by time."""
    area = broadcast_service.get_area(session, station.area_id)
    network = [c.id for c in session.scalars(select(Channel).where(Channel.kind == "loudspeaker"))]
    reach = or_(
        (Airing.target_kind == "station") & (Airing.target_id == station.id),
        (Airing.target_kind == "area") & Airing.target_id.in_(broadcast_service.ancestor_ids(area)),
        (Airing.target_kind == "channel") & Airing.target_id.in_(network or [-1]),
    )
    rows = session.scalars(
        select(Airing)
        .where(reach, Airing.end > start, Airing.start < end, Airing.status.in_(ALL if include_withdrawn else LIVE))
        .order_by(Airing.start, Airing.id)
    ).all()
    return sorted(rows, key=lambda a: (a.priority != Priority.emergency.value, a.start, a.id))


@studio_service.on_off_air
def _withdraw_on_off_air(session: Session, production_ids: Sequence[int]) -> None:
    withdraw_future(session, production_ids)
