"""Broadcast API: channels, areas, stations, slots, filling, airings, emergencies, campaigns, coverage."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from apitypes import Id, Moment
from auth import CurrentUser, Scheduler
from broadcast import airings as airings_service
from broadcast import asrun, placements, reach, service
from broadcast import scope as area_scope
from broadcast.list_routes import router as list_router
from broadcast.models import Airing, Channel, Occurrence, Slot
from broadcast.schemas import (
    AiringOut,
    AreaIn,
    AreaOut,
    AsRunOut,
    CampaignIn,
    CampaignOut,
    ChannelIn,
    ChannelOut,
    CoverageOut,
    CoverageRowOut,
    CoverageTotalOut,
    EmergencyIn,
    FillIn,
    FillOut,
    OccurrenceOut,
    PinIn,
    SlotExceptionIn,
    SlotIn,
    SlotOut,
    StationIn,
    StationOut,
    UnderfilledOut,
)
from db import SessionDep, utcnow
from errors import Conflict, Invalid, NotFound
from openapi import content
from settings import get_settings

router = APIRouter(prefix="/api", tags=["broadcast"])
UNDERFILLED_SHOWN = 500
CSV = {"content": content("text/csv")["content"]}  # the reports' `?format=csv` answer
OVERLAP_REFUSED = "Khung giờ trùng với một khung khác trên cùng đích; cơ sở dữ liệu đã từ chối (overlapping slot)"


def _airing_out(placed: reach.Placed) -> AiringOut:
    out = AiringOut.model_validate(placed.airing)
    out.occurrence_id, out.slot_id = placed.occurrence_id, placed.slot_id
    out.target_kind, out.target_id = placed.target_kind, placed.target_id
    return out


@router.post("/channels", status_code=status.HTTP_201_CREATED, response_model=ChannelOut)
def create_channel(body: ChannelIn, session: SessionDep, user: Scheduler) -> ChannelOut:
    """Create a channel or podcast show."""
    channel = service.create_channel(session, **body.model_dump())
    session.commit()
    return ChannelOut.model_validate(channel)


@router.post("/areas", status_code=status.HTTP_201_CREATED, response_model=AreaOut)
def create_area(body: AreaIn, session: SessionDep, user: Scheduler) -> AreaOut:
    """Add a province, district, commune or cluster, with quiet hours."""
    scope = area_scope.of(session, user)
    if not scope.everywhere:  # a scoped user adds areas beneath their own only
        area_scope.area(session, scope, body.parent_id or 0)
    area = service.create_area(session, **body.model_dump())
    session.commit()
    return AreaOut.model_validate(area)


@router.post("/stations", status_code=status.HTTP_201_CREATED, response_model=StationOut)
def create_station(body: StationIn, session: SessionDep, user: Scheduler) -> StationOut:
    """Register a loudspeaker station; its token is shown only in this response."""
    area_scope.area(session, area_scope.of(session, user), body.area_id)
    station, token = service.create_station(session, **body.model_dump())
    session.commit()
    out = StationOut.model_validate(station)
    out.token = token
    return out


@router.get("/stations/{station_id}", response_model=StationOut)
def get_station(station_id: Id, session: SessionDep, user: CurrentUser) -> StationOut:
    """A station with its last-seen time and last heartbeat (404 outside the user's area)."""
    return StationOut.model_validate(area_scope.station(session, area_scope.of(session, user), station_id))


@router.post("/stations/{station_id}/token", response_model=StationOut)
def rotate_station_token(station_id: Id, session: SessionDep, user: Scheduler) -> StationOut:
    """Issue a new station token (a lost or leaked one stops working at once); it is shown only in this response."""
    area_scope.station(session, area_scope.of(session, user), station_id)
    station, token = service.rotate_station_token(session, station_id=station_id)
    session.commit()
    out = StationOut.model_validate(station)
    out.token = token
    return out


@router.post("/slots", status_code=status.HTTP_201_CREATED, response_model=SlotOut)
def create_slot(body: SlotIn, session: SessionDep, user: Scheduler) -> SlotOut:
    """Create a recurring slot and expand it to the horizon; overlaps and quiet-hours clashes get 409 saying why."""
    area_scope.target(session, area_scope.of(session, user), body.target_kind, body.target_id)
    try:
        slot = service.create_slot(session, **body.model_dump())
        # Expanding now lets the database refuse a clash with a slot created at the same moment.
        service.expand(session, slots=[slot], horizon_days=get_settings().schedule_horizon_days)
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        if not service.is_overlap_refusal(exc):
            raise
        # The clashing slot is committed by now, so the service check can name it.
        service.create_slot(session, **body.model_dump())
        raise Conflict(OVERLAP_REFUSED) from exc
    return SlotOut.model_validate(slot)


@router.get("/slots/{slot_id}", response_model=SlotOut)
def get_slot(slot_id: Id, session: SessionDep, user: CurrentUser) -> SlotOut:
    """A slot with its rule and exceptions."""
    area_scope.slot(session, area_scope.of(session, user), slot_id)
    return SlotOut.model_validate(service.get_slot(session, slot_id))


@router.post("/slots/{slot_id}/exceptions", response_model=SlotOut)
def slot_exception(slot_id: Id, body: SlotExceptionIn, session: SessionDep, user: Scheduler) -> SlotOut:
    """Cancel one date of a slot or add an extra one (refused if it overlaps); its occurrences follow."""
    area_scope.slot(session, area_scope.of(session, user), slot_id)
    slot = service.get_slot(session, slot_id)
    try:
        service.set_exception(session, slot=slot, day=body.date, add=body.action == "add")
        service.expand(session, slots=[slot], horizon_days=get_settings().schedule_horizon_days)
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        if not service.is_overlap_refusal(exc):
            raise
        raise Conflict(OVERLAP_REFUSED) from exc
    return SlotOut.model_validate(slot)


@router.get("/occurrences", response_model=list[OccurrenceOut])
def list_occurrences(
    session: SessionDep,
    user: CurrentUser,
    slot_id: Id | None = None,
    start: Moment | None = None,
    end: Moment | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[OccurrenceOut]:
    """Occurrences the beat task has expanded (reading never expands)."""
    query = select(Occurrence).order_by(Occurrence.start, Occurrence.id)
    scope = area_scope.of(session, user)
    if (in_scope := area_scope.slot_filter(scope)) is not None:  # None exactly when the scope is everywhere
        query = query.where(Occurrence.slot_id.in_(select(Slot.id).where(in_scope)))
    if slot_id is not None:
        query = query.where(Occurrence.slot_id == slot_id)
    if start is not None:
        query = query.where(Occurrence.end > start)
    if end is not None:
        query = query.where(Occurrence.start < end)
    return [OccurrenceOut.model_validate(o) for o in session.scalars(query.limit(limit))]


@router.post("/schedule/fill", response_model=FillOut)
def fill(body: FillIn, session: SessionDep, user: Scheduler) -> FillOut:
    """Fill occurrences in a window (a scoped user: those in their area) with approved content; what was placed, and gaps."""
    freshness = body.freshness_days if body.freshness_days is not None else get_settings().freshness_days
    only = area_scope.occurrence_ids(session, area_scope.of(session, user), body.start, body.end)  # a scoped user: their area
    result = airings_service.fill(session, start=body.start, end=body.end, freshness_days=freshness, occurrence_ids=only)
    session.commit()
    gaps = sorted(result.underfilled, key=lambda g: (g.underfill.occurrence_start, g.underfill.slot_id))
    return FillOut(
        occurrences=result.occurrences,
        placed=result.placed,
        created=result.created,
        plans=result.plans,
        unchanged=result.unchanged,
        kept_pinned=result.kept_pinned,
        freshness_days=freshness,
        underfilled_total=result.underfilled_total,
        # Occurrences sharing a plan share its gap: each entry names one and says how many are alike.
        underfilled=[
            UnderfilledOut(
                slot_id=g.underfill.slot_id,
                occurrence_start=g.underfill.occurrence_start,
                remaining_s=round(g.underfill.remaining_s, 3),
                reason=g.underfill.reason,
                occurrences=g.occurrences,
            )
            for g in gaps[:UNDERFILLED_SHOWN]
        ],
    )


@router.post("/schedule/pins", status_code=status.HTTP_201_CREATED, response_model=AiringOut)
def pin(body: PinIn, session: SessionDep, user: Scheduler) -> AiringOut:
    """Place a production in an occurrence by hand; this and later fills keep it."""
    scope = area_scope.of(session, user)
    if not scope.everywhere:
        found = session.get(Occurrence, body.occurrence_id)
        if found is not None:
            area_scope.target(session, scope, found.target_kind, found.target_id)
    airing, occurrence = placements.pin(
        session,
        occurrence_id=body.occurrence_id,
        production_id=body.production_id,
        freshness_days=get_settings().freshness_days,
        by=user.display_name or user.name,
    )
    session.commit()
    slot = session.get(Slot, occurrence.slot_id)
    return _airing_out(
        reach.Placed(
            airing,
            occurrence.target_kind,
            occurrence.target_id,
            occurrence.id,
            occurrence.slot_id,
            occurrence.end,
            slot.overrun if slot else "cut",
        )
    )


@router.get("/airings", response_model=list[AiringOut])
def list_airings(
    session: SessionDep,
    user: CurrentUser,
    station_id: Id | None = None,
    channel_id: Id | None = None,
    area_id: Id | None = None,
    start: Moment | None = None,
    end: Moment | None = None,
    include_withdrawn: bool = False,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[AiringOut]:
    """Airings that reach a station, a channel or an area in a window (default: yesterday to the horizon), with reasons."""
    now = utcnow()
    start = start or now - timedelta(days=1)
    end = end or now + timedelta(days=get_settings().schedule_horizon_days)
    scope = area_scope.of(session, user)
    if station_id is not None:
        station = area_scope.station(session, scope, station_id)
        rows = reach.for_station(session, station, start=start, end=end, include_withdrawn=include_withdrawn)
    elif channel_id is not None:
        area_scope.target(session, scope, "channel", channel_id)
        if session.get(Channel, channel_id) is None:
            raise NotFound(f"Không có kênh {channel_id} (channel not found)")
        rows = reach.placed(session, [("channel", [channel_id])], start=start, end=end, include_withdrawn=include_withdrawn)
    elif area_id is not None:
        area_scope.area(session, scope, area_id)
        rows = reach.placed(session, [("area", [area_id])], start=start, end=end, include_withdrawn=include_withdrawn)
    else:
        query = select(Airing).where(Airing.end > start, Airing.start < end)
        if not scope.everywhere:
            query = query.where(
                or_(
                    and_(Airing.target_kind == "area", Airing.target_id.in_(area_scope.area_ids(scope))),
                    and_(Airing.target_kind == "station", Airing.target_id.in_(area_scope.station_ids(scope))),
                )
            )
        direct = session.scalars(query.order_by(Airing.start, Airing.id).limit(limit))
        return [AiringOut.model_validate(a) for a in direct]
    return [_airing_out(p) for p in rows[:limit]]


@router.post("/emergency", status_code=status.HTTP_201_CREATED, response_model=AiringOut)
def emergency(body: EmergencyIn, session: SessionDep, user: Scheduler) -> AiringOut:
    """Air an approved production at once at the head of every station in an area."""
    area_scope.area(session, area_scope.of(session, user), body.area_id)
    airing = placements.emergency(session, production_id=body.production_id, area_id=body.area_id)
    session.commit()
    return AiringOut.model_validate(airing)


@router.post("/campaigns", status_code=status.HTTP_201_CREATED, response_model=CampaignOut)
def create_campaign(body: CampaignIn, session: SessionDep, user: Scheduler) -> CampaignOut:
    """A campaign the scheduler honours: each station in the areas gets the minimum airings in the window."""
    scope = area_scope.of(session, user)
    for area_id in body.area_ids if not scope.everywhere else ():
        area_scope.area(session, scope, area_id)
    campaign = service.create_campaign(session, **body.model_dump())
    session.commit()
    return CampaignOut(id=campaign.id, **body.model_dump())


@router.get("/reports/coverage", response_model=None, responses={200: {"model": CoverageOut, **CSV}})
def coverage(
    session: SessionDep,
    user: CurrentUser,
    start: Moment,
    end: Moment,
    area_id: Id | None = None,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Response | CoverageOut:
    """Scheduled against aired by area, station and production, as JSON (with totals) or CSV."""
    if end <= start:
        raise Invalid("Thời điểm kết thúc phải sau thời điểm bắt đầu (end must be after start)")
    scope = area_scope.of(session, user)
    if area_id is not None:
        area_scope.area(session, scope, area_id)
    area_id = area_id if area_id is not None else scope.area_id  # a scoped user's report covers their area only
    rows = asrun.coverage(session, start=start, end=end, area_id=area_id)
    if format == "csv":
        return Response(
            asrun.coverage_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="coverage.csv"'},
        )
    return CoverageOut(
        start=start,
        end=end,
        area_id=area_id,
        rows=[CoverageRowOut.model_validate(row, from_attributes=True) for row in rows],
        by_area=_totals_out(asrun.totals(rows, "area"), "area"),
        by_production=_totals_out(asrun.totals(rows, "production"), "production"),
    )


def _totals_out(totals: list[asrun.CoverageTotal], by: str) -> list[CoverageTotalOut]:
    """Totals as the API names them: `area_id` and `area`, or `production_id` and `production`."""
    return [
        CoverageTotalOut.model_validate(
            {f"{by}_id": t.key, by: t.name, "scheduled": t.scheduled, "aired": t.aired, "missing": t.missing}
        )
        for t in totals
    ]


@router.get("/reports/asrun", response_model=None, responses={200: {"model": AsRunOut, **CSV}})
def asrun_log(
    session: SessionDep,
    user: CurrentUser,
    start: Moment,
    end: Moment,
    station_id: Id | None = None,
    area_id: Id | None = None,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Response | AsRunOut:
    """The as-run log: what each station played, with the title and script version it had then, as JSON or CSV."""
    scope = area_scope.of(session, user)
    if station_id is not None:
        area_scope.station(session, scope, station_id)
    if area_id is not None:
        area_scope.area(session, scope, area_id)
    elif station_id is None:
        area_id = scope.area_id
    rows = asrun.log_rows(session, start=start, end=end, station_id=station_id, area_id=area_id)
    if format == "csv":
        return Response(
            asrun.rows_csv(rows, asrun.ASRUN_FIELDS),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="asrun.csv"'},
        )
    return AsRunOut.model_validate({"start": start, "end": end, "rows": rows})


router.include_router(list_router)  # GET lists and the area tree (broadcast/list_routes.py)
