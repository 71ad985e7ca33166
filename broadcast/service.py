"""Broadcast service: channels, areas, stations, slots and occurrences (flushes, never commits)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

import auth
from broadcast import recurrence
from broadcast.models import Area, AreaKind, Channel, Occurrence, Overrun, Slot, Station
from db import utcnow
from errors import Conflict, Invalid, NotFound

TARGET_KINDS = ("channel", "area", "station")


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
    session: Session, *, name: str, kind: str, parent_id: int | None = None, code: str | None = None,
    quiet_start: time | None = None, quiet_end: time | None = None,
) -> Area:
    """Add an area under its parent; quiet hours are given as a pair or not at all."""
    AreaKind(kind)
    if (quiet_start is None) != (quiet_end is None):
        raise Invalid("Giờ yên tĩnh cần cả giờ bắt đầu và giờ kết thúc (quiet hours need start and end)")
    parent = get_area(session, parent_id) if parent_id else None
    area = Area(name=name, kind=kind, parent_id=parent_id, code=code, quiet_start=quiet_start, quiet_end=quiet_end)
    session.add(area)
    session.flush()
    area.path = f"{parent.path if parent else '/'}{area.id}/"
    session.flush()
    return area


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
    token = auth.new_token()
    station = Station(area_id=area_id, name=name, code=code, token_hash=auth.hash_token(token))
    session.add(station)
    session.flush()
    return station, token


def station_for_token(session: Session, token: str) -> Station | None:
    """The station a token belongs to."""
    return session.scalar(select(Station).where(Station.token_hash == auth.hash_token(token)))


def stations_under(session: Session, area: Area) -> list[int]:
    """Ids of every station in an area or beneath it."""
    return list(
        session.scalars(select(Station.id).join(Area, Station.area_id == Area.id).where(Area.path.startswith(area.path)))
    )


# --- slots and occurrences ---------------------------------------------------------------------


def _target_area(session: Session, target_kind: str, target_id: int) -> Area | None:
    if target_kind == "area":
        return get_area(session, target_id)
    if target_kind == "station":
        station = session.get(Station, target_id)
        if station is None:
            raise NotFound(f"Không có trạm {target_id} (station not found)")
        return get_area(session, station.area_id)
    if session.get(Channel, target_id) is None:
        raise NotFound(f"Không có kênh {target_id} (channel not found)")
    return None


def _pattern(slot: Slot) -> recurrence.SlotPattern:
    return recurrence.SlotPattern(
        rrule=slot.rrule, start_time=slot.start_time, duration_s=slot.duration_s, tz=slot.timezone, dtstart=slot.dtstart,
        exdates=tuple(date.fromisoformat(d) for d in slot.exdates), rdates=tuple(date.fromisoformat(d) for d in slot.rdates),
    )


def create_slot(
    session: Session, *, name: str, target_kind: str, target_id: int, rrule: str, start_time: time, duration_s: int,
    dtstart: date, timezone: str = "Asia/Ho_Chi_Minh", overrun: str = "cut",
    exdates: Sequence[date] = (), rdates: Sequence[date] = (),
) -> Slot:
    """Create a slot after refusing bad rules, quiet-hours clashes and overlaps on the same target."""
    if target_kind not in TARGET_KINDS:
        raise Invalid(f"Đích '{target_kind}' không hợp lệ; dùng channel, area hoặc station")
    Overrun(overrun)
    try:
        recurrence.validate_rrule(rrule)
        recurrence.validate_timezone(timezone)
    except ValueError as exc:
        raise Invalid(str(exc)) from exc
    if not 0 < duration_s <= 6 * 3600:
        raise Invalid("Thời lượng khung giờ phải từ 1 giây đến 6 giờ (duration out of range)")
    area = _target_area(session, target_kind, target_id)
    if area is not None and (quiet := quiet_hours(session, area)) is not None:
        reason = recurrence.quiet_hours_conflict(start_time, duration_s, quiet[0], quiet[1])
        if reason:
            raise Conflict(f"{reason} ({quiet[2].name})")
    slot = Slot(
        name=name, target_kind=target_kind, target_id=target_id, rrule=rrule, timezone=timezone, dtstart=dtstart,
        start_time=start_time, duration_s=duration_s, overrun=overrun,
        exdates=[d.isoformat() for d in exdates], rdates=[d.isoformat() for d in rdates],
    )
    for other in session.scalars(
        select(Slot).where(Slot.target_kind == target_kind, Slot.target_id == target_id, Slot.active.is_(True))
    ):
        clash = recurrence.slots_overlap(_pattern(slot), _pattern(other))
        if clash is not None:
            raise Conflict(f"Khung giờ trùng với '{other.name}' (id {other.id}) lúc {clash.isoformat()} trên cùng đích")
    session.add(slot)
    session.flush()
    return slot


def get_slot(session: Session, slot_id: int) -> Slot:
    """A slot by id, or 404."""
    slot = session.get(Slot, slot_id)
    if slot is None:
        raise NotFound(f"Không có khung giờ {slot_id} (slot not found)")
    return slot


def set_exception(session: Session, *, slot: Slot, day: date, add: bool) -> Slot:
    """Cancel one date of a slot (add=False) or add an extra date (add=True); future occurrences follow."""
    iso = day.isoformat()
    if add:
        slot.rdates = sorted({*slot.rdates, iso})
        slot.exdates = [d for d in slot.exdates if d != iso]
    else:
        slot.exdates = sorted({*slot.exdates, iso})
        slot.rdates = [d for d in slot.rdates if d != iso]
    session.flush()
    return slot


def expand(session: Session, *, slots: Iterable[Slot] | None = None, now: datetime | None = None, horizon_days: int = 14) -> int:
    """Expand occurrences of slots from now to the horizon; removes ones that exceptions cancelled."""
    now = now or utcnow()
    window_end = now + timedelta(days=horizon_days)
    slots = list(slots) if slots is not None else list(session.scalars(select(Slot).where(Slot.active.is_(True))))
    existing: dict[int, set[datetime]] = {}
    for slot_id, start in session.execute(
        select(Occurrence.slot_id, Occurrence.start).where(Occurrence.start >= now, Occurrence.start < window_end)
    ):
        existing.setdefault(slot_id, set()).add(_utc(start))
    rows = []
    for slot in slots:
        pattern = _pattern(slot)
        wanted = recurrence.expand_pattern(pattern, window_start=now, window_end=window_end)
        have = existing.get(slot.id, set())
        starts = {occ.start for occ in wanted}
        rows += [
            {"slot_id": slot.id, "target_kind": slot.target_kind, "target_id": slot.target_id, "start": occ.start, "end": occ.end, "cancelled": False}
            for occ in wanted
            if occ.start not in have
        ]
        gone = [start for start in have if start not in starts]
        if gone:
            session.execute(delete(Occurrence).where(Occurrence.slot_id == slot.id, Occurrence.start.in_(gone)))
    for chunk in range(0, len(rows), 5000):
        session.execute(insert(Occurrence), rows[chunk : chunk + 5000])
    session.flush()
    return len(rows)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
