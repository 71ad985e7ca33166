"""Broadcast lists: stations, channels and slots filtered, sorted and paged; the area tree.

A seam of its own (service.py holds the writes): query functions that return a `pagination.Listing`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from broadcast import service
from broadcast.models import Area, Channel, Slot, Station
from pagination import Listing, PageParams, Sort, fetch, order_by

# Sort keys of tables that grow are indexed columns only (migration 0003): a deep page never sorts a whole table.
STATION_SORTS = {"id": Station.id, "name": Station.name, "code": Station.code, "last_seen_at": Station.last_seen_at}
CHANNEL_SORTS = {
    "id": Channel.id,
    "slug": Channel.slug,
    "name": Channel.name,
    "kind": Channel.kind,
    "created_at": Channel.created_at,
}
SLOT_SORTS = {"id": Slot.id, "name": Slot.name}
AREA_SORTS = {"id": Area.id, "name": Area.name, "code": Area.code, "kind": Area.kind}


def list_stations(
    session: Session,
    *,
    params: PageParams,
    sort: Sort,
    q: str | None = None,
    area_id: int | None = None,
) -> Listing[Station]:
    """Stations whose name or code contains `q` (case-insensitive), in an area or any area beneath it."""
    query = select(Station)
    if q:
        query = query.where(Station.name.icontains(q, autoescape=True) | Station.code.icontains(q, autoescape=True))
    if area_id is not None:
        area = service.get_area(session, area_id)
        # Areas carry their materialised path ("/1/7/"), so one prefix match finds every area beneath.
        under = select(Area.id).where(Area.path.startswith(area.path, autoescape=True))
        query = query.where(Station.area_id.in_(under))
    return fetch(session, query, params, order_by(sort, STATION_SORTS, Station.id))


def list_channels(
    session: Session, *, params: PageParams, sort: Sort, kind: str | None = None, q: str | None = None
) -> Listing[Channel]:
    """Channels and shows of a kind, whose slug or name contains `q`."""
    query = select(Channel)
    if kind is not None:
        query = query.where(Channel.kind == kind)
    if q:
        query = query.where(Channel.slug.icontains(q, autoescape=True) | Channel.name.icontains(q, autoescape=True))
    return fetch(session, query, params, order_by(sort, CHANNEL_SORTS, Channel.id))


def list_slots(
    session: Session,
    *,
    params: PageParams,
    sort: Sort,
    target_kind: str | None = None,
    target_id: int | None = None,
    active: bool | None = None,
    within: ColumnElement[bool] | None = None,
) -> Listing[Slot]:
    """Slots on a target (kind, id or both), active or not, and matching `within` (an area scope) when given."""
    query = select(Slot) if within is None else select(Slot).where(within)
    if target_kind is not None:
        query = query.where(Slot.target_kind == target_kind)
    if target_id is not None:
        query = query.where(Slot.target_id == target_id)
    if active is not None:
        query = query.where(Slot.active.is_(active))
    return fetch(session, query, params, order_by(sort, SLOT_SORTS, Slot.id))


@dataclass
class AreaNode:
    """An area and the areas directly beneath it, each with theirs."""

    area: Area
    children: list[AreaNode] = field(default_factory=list)


def area_tree(session: Session, *, params: PageParams, sort: Sort, root_id: int | None = None) -> Listing[AreaNode]:
    """The area tree, one page of top-level areas (or the subtree of `root_id`), children in the same order."""
    query = select(Area)
    if root_id is not None:
        root = service.get_area(session, root_id)
        query = query.where(Area.path.startswith(root.path, autoescape=True))
    rows = list(session.scalars(query.order_by(*order_by(sort, AREA_SORTS, Area.id))))
    nodes = {row.id: AreaNode(row) for row in rows}
    tops: list[AreaNode] = []
    for row in rows:  # rows are in sort order, so every children list is too
        parent = nodes.get(row.parent_id) if row.parent_id is not None and row.id != root_id else None
        (parent.children if parent else tops).append(nodes[row.id])
    return Listing(tops[params.offset : params.offset + params.per_page], len(tops))


def node_dict(node: AreaNode, fields: Sequence[str]) -> dict[str, Any]:
    """A tree node as plain data: the area's `fields` and its children, recursively."""
    out = {name: getattr(node.area, name) for name in fields}
    out["children"] = [node_dict(child, fields) for child in node.children]
    return out
