"""Schedule: the week grid of an area or a station, its lanes (communes or stations) opened one at a time, and
"Lấp lịch", which fills a window and lists the under-filled slots with their reasons."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from apitypes import Id
from broadcast import airings as airings_service
from broadcast import scope as area_scope
from broadcast import service as broadcast_service
from broadcast.models import Area, Slot, Station
from broadcast.schedule_types import clock
from db import SessionDep, utcnow
from errors import Invalid
from settings import get_settings
from web import schedule_data as data
from web import week as wk
from web.nav import N_
from web.render import PageRoute, fragment, page
from web.security import Acting, SignedIn, Viewer
from web.slot_rule import DAY_LABELS, DAY_SHORT

router = APIRouter(route_class=PageRoute)
WeekParam = Annotated[str | None, Query(max_length=10)]
PRIORITIES = {"normal": N_("Thường"), "priority": N_("Ưu tiên"), "emergency": N_("Khẩn cấp")}
AIRING_STATUS = {
    "planned": N_("Đã xếp"),
    "published": N_("Đã phát hành"),
    "aired": N_("Đã phát"),
    "missed": N_("Bị lỡ"),
    "withdrawn": N_("Đã rút"),
}
UNDERFILLED_SHOWN = 200
LABELS = {"PRIORITIES": PRIORITIES, "AIRING_STATUS": AIRING_STATUS, "DAY_LABELS": DAY_LABELS, "DAY_SHORT": DAY_SHORT}


def zone() -> str:
    """The timezone the schedule is shown in (LAWCAST_TIMEZONE)."""
    return get_settings().timezone


def today_local() -> date:
    """Today's date in the schedule's timezone."""
    return utcnow().astimezone(ZoneInfo(zone())).date()


def week_of(value: str | None, who: Viewer) -> wk.Week:
    """The week asked for (default: this one), or a readable refusal."""
    try:
        return wk.parse_week(value, zone(), today_local())
    except ValueError as exc:
        raise Invalid(who._("Tuần không hợp lệ; dạng đúng: 2026-W03.")) from exc


def _slots_on(session: Session, kind: str, target_id: int) -> list[Slot]:
    query = select(Slot).where(Slot.target_kind == kind, Slot.target_id == target_id, Slot.active.is_(True))
    return list(session.scalars(query.order_by(Slot.start_time, Slot.id).limit(50)))


def _default_area(session: Session, root: Area | None) -> Area | None:
    return root or session.scalar(select(Area).where(Area.parent_id.is_(None)).order_by(Area.name, Area.id).limit(1))


@router.get("/schedule")
def schedule(
    request: Request,
    session: SessionDep,
    who: SignedIn,
    area_id: Annotated[Id | None, Query()] = None,
    station_id: Annotated[Id | None, Query()] = None,
    week: WeekParam = None,
) -> Response:
    """The week grid of an area (what all its stations air, and a lane per commune or station) or of one station."""
    span = week_of(week, who)
    root = data.scope_of(session, who.user)
    station: Station | None = None
    lanes: list[data.Lane] = []
    if station_id is not None:
        station, area = data.checked_station(session, who.user, station_id)
        items = data.station_items(session, station, span)
    else:
        chosen = data.checked_area(session, who.user, area_id) if area_id is not None else _default_area(session, root)
        if chosen is None:
            return page(request, who, "app/schedule.html", {"area": None, "span": span, **LABELS})
        area = chosen
        items = data.common_items(session, area, span)
        lanes = data.lanes(session, area, span)
    quiet = broadcast_service.quiet_hours(session, area)
    grid = wk.build(span, wk.merge(items), quiet=wk.quiet_ranges(*(quiet[:2] if quiet else (None, None))))
    target = ("station", station.id) if station else ("area", area.id)
    today = today_local()
    return page(
        request,
        who,
        "app/schedule.html",
        {
            "area": area,
            "station": station,
            "span": span,
            "grid": grid,
            "lanes": lanes,
            "quiet": quiet,
            "choices": data.area_choices(session, root),
            "slots": _slots_on(session, *target),
            "target": f"{target[0]}:{target[1]}",
            "tz": zone(),
            "this_week": wk.iso_label(today),
            "fill_start": today,
            "fill_end": today + timedelta(days=6),
            "inside_commune": area.kind in ("commune", "cluster"),
            **LABELS,
        },
    )


@router.get("/schedule/lane")
def lane(
    request: Request,
    session: SessionDep,
    who: SignedIn,
    area_id: Annotated[Id, Query()],
    key: Annotated[str, Query(max_length=30, pattern=r"^(area|station):\d{1,10}$")],
    week: WeekParam = None,
) -> Response:
    """One lane opened: the week grid of a commune's (or a station's) own airings, alike ones merged (an HTMX part)."""
    span = week_of(week, who)
    area = data.checked_area(session, who.user, area_id)
    name, items = data.lane_items(session, area, key, span)
    quiet = broadcast_service.quiet_hours(session, area)
    grid = wk.build(span, items, quiet=wk.quiet_ranges(*(quiet[:2] if quiet else (None, None))))
    return fragment(
        request, who, "app/_schedule_lane.html", {"grid": grid, "name": name, "key": key, "area": area, "span": span, **LABELS}
    )


# --- "Lấp lịch" -----------------------------------------------------------------------------------------


def _day(value: str, who: Viewer) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(who._("Ngày phải có dạng năm-tháng-ngày.")) from None


def _gaps(session: Session, summary: airings_service.FillSummary) -> list[dict[str, Any]]:
    gaps = sorted(summary.underfilled, key=lambda g: (g.underfill.occurrence_start, g.underfill.slot_id))[:UNDERFILLED_SHOWN]
    slots = {s.id: s for s in session.scalars(select(Slot).where(Slot.id.in_({g.underfill.slot_id for g in gaps} or {-1})))}
    return [
        {
            "slot": slots.get(g.underfill.slot_id),
            "slot_id": g.underfill.slot_id,
            "start": g.underfill.occurrence_start,
            "remaining": clock(g.underfill.remaining_s),
            "reason": g.underfill.reason,
            "alike": g.occurrences,
        }
        for g in gaps
    ]


@router.post("/schedule/fill")
def fill(
    request: Request,
    session: SessionDep,
    who: Acting,
    start: Annotated[str, Form(max_length=10)],
    end: Annotated[str, Form(max_length=10)],
    back: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """ "Lấp lịch": fill the occurrences of the chosen days with approved content; show what was placed and the gaps."""
    who.need("scheduler")
    first, last = _day(start, who), _day(end, who)
    if last < first:
        raise Invalid(who._("Ngày kết thúc phải từ ngày bắt đầu trở đi."))
    if (last - first).days > 31:
        raise Invalid(who._("Mỗi lần lấp lịch tối đa 31 ngày."))
    begin = wk.local_midnight(first, zone())
    finish = wk.local_midnight(last + timedelta(days=1), zone())
    user_scope = area_scope.of(session, who.user)
    only = area_scope.occurrence_ids(session, user_scope, begin, finish)
    freshness = get_settings().freshness_days
    summary = airings_service.fill(session, start=begin, end=finish, freshness_days=freshness, occurrence_ids=only)
    session.commit()
    target = back if back.startswith("/app/schedule") else f"/app/schedule?week={wk.iso_label(first)}"
    return page(
        request,
        who,
        "app/schedule_fill.html",
        {
            "summary": summary,
            "gaps": _gaps(session, summary),
            "first": first,
            "last": last,
            "back": target,
            "freshness": freshness,
            "scoped": user_scope.name,
            "tz": zone(),
        },
    )
