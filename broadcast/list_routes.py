"""Broadcast lists in the API: stations, areas (a tree), channels and slots, filtered, sorted and paged.

Included by broadcast.routes into its router; any staff user may read them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from apitypes import Id
from auth import Staff
from broadcast import lists
from broadcast import scope as area_scope
from broadcast.models import ChannelKind
from broadcast.schemas import AreaNodeOut, ChannelOut, SlotOut, StationOut
from db import SessionDep
from pagination import Page, Paging, QueryText, Sort, page_of, sorting

router = APIRouter(tags=["broadcast"])  # broadcast.routes includes it under its /api prefix

Contains = Annotated[QueryText | None, Query(max_length=200, description="part of the name or code, case-insensitive")]
StationSort = Annotated[Sort, sorting(tuple(lists.STATION_SORTS), default="id")]
ChannelSort = Annotated[Sort, sorting(tuple(lists.CHANNEL_SORTS), default="slug")]
SlotSort = Annotated[Sort, sorting(tuple(lists.SLOT_SORTS), default="id")]
AreaSort = Annotated[Sort, sorting(tuple(lists.AREA_SORTS), default="name")]
AREA_FIELDS = ("id", "path", "name", "kind", "parent_id", "code", "quiet_start", "quiet_end")


@router.get("/stations", response_model=Page[StationOut])
def list_stations(
    session: SessionDep,
    user: Staff,
    paging: Paging,
    sort: StationSort,
    q: Contains = None,
    area_id: Annotated[Id | None, Query(description="stations in this area or any area beneath it")] = None,
) -> Page[StationOut]:
    """Stations with their last-seen time and heartbeat, by name or code and by area (sub-areas included)."""
    scope = area_scope.of(session, user)
    if area_id is not None:
        area_scope.area(session, scope, area_id)
    area_id = area_id if area_id is not None else scope.area_id  # a scoped user lists their area's stations only
    listing = lists.list_stations(session, params=paging, sort=sort, q=q, area_id=area_id)
    return page_of(StationOut, listing, paging)


@router.get("/areas", response_model=Page[AreaNodeOut])
def list_areas(
    session: SessionDep,
    user: Staff,
    paging: Paging,
    sort: AreaSort,
    root_id: Annotated[Id | None, Query(description="only this area and what lies beneath it")] = None,
) -> Page[AreaNodeOut]:
    """The area tree: a page of top-level areas, each with its sub-areas nested in `children`."""
    scope = area_scope.of(session, user)
    if root_id is not None:
        area_scope.area(session, scope, root_id)
    root_id = root_id if root_id is not None else scope.area_id  # a scoped user's tree starts at their area
    listing = lists.area_tree(session, params=paging, sort=sort, root_id=root_id)
    return page_of(AreaNodeOut, listing, paging, lambda node: AreaNodeOut.model_validate(lists.node_dict(node, AREA_FIELDS)))


@router.get("/channels", response_model=Page[ChannelOut])
def list_channels(
    session: SessionDep,
    user: Staff,
    paging: Paging,
    sort: ChannelSort,
    q: Contains = None,
    kind: ChannelKind | None = None,
) -> Page[ChannelOut]:
    """Channels and podcast shows, by kind and by slug or name."""
    listing = lists.list_channels(session, params=paging, sort=sort, kind=kind, q=q)
    return page_of(ChannelOut, listing, paging)


@router.get("/slots", response_model=Page[SlotOut])
def list_slots(
    session: SessionDep,
    user: Staff,
    paging: Paging,
    sort: SlotSort,
    target_kind: Literal["channel", "area", "station"] | None = None,
    target_id: Annotated[Id | None, Query()] = None,
    active: bool | None = None,
) -> Page[SlotOut]:
    """Recurring slots on a target (channel, area or station), active or not (a scoped user: those in their area)."""
    scope = area_scope.of(session, user)
    listing = lists.list_slots(
        session,
        params=paging,
        sort=sort,
        target_kind=target_kind,
        target_id=target_id,
        active=active,
        within=area_scope.slot_filter(scope),
    )
    return page_of(SlotOut, listing, paging)
