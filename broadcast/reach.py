"""What reaches a station: airings through its occurrences' plans, and direct ones (emergencies) on its areas."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from broadcast import plans
from broadcast import service as broadcast_service
from broadcast.models import (
    Airing,
    AiringStatus,
    Channel,
    ChannelKind,
    Occurrence,
    OccurrencePlan,
    Priority,
    Slot,
    Station,
)
from studio.models import Output, Production
from timeutil import aware_utc

ALL = tuple(status.value for status in AiringStatus)
# No slot lasts longer, so an occurrence overlapping a window starts at most this long before it.
MAX_SLOT = timedelta(seconds=broadcast_service.MAX_SLOT_S)


@dataclass(frozen=True)
class Placed:
    """An airing as one target sees it: through which occurrence (none for direct airings), until when, and the overrun policy."""

    airing: Airing
    target_kind: str
    target_id: int
    occurrence_id: int | None
    slot_id: int | None
    slot_end: datetime
    overrun: str


def targets_of(session: Session, station: Station) -> list[tuple[str, Sequence[int] | Select[int]]]:
    """Every target whose slots sound at a station: itself, its areas up to the province, the loudspeaker network."""
    area = broadcast_service.get_area(session, station.area_id)
    # The network's channels as a subquery: one round trip fewer on every station poll.
    network = select(Channel.id).where(Channel.kind == ChannelKind.loudspeaker.value)
    return [("station", [station.id]), ("area", broadcast_service.ancestor_ids(area)), ("channel", network)]


def placed(
    session: Session,
    targets: Sequence[tuple[str, Sequence[int] | Select[int]]],
    *,
    start: datetime,
    end: datetime,
    include_withdrawn: bool = False,
) -> list[Placed]:
    """Airings overlapping [start, end) on these targets (ids or a subquery of ids): emergencies first, then by time."""
    statuses = ALL if include_withdrawn else plans.LIVE
    wanted = [(kind, ids if isinstance(ids, Select) else list(ids)) for kind, ids in targets if isinstance(ids, Select) or ids]
    if not wanted:
        return []
    on_occurrence = or_(*(and_(Occurrence.target_kind == kind, Occurrence.target_id.in_(ids)) for kind, ids in wanted))
    by_plan: dict[int, tuple[int, str, int, int, datetime, str]] = {}
    for occ_id, kind, target_id, slot_id, occ_end, overrun, plan_id in session.execute(
        select(
            Occurrence.id,
            Occurrence.target_kind,
            Occurrence.target_id,
            Occurrence.slot_id,
            Occurrence.end,
            Slot.overrun,
            OccurrencePlan.plan_id,
        )
        .join(Slot, Slot.id == Occurrence.slot_id)
        .join(OccurrencePlan, OccurrencePlan.occurrence_id == Occurrence.id)
        .where(on_occurrence, Occurrence.start > start - MAX_SLOT, Occurrence.start < end, Occurrence.end > start)
    ):
        by_plan.setdefault(plan_id, (occ_id, kind, target_id, slot_id, aware_utc(occ_end), overrun))
    direct = and_(
        Airing.plan_id.is_(None),
        Airing.start > start - MAX_SLOT,
        or_(*(and_(Airing.target_kind == kind, Airing.target_id.in_(ids)) for kind, ids in wanted)),
    )
    reach = or_(Airing.plan_id.in_(list(by_plan)), direct) if by_plan else direct
    out: list[Placed] = []
    for airing in session.scalars(
        select(Airing).where(reach, Airing.status.in_(statuses), Airing.end > start, Airing.start < end)
    ):
        if airing.plan_id is None:
            # Emergencies play to the end whatever the slots around them (Circular 39/2020).
            out.append(
                Placed(airing, airing.target_kind or "", airing.target_id or 0, None, None, aware_utc(airing.end), "finish")
            )
            continue
        occ_id, kind, target_id, slot_id, occ_end, overrun = by_plan[airing.plan_id]
        out.append(Placed(airing, kind, target_id, occ_id, slot_id, occ_end, overrun))
    out.sort(key=lambda p: (p.airing.priority != Priority.emergency.value, aware_utc(p.airing.start), p.airing.id))
    return out


def for_station(
    session: Session, station: Station, *, start: datetime, end: datetime, include_withdrawn: bool = False
) -> list[Placed]:
    """Airings that reach a station in a window (live ones unless asked)."""
    return placed(session, targets_of(session, station), start=start, end=end, include_withdrawn=include_withdrawn)


def scheduled_counts(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    targets: Sequence[tuple[str, Sequence[int] | Select[int]]] | None = None,
) -> dict[tuple[str, int], dict[int, int]]:
    """Live and aired airings starting in [start, end) per target and production: every target's, or these targets' only."""
    out: dict[tuple[str, int], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    wanted = [
        (kind, ids if isinstance(ids, Select) else list(ids)) for kind, ids in targets or () if isinstance(ids, Select) or ids
    ]
    if targets is not None and not wanted:
        return out
    linked = (
        select(Occurrence.target_kind, Occurrence.target_id, Airing.production_id, func.count())
        .join(OccurrencePlan, OccurrencePlan.occurrence_id == Occurrence.id)
        .join(Airing, Airing.plan_id == OccurrencePlan.plan_id)
        .where(
            Occurrence.start > start - MAX_SLOT,
            Occurrence.start < end,
            Airing.start >= start,
            Airing.start < end,
            Airing.status.in_((*plans.LIVE, AiringStatus.aired.value)),
        )
        .group_by(Occurrence.target_kind, Occurrence.target_id, Airing.production_id)
    )
    direct = (
        select(Airing.target_kind, Airing.target_id, Airing.production_id, func.count())
        .where(
            Airing.plan_id.is_(None),
            Airing.start >= start,
            Airing.start < end,
            Airing.status.in_((*plans.LIVE, AiringStatus.aired.value)),
        )
        .group_by(Airing.target_kind, Airing.target_id, Airing.production_id)
    )
    if targets is not None:
        linked = linked.where(or_(*(and_(Occurrence.target_kind == k, Occurrence.target_id.in_(ids)) for k, ids in wanted)))
        direct = direct.where(or_(*(and_(Airing.target_kind == k, Airing.target_id.in_(ids)) for k, ids in wanted)))
    for query in (linked, direct):
        for kind, target_id, production_id, count in session.execute(query):
            # Airings outside a plan always name their target; the check only narrows the nullable columns.
            if kind is not None and target_id is not None:
                out[(kind, target_id)][production_id] += count
    return out


class ScheduleRow(NamedTuple):
    """One item of a station's schedule with everything its answer shows (plain values, one query)."""

    airing_id: int
    start: datetime
    end: datetime
    priority: str
    reason: str
    production_id: int
    title: str
    media_key: str
    sha256: str
    bytes: int
    duration_s: float | None
    occurrence_id: int | None
    slot_end: datetime
    overrun: str


