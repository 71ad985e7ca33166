"""The broadcast network: channels, areas with their quiet hours, and stations (flushes, never commits).

Below the slots (broadcast.service), which check every new slot against the areas and stations it reaches.
"""

from __future__ import annotations

from datetime import time

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import auth
from broadcast.models import Area, AreaKind, Channel, ChannelKind, Station
from broadcast.station_cache import schedule_changed
from errors import Conflict, Invalid, NotFound

# --- channels ----------------------------------------------------------------------------------


def create_channel(session: Session, *, slug: str, name: str, kind: str, description: str = "", owner_email: str = "") -> Channel:
    """Create a channel; slugs are unique."""
    if session.scalar(select(Channel).where(Channel.slug == slug)) is not None:
        raise Conflict(f"Kênh '{slug}' đã tồn tại (channel exists)")
    channel = Channel(slug=slug, name=name, kind=kind, description=description, owner_email=owner_email)
    session.add(channel)
    session.flush()
    return channel


def channel_by_slug(session: Session, slug: str) -> Channel:
    """A channel by slug, or 404."""
    channel = session.scalar(select(Channel).where(Channel.slug == slug))
    if channel is None:
        raise NotFound(f"Không có kênh '{slug}' (channel not found)")
    return channel


def ensure_channel(session: Session, *, slug: str, name: str, kind: str, description: str = "", owner_email: str = "") -> Channel:
    """The channel with this slug, created if missing."""
    channel = session.scalar(select(Channel).where(Channel.slug == slug))
    return channel or create_channel(session, slug=slug, name=name, kind=kind, description=description, owner_email=owner_email)


# --- areas and stations ------------------------------------------------------------------------


def create_area(
    session: Session,
    *,
    name: str,
    kind: str,
    parent_id: int | None = None,
    code: str | None = None,
    quiet_start: time | None = None,
    quiet_end: time | None = None,
) -> Area:
    """Add an area under its parent; quiet hours are given as a pair or not at all."""
    AreaKind(kind)
    if (quiet_start is None) != (quiet_end is None):
        raise Invalid("Giờ yên tĩnh cần cả giờ bắt đầu và giờ kết thúc (quiet hours need start and end)")
    parent = get_area(session, parent_id) if parent_id else None
    _check_code(session, Area, code)
    area = Area(name=name, kind=kind, parent_id=parent_id, code=code, quiet_start=quiet_start, quiet_end=quiet_end)
    session.add(area)
    _flush_code(session, Area, code)
    area.path = f"{parent.path if parent else '/'}{area.id}/"
    session.flush()
    return area


def _code_taken(model: type[Area] | type[Station], code: str) -> Conflict:
    what = "địa bàn" if model is Area else "trạm"
    kind = "area" if model is Area else "station"
    return Conflict(f"Mã {what} '{code}' đã được dùng; mỗi {what} cần một mã riêng (duplicate {kind} code)")


def _check_code(session: Session, model: type[Area] | type[Station], code: str | None) -> None:
    if code is not None and session.scalar(select(model.id).where(model.code == code)) is not None:
        raise _code_taken(model, code)


def _flush_code(session: Session, model: type[Area] | type[Station], code: str | None) -> None:
    """Flush a new area or station; a code another request stored since the check is a 409 too."""
    try:
        session.flush()
    except IntegrityError as exc:
        if code is None or "code" not in str(exc.orig):
            raise
        raise _code_taken(model, code) from exc


def get_area(session: Session, area_id: int) -> Area:
    """An area by id, or 404."""
    area = session.get(Area, area_id)
    if area is None:
        raise NotFound(f"Không có địa bàn {area_id} (area not found)")
    return area


def ancestor_ids(area: Area) -> list[int]:
    """Ids from the root down to this area."""
    return [int(part) for part in area.path.strip("/").split("/") if part]


def quiet_hours(session: Session, area: Area) -> tuple[time, time, Area] | None:
    """The quiet hours that apply to an area: its own, else the nearest ancestor's."""
    for area_id in reversed(ancestor_ids(area)):
        node = area if area_id == area.id else session.get(Area, area_id)
        if node is not None and node.quiet_start is not None and node.quiet_end is not None:
            return node.quiet_start, node.quiet_end, node
    return None


def create_station(session: Session, *, area_id: int, name: str, code: str | None = None) -> tuple[Station, str]:
    """Register a station; returns it with its token, which is shown only this once."""
    get_area(session, area_id)
    _check_code(session, Station, code)
    token = auth.new_token()
    station = Station(area_id=area_id, name=name, code=code, token_hash=auth.hash_token(token))
    session.add(station)
    _flush_code(session, Station, code)
    return station, token


def rotate_station_token(session: Session, *, station_id: int) -> tuple[Station, str]:
    """Give a station a new token (the old one stops working at once); it is shown only this once."""
    station = session.get(Station, station_id)
    if station is None:
        raise NotFound(f"Không có trạm {station_id} (station not found)")
    token = auth.new_token()
    station.token_hash = auth.hash_token(token)
    session.flush()
    schedule_changed(session)  # answers held in memory for the old token go too
    return station, token


def station_for_token(session: Session, token: str) -> Station | None:
    """The station a token belongs to."""
    return session.scalar(select(Station).where(Station.token_hash == auth.hash_token(token)))


def stations_under(session: Session, area: Area) -> list[int]:
    """Ids of every station in an area or beneath it."""
    return list(session.scalars(select(Station.id).join(Area, Station.area_id == Area.id).where(Area.path.startswith(area.path))))


def loudspeaker_channel_ids(session: Session) -> list[int]:
    """Channels of kind loudspeaker: a slot on one reaches every station."""
    return list(session.scalars(select(Channel.id).where(Channel.kind == ChannelKind.loudspeaker.value)))
