"""Broadcast service: slots, their occurrences and campaigns (flushes, never commits).

The network they air on (channels, areas, stations) lives in broadcast.network; its functions are
re-exported here, where their callers have always found them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import apitypes
from broadcast import bulk, plans, recurrence
from broadcast.models import OVERLAP_CONSTRAINT, Area, Campaign, Channel, ChannelKind, Occurrence, Overrun, Slot, Station
from broadcast.network import ancestor_ids as ancestor_ids
from broadcast.network import channel_by_slug as channel_by_slug
from broadcast.network import create_area as create_area
from broadcast.network import create_channel as create_channel
from broadcast.network import create_station as create_station
from broadcast.network import ensure_channel as ensure_channel
from broadcast.network import get_area as get_area
from broadcast.network import loudspeaker_channel_ids as loudspeaker_channel_ids
from broadcast.network import quiet_hours as quiet_hours
from broadcast.network import rotate_station_token as rotate_station_token
from broadcast.network import station_for_token as station_for_token
from broadcast.network import stations_under as stations_under
from broadcast.schemas import MAX_EXCEPTIONS
from broadcast.station_cache import schedule_changed
from db import utcnow
from errors import Conflict, Invalid, NotFound
from settings import get_settings
from studio.models import Production
from timeutil import aware_utc

log = logging.getLogger(__name__)

TARGET_KINDS = ("channel", "area", "station")


# --- slots and occurrences ---------------------------------------------------------------------
#
# Overlaps are refused on the same target, and also between targets that reach a common loudspeaker
# station (an area and a station inside it, an area and its sub-areas, the whole loudspeaker network and
# anything in it): two such slots would play on top of each other at that station. Radio, TV, podcast and
# web channels only clash with themselves. PostgreSQL also refuses same-target overlaps in the database
# (exclusion constraint on occurrences); the service check names the clashing slot on both backends.

MAX_SLOT_S = 6 * 3600
TOO_MANY_EXCEPTIONS = (
    f"Khung giờ có quá nhiều ngày ngoại lệ (tối đa {MAX_EXCEPTIONS} ngày hủy và {MAX_EXCEPTIONS} ngày thêm) "
    f"(too many exception dates, limit {MAX_EXCEPTIONS})"
)


def _describe(session: Session, target_kind: str, target_id: int) -> str:
    if target_kind == "area":
        area = session.get(Area, target_id)
        return f"địa bàn {area.name if area else target_id}"
    if target_kind == "station":
        station = session.get(Station, target_id)
        return f"trạm {station.name if station else target_id}"
    channel = session.get(Channel, target_id)
    return f"kênh {channel.name if channel else target_id}"


def _station(session: Session, station_id: int) -> Station:
    station = session.get(Station, station_id)
    if station is None:
        raise NotFound(f"Không có trạm {station_id} (station not found)")
    return station


def _placed_area(session: Session, target_kind: str, target_id: int) -> Area:
    """The area an area or station target is in (an area is in itself); 404 if it is gone, 422 for another kind."""
    if target_kind == "area":
        return get_area(session, target_id)
    if target_kind == "station":
        return get_area(session, _station(session, target_id).area_id)
    raise Invalid(f"Loại đích '{target_kind}' không hợp lệ; dùng channel, area hoặc station (invalid target kind)")


def _target_area(session: Session, target_kind: str, target_id: int) -> Area | None:
    if target_kind != "channel":
        return _placed_area(session, target_kind, target_id)
    if session.get(Channel, target_id) is None:
        raise NotFound(f"Không có kênh {target_id} (channel not found)")
    return None


def _related(session: Session, target_kind: str, target_id: int) -> list[tuple[str, list[int] | None]]:
    """Targets whose slots would sound at a station this target reaches (None: every target of that kind)."""
    if target_kind == "channel":
        channel = session.get(Channel, target_id)
        if channel is None or channel.kind != ChannelKind.loudspeaker.value:
            return [("channel", [target_id])]
        return [("channel", loudspeaker_channel_ids(session)), ("area", None), ("station", None)]
    network = ("channel", loudspeaker_channel_ids(session))
    if target_kind == "station":
        return [("station", [target_id]), ("area", ancestor_ids(_placed_area(session, target_kind, target_id))), network]
    area = get_area(session, target_id)
    below = list(session.scalars(select(Area.id).where(Area.path.startswith(area.path))))
    return [("area", sorted({*ancestor_ids(area), *below})), ("station", stations_under(session, area)), network]


def _related_slots(session: Session, target_kind: str, target_id: int, *, exclude: int | None = None) -> list[Slot]:
    out: list[Slot] = []
    for kind, ids in _related(session, target_kind, target_id):
        query = select(Slot).where(Slot.active.is_(True), Slot.target_kind == kind)
        if ids is None:
            out += session.scalars(query)
            continue
        for chunk in bulk.chunks(ids, bulk.IN_CHUNK):
            out += session.scalars(query.where(Slot.target_id.in_(chunk)))
    return [slot for slot in out if slot.id != exclude]


def _local(moment: datetime, tz: str) -> str:
    return f"{moment.astimezone(ZoneInfo(tz)):%H:%M ngày %d/%m/%Y} ({tz})"


def _check_overlaps(
    session: Session, pattern: recurrence.SlotPattern, target_kind: str, target_id: int, *, exclude: int | None = None
) -> None:
    for other in _related_slots(session, target_kind, target_id, exclude=exclude):
        clash = recurrence.slots_overlap(pattern, _pattern(other))
        if clash is None:
            continue
        if (other.target_kind, other.target_id) == (target_kind, target_id):
            where = "trên cùng đích"
        else:
            where = f"trên {_describe(session, other.target_kind, other.target_id)}: hai khung sẽ phát chồng lên nhau tại cùng trạm loa"
        raise Conflict(
            f"Khung giờ trùng với '{other.name}' (id {other.id}) {where}, lần đầu lúc {_local(clash, pattern.tz)} (overlapping slot)"
        )


def _quiet_areas(session: Session, target_kind: str, target_id: int) -> list[tuple[time | None, time | None, Area]]:
    """Quiet hours that bind a target: the nearest ones above it, and those of every area beneath it."""
    if target_kind == "channel":
        channel = session.get(Channel, target_id)
        if channel is None or channel.kind != ChannelKind.loudspeaker.value:
            return []
        return [(a.quiet_start, a.quiet_end, a) for a in session.scalars(select(Area).where(Area.quiet_start.is_not(None)))]
    area = _placed_area(session, target_kind, target_id)
    out: list[tuple[time | None, time | None, Area]] = []
    if (own := quiet_hours(session, area)) is not None:
        out.append(own)
    if target_kind == "area":
        below = session.scalars(
            select(Area).where(Area.path.startswith(area.path), Area.id != area.id, Area.quiet_start.is_not(None))
        )
        out += [(a.quiet_start, a.quiet_end, a) for a in below]
    return out


def _check_quiet_hours(session: Session, pattern: recurrence.SlotPattern, target_kind: str, target_id: int) -> None:
    zone = get_settings().timezone
    for quiet_start, quiet_end, area in _quiet_areas(session, target_kind, target_id):
        reason = recurrence.quiet_hours_clash(pattern, quiet_start, quiet_end, zone)
        if reason:
            raise Conflict(f"{reason} ({area.name}); loa không phát trong giờ yên tĩnh (quiet hours)")


def _pattern(slot: Slot) -> recurrence.SlotPattern:
    return recurrence.SlotPattern(
        rrule=slot.rrule,
        start_time=slot.start_time,
        duration_s=slot.duration_s,
        tz=slot.timezone,
        dtstart=slot.dtstart,
        exdates=tuple(date.fromisoformat(d) for d in slot.exdates),
        rdates=tuple(date.fromisoformat(d) for d in slot.rdates),
    )


def create_slot(
    session: Session,
    *,
    name: str,
    target_kind: str,
    target_id: int,
    rrule: str,
    start_time: time,
    duration_s: int,
    dtstart: date,
    timezone: str = "Asia/Ho_Chi_Minh",
    overrun: str = "cut",
    exdates: Sequence[date] = (),
    rdates: Sequence[date] = (),
) -> Slot:
    """Create a slot after refusing bad rules, quiet-hours clashes and overlaps with slots reaching the same stations."""
    if target_kind not in TARGET_KINDS:
        raise Invalid(f"Đích '{target_kind}' không hợp lệ; dùng channel, area hoặc station")
    try:
        Overrun(overrun)
    except ValueError as exc:
        raise Invalid(f"Chính sách quá giờ '{overrun}' không hợp lệ; dùng cut, finish hoặc refuse") from exc
    try:
        recurrence.validate_rrule(rrule)
        recurrence.validate_timezone(timezone)
    except ValueError as exc:
        raise Invalid(str(exc)) from exc
    if not 0 < duration_s <= MAX_SLOT_S:
        raise Invalid("Thời lượng khung giờ phải từ 1 giây đến 6 giờ (duration out of range)")
    exdates, rdates = _exception_days(dtstart, start_time, exdates, rdates)
    _target_area(session, target_kind, target_id)
    slot = Slot(
        name=name,
        target_kind=target_kind,
        target_id=target_id,
        rrule=rrule,
        timezone=timezone,
        dtstart=dtstart,
        start_time=start_time,
        duration_s=duration_s,
        overrun=overrun,
        exdates=[d.isoformat() for d in exdates],
        rdates=[d.isoformat() for d in rdates],
    )
    pattern = _pattern(slot)
    try:
        recurrence.check_occurs(pattern, last_day=apitypes.LAST_DAY)
    except ValueError as exc:
        raise Invalid(str(exc)) from exc
    _check_quiet_hours(session, pattern, target_kind, target_id)
    _check_overlaps(session, pattern, target_kind, target_id)
    session.add(slot)
    session.flush()
    return slot


def _exception_days(
    dtstart: date, start_time: time, exdates: Sequence[date], rdates: Sequence[date]
) -> tuple[list[date], list[date]]:
    """A slot's dates checked (in the window, start time without offset) and its exceptions deduplicated and capped."""
    if start_time.tzinfo is not None:
        raise Invalid(f"Giờ bắt đầu: {apitypes.OFFSET_REFUSED}")
    unique_ex, unique_r = sorted(set(exdates)), sorted(set(rdates))
    if max(len(unique_ex), len(unique_r)) > MAX_EXCEPTIONS:
        raise Invalid(TOO_MANY_EXCEPTIONS)
    outside = [d for d in (dtstart, *unique_ex, *unique_r) if not apitypes.in_window(d)]
    if outside:
        raise Invalid(f"Ngày {outside[0].isoformat()}: {apitypes.OUT_OF_WINDOW}")
    return unique_ex, unique_r


