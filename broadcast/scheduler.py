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
from datetime import datetime

from broadcast._planner import Planner
from broadcast.schedule_types import (
    MIN_GAP_S,
    NEVER,
    ONE_US,
    PRIORITIES,
    Campaign,
    Candidate,
    Existing,
    FillResult,
    Key,
    PlannedAiring,
    SlotOccurrence,
    Underfill,
    clock,
)

__all__ = [
    "MIN_GAP_S",
    "NEVER",
    "ONE_US",
    "PRIORITIES",
    "Campaign",
    "Candidate",
    "Existing",
    "FillResult",
    "Key",
    "PlannedAiring",
    "SlotOccurrence",
    "Underfill",
    "clock",
    "fill",
]


def fill(
    occurrences: Sequence[SlotOccurrence],
    candidates: Sequence[Candidate],
    *,
    campaigns: Sequence[Campaign] = (),
    existing: Sequence[Existing] = (),
    freshness_days: int = 3,
    now: datetime,
    share: bool = False,
) -> FillResult:
    """Allocate candidates to occurrences (see the module docstring for the rules); pure and deterministic."""
    planner = Planner(occurrences, candidates, campaigns, existing, freshness_days, now, share)
    return planner.run(occurrences)
