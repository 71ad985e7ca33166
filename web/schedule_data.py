"""What the schedule pages read: the area tree, a user's area scope, the week's airings and the lanes beneath.

An area's week grid shows what every station of the area airs (slots on the area, the areas above it and the
loudspeaker network); what sub-areas and stations air on their own is collapsed into lanes (one per commune, or
per station inside a commune), counted per day with one grouped statement, and opened one lane at a time.
A station's grid shows everything that reaches the station.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from auth import User
from broadcast import reach
from broadcast import scope as area_scope
from broadcast import service as broadcast_service
from broadcast.models import Airing, AiringStatus, Area, Channel, ChannelKind, Occurrence, OccurrencePlan, Station
from errors import Forbidden
from studio.models import Production
from timeutil import aware_utc
from web import week as wk

SHOWN = (AiringStatus.planned.value, AiringStatus.published.value, AiringStatus.aired.value, AiringStatus.missed.value)
LANE_KINDS = ("district", "commune")


# --- the area tree and a user's scope --------------------------------------------------------------


@dataclass(frozen=True)
class AreaChoice:
    """An area as a choice in a form: its depth in the tree gives the indentation."""

    id: int
    name: str
    kind: str
    depth: int
    path: str


def scope_of(session: Session, user: User) -> Area | None:
    """The area a user is scoped to (they see only it and what lies beneath), or None for the whole tree."""
    scope = area_scope.of(session, user)
    return None if scope.everywhere or scope.area_id is None else session.get(Area, scope.area_id)


def within(area: Area, root: Area | None) -> bool:
    """Whether `area` is `root` or lies beneath it (always, without a root)."""
    return root is None or area.path.startswith(root.path)


def checked_area(session: Session, user: User, area_id: int) -> Area:
    """An area the user may see, or 404 as if it did not exist (broadcast.scope)."""
    return area_scope.area(session, area_scope.of(session, user), area_id)


def checked_station(session: Session, user: User, station_id: int) -> tuple[Station, Area]:
    """A station the user may see, with its area, or 404 (broadcast.scope)."""
    station = area_scope.station(session, area_scope.of(session, user), station_id)
    return station, broadcast_service.get_area(session, station.area_id)


def area_choices(session: Session, root: Area | None) -> list[AreaChoice]:
    """Every area under `root` (or all) in tree order, siblings by name."""
    query = select(Area.id, Area.parent_id, Area.name, Area.kind, Area.path)
    if root is not None:
        query = query.where(Area.path.startswith(root.path, autoescape=True))
    rows = session.execute(query).all()
    known = {row.id for row in rows}
    children: dict[int | None, list[Any]] = defaultdict(list)
    for row in rows:
        children[row.parent_id if row.parent_id in known else None].append(row)
    out: list[AreaChoice] = []

    def walk(parent: int | None, depth: int) -> None:
        for row in sorted(children.get(parent, []), key=lambda r: (r.name, r.id)):
            out.append(AreaChoice(row.id, row.name, row.kind, depth, row.path))
            walk(row.id, depth + 1)

    walk(None, 0)
    return out


def network_ids(session: Session) -> list[int]:
    """The loudspeaker network's channels (a slot on one reaches every station)."""
    return list(session.scalars(select(Channel.id).where(Channel.kind == ChannelKind.loudspeaker.value)))


# --- the week's airings as grid items ----------------------------------------------------------------


def _labels(session: Session, placed: Sequence[reach.Placed]) -> dict[tuple[str, int], str]:
    wanted: dict[str, set[int]] = defaultdict(set)
    for p in placed:
        wanted[p.target_kind].add(p.target_id)
    models: dict[str, type[Area] | type[Station] | type[Channel]] = {"area": Area, "station": Station, "channel": Channel}
    out: dict[tuple[str, int], str] = {}
    for kind, ids in wanted.items():
        model = models.get(kind)
        if model is not None and ids:
            out.update(((kind, i), name) for i, name in session.execute(select(model.id, model.name).where(model.id.in_(ids))))
    return out


