"""Slots: creation in plain words (days, time, duration, dates, every N weeks, a target from the area tree),
a slot's page with its rule, exceptions (cancel or add a date) and coming occurrences, and pins."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from apitypes import Id
from broadcast import fill_inputs, placements, recurrence
from broadcast import scope as area_scope
from broadcast import service as broadcast_service
from broadcast.models import Airing, AiringStatus, Area, Channel, Occurrence, OccurrencePlan, Slot, Station
from broadcast.schedule_types import clock
from db import SessionDep, utcnow
from errors import Conflict, Invalid, ServiceError
from settings import get_settings
from studio.models import Production
from web import schedule_data as data
from web import slot_rule
from web import week as wk
from web.nav import N_
from web.pages_schedule import LABELS, today_local, zone
from web.render import PageRoute, fragment, page, redirect
from web.security import Acting, SignedIn, Viewer

router = APIRouter(route_class=PageRoute)
OVERRUN = {"cut": N_("Cắt khi hết khung"), "finish": N_("Phát hết rồi dừng"), "refuse": N_("Không phát nếu không vừa")}
STATIONS_LISTED = 300  # up to this many stations are offered in the form; beyond, the station is typed by its number
OCCURRENCES_SHOWN = 10
CANDIDATES_SHOWN = 200


def _target_choices(session: Session, root: Area | None) -> dict[str, Any]:
    """The targets the form offers: the area tree, stations (when few), and channels (without a scope)."""
    stations = select(Station.id, Station.name, Station.area_id).join(Area, Area.id == Station.area_id)
    if root is not None:
        stations = stations.where(Area.path.startswith(root.path, autoescape=True))
    listed = session.execute(stations.order_by(Station.name, Station.id).limit(STATIONS_LISTED + 1)).all()
    channels = [] if root is not None else list(session.scalars(select(Channel).order_by(Channel.name)))
    return {
        "choices": data.area_choices(session, root),
        "stations": listed[:STATIONS_LISTED],
        "stations_typed": len(listed) > STATIONS_LISTED,
        "channels": channels,
    }


def _form_page(
    request: Request, session: Session, who: Viewer, form: slot_rule.SlotForm, *, error: str = "", status_code: int = 200
) -> Response:
    root = data.scope_of(session, who.user)
    preview = _preview_values(form, who)
    return page(
        request,
        who,
        "app/slot_new.html",
        {
            "form": form,
            "error": error,
            "overrun_labels": OVERRUN,
            "tz": zone(),
            **preview,
            **_target_choices(session, root),
            **LABELS,
        },
        status_code=status_code,
    )


def _preview_values(form: slot_rule.SlotForm, who: Viewer) -> dict[str, Any]:
    """The RRULE the form writes, the slot in plain words and its next dates (or why there are none yet)."""
    try:
        checked = slot_rule.check(form, who._)
    except ValueError as exc:
        return {"rrule": "", "plain": "", "next_dates": [], "problem": str(exc)}
    pattern = recurrence.SlotPattern(
        rrule=checked.rrule, start_time=checked.start_time, duration_s=checked.duration_s, tz=zone(), dtstart=checked.dtstart
    )
    try:
        recurrence.validate_rrule(checked.rrule)
        now = utcnow()
        coming = recurrence.expand_pattern(pattern, window_start=now, window_end=now + timedelta(days=70))[:5]
    except ValueError as exc:
        return {"rrule": checked.rrule, "plain": "", "next_dates": [], "problem": str(exc)}
    return {
        "rrule": checked.rrule,
        "problem": "",
        "next_dates": [o.start for o in coming],
        "plain": slot_rule.describe(checked.rrule, checked.start_time, checked.duration_s, checked.dtstart, who._),
    }


async def _read_form(request: Request) -> slot_rule.SlotForm:
    raw = await request.form()

    def text(name: str, limit: int = 100) -> str:
        value = raw.get(name)
        return value.strip()[:limit] if isinstance(value, str) else ""

    typed = text("station_number", 10)
    return slot_rule.SlotForm(
        name=text("name", 200),
        target=f"station:{typed}" if typed.isdigit() else text("target", 30),
        days=[d for d in raw.getlist("days") if d in wk.BYDAY],
        start_time=text("start_time", 8),
        duration_min=text("duration_min", 5),
        dtstart=text("dtstart", 10),
        until=text("until", 10),
        interval=text("interval", 3) or "1",
        overrun=text("overrun", 10),
        rrule_expert=text("rrule_expert", 400),
    )


@router.get("/slots/new")
def new_slot(request: Request, session: SessionDep, who: SignedIn, target: Annotated[str, Query(max_length=30)] = "") -> Response:
    """The new-slot form, in plain words; the target may come from the schedule page."""
    who.need("scheduler")
    form = slot_rule.SlotForm(target=target, dtstart=today_local().isoformat(), start_time="06:00")
    return _form_page(request, session, who, form)


@router.post("/slots/preview")
async def preview(request: Request, who: Acting) -> Response:
    """The RRULE and the plain-words sentence of the form as it stands (an HTMX part, updated on every change)."""
    form = await _read_form(request)
    return fragment(request, who, "app/_slot_preview.html", _preview_values(form, who))


def _check_target(session: Session, who: Viewer, kind: str, target_id: int) -> None:
    """Refuse (404) a target outside the user's scope; channels reach every station, so only unscoped schedulers."""
    area_scope.target(session, area_scope.of(session, who.user), kind, target_id)


