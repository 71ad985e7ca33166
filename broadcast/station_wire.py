"""The JSON a station and the server exchange: schedule items out, play reports back.

Pure (it imports nothing of the server), so the station agent types its cache with it too.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

# The times of a schedule item, as ISO 8601 strings.
ItemTime = Literal["start", "end", "slot_end"]


class ScheduleItem(TypedDict):
    """One item of GET /stations/{id}/schedule.json (ScheduleItemOut documents it in the API).

    The keys marked NotRequired may be missing from a schedule cached by an older agent; the agent has defaults.
    """

    airing_id: int
    start: str
    end: str
    slot_end: NotRequired[str]
    overrun: NotRequired[str]
    priority: str
    title: NotRequired[str]
    production_id: NotRequired[int]
    media_url: str
    sha256: str
    bytes: int
    duration_s: float
    reason: NotRequired[str]


class PlayReport(TypedDict):
    """One report of POST /stations/{id}/plays: what happened to an airing at the station."""

    airing_id: int
    played_at: str
    duration_s: float
    overrun: str
    outcome: str
