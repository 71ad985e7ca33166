"""Broadcast rows: channels, areas, stations, slots and occurrences, campaigns, airings, as-run log."""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db import Base, utcnow


class ChannelKind(enum.StrEnum):
    """Where a channel's content goes."""

    radio = "radio"
    tv = "tv"
    loudspeaker = "loudspeaker"
    podcast = "podcast"
    web = "web"


class AreaKind(enum.StrEnum):
    """Levels of the area tree (districts are optional since 2025)."""

    province = "province"
    district = "district"
    commune = "commune"
    cluster = "cluster"


class Priority(enum.StrEnum):
    """Broadcast priorities of Circular 39/2020/TT-BTTTT."""

    normal = "normal"
    priority = "priority"
    emergency = "emergency"


class AiringStatus(enum.StrEnum):
    """Life of an airing."""

    planned = "planned"
    published = "published"
    aired = "aired"
    missed = "missed"
    withdrawn = "withdrawn"


class Overrun(enum.StrEnum):
    """What a player does when an item would run past the slot end."""

    cut = "cut"
    finish = "finish"
    refuse = "refuse"


class Channel(Base):
    """A radio or TV channel, the loudspeaker network, or a podcast show."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_email: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Area(Base):
    """A province, district, commune or loudspeaker cluster, with its quiet hours."""

    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str | None] = mapped_column(String(40), unique=True)
    path: Mapped[str] = mapped_column(String(400), default="", index=True)
    quiet_start: Mapped[time | None]
    quiet_end: Mapped[time | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Station(Base):
    """A commune loudspeaker station that pulls its schedule with its own token."""

    __tablename__ = "stations"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str | None] = mapped_column(String(40), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_seen_at: Mapped[datetime | None]
    status: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Slot(Base):
    """A recurring broadcast window: RRULE + timezone, start time, duration, target, overrun policy."""

    __tablename__ = "slots"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    target_kind: Mapped[str] = mapped_column(String(10))
    target_id: Mapped[int] = mapped_column(index=True)
    rrule: Mapped[str] = mapped_column(String(400))
    timezone: Mapped[str] = mapped_column(String(60), default="Asia/Ho_Chi_Minh")
    dtstart: Mapped[date]
    start_time: Mapped[time]
    duration_s: Mapped[int]
    overrun: Mapped[str] = mapped_column(String(10), default=Overrun.cut.value)
    exdates: Mapped[list[Any]] = mapped_column(default=list)
    rdates: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (Index("ix_slots_target", "target_kind", "target_id"),)


class Occurrence(Base):
    """One expanded instance of a slot."""

    __tablename__ = "occurrences"
    # The unique (slot_id, start) index also serves lookups and cascades by slot_id.
    __table_args__ = (
        UniqueConstraint("slot_id", "start"),
        Index("ix_occurrences_target_start", "target_kind", "target_id", "start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slots.id", ondelete="CASCADE"))
    # Denormalised from the slot so PostgreSQL can refuse overlaps on a target with an exclusion constraint.
    target_kind: Mapped[str] = mapped_column(String(10))
    target_id: Mapped[int]
    start: Mapped[datetime] = mapped_column(index=True)
    end: Mapped[datetime]
    cancelled: Mapped[bool] = mapped_column(default=False)


# PostgreSQL refuses overlapping occurrences on one target in the database (SQLite relies on the service check).
# target_id leads: measured a third faster to insert into than with target_kind first.
POSTGRES_DDL = (
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    "ALTER TABLE occurrences ADD CONSTRAINT ex_occurrences_target_overlap EXCLUDE USING gist "
    '(target_id WITH =, target_kind WITH =, tstzrange(start, "end") WITH &&) WHERE (NOT cancelled)',
)
OVERLAP_CONSTRAINT = "ex_occurrences_target_overlap"


class Plan(Base):
    """Airings placed together in one occurrence window by a fill or a pin.

    Occurrences whose plans would be identical (stations with the same slots and history) share one plan
    through `occurrence_plans`, so 10,000 such stations store one set of airings, not 10,000 copies.
    """

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    start: Mapped[datetime]
    end: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OccurrencePlan(Base):
    """Link: this occurrence airs the airings of this plan."""

    __tablename__ = "occurrence_plans"

    occurrence_id: Mapped[int] = mapped_column(ForeignKey("occurrences.id", ondelete="CASCADE"), primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True, index=True)


class Campaign(Base):
    """Content that must reach target areas a minimum number of times in a date window."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    topic: Mapped[str | None] = mapped_column(String(200))
    production_ids: Mapped[list[Any]] = mapped_column(default=list)
    area_ids: Mapped[list[Any]] = mapped_column(default=list)
    start: Mapped[datetime]
    end: Mapped[datetime]
    min_airings_per_station: Mapped[int] = mapped_column(default=2)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Airing(Base):
    """One output at one time: in every occurrence its plan is linked to, or (no plan) directly on a target.

    Emergencies have no plan and target an area. A plan's airings carry the target of its occurrence
    while the plan serves one target; shared plans leave target_id empty (the links say where they air).
    """

    __tablename__ = "airings"
    __table_args__ = (Index("ix_airings_target_start", "target_kind", "target_id", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    target_kind: Mapped[str | None] = mapped_column(String(10))
    target_id: Mapped[int | None]
    production_id: Mapped[int] = mapped_column(ForeignKey("productions.id"), index=True)
    output_id: Mapped[int] = mapped_column(ForeignKey("outputs.id"))
    start: Mapped[datetime]
    end: Mapped[datetime]
    priority: Mapped[str] = mapped_column(String(10), default=Priority.normal.value)
    status: Mapped[str] = mapped_column(String(10), default=AiringStatus.planned.value)
    reason: Mapped[str] = mapped_column(Text, default="")
    pinned: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PlayReport(Base):
    """As-run log: what a station played, denormalised so it survives later edits."""

    __tablename__ = "play_reports"
    __table_args__ = (UniqueConstraint("station_id", "airing_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), index=True)
    airing_id: Mapped[int] = mapped_column(BigInteger)
    production_id: Mapped[int]
    production_title: Mapped[str] = mapped_column(String(500))
    script_version: Mapped[int]
    area_id: Mapped[int]
    scheduled_start: Mapped[datetime]
    played_at: Mapped[datetime]
    duration_s: Mapped[float]
    # The slot's policy (cut, finish, refuse) apart from what happened (played, cut, skipped, overran, failed).
    overrun: Mapped[str | None] = mapped_column(String(10))
    outcome: Mapped[str] = mapped_column(String(12), default="played")
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)


# Lists sort by these keys with the id as tiebreak (broadcast.lists): one index per (key, id), as in studio.models.
LIST_INDEXES = [
    Index(f"ix_{column.table.name}_{column.name}_id", column, column.table.c.id)
    for column in (Station.name, Station.last_seen_at, Slot.name)
]
