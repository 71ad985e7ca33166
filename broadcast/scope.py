"""Area scope of a user: a commune officer (or a district's culture office) sees only their area and what lies
beneath it — its sub-areas, stations, slots, airings and reports — in the pages and in the API alike.

A user without an area (`users.area_id` NULL) sees everything. Anything outside a scope answers 404, as if it
did not exist, so a scoped user cannot probe other areas' ids. Areas carry their materialised path ("/1/7/"),
so "beneath" is one prefix match.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from auth import User
from broadcast.models import Area, Channel, ChannelKind, Occurrence, Slot, Station
from errors import NotFound


@dataclass(frozen=True)
class Scope:
    """Where a user may look: an area's id, name and path, or everywhere (all fields None)."""

    area_id: int | None = None
    path: str | None = None
    name: str | None = None

    @property
    def everywhere(self) -> bool:
        """Whether the user sees every area."""
        return self.path is None

    @property
    def ancestors(self) -> list[int]:
        """Ids from the root down to the scope's area (none when everywhere)."""
        return [int(part) for part in (self.path or "").strip("/").split("/") if part.isdigit()]

    def covers(self, path: str) -> bool:
        """Whether the area with this materialised path lies in the scope."""
        return self.path is None or path.startswith(self.path)


EVERYWHERE = Scope()


def of(session: Session, user: User) -> Scope:
    """The scope of a user: everywhere when no area is set; nothing at all if the area is gone (it fails closed)."""
    if user.area_id is None:
        return EVERYWHERE
    area = session.get(Area, user.area_id)
    return Scope(user.area_id, "/-/", None) if area is None else Scope(area.id, area.path, area.name)


def area_ids(scope: Scope) -> Select[int]:
    """A subquery of the ids of every area in the scope."""
    query = select(Area.id)
    return query if scope.path is None else query.where(Area.path.startswith(scope.path, autoescape=True))


def station_ids(scope: Scope) -> Select[int]:
    """A subquery of the ids of every station in the scope."""
    query = select(Station.id)
    return query if scope.path is None else query.where(Station.area_id.in_(area_ids(scope)))


def slot_filter(scope: Scope) -> ColumnElement[bool] | None:
    """Slots on an area or a station in the scope (None: no filter); network-wide channel slots are outside any area."""
    if scope.path is None:
        return None
    return or_(
        and_(Slot.target_kind == "area", Slot.target_id.in_(area_ids(scope))),
        and_(Slot.target_kind == "station", Slot.target_id.in_(station_ids(scope))),
    )


def occurrence_ids(session: Session, scope: Scope, start: datetime, end: datetime) -> list[int] | None:
    """Occurrences in [start, end) on the scope's areas and stations: what a scoped scheduler may fill (None: all)."""
    if scope.path is None:
        return None
    query = select(Occurrence.id).where(
        Occurrence.start >= start,
        Occurrence.start < end,
        or_(
            and_(Occurrence.target_kind == "area", Occurrence.target_id.in_(area_ids(scope))),
            and_(Occurrence.target_kind == "station", Occurrence.target_id.in_(station_ids(scope))),
        ),
    )
    return list(session.scalars(query))


def _outside(what: str, ident: int) -> NotFound:
    names = {"area": ("địa bàn", "area"), "station": ("trạm", "station"), "slot": ("khung giờ", "slot")}
    vi, en = names[what]
    return NotFound(f"Không có {vi} {ident} ({en} not found)")


def area(session: Session, scope: Scope, area_id: int) -> Area:
    """An area the scope covers, or 404 (also when it exists elsewhere)."""
    found = session.get(Area, area_id)
    if found is None or not scope.covers(found.path):
        raise _outside("area", area_id)
    return found


def station(session: Session, scope: Scope, station_id: int) -> Station:
    """A station in the scope, or 404 (also when it exists elsewhere)."""
    found = session.get(Station, station_id)
    if found is None:
        raise _outside("station", station_id)
    if scope.path is not None:
        path = session.scalar(select(Area.path).where(Area.id == found.area_id)) or ""
        if not scope.covers(path):
            raise _outside("station", station_id)
    return found


def slot(session: Session, scope: Scope, slot_id: int) -> Slot:
    """A slot on a target in the scope, or 404."""
    found = session.get(Slot, slot_id)
    condition = slot_filter(scope)
    if found is None or (condition is not None and session.scalar(select(Slot.id).where(Slot.id == slot_id, condition)) is None):
        raise _outside("slot", slot_id)
    return found


def target(session: Session, scope: Scope, kind: str, target_id: int) -> None:
    """Refuse (404) a slot or airing target outside the scope; a scoped user has no channel-wide targets."""
    if scope.path is None:
        return
    if kind == "area":
        area(session, scope, target_id)
    elif kind == "station":
        station(session, scope, target_id)
    else:
        raise NotFound(f"Kênh {target_id} phát tới mọi địa bàn, ngoài phạm vi của bạn (channel outside your area)")


def reaches(scope: Scope, kind: Any, ident: Any) -> ColumnElement[bool] | None:
    """Targets (kind and id columns) whose airings sound in the scope: its areas and stations, the areas above it, and
    the loudspeaker network (None: no filter)."""
    if scope.path is None:
        return None
    above = scope.ancestors
    network = select(Channel.id).where(Channel.kind == ChannelKind.loudspeaker.value)
    return or_(
        and_(kind == "area", or_(ident.in_(area_ids(scope)), ident.in_(above))),
        and_(kind == "station", ident.in_(station_ids(scope))),
        and_(kind == "channel", ident.in_(network)),
    )