def items_of(session: Session, placed: Sequence[reach.Placed]) -> list[wk.Item]:
    """Grid items of placed airings (withdrawn ones left out), titled, each naming the target it airs on."""
    shown = [p for p in placed if p.airing.status in SHOWN]
    titles = dict(
        session.execute(
            select(Production.id, Production.title).where(Production.id.in_({p.airing.production_id for p in shown} or {-1}))
        ).all()
    )
    labels = _labels(session, shown)
    return [
        wk.Item(
            aware_utc(p.airing.start),
            aware_utc(p.airing.end),
            titles.get(p.airing.production_id, ""),
            p.airing.priority,
            p.airing.reason,
            p.airing.status,
            (labels.get((p.target_kind, p.target_id), ""),),
            1,
            p.airing.production_id,
        )
        for p in shown
    ]


def common_items(session: Session, area: Area, week: wk.Week) -> list[wk.Item]:
    """What every station of an area airs in the week: slots on it, on the areas above it, on the network."""
    targets = [("area", broadcast_service.ancestor_ids(area)), ("channel", network_ids(session))]
    return items_of(session, reach.placed(session, targets, start=week.start, end=week.end, include_withdrawn=True))


def station_items(session: Session, station: Station, week: wk.Week) -> list[wk.Item]:
    """Everything that reaches a station in the week."""
    return items_of(session, reach.for_station(session, station, start=week.start, end=week.end, include_withdrawn=True))


# --- lanes: what sub-areas and stations air on their own, collapsed ----------------------------------


@dataclass
class Window:
    """One slot window of a lane's day: how many occurrences share it (one per station or area) and how many are filled."""

    occurrences: int = 0
    filled: int = 0


@dataclass
class LaneDay:
    """One day of a lane: its slot windows (local start and end) with their occurrences; `finish()` sums them once."""

    windows: dict[tuple[datetime, datetime], Window] = field(default_factory=dict)
    count: int = 0
    unfilled: int = 0
    bars: list[tuple[float, float, str, Window]] = field(default_factory=list)
    tip: str = ""

    def finish(self) -> None:
        """Totals, and (left %, width %, "06:00–06:15", window) of each window on the 05:00–22:00 strip."""
        self.count = sum(w.occurrences for w in self.windows.values())
        self.unfilled = sum(w.occurrences - w.filled for w in self.windows.values())
        self.bars = []
        for (begin, finish), window in sorted(self.windows.items()) if len(self.windows) > 1 else self.windows.items():
            left, width = wk.strip_position(begin, finish)
            label = f"{begin.hour:02d}:{begin.minute:02d}–{finish.hour:02d}:{finish.minute:02d}"  # strftime is slow
            self.bars.append((left, width, label, window))
        self.tip = " · ".join(f"{label} ({window.filled}/{window.occurrences})" for _l, _w, label, window in self.bars)


@dataclass
class Lane:
    """A commune (or district, or a station inside a commune) and its own slot windows in the week, per day."""

    key: str
    name: str
    kind: str
    group: str
    stations: int
    days: list[LaneDay]

    @property
    def total(self) -> int:
        """Slot occurrences in the week."""
        return sum(d.count for d in self.days)

    @property
    def unfilled(self) -> int:
        """Occurrences in the week with nothing placed in them."""
        return sum(d.unfilled for d in self.days)


def _lane_keys(area: Area, areas: Sequence[Any], stations: Sequence[Any]) -> tuple[dict[tuple[str, int], str], dict[str, Lane]]:
    """Which lane each target belongs to, and the (empty) lanes in display order."""
    by_id = {a.id: a for a in areas}
    inside_commune = area.kind in ("commune", "cluster")
    lanes: dict[str, Lane] = {}
    target_lane: dict[tuple[str, int], str] = {}

    def lane_area(a: Any) -> Any | None:
        """The nearest district or commune at or above `a`, below the viewed area."""
        for part in reversed([int(p) for p in a.path.strip("/").split("/") if p]):
            node = by_id.get(part)
            if node is not None and node.kind in LANE_KINDS:
                return node
        return None

    for a in areas:
        if inside_commune:
            target_lane[("area", a.id)] = f"area:{a.id}"
            lanes[f"area:{a.id}"] = Lane(f"area:{a.id}", a.name, a.kind, "", 0, [])
            continue
        owner = lane_area(a)
        if owner is not None:
            target_lane[("area", a.id)] = f"area:{owner.id}"
            parent = by_id.get(owner.parent_id)
            group = parent.name if parent is not None and owner.kind == "commune" else owner.name
            lanes.setdefault(f"area:{owner.id}", Lane(f"area:{owner.id}", owner.name, owner.kind, group, 0, []))
    for station_id, area_id, name, count in stations:  # one row per station, or per area with its station count
        owner = None if inside_commune or area_id not in by_id else lane_area(by_id[area_id])
        key = f"area:{owner.id}" if owner is not None else f"station:{station_id}"
        if key not in lanes:
            lanes[key] = Lane(key, name, "station", "", 0, [])
        lanes[key].stations += count
        target_lane[("station", station_id)] = key
    ordered = sorted(lanes.values(), key=lambda lane: (lane.group, lane.kind != "district", lane.name, lane.key))
    return target_lane, {lane.key: lane for lane in ordered}


