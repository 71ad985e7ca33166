"""The fill algorithm behind `scheduler.fill`: per-target rotation, campaign progress, packing, reasons.

Pure like the scheduler: plain data in, plain data out. The rules it implements are in the
docstring of broadcast/scheduler.py.
"""

from __future__ import annotations

import gc
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from broadcast._campaigns import CampaignProgress, CampaignState
from broadcast._reasons import CampaignNeed, explain
from broadcast._targets import Targets, may_air
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

_T = TypeVar("_T")


def _us(delta: timedelta) -> int:
    return delta // ONE_US


@dataclass(slots=True)
class _Item:
    candidate: Candidate
    level: int
    dur_us: int


class Planner:
    """State of one fill run: per-target rotation order, campaign progress, results."""

    def __init__(
        self,
        occurrences: Sequence[SlotOccurrence],
        candidates: Sequence[Candidate],
        campaigns: Sequence[Campaign],
        existing: Sequence[Existing],
        freshness_days: int,
        now: datetime,
        share: bool = False,
    ) -> None:
        self.now = now
        self.share = share
        self.same_as: dict[tuple[int, datetime], tuple[int, datetime]] = {}
        self.freshness_days = freshness_days
        self.fresh = timedelta(days=freshness_days)
        self.targets = Targets(occurrences)
        self.items = self._items(candidates)
        self.min_dur_us = min((item.dur_us for item in self.items.values()), default=0)
        self.order = self._orders()
        self.progress = CampaignProgress(campaigns, candidates, self.targets)
        self.campaigns = self.progress.states
        self.kept: dict[tuple[int, datetime], list[Existing]] = defaultdict(list)
        self.events: list[tuple[datetime, int, list[Key]]] = []
        self.key_events: dict[Key, list[tuple[datetime, int]]] = defaultdict(list)
        self.ahead: dict[Key, dict[int, list[datetime]]] = {}
        self._load_existing(occurrences, existing)
        self.progress.start_counting()
        self.reasons: dict[tuple[object, ...], str] = {}
        self.airings: list[PlannedAiring] = []
        self.underfilled: list[Underfill] = []

    @staticmethod
    def _items(candidates: Sequence[Candidate]) -> dict[int, _Item]:
        newest: dict[int, float] = {}
        for cand in candidates:
            if cand.series is not None:
                newest[cand.series] = max(newest.get(cand.series, 0.0), cand.approved_at.timestamp())

        def rank(c: Candidate) -> tuple[int, float, int, int, int]:
            approved = newest[c.series] if c.series is not None else c.approved_at.timestamp()
            return (
                PRIORITIES.index(c.priority),
                -approved,
                c.series if c.series is not None else c.production_id,
                c.part,
                c.production_id,
            )

        ranked = sorted(candidates, key=rank)
        items: dict[int, _Item] = {}
        for cand in ranked:
            if cand.duration_s > 0 and cand.production_id not in items:
                dur_us = -int(-cand.duration_s * 1_000_000 // 1)  # ceil: the whole recording must fit
                items[cand.production_id] = _Item(cand, PRIORITIES.index(cand.priority), dur_us)
        return items

    def _orders(self) -> dict[Key, list[dict[int, datetime]]]:
        """Per target and priority level: allowed productions, least recently aired first."""
        cache: dict[tuple[int, ...], frozenset[int]] = {}
        unrestricted = [[pid for pid, item in self.items.items() if item.level == level] for level in range(3)]
        restricted = self.restricted = any(item.candidate.area_ids for item in self.items.values())
        orders: dict[Key, list[dict[int, datetime]]] = {}
        for key, stations in self.targets.stations.items():
            if restricted:
                levels = [
                    [pid for pid in pids if may_air(self.items[pid].candidate, key, stations, cache)] for pids in unrestricted
                ]
            else:
                levels = unrestricted
            orders[key] = [dict.fromkeys(pids, NEVER) for pids in levels]
        return orders

    def _load_existing(self, occurrences: Sequence[SlotOccurrence], existing: Sequence[Existing]) -> None:
        if not existing:
            return
        filled = {(occ.slot_id, occ.start) for occ in occurrences}
        first = min((occ.start for occ in occurrences), default=self.now)
        for airing in sorted(existing, key=lambda e: e.start):
            in_fill = (airing.slot_id, airing.occurrence_start) in filled
            if in_fill and (airing.pinned or airing.start < self.now):
                self.kept[(airing.slot_id, airing.occurrence_start)].append(airing)
            elif in_fill:
                continue  # replaced by this fill
            keys = self.targets.keys_reached(airing.slot_id, airing.station_ids)
            shared = [key for key in keys if not self.targets.isolated(key)]
            if shared:
                self.events.append((airing.start, airing.production_id, shared))
            for key in keys:
                if self.targets.isolated(key):
                    self.key_events[key].append((airing.start, airing.production_id))
            for key in keys if airing.start >= first else ():  # only later airings can clash ahead of a slot
                self.ahead.setdefault(key, {}).setdefault(airing.production_id, []).append(airing.start)
            self.progress.count(airing.production_id, airing.start, airing.station_ids, seeding=True)

    def _record(self, pid: int, start: datetime, keys: list[Key]) -> None:
        level = self.items[pid].level if pid in self.items else -1
        if level < 0:
            return
        for key in keys:
            rotation = self.order[key][level]
            last = rotation.pop(pid, None)
            if last is not None:
                rotation[pid] = start if start > last else last

    def run(self, occurrences: Sequence[SlotOccurrence]) -> FillResult:
        """Fill every occurrence in time order: shared targets together, isolated ones per group."""
        by_key: dict[Key, list[SlotOccurrence]] = defaultdict(list)
        for occ in occurrences:
            if occ.end > self.now:
                by_key[(occ.target_kind, occ.target_id)].append(occ)
        shared: list[SlotOccurrence] = []
        groups: dict[tuple[object, ...], list[Key]] = defaultdict(list)
        for key, occs in by_key.items():
            if any(occs[i].start > occs[i + 1].start for i in range(len(occs) - 1)):
                occs.sort(key=lambda o: (o.start, o.slot_id))
            if self.targets.isolated(key):
                groups[self._signature(key, occs)].append(key)
            else:
                shared += occs
        shared.sort(key=lambda o: (o.start, o.slot_id))
        with _gc_paused():
            self._fill_shared(shared)
            for keys in groups.values():
                self._fill_group([by_key[key] for key in keys])
        return FillResult(self.airings, self.underfilled, self.same_as)

    def _fill_shared(self, ordered: list[SlotOccurrence]) -> None:
        """Targets that share stations interact through freshness, so they are filled in one time-ordered sweep."""
        events, next_event = self.events, 0
        for occ in ordered:
            while next_event < len(events) and events[next_event][0] <= occ.start:
                self._record(events[next_event][1], events[next_event][0], events[next_event][2])
                next_event += 1
            self._fill_one(occ)

    def _signature(self, key: Key, occs: list[SlotOccurrence]) -> tuple[object, ...]:
        """Everything an isolated target's plan depends on; targets with equal signatures get equal plans."""
        kept: tuple[tuple[int, datetime], ...] = ()
        if self.kept:
            kept = tuple(
                (i, max(e.end for e in self.kept[(o.slot_id, o.start)]))
                for i, o in enumerate(occs)
                if (o.slot_id, o.start) in self.kept
            )
        need = self.progress.need(key)
        allowed = tuple(tuple(rotation) for rotation in self.order[key]) if self.restricted else ()
        return (tuple((o.start, o.end) for o in occs), tuple(self.key_events.get(key, ())), kept, need, allowed)

    def _fill_group(self, members: list[list[SlotOccurrence]]) -> None:
        """Plan the first target of a group, then copy its plan to the others (or, sharing, point them at it)."""
        first = members[0]
        key = (first[0].target_kind, first[0].target_id)
        a0, u0 = len(self.airings), len(self.underfilled)
        events, next_event = self.key_events.get(key, []), 0
        for occ in first:
            while next_event < len(events) and events[next_event][0] <= occ.start:
                self._record(events[next_event][1], events[next_event][0], [key])
                next_event += 1
            self._fill_one(occ)
        if len(members) == 1:
            return
        if self.share:
            leaders = [(o.slot_id, o.start) for o in first]
            for occs in members[1:]:
                self.same_as.update(zip([(o.slot_id, o.start) for o in occs], leaders, strict=False))
            return
        index = {(o.slot_id, o.start): i for i, o in enumerate(first)}
        gaps = [(u, index[(u.slot_id, u.occurrence_start)]) for u in self.underfilled[u0:]]
        airings = [(a, index[(a.slot_id, a.occurrence_start)]) for a in self.airings[a0:]]
        for occs in members[1:]:
            self.airings += _relabel(airings, occs)
            self.underfilled += _relabel(gaps, occs)

    def _ranked(self, occ: SlotOccurrence, key: Key, boosts: dict[int, CampaignState]) -> tuple[list[int], int]:
        """Eligible productions in rank order, and how many allowed ones freshness held back."""
        cutoff = occ.start - self.fresh
        ranked: list[int] = []
        for level, rotation in enumerate(self.order[key]):
            if not rotation:
                continue
            if boosts:
                ranked += [pid for pid, last in rotation.items() if pid in boosts and (not level or last <= cutoff)]
            for pid, last in rotation.items():
                if level and last > cutoff:
                    break  # rotation is least recently aired first, so the rest are fresher still
                if not boosts or pid not in boosts:
                    ranked.append(pid)
        ahead = self.ahead.get(key)
        if ahead:
            ranked = [pid for pid in ranked if not self._ahead_clash(ahead.get(pid), occ)]
        held = sum(len(rotation) for rotation in self.order[key]) - len(ranked)
        return ranked, held

    def _ahead_clash(self, starts: list[datetime] | None, occ: SlotOccurrence) -> bool:
        if not starts:
            return False
        i = bisect_left(starts, occ.start)
        return i < len(starts) and starts[i] < occ.end + self.fresh

    def _pack(
        self, ranked: list[int], room: int, boosts: dict[int, CampaignState], key: Key
    ) -> tuple[list[int], int, int | None]:
        """First-fit in rank order, then the best single swap of a filler item; returns (chosen, leftover, swapped-in)."""
        items = self.items
        order = self.order[key]
        chosen: list[int] = []
        left = room
        for pid in ranked:
            dur = items[pid].dur_us
            if dur <= left:
                chosen.append(pid)
                left -= dur
                if left < self.min_dur_us:
                    break
        if left < MIN_GAP_S * 1_000_000 or len(chosen) == len(ranked):
            return chosen, left, None
        taken = set(chosen)
        best_gain, best = 0, None
        for i, out_pid in enumerate(chosen):
            out = items[out_pid]
            if out.level != 2 or out_pid in boosts:
                continue
            limit = out.dur_us + left
            # Only an item aired no more recently than the one it replaces: a better fit must not starve the rotation.
            out_last = order[2].get(out_pid, NEVER)
            for in_pid in ranked:
                dur = items[in_pid].dur_us
                if (
                    dur - out.dur_us > best_gain
                    and dur <= limit
                    and in_pid not in taken
                    and order[items[in_pid].level].get(in_pid, NEVER) <= out_last
                ):
                    best_gain, best = dur - out.dur_us, (i, in_pid)
        if best is None:
            return chosen, left, None
        chosen[best[0]] = best[1]
        return chosen, left - best_gain, best[1]

    def _fill_one(self, occ: SlotOccurrence) -> None:
        key = (occ.target_kind, occ.target_id)
        total = _us(occ.end - occ.start)
        cursor = 0
        if self.kept:
            for airing in self.kept.get((occ.slot_id, occ.start), ()):
                cursor = max(cursor, _us(airing.end - occ.start))
        if occ.start < self.now:
            cursor = max(cursor, _us(self.now - occ.start))
        room = total - cursor
        if room <= 0:
            return
        boosts = self.progress.boosts(key, occ.start) if self.campaigns else {}
        ranked, held = self._ranked(occ, key, boosts)
        chosen, left, swapped = self._pack(ranked, room, boosts, key)
        related = self.targets.related[key]
        items = self.items
        free = room
        for pid in chosen:
            item = items[pid]
            start = occ.start + timedelta(microseconds=cursor)
            cursor += item.dur_us
            end = occ.start + timedelta(microseconds=cursor)
            level = self.order[key][item.level]
            reason = self._reason(item, boosts.get(pid), key, level[pid], start, total, free, pid == swapped)
            free -= item.dur_us
            cand = item.candidate
            self.airings.append(PlannedAiring(occ.slot_id, occ.start, pid, cand.output_id, start, end, cand.priority, reason))
            self._record(pid, start, related)
            if self.campaigns:
                self.progress.count(pid, start, occ.station_ids)
        if left >= MIN_GAP_S * 1_000_000:
            self._underfill(occ, key, left / 1_000_000, ranked, held)

    def _reason(
        self,
        item: _Item,
        campaign: CampaignState | None,
        key: Key,
        last: datetime,
        start: datetime,
        total: int,
        free: int,
        swapped: bool,
    ) -> str:
        need = (campaign.campaign.id, campaign.missing[key], campaign.lacking[key]) if campaign else None
        hours = -1 if last is NEVER else int((start - last) / timedelta(hours=1))
        cache_key = (item.level, item.dur_us, need, hours, total, free, swapped)
        reason = self.reasons.get(cache_key)
        if reason is None:
            boost = CampaignNeed(campaign.campaign.name, campaign.missing[key], campaign.lacking[key]) if campaign else None
            reason = self.reasons[cache_key] = explain(item.level, item.dur_us, boost, last, start, total, free, swapped)
        return reason

    def _underfill(self, occ: SlotOccurrence, key: Key, left_s: float, ranked: list[int], held: int) -> None:
        allowed = sum(len(rotation) for rotation in self.order[key])
        gap = clock(left_s)
        if not allowed:
            reason = f"Không có nội dung đã duyệt phát nào được phép phát tại đích này; còn trống {gap}"
        elif not ranked:
            reason = f"Mọi nội dung đã phát trong {self.freshness_days} ngày qua tại các trạm này; còn trống {gap}"
        else:
            reason = f"Không còn nội dung đã duyệt vừa {gap} còn trống"
            if held:
                reason += f" ({held} nội dung khác đã phát trong {self.freshness_days} ngày qua)"
        self.underfilled.append(Underfill(occ.slot_id, occ.start, left_s, reason))


def _relabel(planned: list[tuple[_T, int]], occs: list[SlotOccurrence]) -> list[_T]:
    """Copies of planned items under the slot ids of another target's occurrences (same positions)."""
    new, set_attr = object.__new__, object.__setattr__
    out = []
    for item, position in planned:
        fields = item.__dict__.copy()
        fields["slot_id"] = occs[position].slot_id
        # Frozen dataclass __init__ sets each field through object.__setattr__; one dict swap is ~3x faster.
        copy = new(type(item))
        set_attr(copy, "__dict__", fields)
        out.append(copy)
    return out


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while millions of acyclic results are allocated (it would rescan them repeatedly)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