def _insert(session: Session, checked: slot_rule.Checked) -> Slot:
    """The checked form as a new slot, in the site's timezone (broadcast.service.create_slot refuses clashes)."""
    return broadcast_service.create_slot(
        session,
        name=checked.name,
        target_kind=checked.target_kind,
        target_id=checked.target_id,
        rrule=checked.rrule,
        start_time=checked.start_time,
        duration_s=checked.duration_s,
        dtstart=checked.dtstart,
        timezone=zone(),
        overrun=checked.overrun,
    )


@router.post("/slots/new")
async def create_slot(request: Request, session: SessionDep, who: Acting) -> Response:
    """Create the slot through broadcast.service.create_slot; quiet-hours and overlap refusals come back readable."""
    who.need("scheduler")
    form = await _read_form(request)
    try:
        checked = slot_rule.check(form, who._)
    except ValueError as exc:
        return _form_page(request, session, who, form, error=str(exc), status_code=422)
    try:
        _check_target(session, who, checked.target_kind, checked.target_id)
        slot = _insert(session, checked)
        broadcast_service.expand(session, slots=[slot], horizon_days=get_settings().schedule_horizon_days)
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        if not broadcast_service.is_overlap_refusal(exc):
            raise
        try:
            _insert(session, checked)  # the clashing slot is committed now: the check names it
            message = who._("Khung giờ trùng với một khung khác trên cùng nơi phát.")
        except ServiceError as named:
            message = named.detail
        session.rollback()
        return _form_page(request, session, who, form, error=message, status_code=409)
    except ServiceError as exc:
        session.rollback()
        return _form_page(request, session, who, form, error=exc.detail, status_code=exc.status)
    return redirect(f"/app/slots/{slot.id}", who._("Đã tạo khung giờ “%(name)s”.", name=slot.name))


# --- a slot's page: rule, exceptions, coming occurrences and pins ----------------------------------------


def _target_label(session: Session, slot: Slot) -> tuple[str, str]:
    """(name, link to its week grid) of a slot's target."""
    if slot.target_kind == "area":
        area = session.get(Area, slot.target_id)
        return (area.name if area else str(slot.target_id)), f"/app/schedule?area_id={slot.target_id}"
    if slot.target_kind == "station":
        station = session.get(Station, slot.target_id)
        return (station.name if station else str(slot.target_id)), f"/app/schedule?station_id={slot.target_id}"
    channel = session.get(Channel, slot.target_id)
    return (channel.name if channel else str(slot.target_id)), ""


def _visible_slot(session: Session, who: Viewer, slot_id: int) -> Slot:
    return area_scope.slot(session, area_scope.of(session, who.user), slot_id)


def _coming(session: Session, slot: Slot) -> list[dict[str, Any]]:
    """The slot's next occurrences (and the one playing), each with the airings placed in it."""
    now = utcnow()
    rows = list(
        session.scalars(
            select(Occurrence)
            .where(Occurrence.slot_id == slot.id, Occurrence.end > now)
            .order_by(Occurrence.start)
            .limit(OCCURRENCES_SHOWN)
        )
    )
    placed: dict[int, list[Any]] = {row.id: [] for row in rows}
    if rows:
        for occurrence_id, airing, title in session.execute(
            select(OccurrencePlan.occurrence_id, Airing, Production.title)
            .join(Airing, Airing.plan_id == OccurrencePlan.plan_id)
            .join(Production, Production.id == Airing.production_id)
            .where(OccurrencePlan.occurrence_id.in_(list(placed)), Airing.status != AiringStatus.withdrawn.value)
            .order_by(Airing.start, Airing.id)
        ):
            placed[occurrence_id].append({"airing": airing, "title": title})
    return [{"occurrence": row, "airings": placed[row.id]} for row in rows]