def lanes(session: Session, area: Area, week: wk.Week) -> list[Lane]:
    """The lanes beneath an area with their slot windows per day: grouped in SQL by place and window, so a province
    of 1,000 stations reads one row per commune and window, not one per station."""
    areas = session.execute(
        select(Area.id, Area.parent_id, Area.kind, Area.name, Area.path).where(
            Area.path.startswith(area.path, autoescape=True), Area.id != area.id
        )
    ).all()
    per_station = area.kind in ("commune", "cluster")
    if per_station:
        stations = list(
            session.execute(
                select(Station.id, Station.area_id, Station.name, literal(1))
                .join(Area, Area.id == Station.area_id)
                .where(Area.path.startswith(area.path, autoescape=True))
            )
        )
    else:  # a province's 1,000 stations are counted per area, not read one by one
        stations = list(
            session.execute(
                select(func.min(Station.id), Station.area_id, func.min(Station.name), func.count())
                .join(Area, Area.id == Station.area_id)
                .where(Area.path.startswith(area.path, autoescape=True), Area.id != area.id)
                .group_by(Station.area_id)
            )
        )
        stations += session.execute(
            select(Station.id, Station.area_id, Station.name, literal(1)).where(Station.area_id == area.id)
        ).all()
    target_lane, by_key = _lane_keys(area, areas, stations)
    for lane in by_key.values():
        lane.days = [LaneDay() for _ in range(7)]
    if not target_lane:
        return []
    zone, first_day = ZoneInfo(week.tz), week.days[0]
    for kind, target_id, begin, finish, count, filled in _windows(session, area, week, per_station=per_station):
        key = target_lane.get((kind, target_id))
        local_start = aware_utc(begin).astimezone(zone)
        index = (local_start.date() - first_day).days
        if key is None or not 0 <= index < 7:
            continue
        window = by_key[key].days[index].windows.setdefault((local_start, aware_utc(finish).astimezone(zone)), Window())
        window.occurrences += count
        window.filled += int(filled or 0)
    for lane in by_key.values():
        for day in lane.days:
            day.finish()
    # A district without stations or slots of its own is only a heading over its communes.
    return [lane for lane in by_key.values() if lane.kind != "district" or lane.stations or lane.total]


