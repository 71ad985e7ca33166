"""Which stations each schedule target reaches, and which targets share stations (for the planner)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from broadcast.schedule_types import Candidate, Key, SlotOccurrence


class Targets:
    """Stations per target key, and which target keys intersect which."""

    def __init__(self, occurrences: Sequence[SlotOccurrence]) -> None:
        self.stations: dict[Key, tuple[int, ...]] = {}
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


def may_air(candidate: Candidate, key: Key, stations: tuple[int, ...], cache: dict[tuple[int, ...], frozenset[int]]) -> bool:
    """Whether an area-restricted candidate may air on this target (it must stay inside its areas)."""
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
