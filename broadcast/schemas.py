"""Request and response bodies of the broadcast API."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from broadcast.models import AreaKind, ChannelKind


class ChannelIn(BaseModel):
    """A new channel or show."""

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,78}$")
    name: str = Field(min_length=1, max_length=200)
    kind: ChannelKind
    description: str = ""
    owner_email: str = ""


class ChannelOut(ChannelIn):
    """A stored channel."""

    model_config = ConfigDict(from_attributes=True)

    id: int


class AreaIn(BaseModel):
    """A new area in the province/district/commune/cluster tree."""

    name: str = Field(min_length=1, max_length=200)
    kind: AreaKind
    parent_id: int | None = None
    code: str | None = None
    quiet_start: time | None = Field(default=None, description="e.g. 21:30")
    quiet_end: time | None = Field(default=None, description="e.g. 05:30")


class AreaOut(AreaIn):
    """A stored area."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    path: str


class StationIn(BaseModel):
    """A new loudspeaker station."""

    area_id: int
    name: str = Field(min_length=1, max_length=200)
    code: str | None = None


class StationOut(BaseModel):
    """A stored station (the token appears only in the creation response) with its last heartbeat."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    area_id: int
    name: str
    code: str | None
    last_seen_at: datetime | None
    status: dict[str, object] = {}
    token: str | None = None


class SlotIn(BaseModel):
    """A recurring slot."""

    name: str = Field(min_length=1, max_length=200)
    target_kind: Literal["channel", "area", "station"]
    target_id: int
    rrule: str = Field(examples=["FREQ=DAILY", "FREQ=WEEKLY;BYDAY=SU"])
    timezone: str = "Asia/Ho_Chi_Minh"
    dtstart: date
    start_time: time
    duration_s: int = Field(gt=0, le=6 * 3600)
    overrun: Literal["cut", "finish", "refuse"] = "cut"
    exdates: list[date] = []
    rdates: list[date] = []


class SlotOut(SlotIn):
    """A stored slot."""

    model_config = ConfigDict(from_attributes=True)

    id: int


class SlotExceptionIn(BaseModel):
    """Cancel or add one date of a slot."""

    date: date
    action: Literal["cancel", "add"]


class FillIn(BaseModel):
    """Window to fill."""

    start: datetime
    end: datetime
    freshness_days: int | None = Field(default=None, ge=0, le=60)


class PinIn(BaseModel):
    """A manual placement."""

    occurrence_id: int
    production_id: int


class EmergencyIn(BaseModel):
    """An emergency broadcast."""

    production_id: int
    area_id: int


class CampaignIn(BaseModel):
    """A campaign: content that must reach areas a number of times in a window."""

    name: str = Field(min_length=1, max_length=300)
    topic: str | None = None
    production_ids: list[int] = Field(min_length=1)
    area_ids: list[int] = Field(min_length=1)
    start: datetime
    end: datetime
    min_airings_per_station: int = Field(default=2, ge=1, le=50)


class OccurrenceOut(BaseModel):
    """One expanded occurrence of a slot."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    slot_id: int
    target_kind: str
    target_id: int
    start: datetime
    end: datetime


class AiringOut(BaseModel):
    """An airing with the reason it was chosen, as the target it reaches sees it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    plan_id: int | None
    occurrence_id: int | None = None
    slot_id: int | None = None
    target_kind: str | None
    target_id: int | None
    production_id: int
    output_id: int
    start: datetime
    end: datetime
    priority: str
    status: str
    reason: str
    pinned: bool


class PlayIn(BaseModel):
    """One as-run report from a station."""

    airing_id: int
    played_at: datetime
    duration_s: float = Field(ge=0)
    status: Literal["played", "cut", "failed", "skipped"] = Field(
        default="played", description="cut: stopped with a fade at the slot end (overrun policy cut)"
    )


class PlaysIn(BaseModel):
    """A batch of as-run reports and an optional heartbeat."""

    plays: list[PlayIn] = Field(default=[], max_length=1000)
    heartbeat: dict[str, object] | None = None