def _windows(session: Session, area: Area, week: wk.Week, *, per_station: bool) -> list[tuple[Any, ...]]:
    """(kind, id, start, end, occurrences, filled) beneath the area: per target inside a commune, else per area (a
    station counts for its area), and direct airings (emergencies) as windows of their own."""
    inside = Area.path.startswith(area.path, autoescape=True)
    filled = func.sum(case((exists().where(OccurrencePlan.occurrence_id == Occurrence.id), 1), else_=0))
    in_week = and_(Occurrence.start >= week.start, Occurrence.start < week.end, Occurrence.cancelled.is_(False))
    # Stations first (joined, so SQLite walks each station's index range), then sub-areas: two small plans, not one OR.
    place = Station.id if per_station else Station.area_id
    on_stations = (
        select(literal("station" if per_station else "area"), place, Occurrence.start, Occurrence.end, func.count(), filled)
        .select_from(Station)
        .join(Area, Area.id == Station.area_id)
        .join(Occurrence, and_(Occurrence.target_kind == "station", Occurrence.target_id == Station.id, in_week))
        .where(inside)
        .group_by(place, Occurrence.start, Occurrence.end)
    )
    on_areas = (
        select(literal("area"), Area.id, Occurrence.start, Occurrence.end, func.count(), filled)
        .select_from(Area)
        .join(Occurrence, and_(Occurrence.target_kind == "area", Occurrence.target_id == Area.id, in_week))
        .where(inside, Area.id != area.id)
        .group_by(Area.id, Occurrence.start, Occurrence.end)
    )
    stations = select(Station.id).join(Area, Area.id == Station.area_id).where(inside)
    below = select(Area.id).where(inside, Area.id != area.id)
    direct = (
        select(Airing.target_kind, Airing.target_id, Airing.start, Airing.end, func.count(), func.count())
        .where(
            Airing.plan_id.is_(None),
            Airing.status.in_(SHOWN),
            Airing.start >= week.start,
            Airing.start < week.end,
            or_(
                and_(Airing.target_kind == "station", Airing.target_id.in_(stations)),
                and_(Airing.target_kind == "area", Airing.target_id.in_(below)),
            ),
        )
        .group_by(Airing.target_kind, Airing.target_id, Airing.start, Airing.end)
    )
    rows: list[tuple[Any, ...]] = [tuple(row) for query in (on_stations, on_areas) for row in session.execute(query)]
    for kind, target, begin, finish, count, done in session.execute(direct):
        if kind == "station" and not per_station:
            kind, target = "area", session.scalar(select(Station.area_id).where(Station.id == target))
        rows.append((kind, target, begin, finish, count, done))
    return rows


def lane_items(session: Session, area: Area, key: str, week: wk.Week) -> tuple[str, list[wk.Item]]:
    """The name of a lane beneath `area` and its own airings in the week (alike ones merged)."""
    kind, _sep, raw = key.partition(":")
    if kind == "station":
        station = session.get(Station, int(raw))
        if station is None or not within(broadcast_service.get_area(session, station.area_id), area):
            raise Forbidden("Trạm này không thuộc địa bàn đang xem (station outside the area)")
        targets: list[tuple[str, Sequence[int]]] = [("station", [station.id])]
        name = station.name
    else:
        lane = broadcast_service.get_area(session, int(raw))
        if not within(lane, area) or lane.id == area.id:
            raise Forbidden("Địa bàn này không thuộc địa bàn đang xem (area outside the area)")
        if lane.kind == "district":
            targets = [("area", [lane.id])]
        else:
            targets = [
                ("area", list(session.scalars(select(Area.id).where(Area.path.startswith(lane.path, autoescape=True))))),
                ("station", broadcast_service.stations_under(session, lane)),
            ]
        name = lane.name
    return name, wk.merge(items_of(session, every_placement(session, targets, week)))


def every_placement(session: Session, targets: Sequence[tuple[str, Sequence[int]]], week: wk.Week) -> list[reach.Placed]:
    """Airings on these targets in the week, once per target they air on (reach.placed lists a shared plan once)."""
    wanted = [(kind, list(ids)) for kind, ids in targets if ids]
    if not wanted:
        return []
    linked = session.execute(
        select(Airing, Occurrence.target_kind, Occurrence.target_id, Occurrence.id, Occurrence.slot_id, Occurrence.end)
        .join(OccurrencePlan, OccurrencePlan.plan_id == Airing.plan_id)
        .join(Occurrence, Occurrence.id == OccurrencePlan.occurrence_id)
        .where(
            or_(*(and_(Occurrence.target_kind == kind, Occurrence.target_id.in_(ids)) for kind, ids in wanted)),
            Occurrence.start > week.start - reach.MAX_SLOT,
            Occurrence.start < week.end,
            Airing.status.in_(SHOWN),
            Airing.start < week.end,
            Airing.end > week.start,
        )
    ).all()
    out = [reach.Placed(a, kind, target, occ, slot, aware_utc(end), "") for a, kind, target, occ, slot, end in linked]
    direct = session.scalars(
        select(Airing).where(
            Airing.plan_id.is_(None),
            or_(*(and_(Airing.target_kind == kind, Airing.target_id.in_(ids)) for kind, ids in wanted)),
            Airing.status.in_(SHOWN),
            Airing.start < week.end,
            Airing.end > week.start,
        )
    )
    out += [reach.Placed(a, a.target_kind or "", a.target_id or 0, None, None, aware_utc(a.end), "") for a in direct]
    return out
