"""Campaign progress during one fill: which productions a campaign boosts where, and what each target still lacks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from broadcast._targets import Targets
from broadcast.schedule_types import Campaign, Candidate, Key


@dataclass(slots=True)
class CampaignState:
    """One campaign's productions, stations and airings so far; per target, stations short and airings missing."""

    campaign: Campaign
    pids: frozenset[int]
    stations: frozenset[int]
    counts: dict[int, int] = field(default_factory=dict)
    lacking: dict[Key, int] = field(default_factory=dict)
    missing: dict[Key, int] = field(default_factory=dict)


class CampaignProgress:
    """Every campaign of a fill, counted as airings are seeded from the schedule and then planned."""

    def __init__(self, campaigns: Sequence[Campaign], candidates: Sequence[Candidate], targets: Targets) -> None:
        self.targets = targets
        self.states: list[CampaignState] = []
        for campaign in sorted(campaigns, key=lambda c: (c.end, c.id)):
            pids = set(campaign.production_ids)
            if campaign.topic:
                pids.update(c.production_id for c in candidates if c.topic == campaign.topic)
            self.states.append(CampaignState(campaign, frozenset(pids), frozenset(campaign.station_ids)))
        self.by_pid: dict[int, list[CampaignState]] = defaultdict(list)
        for state in self.states:
            for pid in state.pids:
                self.by_pid[pid].append(state)
        self.by_key: dict[Key, list[CampaignState]] = defaultdict(list)

    def start_counting(self) -> None:
        """After seeding with the existing airings: how many stations of each target lack airings, and how many."""
        for state in self.states:
            need = state.campaign.min_airings_per_station
            for key, stations in self.targets.stations.items():
                inside = [s for s in stations if s in state.stations]
                if inside:
                    short = [need - state.counts.get(s, 0) for s in inside]
                    state.lacking[key] = sum(1 for n in short if n > 0)
                    state.missing[key] = sum(n for n in short if n > 0)
        for state in self.states:
            for key in state.lacking:
                self.by_key[key].append(state)

    def count(self, pid: int, start: datetime, stations: Sequence[int], *, seeding: bool = False) -> None:
        """An airing of pid at these stations: it counts for every campaign running then that includes it."""
        for state in self.by_pid.get(pid, ()):
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

    def boosts(self, key: Key, start: datetime) -> dict[int, CampaignState]:
        """Productions a campaign still short at this target pushes ahead, at this moment."""
        boosts: dict[int, CampaignState] = {}
        for state in self.by_key.get(key, ()):
            if state.lacking[key] > 0 and state.campaign.start <= start < state.campaign.end:
                for pid in state.pids:
                    boosts.setdefault(pid, state)
        return boosts

    def need(self, key: Key) -> tuple[tuple[int, int, int], ...]:
        """What the campaigns still need at a target (part of an isolated target's plan signature)."""
        return tuple((id(state), state.lacking[key], state.missing[key]) for state in self.by_key.get(key, ()))