def get_slot(session: Session, slot_id: int) -> Slot:
    """A slot by id, or 404."""
    slot = session.get(Slot, slot_id)
    if slot is None:
        raise NotFound(f"Không có khung giờ {slot_id} (slot not found)")
    return slot


def set_exception(session: Session, *, slot: Slot, day: date, add: bool) -> Slot:
    """Cancel one date of a slot (add=False) or add an extra date (add=True, refused if it overlaps); occurrences follow."""
    if not apitypes.in_window(day):
        raise Invalid(f"Ngày {day.isoformat()}: {apitypes.OUT_OF_WINDOW}")
    iso = day.isoformat()
    if iso not in (slot.rdates if add else slot.exdates) and len(slot.rdates if add else slot.exdates) >= MAX_EXCEPTIONS:
        raise Invalid(TOO_MANY_EXCEPTIONS)
    if add:
        extra = replace(_pattern(slot), rrule="FREQ=DAILY;COUNT=1", dtstart=day, exdates=(), rdates=())
        _check_quiet_hours(session, extra, slot.target_kind, slot.target_id)
        _check_overlaps(session, extra, slot.target_kind, slot.target_id, exclude=slot.id)
        slot.rdates = sorted({*slot.rdates, iso})
        slot.exdates = [d for d in slot.exdates if d != iso]
    else:
        slot.exdates = sorted({*slot.exdates, iso})
        slot.rdates = [d for d in slot.rdates if d != iso]
    session.flush()
    return slot


