"""Pure allocation: approved content x slot occurrences -> airings, each with the reason it was chosen.

No database, no clock: callers pass plain data and `now`. Contract:
- Occurrences are filled in time order. Items are placed back to back from the occurrence start, after
  the existing airings the fill keeps; nothing ever ends after the occurrence end, whatever the overrun
  policy (that policy applies at play time). Durations are rounded up to whole microseconds.
- Existing airings inside a filled occurrence are kept (their time is used first) when pinned or already
  started (start < now). Non-pinned future ones are treated as replaced by this fill: the caller deletes
  them, and they count neither for time nor for freshness. Every other existing airing counts for
  freshness and campaign progress. Occurrences that ended before `now` are skipped; one in progress is
  filled from `now`.
- Ranking per occurrence: priority (emergency > priority > normal), then campaign need, then freshness
  (least recently aired at the stations reached first), then approved_at newest; the numbered parts
  of a series rank together, by the newest approval among them, in part order.
- Freshness: a production never airs twice within `freshness_days` at any station (or, for a target
  without stations such as a radio channel, on that target). Bookkeeping is per target key
  (kind, id): an airing is recorded on every target whose stations intersect its own, so a check is
  one dict lookup. Emergency items are exempt: they repeat in every slot until withdrawn.
- Packing: first-fit in rank order, then one best-fit swap: a normal, non-campaign item may be
  replaced by an eligible one that fills the leftover better and aired no more recently than it.
- Area restriction: a Candidate with area_ids airs only where it stays inside those areas. The caller
  resolves the areas to `Candidate.station_ids`; an occurrence qualifies when it targets one of the
  areas, or when it reaches stations and all of them are in `station_ids`.
- Gaps shorter than MIN_GAP_S are not reported as under-filled.
- Sharing (share=True): isolated targets with equal signatures get equal plans. Instead of copying the
  plan to every such target, `FillResult.same_as` maps each follower occurrence (slot_id, start) to the
  leader occurrence whose airings it repeats; `airings` and `underfilled` then hold the leaders' only
  (a follower's gap is its leader's).
"""

from __future__ import annotations

from collections.abc import Sequence
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


def fill(
    occurrences: Sequence[SlotOccurrence], candidates: Sequence[Candidate], *, campaigns: Sequence[Campaign] = (),
    existing: Sequence[Existing] = (), freshness_days: int = 3, now: datetime, share: bool = False,
) -> FillResult:
    """Allocate candidates to occurrences (see the module docstring for the rules); pure and deterministic."""
    from broadcast._planner import Planner  # the planner builds on this module's types

    planner = Planner(occurrences, candidates, campaigns, existing, freshness_days, now, share)
    return planner.run(occurrences)
