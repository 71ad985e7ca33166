"""What the station agent keeps on disk between runs: its last schedule, what it played, what it still has to report.

Every file is written to a temporary name, synced and renamed, so a power cut never leaves half a file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from broadcast.station_wire import PlayReport, ScheduleItem


def write_json(path: Path, data: object) -> None:
    """Write JSON so that the file holds either the old or the new content, never half of one."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_json(path: Path, default: object) -> Any:
    """A JSON file's content, or `default` when it is missing or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return default


@dataclass
class AgentState:
    """What the agent keeps on disk between runs."""

    root: Path
    etag: str | None = None
    schedule: list[ScheduleItem] = field(default_factory=list)
    played: set[int] = field(default_factory=set)
    outbox: list[PlayReport] = field(default_factory=list)

    @classmethod
    def load(cls, root: Path) -> AgentState:
        """Read the state saved in `root` (empty on first run)."""
        for sub in ("media", "partial"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        saved = read_json(root / "schedule.json", {})
        if not isinstance(saved, dict):
            saved = {}  # not a file this agent wrote: start as on a first run, the next pull fetches the schedule again
        played = read_json(root / "played.json", [])
        outbox = read_json(root / "outbox.json", [])
        return cls(root, saved.get("etag"), saved.get("items", []), set(played), list(outbox))

    def save_schedule(self) -> None:
        """Persist the last good schedule and its ETag."""
        write_json(self.root / "schedule.json", {"etag": self.etag, "items": self.schedule})

    def save_plays(self) -> None:
        """Persist what was played and what is still to report (before anything is sent)."""
        write_json(self.root / "played.json", sorted(self.played))
        write_json(self.root / "outbox.json", self.outbox)

    def media_path(self, sha256: str) -> Path:
        """Cache path of a media file by its hash."""
        return self.root / "media" / f"{sha256}.media"