def is_overlap_refusal(exc: IntegrityError) -> bool:
    """True when the database refused overlapping occurrences (PostgreSQL's exclusion constraint)."""
    diag = getattr(exc.orig, "diag", None)
    return getattr(diag, "constraint_name", None) == OVERLAP_CONSTRAINT or OVERLAP_CONSTRAINT in str(exc.orig)


def expand(
    session: Session,
    *,
    slots: Iterable[Slot] | None = None,
    now: datetime | None = None,
    horizon_days: int = 14,
    skip_refused: bool = False,
) -> int:
    """Expand occurrences of slots from now to the horizon; removes future ones that exceptions cancelled; returns rows added.

    When the database refuses an overlap (PostgreSQL), IntegrityError propagates, unless skip_refused: then the
    clashing slot's occurrences are left out and logged, and every other slot is expanded (the beat task).
    """
    now = now or utcnow()
    window_end = now + timedelta(days=horizon_days)
    chosen = list(slots) if slots is not None else list(session.scalars(select(Slot).where(Slot.active.is_(True))))
    existing: dict[int, dict[datetime, int]] = {}
    query = select(Occurrence.id, Occurrence.slot_id, Occurrence.start).where(Occurrence.end > now, Occurrence.start < window_end)
    if slots is not None:
        for chunk in bulk.chunks([s.id for s in chosen], bulk.IN_CHUNK):
            for occ_id, slot_id, start in session.execute(query.where(Occurrence.slot_id.in_(chunk))):
                existing.setdefault(slot_id, {})[aware_utc(start)] = occ_id
    else:
        for occ_id, slot_id, start in session.execute(query):
            existing.setdefault(slot_id, {})[aware_utc(start)] = occ_id
    rows: list[tuple[object, ...]] = []
    gone: list[int] = []
    for slot in chosen:
        wanted = recurrence.expand_pattern(_pattern(slot), window_start=now, window_end=window_end)
        slot_id, kind, target = slot.id, slot.target_kind, slot.target_id
        have = existing.get(slot_id, {})
        rows += [(slot_id, kind, target, o.start, o.end, False) for o in wanted if o.start not in have]
        if have:
            starts = {o.start for o in wanted}
            gone += [occ_id for start, occ_id in have.items() if start >= now and start not in starts]
    if gone:
        remove_occurrences(session, gone, now=now)
    _insert_occurrences(session, rows, skip_refused=skip_refused)
    session.flush()
    return len(rows)


