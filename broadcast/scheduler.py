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
  (least recently aired at the stations reached first), then approved_at newest.
- Freshness: a production never airs twice within `freshness_days` at any station (or, for a target
  without stations such as a radio channel, on that target). Bookkeeping is per target key
  (kind, id): an airing is recorded on every target whose stations intersect its own, so a check is
  one dict lookup. Emergency items are exempt: they repeat in every slot until withdrawn.
- Packing: first-fit in rank order, then one best-fit swap: a normal, non-campaign item may be
  replaced by an eligible one that fills the leftover better.
- Area restriction: a Candidate with area_ids airs only where it stays inside those areas. The caller
  resolves the areas to `Candidate.station_ids`; an occurrence qualifies when it targets one of the
  areas, or when it reaches stations and all of them are in `station_ids`.
- Gaps shorter than MIN_GAP_S are not reported as under-filled.
"""

from __future__ import annotations

import gc
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

PRIORITIES = ("emergency", "priority", "normal")
MIN_GAP_S = 1.0
ONE_US = timedelta(microseconds=1)
NEVER = datetime.min.replace(tzinfo=UTC)

Key = tuple[str, int]
_T = TypeVar("_T")


@dataclass(frozen=True)
class SlotOccurrence:
    """One occurrence of a slot and the stations it reaches (empty for a channel without stations)."""

    slot_id: int
    start: datetime
    end: datetime
    target_kind: str
    target_id: int
    station_ids: tuple[int, ...] = ()
    overrun: str = "cut"


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
    """Airings to create and occurrences left under-filled."""

    airings: list[PlannedAiring]
    underfilled: list[Underfill]


def _us(delta: timedelta) -> int:
    return delta // ONE_US


def clock(seconds: float) -> str:
    """Seconds as mm:ss, or h:mm:ss from an hour (rounded down to the second)."""
    whole = max(int(seconds), 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _ago(now: datetime, last: datetime) -> str:
    if last is NEVER:
        return "chưa từng phát tại các trạm này"
    hours = (now - last) / timedelta(hours=1)
    if hours < 24:
        return f"phát lần cuối cách đây {int(hours)} giờ"
    return f"phát lần cuối cách đây {int(hours // 24)} ngày"


@dataclass(slots=True)
class _Item:
    candidate: Candidate
    level: int
    dur_us: int


@dataclass(slots=True)
class _CampaignState:
    campaign: Campaign
    pids: frozenset[int]
    stations: frozenset[int]
    counts: dict[int, int] = field(default_factory=dict)
    lacking: dict[Key, int] = field(default_factory=dict)
    missing: dict[Key, int] = field(default_factory=dict)


class _Targets:
    """Stations per target key, and which target keys intersect which."""

    def __init__(self, occurrences: Sequence[SlotOccurrence]) -> None:
        self.stations: dict[Key, tuple[int, ...]] = {}
        self.kind_id: dict[Key, tuple[str, int]] = {}
        self.slot_key: dict[int, Key] = {}
        for occ in occurrences:
            key = (occ.target_kind, occ.target_id)
            if key not in self.stations:
                self.stations[key] = occ.station_ids
            self.slot_key.setdefault(occ.slot_id, key)
        self.station_keys: dict[int, list[Key]] = defaultdict(list)
        for key, stations in self.stations.items():
            for station in stations:
                self.station_keys[station].append(key)
        self.related: dict[Key, list[Key]] = {}
        for key, stations in self.stations.items():
            if len(stations) == 1 and len(self.station_keys[stations[0]]) == 1:
                self.related[key] = [key]
                continue
            seen = dict.fromkeys([key])
            for station in stations:
                seen.update(dict.fromkeys(self.station_keys[station]))
            self.related[key] = list(seen)

    def isolated(self, key: Key) -> bool:
        """True when no other target shares a station with this one."""
        return len(self.related[key]) == 1

    def keys_reached(self, slot_id: int, station_ids: Sequence[int]) -> list[Key]:
        """Target keys an airing on this slot and these stations touches."""
        seen: dict[Key, None] = {}
        key = self.slot_key.get(slot_id)
        if key is not None:
            seen.update(dict.fromkeys(self.related[key]))
        for station in station_ids:
            seen.update(dict.fromkeys(self.station_keys.get(station, ())))
        return list(seen)


def _allowed(candidate: Candidate, key: Key, stations: tuple[int, ...], cache: dict[tuple[int, ...], frozenset[int]]) -> bool:
    if not candidate.area_ids:
        return True
    if key[0] == "area" and key[1] in candidate.area_ids:
        return True
    if not stations:
        return False
    allowed = cache.get(candidate.station_ids)
    if allowed is None:
        allowed = cache[candidate.station_ids] = frozenset(candidate.station_ids)
    return allowed.issuperset(stations)


class _Planner:
    """State of one fill run: per-target rotation order, campaign progress, results."""

    def __init__(
        self, occurrences: Sequence[SlotOccurrence], candidates: Sequence[Candidate], campaigns: Sequence[Campaign],
        existing: Sequence[Existing], freshness_days: int, now: datetime,
    ) -> None:
        self.now = now
        self.freshness_days = freshness_days
        self.fresh = timedelta(days=freshness_days)
        self.targets = _Targets(occurrences)
        self.items = self._items(candidates)
        self.min_dur_us = min((item.dur_us for item in self.items.values()), default=0)
        self.order = self._orders()
        self.campaigns = self._campaign_states(campaigns, candidates)
        self.campaigns_by_pid: dict[int, list[_CampaignState]] = defaultdict(list)
        for state in self.campaigns:
            for pid in state.pids:
                self.campaigns_by_pid[pid].append(state)
        self.kept: dict[tuple[int, datetime], list[Existing]] = defaultdict(list)
        self.events: list[tuple[datetime, int, list[Key]]] = []
        self.key_events: dict[Key, list[tuple[datetime, int]]] = defaultdict(list)
        self.ahead: dict[Key, dict[int, list[datetime]]] = {}
        self._load_existing(occurrences, existing)
        self.campaigns_by_key: dict[Key, list[_CampaignState]] = defaultdict(list)
        for state in self.campaigns:
            for key in state.lacking:
                self.campaigns_by_key[key].append(state)
        self.reasons: dict[tuple[object, ...], str] = {}
        self.airings: list[PlannedAiring] = []
        self.underfilled: list[Underfill] = []

    @staticmethod
    def _items(candidates: Sequence[Candidate]) -> dict[int, _Item]:
        ranked = sorted(candidates, key=lambda c: (PRIORITIES.index(c.priority), -c.approved_at.timestamp(), c.production_id))
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
                    [pid for pid in pids if _allowed(self.items[pid].candidate, key, stations, cache)] for pids in unrestricted
                ]
            else:
                levels = unrestricted
            orders[key] = [dict.fromkeys(pids, NEVER) for pids in levels]
        return orders

    def _campaign_states(self, campaigns: Sequence[Campaign], candidates: Sequence[Candidate]) -> list[_CampaignState]:
        states = []
        for campaign in sorted(campaigns, key=lambda c: (c.end, c.id)):
            pids = set(campaign.production_ids)
            if campaign.topic:
                pids.update(c.production_id for c in candidates if c.topic == campaign.topic)
            states.append(_CampaignState(campaign, frozenset(pids), frozenset(campaign.station_ids)))
        return states

    def _load_existing(self, occurrences: Sequence[SlotOccurrence], existing: Sequence[Existing]) -> None:
        if not existing:
            self._init_campaign_need()
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
            self._count_campaign(airing.production_id, airing.start, airing.station_ids, seeding=True)
        self._init_campaign_need()

    def _init_campaign_need(self) -> None:
        for state in self.campaigns:
            need = state.campaign.min_airings_per_station
            for key, stations in self.targets.stations.items():
                inside = [s for s in stations if s in state.stations]
                if inside:
                    short = [need - state.counts.get(s, 0) for s in inside]
                    state.lacking[key] = sum(1 for n in short if n > 0)
                    state.missing[key] = sum(n for n in short if n > 0)

    def _count_campaign(self, pid: int, start: datetime, stations: Sequence[int], *, seeding: bool = False) -> None:
        for state in self.campaigns_by_pid.get(pid, ()):
            if not state.campaign.start <= start < state.campaign.end:
                continue
            need = state.campaign.min_airings_per_station
            for station in stations:
                if station not in state.stations:
                    continue
                count = state.counts.get(station, 0) + 1
                state.counts[station] = count
                if seeding or count > need:
                    continue
                for key in self.targets.station_keys.get(station, ()):
                    if key in state.missing:
                        state.missing[key] -= 1
                        if count == need:
                            state.lacking[key] -= 1

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
        return FillResult(self.airings, self.underfilled)

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
        kept = ()
        if self.kept:
            kept = tuple(
                (i, max(e.end for e in self.kept[(o.slot_id, o.start)]))
                for i, o in enumerate(occs) if (o.slot_id, o.start) in self.kept
            )
        need = tuple(
            (id(state), state.lacking[key], state.missing[key]) for state in self.campaigns_by_key.get(key, ())
        )
        allowed = tuple(tuple(rotation) for rotation in self.order[key]) if self.restricted else ()
        return (tuple((o.start, o.end) for o in occs), tuple(self.key_events.get(key, ())), kept, need, allowed)

    def _fill_group(self, members: list[list[SlotOccurrence]]) -> None:
        """Plan the first target of a group, then copy its plan to the others under their own slot ids."""
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
        index = {(o.slot_id, o.start): i for i, o in enumerate(first)}
        airings = [(a, index[(a.slot_id, a.occurrence_start)]) for a in self.airings[a0:]]
        gaps = [(u, index[(u.slot_id, u.occurrence_start)]) for u in self.underfilled[u0:]]
        for occs in members[1:]:
            self.airings += _relabel(airings, occs)
            self.underfilled += _relabel(gaps, occs)

    def _boosts(self, key: Key, start: datetime) -> dict[int, _CampaignState]:
        boosts: dict[int, _CampaignState] = {}
        for state in self.campaigns_by_key.get(key, ()):
            if state.lacking[key] > 0 and state.campaign.start <= start < state.campaign.end:
                for pid in state.pids:
                    boosts.setdefault(pid, state)
        return boosts

    def _ranked(self, occ: SlotOccurrence, key: Key, boosts: dict[int, _CampaignState]) -> tuple[list[int], int]:
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

    def _pack(self, ranked: list[int], room: int, boosts: dict[int, _CampaignState]) -> tuple[list[int], int, int | None]:
        """First-fit in rank order, then the best single swap of a filler item; returns (chosen, leftover, swapped-in)."""
        items = self.items
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
            for in_pid in ranked:
                dur = items[in_pid].dur_us
                if dur - out.dur_us > best_gain and dur <= limit and in_pid not in taken:
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
        boosts = self._boosts(key, occ.start) if self.campaigns else {}
        ranked, held = self._ranked(occ, key, boosts)
        chosen, left, swapped = self._pack(ranked, room, boosts)
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
            self.airings.append(
                PlannedAiring(occ.slot_id, occ.start, pid, cand.output_id, start, end, cand.priority, reason)
            )
            self._record(pid, start, related)
            if self.campaigns:
                self._count_campaign(pid, start, occ.station_ids)
        if left >= MIN_GAP_S * 1_000_000:
            self._underfill(occ, key, left / 1_000_000, ranked, held)

    def _reason(
        self, item: _Item, campaign: _CampaignState | None, key: Key, last: datetime, start: datetime,
        total: int, free: int, swapped: bool,
    ) -> str:
        need = (campaign.campaign.id, campaign.missing[key], campaign.lacking[key]) if campaign else None
        hours = -1 if last is NEVER else int((start - last) / timedelta(hours=1))
        cache_key = (item.level, item.dur_us, need, hours, total, free, swapped)
        reason = self.reasons.get(cache_key)
        if reason is None:
            reason = self.reasons[cache_key] = _explain(item, campaign, key, last, start, total, free, swapped)
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


def _explain(
    item: _Item, campaign: _CampaignState | None, key: Key, last: datetime, start: datetime,
    total: int, free: int, swapped: bool,
) -> str:
    parts = []
    if item.level == 0:
        parts.append("Khẩn cấp: phát trước mọi nội dung (Thông tư 39/2020/TT-BTTTT)")
    elif item.level == 1:
        parts.append("Ưu tiên: xếp trước nội dung thường (Thông tư 39/2020/TT-BTTTT)")
    if campaign is not None:
        parts.append(
            f"Chiến dịch '{campaign.campaign.name}': còn thiếu {campaign.missing[key]} lượt "
            f"tại {campaign.lacking[key]} trạm"
        )
    if item.level == 2 and campaign is None:
        parts.append("Nội dung thường, đến lượt luân phiên")
    parts.append(_ago(start, last))
    fit = f"dài {clock(item.dur_us / 1_000_000)}, vừa khung {clock(total / 1_000_000)} (còn trống {clock(free / 1_000_000)})"
    if swapped:
        fit = "chọn để lấp khung sát nhất: " + fit
    parts.append(fit)
    return "; ".join(parts)


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


def fill(
    occurrences: Sequence[SlotOccurrence], candidates: Sequence[Candidate], *, campaigns: Sequence[Campaign] = (),
    existing: Sequence[Existing] = (), freshness_days: int = 3, now: datetime,
) -> FillResult:
    """Allocate candidates to occurrences (see the module docstring for the rules); pure and deterministic."""
    planner = _Planner(occurrences, candidates, campaigns, existing, freshness_days, now)
    return planner.run(occurrences)