def slot_page(
    request: Request, session: Session, who: Viewer, slot: Slot, *, error: str = "", status_code: int = 200
) -> Response:
    """A slot: plain words and RRULE, exceptions, coming occurrences with their airings, pins (also after a refusal)."""
    name, link = _target_label(session, slot)
    channels = {c.id: c for c in session.scalars(select(Channel))}
    profile = fill_inputs.profile_for(slot.target_kind, slot.target_id, channels)
    candidates = fill_inputs.candidates(session, profile)[:CANDIDATES_SHOWN]
    return page(
        request,
        who,
        "app/slot.html",
        {
            "slot": slot,
            "target_name": name,
            "target_link": link,
            "error": error,
            "coming": _coming(session, slot),
            "plain": slot_rule.describe(slot.rrule, slot.start_time, slot.duration_s, slot.dtstart, who._),
            "candidates": [{"c": c, "length": clock(c.duration_s)} for c in candidates],
            "profile": profile,
            "overrun_labels": OVERRUN,
            "today": today_local(),
            "tz": slot.timezone,
            **LABELS,
        },
        status_code=status_code,
    )


@router.get("/slots/{slot_id}")
def slot_view(slot_id: Id, request: Request, session: SessionDep, who: SignedIn) -> Response:
    """A slot's page."""
    return slot_page(request, session, who, _visible_slot(session, who, slot_id))


@router.post("/slots/{slot_id}/exceptions")
def exception(
    slot_id: Id,
    request: Request,
    session: SessionDep,
    who: Acting,
    day: Annotated[str, Form(max_length=10)],
    action: Annotated[str, Form(max_length=10)],
) -> Response:
    """Cancel one date of the slot, or add an extra one (refused, readably, if it clashes); occurrences follow."""
    who.need("scheduler")
    slot = _visible_slot(session, who, slot_id)
    try:
        chosen = date.fromisoformat(day)
        if action not in ("cancel", "add"):
            raise Invalid(who._("Hãy chọn huỷ hoặc thêm ngày."))
        broadcast_service.set_exception(session, slot=slot, day=chosen, add=action == "add")
        broadcast_service.expand(session, slots=[slot], horizon_days=get_settings().schedule_horizon_days)
        session.commit()
    except ValueError:
        session.rollback()
        return slot_page(request, session, who, slot, error=who._("Ngày phải có dạng năm-tháng-ngày."), status_code=422)
    except IntegrityError as exc:
        session.rollback()
        if not broadcast_service.is_overlap_refusal(exc):
            raise
        return slot_page(
            request,
            session,
            who,
            broadcast_service.get_slot(session, slot_id),
            status_code=409,
            error=who._("Khung giờ trùng với một khung khác trên cùng nơi phát."),
        )
    except ServiceError as exc:
        session.rollback()
        return slot_page(
            request, session, who, broadcast_service.get_slot(session, slot_id), error=exc.detail, status_code=exc.status
        )
    shown = chosen.strftime("%d/%m/%Y")
    message = who._("Đã thêm ngày %(day)s.", day=shown) if action == "add" else who._("Đã huỷ ngày %(day)s.", day=shown)
    return redirect(f"/app/slots/{slot.id}", message)


@router.post("/slots/{slot_id}/pins")
def pin(
    slot_id: Id,
    request: Request,
    session: SessionDep,
    who: Acting,
    occurrence_id: Annotated[Id, Form()],
    production_id: Annotated[Id, Form()],
) -> Response:
    """Pin a production into one occurrence of the slot (placements.pin); later fills keep it."""
    who.need("scheduler")
    slot = _visible_slot(session, who, slot_id)
    try:
        occurrence = session.get(Occurrence, occurrence_id)
        if occurrence is None or occurrence.slot_id != slot.id:
            raise Conflict(who._("Lượt phát này không thuộc khung giờ này."))
        airing, _occurrence = placements.pin(
            session,
            occurrence_id=occurrence_id,
            production_id=production_id,
            freshness_days=get_settings().freshness_days,
            by=who.user.display_name or who.user.name,
        )
        session.commit()
    except ServiceError as exc:
        session.rollback()
        return slot_page(
            request, session, who, broadcast_service.get_slot(session, slot_id), error=exc.detail, status_code=exc.status
        )
    title = session.get(Production, production_id)
    return redirect(
        f"/app/slots/{slot.id}",
        who._(
            "Đã ghim “%(title)s” vào lượt %(when)s.",
            title=title.title if title else "",
            when=wk.local_time_label(airing.start, slot.timezone),
        ),
    )