OCCURRENCE_COLUMNS = ("slot_id", "target_kind", "target_id", "start", "end", "cancelled")


def _insert_occurrences(session: Session, rows: list[tuple[object, ...]], *, skip_refused: bool) -> None:
    table = Occurrence.__table__
    if not skip_refused or session.get_bind().dialect.name != "postgresql" or not rows:
        bulk.insert_rows(session, table, OCCURRENCE_COLUMNS, rows)
        return
    try:
        with session.begin_nested():
            bulk.insert_rows(session, table, OCCURRENCE_COLUMNS, rows)
    except IntegrityError as exc:
        if not is_overlap_refusal(exc):
            raise
        # Some slot clashes with another (a race the service check could not see): keep every other slot.
        for slot_id, group in groupby(rows, key=lambda row: row[0]):
            try:
                with session.begin_nested():
                    bulk.insert_rows(session, table, OCCURRENCE_COLUMNS, list(group))
            except IntegrityError as clash:
                if not is_overlap_refusal(clash):
                    raise
                log.error("occurrences of slot %s refused by the database: they overlap another slot", slot_id)


def remove_occurrences(session: Session, occurrence_ids: Sequence[int], *, now: datetime | None = None) -> None:
    """Delete occurrences (their links go with them) and release the plans nothing else uses."""
    linked = [plan_id for ids in plans.plans_of(session, occurrence_ids).values() for plan_id in ids]
    if linked:
        schedule_changed(session)  # a plan still shared with other occurrences stays, but not here
    for chunk in bulk.chunks(occurrence_ids, bulk.IN_CHUNK):
        session.execute(delete(Occurrence).where(Occurrence.id.in_(chunk)))
    plans.release(session, linked, now=now)


# --- campaigns ---------------------------------------------------------------------------------


def create_campaign(
    session: Session,
    *,
    name: str,
    production_ids: Sequence[int],
    area_ids: Sequence[int],
    start: datetime,
    end: datetime,
    min_airings_per_station: int = 2,
    topic: str | None = None,
) -> Campaign:
    """A campaign the scheduler honours: every station in the areas gets the minimum airings in [start, end)."""
    if end <= start:
        raise Invalid("Chiến dịch phải kết thúc sau khi bắt đầu (end must be after start)")
    for area_id in area_ids:
        get_area(session, area_id)
    found = set(session.scalars(select(Production.id).where(Production.id.in_(list(production_ids)))))
    missing = sorted(set(production_ids) - found)
    if missing:
        raise NotFound(f"Không có sản phẩm {', '.join(map(str, missing))} (production not found)")
    campaign = Campaign(
        name=name,
        topic=topic,
        production_ids=list(production_ids),
        area_ids=list(area_ids),
        start=start,
        end=end,
        min_airings_per_station=min_airings_per_station,
    )
    session.add(campaign)
    session.flush()
    return campaign
