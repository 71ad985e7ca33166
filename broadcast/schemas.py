"""Request and response bodies of the broadcast API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from apitypes import Day, Id, LocalTime, Moment
from broadcast.models import AreaKind, ChannelKind
from textclean import clean_name, clean_optional_name, clean_text

# More cancelled or added dates than a slot could need in years; each one costs on every expansion.
MAX_EXCEPTIONS = 1000


def _name(value: str) -> str:
    cleaned = clean_name(value)
    if not cleaned:
        raise ValueError("tên rỗng sau khi bỏ ký tự điều khiển (empty name once control characters are removed)")
    return cleaned


# Names and titles are one line: control and bidi-override characters out (an M3U or log line injection otherwise).
Name = Annotated[str, AfterValidator(_name)]
OptionalName = Annotated[str | None, AfterValidator(clean_optional_name)]
# An area's or station's code is unique; a blank one means none.
Code = Annotated[str | None, AfterValidator(lambda value: clean_optional_name(value) or None)]


def _exception_days(value: list[date]) -> list[date]:
    days = sorted(set(value))
    if len(days) > MAX_EXCEPTIONS:
        raise ValueError(
            f"quá nhiều ngày ngoại lệ: {len(days)} ngày khác nhau, tối đa {MAX_EXCEPTIONS} "
            f"(too many exception dates: {len(days)} distinct, limit {MAX_EXCEPTIONS})"
        )
    return days


ExceptionDays = Annotated[list[Day], AfterValidator(_exception_days)]


class ChannelIn(BaseModel):
    """A new channel or show."""

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,78}$")
    name: Name = Field(min_length=1, max_length=200)
    kind: ChannelKind
    # Bounded as their columns are (PostgreSQL refuses longer), NUL refused, and no control character that
    # would break the feeds' XML.
    description: Annotated[str, AfterValidator(clean_text)] = Field(default="", max_length=4000)
    owner_email: Annotated[str, AfterValidator(clean_name)] = Field(default="", max_length=200)


class ChannelOut(ChannelIn):
    """A stored channel."""

    model_config = ConfigDict(from_attributes=True)

    id: int


class AreaIn(BaseModel):
    """A new area in the province/district/commune/cluster tree."""

    name: Name = Field(min_length=1, max_length=200)
    kind: AreaKind
    parent_id: Id | None = None
    code: Code = Field(default=None, max_length=40)
    quiet_start: LocalTime | None = Field(default=None, description="local time, e.g. 21:30")
    quiet_end: LocalTime | None = Field(default=None, description="local time, e.g. 05:30")


class AreaOut(AreaIn):
    """A stored area."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    path: str


class StationIn(BaseModel):
    """A new loudspeaker station."""

    area_id: Id
    name: Name = Field(min_length=1, max_length=200)
    code: Code = Field(default=None, max_length=40)


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

    name: Name = Field(min_length=1, max_length=200)
    target_kind: Literal["channel", "area", "station"]
    target_id: Id
    rrule: str = Field(max_length=400, examples=["FREQ=DAILY", "FREQ=WEEKLY;BYDAY=SU"])
    timezone: str = Field(default="Asia/Ho_Chi_Minh", max_length=60)
    dtstart: Day
    start_time: LocalTime = Field(description="local time in the slot's timezone, without a UTC offset, e.g. 05:30")
    duration_s: int = Field(gt=0, le=6 * 3600)
    overrun: Literal["cut", "finish", "refuse"] = "cut"
    exdates: ExceptionDays = Field(default=[], description=f"cancelled dates (deduplicated; at most {MAX_EXCEPTIONS})")
    rdates: ExceptionDays = Field(default=[], description=f"added dates (deduplicated; at most {MAX_EXCEPTIONS})")