def _station_targets(kind_column: Any, id_column: Any) -> ColumnElement[bool]:
    network = select(Channel.id).where(Channel.kind == ChannelKind.loudspeaker.value).scalar_subquery()
    return or_(
        and_(kind_column == "station", id_column == bindparam("station_id")),
        and_(kind_column == "area", id_column.in_(bindparam("area_ids", expanding=True))),
        and_(kind_column == "channel", id_column.in_(network)),
    )


_MEDIA = (
    Airing.id,
    Airing.start,
    Airing.end,
    Airing.priority,
    Airing.reason,
    Airing.production_id,
    Production.title,
    Output.media_key,
    Output.sha256,
    Output.bytes,
    Output.duration_s,
)
# Built once with bound parameters: every poll reuses the compiled statement instead of building SQL again.
_SCHEDULE = union_all(
    select(*_MEDIA, Occurrence.id, Occurrence.end, Slot.overrun)
    .select_from(Occurrence)
    .join(Slot, Slot.id == Occurrence.slot_id)
    .join(OccurrencePlan, OccurrencePlan.occurrence_id == Occurrence.id)
    .join(Airing, Airing.plan_id == OccurrencePlan.plan_id)
    .join(Output, Output.id == Airing.output_id)
    .join(Production, Production.id == Output.production_id)
    .where(
        _station_targets(Occurrence.target_kind, Occurrence.target_id),
        Occurrence.start > bindparam("occurrences_after"),
        Occurrence.start < bindparam("end"),
        Occurrence.end > bindparam("start"),
        Airing.status.in_(plans.LIVE),
        Airing.end > bindparam("start"),
        Airing.start < bindparam("end"),
    ),
    # Direct airings (emergencies) play to their end whatever the slots around them (Circular 39/2020).
    select(*_MEDIA, null().label("occurrence_id"), Airing.end.label("slot_end"), literal("finish").label("overrun"))
    .select_from(Airing)
    .join(Output, Output.id == Airing.output_id)
    .join(Production, Production.id == Output.production_id)
    .where(
        Airing.plan_id.is_(None),
        _station_targets(Airing.target_kind, Airing.target_id),
        Airing.start > bindparam("occurrences_after"),
        Airing.status.in_(plans.LIVE),
        Airing.end > bindparam("start"),
        Airing.start < bindparam("end"),
    ),
)


def station_schedule(
    session: Session, *, station_id: int, area_ids: Sequence[int], start: datetime, end: datetime
) -> list[ScheduleRow]:
    """Live airings reaching a station in [start, end), as `for_station` finds them, with their media: one statement.

    `area_ids` are the station's area and its ancestors. Emergencies come first, then by time.
    """
    params = {
        "station_id": station_id,
        "area_ids": list(area_ids) or [-1],
        "start": start,
        "end": end,
        "occurrences_after": start - MAX_SLOT,
    }
    seen: dict[int, ScheduleRow] = {}
    for (
        airing_id,
        start_at,
        end_at,
        priority,
        reason,
        production_id,
        title,
        media_key,
        sha256,
        size,
        duration_s,
        occurrence_id,
        slot_end,
        overrun,
    ) in session.connection().execute(_SCHEDULE, params):
        row = ScheduleRow(
            airing_id,
            aware_utc(start_at),
            aware_utc(end_at),
            priority,
            reason,
            production_id,
            title,
            media_key,
            sha256,
            size,
            duration_s,
            occurrence_id,
            aware_utc(slot_end),
            overrun,
        )
        kept = seen.get(row.airing_id)
        # A plan linked to two occurrences of this station keeps one of them, the same one every time.
        if kept is None or (row.occurrence_id or 0) < (kept.occurrence_id or 0):
            seen[row.airing_id] = row
    return sorted(seen.values(), key=lambda r: (r.priority != Priority.emergency.value, r.start, r.airing_id))
