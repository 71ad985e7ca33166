"""Broadcast API: channels, areas, stations, slots, filling, airings, emergencies, campaigns, coverage."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy import select

from auth import CurrentUser, Scheduler
from broadcast import airings as airings_service
from broadcast import asrun
from broadcast import service
from broadcast.models import Airing, Campaign, Station
from broadcast.schemas import (
    AiringOut,
    AreaIn,
    AreaOut,
    CampaignIn,
    ChannelIn,
    ChannelOut,
    EmergencyIn,
    FillIn,
    PinIn,
    SlotExceptionIn,
    SlotIn,
    SlotOut,
    StationIn,
    StationOut,
)
from db import SessionDep, utcnow
from errors import NotFound
from settings import get_settings

router = APIRouter(prefix="/api", tags=["broadcast"])


@router.post("/channels", status_code=status.HTTP_201_CREATED, response_model=ChannelOut)
def create_channel(body: ChannelIn, session: SessionDep, user: Scheduler) -> ChannelOut:
    """Create a channel or podcast show."""
    channel = service.create_channel(session, **body.model_dump())
    session.commit()
    return ChannelOut.model_validate(channel)


@router.post("/areas", status_code=status.HTTP_201_CREATED, response_model=AreaOut)
def create_area(body: AreaIn, session: SessionDep, user: Scheduler) -> AreaOut:
    """Add a province, district, commune or cluster, with quiet hours."""
    area = service.create_area(session, **body.model_dump())
    session.commit()
    return AreaOut.model_validate(area)


@router.post("/stations", status_code=status.HTTP_201_CREATED, response_model=StationOut)
def create_station(body: StationIn, session: SessionDep, user: Scheduler) -> StationOut:
    """Register a loudspeaker station; its token is shown only in this response."""
    station, token = service.create_station(session, **body.model_dump())
    session.commit()
    out = StationOut.model_validate(station)
    out.token = token
    return out


@router.get("/stations/{station_id}", response_model=StationOut)
def get_station(station_id: int, session: SessionDep, user: CurrentUser) -> StationOut:
    """A station with its last-seen time."""
    station = session.get(Station, station_id)
    if station is None:
        raise NotFound(f"Không có trạm {station_id}")
    return StationOut.model_validate(station)


@router.post("/slots", status_code=status.HTTP_201_CREATED, response_model=SlotOut)
def create_slot(body: SlotIn, session: SessionDep, user: Scheduler) -> SlotOut:
    """Create a recurring slot; overlaps on the same target and quiet-hours clashes get 409."""
    slot = service.create_slot(session, **body.model_dump())
    session.commit()
    return SlotOut.model_validate(slot)


@router.post("/slots/{slot_id}/exceptions", response_model=SlotOut)
def slot_exception(slot_id: int, body: SlotExceptionIn, session: SessionDep, user: Scheduler) -> SlotOut:
    """Cancel one date of a slot or add an extra one."""
    slot = service.set_exception(session, slot=service.get_slot(session, slot_id), day=body.date, add=body.action == "add")
    service.expand(session, slots=[slot], horizon_days=get_settings().schedule_horizon_days)
    session.commit()
    return SlotOut.model_validate(slot)


@router.post("/schedule/fill")
def fill(body: FillIn, session: SessionDep, user: Scheduler) -> dict[str, object]:
    """Fill occurrences in a window with approved content; returns airings made and under-filled slots."""
    result = airings_service.fill(
        session, start=body.start, end=body.end, freshness_days=body.freshness_days if body.freshness_days is not None else get_settings().freshness_days
    )
    session.commit()
    return {
        "created": result.created,
        "kept_pinned": result.kept_pinned,
        "underfilled": [
            {"slot_id": u.slot_id, "occurrence_start": u.occurrence_start, "remaining_s": round(u.remaining_s, 3), "reason": u.reason}
            for u in result.underfilled
        ],
    }


@router.post("/schedule/pins", status_code=status.HTTP_201_CREATED, response_model=AiringOut)
def pin(body: PinIn, session: SessionDep, user: Scheduler) -> AiringOut:
    """Place a production in an occurrence by hand; later fills keep it."""
    airing = airings_service.pin(session, occurrence_id=body.occurrence_id, production_id=body.production_id)
    session.commit()
    return AiringOut.model_validate(airing)


@router.get("/airings", response_model=list[AiringOut])
def list_airings(
    session: SessionDep, user: CurrentUser, station_id: int | None = None, channel_id: int | None = None,
    start: datetime | None = None, end: datetime | None = None, limit: Annotated[int, Query(le=5000)] = 500,
) -> list[AiringOut]:
    """Airings by station (everything that reaches it) or channel, in a window, each with its reason."""
    if station_id is not None:
        station = session.get(Station, station_id)
        if station is None:
            raise NotFound(f"Không có trạm {station_id}")
        now = utcnow()
        rows = airings_service.airings_for_station(
            session, station, start=start or now - timedelta(days=1), end=end or now + timedelta(days=get_settings().schedule_horizon_days)
        )
    else:
        query = select(Airing).order_by(Airing.start)
        if channel_id is not None:
            query = query.where(Airing.target_kind == "channel", Airing.target_id == channel_id)
        if start is not None:
            query = query.where(Airing.end > start)
        if end is not None:
            query = query.where(Airing.start < end)
        rows = list(session.scalars(query.limit(limit)))
    return [AiringOut.model_validate(a) for a in rows[:limit]]


@router.post("/emergency", status_code=status.HTTP_201_CREATED, response_model=AiringOut)
def emergency(body: EmergencyIn, session: SessionDep, user: Scheduler) -> AiringOut:
    """Air an approved production at once at the head of every station in an area."""
    airing = airings_service.emergency(session, production_id=body.production_id, area_id=body.area_id)
    session.commit()
    return AiringOut.model_validate(airing)


@router.post("/campaigns", status_code=status.HTTP_201_CREATED)
def create_campaign(body: CampaignIn, session: SessionDep, user: Scheduler) -> dict[str, object]:
    """A campaign the scheduler honours: each station in the areas gets the minimum airings in the window."""
    campaign = Campaign(**body.model_dump())
    session.add(campaign)
    session.commit()
    return {"id": campaign.id, **body.model_dump(mode="json")}


@router.get("/reports/coverage", response_model=None)
def coverage(
    session: SessionDep, user: CurrentUser, start: datetime, end: datetime, area_id: int | None = None,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Response | dict[str, object]:
    """Scheduled against aired by area, station and production, as JSON or CSV."""
    rows = asrun.coverage(session, start=start, end=end, area_id=area_id)
    if format == "csv":
        return Response(asrun.coverage_csv(rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="coverage.csv"'})
    return {"start": start, "end": end, "rows": rows}
