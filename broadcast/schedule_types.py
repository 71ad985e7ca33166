"""The scheduler's plain data: occurrences, candidates, campaigns and existing airings in; planned airings out.

Below the scheduler and its planner, so every module of the fill imports these and none imports another's types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

PRIORITIES = ("emergency", "priority", "normal")
MIN_GAP_S = 1.0
ONE_US = timedelta(microseconds=1)
NEVER = datetime.min.replace(tzinfo=UTC)

Key = tuple[str, int]


class SlotOccurrence(NamedTuple):
    """One occurrence of a slot and the stations it reaches (empty for a channel without stations).

    A named tuple: callers build hundreds of thousands per fill, several times faster than a frozen dataclass.
    """

    slot_id: int
    start: datetime
    end: datetime
    target_kind: str
    target_id: int
    station_ids: tuple[int, ...] = ()
    overrun: str = "cut"
    ref: int = 0  # the caller's id for this occurrence, passed through untouched


@dataclass(frozen=True)
class Candidate:
    """An approved output that may be scheduled; area_ids empty means everywhere."""

    production_id: int
    output_id: int
    title: str
    duration_s: float
    priority: str
    approved_at: datetime
    topic: str | None = None
    area_ids: tuple[int, ...] = ()
    station_ids: tuple[int, ...] = ()
    series: int | None = None  # numbered parts of one bulletin share a series and air in part order
    part: int = 0


@dataclass(frozen=True)
class Campaign:
    """Each station must get at least min_airings_per_station airings of the productions in [start, end)."""

    id: int
    name: str
    topic: str | None
    production_ids: tuple[int, ...]
    start: datetime
    end: datetime
    station_ids: tuple[int, ...]
    min_airings_per_station: int


@dataclass(frozen=True)
class Existing:
    """An airing already in the schedule (planned, published or aired)."""

    slot_id: int
    occurrence_start: datetime
    production_id: int
    output_id: int
    start: datetime
    end: datetime
    station_ids: tuple[int, ...]
    pinned: bool


@dataclass(frozen=True)
class PlannedAiring:
    """An airing this fill decided, with its Vietnamese reason."""

    slot_id: int
    occurrence_start: datetime
    production_id: int
    output_id: int
    start: datetime
    end: datetime
    priority: str
    reason: str


@dataclass(frozen=True)
class Underfill:
    """An occurrence left with unused time, and why."""

    slot_id: int
    occurrence_start: datetime
    remaining_s: float
    reason: str


@dataclass(frozen=True)
class FillResult:
    """Airings to create, occurrences left under-filled, and (when sharing) follower -> leader occurrences."""

    airings: list[PlannedAiring]
    underfilled: list[Underfill]
    same_as: dict[tuple[int, datetime], tuple[int, datetime]] = field(default_factory=dict)


def clock(seconds: float) -> str:
    """Seconds as mm:ss, or h:mm:ss from an hour (rounded down to the second)."""
    whole = max(int(seconds), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"