class SlotOut(SlotIn):
    """A stored slot."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    # Stored rows are shown as they are, even ones accepted before today's input rules.
    dtstart: date
    exdates: list[date] = []
    rdates: list[date] = []


class SlotExceptionIn(BaseModel):
    """Cancel or add one date of a slot."""

    date: Day
    action: Literal["cancel", "add"]


class FillIn(BaseModel):
    """Window to fill."""

    start: Moment
    end: Moment
    freshness_days: int | None = Field(default=None, ge=0, le=60)


class PinIn(BaseModel):
    """A manual placement."""

    occurrence_id: Id
    production_id: Id


class EmergencyIn(BaseModel):
    """An emergency broadcast."""

    production_id: Id
    area_id: Id


class CampaignIn(BaseModel):
    """A campaign: content that must reach areas a number of times in a window."""

    name: Name = Field(min_length=1, max_length=300)
    topic: OptionalName = Field(default=None, max_length=200)
    production_ids: list[Id] = Field(min_length=1, max_length=1000)
    area_ids: list[Id] = Field(min_length=1, max_length=1000)
    start: Moment
    end: Moment
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


Outcome = Literal["played", "cut", "skipped", "overran", "failed"]


class PlayIn(BaseModel):
    """One as-run report from a station: the slot's overrun policy and, apart from it, what actually happened."""

    airing_id: Id
    played_at: datetime = Field(description="when it started; a time without a UTC offset is read as UTC")
    duration_s: float = Field(ge=0, allow_inf_nan=False)
    overrun: Literal["cut", "finish", "refuse"] | None = Field(
        default=None, description="the overrun policy of the slot, as the station applied it"
    )
    outcome: Outcome | None = Field(
        default=None,
        description="played: in full within the slot; cut: stopped with a fade at the slot end; skipped: not started "
        "because it would run past the slot end; overran: played in full past the slot end; failed: the player failed",
    )
    status: Literal["played", "cut", "failed", "skipped"] | None = Field(
        default=None, description="deprecated: the outcome, as agents before `outcome` sent it"
    )

    @model_validator(mode="after")
    def _outcome(self) -> PlayIn:
        if self.outcome is None:
            self.outcome = self.status or "played"
        return self


class PlaysIn(BaseModel):
    """A batch of as-run reports and an optional heartbeat."""

    plays: list[PlayIn] = Field(default=[], max_length=1000)
    heartbeat: dict[str, object] | None = None


class AreaNodeOut(AreaOut):
    """An area with the areas beneath it, nested (GET /api/areas)."""

    children: list[AreaNodeOut] = []


# --- answers that were plain dicts: their shape, so the OpenAPI document is true --------------------------


class UnderfilledOut(BaseModel):
    """An occurrence left with unused time, why, and how many occurrences share its plan (and gap)."""

    slot_id: int
    occurrence_start: datetime
    remaining_s: float
    reason: str
    occurrences: int


class FillOut(BaseModel):
    """What a fill did (POST /api/schedule/fill)."""

    occurrences: int
    placed: int
    created: int
    plans: int
    unchanged: int
    kept_pinned: int
    freshness_days: int
    underfilled_total: int
    underfilled: list[UnderfilledOut]


class CampaignOut(CampaignIn):
    """A stored campaign."""

    id: int


class CoverageTotalOut(BaseModel):
    """Coverage summed by area (`area_id`, `area`) or by production (`production_id`, `production`)."""

    model_config = ConfigDict(extra="allow")

    scheduled: int
    aired: int
    missing: int


class CoverageRowOut(BaseModel):
    """Scheduled against aired for one station and production."""

    area_id: int
    area: str
    station_id: int
    station: str
    production_id: int
    production: str
    scheduled: int
    aired: int
    missing: int


class CoverageOut(BaseModel):
    """The coverage report as JSON."""

    start: datetime
    end: datetime
    area_id: int | None
    rows: list[CoverageRowOut]
    by_area: list[CoverageTotalOut]
    by_production: list[CoverageTotalOut]


class AsRunRowOut(BaseModel):
    """One as-run report as stored: what aired, under the title and script version it had then."""

    station_id: int
    station: str
    area_id: int
    airing_id: int
    production_id: int
    production_title: str
    script_version: int
    scheduled_start: datetime
    played_at: datetime
    duration_s: float
    overrun: str | None
    outcome: str


class AsRunOut(BaseModel):
    """The as-run log as JSON."""

    start: datetime
    end: datetime
    rows: list[AsRunRowOut]


class StationMeOut(BaseModel):
    """The station a token belongs to."""

    id: int
    name: str
    area_id: int


class PlaysOut(BaseModel):
    """What became of a batch of as-run reports: stored, already stored, and refused airing ids."""

    stored: int
    duplicates: int
    rejected: list[int]


class ScheduleItemOut(BaseModel):
    """One item of a station's schedule."""

    airing_id: int
    start: datetime
    end: datetime
    slot_end: datetime
    overrun: str
    priority: str
    title: str
    production_id: int
    media_url: str
    sha256: str
    bytes: int
    duration_s: float
    reason: str


class StationScheduleOut(BaseModel):
    """A station's schedule for the next hours (GET /stations/{id}/schedule.json)."""

    station_id: int
    items: list[ScheduleItemOut]
