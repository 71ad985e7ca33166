"""The reference station agent: sync the schedule, cache media, play on time, report what aired.

It keeps playing from its local cache when the network drops, and queues play reports on disk until
the server takes them, so none is lost and none is sent twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shlex
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

log = logging.getLogger("lawcast.station")
CHUNK = 1 << 16


def _write_json(path: Path, data: object) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)


def _read_json(path: Path, default: object) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return default


@dataclass
class AgentState:
    """What the agent keeps on disk between runs."""

    root: Path
    etag: str | None = None
    schedule: list[dict[str, object]] = field(default_factory=list)
    played: set[int] = field(default_factory=set)
    outbox: list[dict[str, object]] = field(default_factory=list)

    @classmethod
    def load(cls, root: Path) -> AgentState:
        """Read the state saved in `root` (empty on first run)."""
        for sub in ("media", "partial"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        saved = _read_json(root / "schedule.json", {})
        assert isinstance(saved, dict)
        played = _read_json(root / "played.json", [])
        outbox = _read_json(root / "outbox.json", [])
        return cls(root, saved.get("etag"), saved.get("items", []), set(played), list(outbox))  # type: ignore[arg-type]

    def save_schedule(self) -> None:
        """Persist the last good schedule and its ETag."""
        _write_json(self.root / "schedule.json", {"etag": self.etag, "items": self.schedule})

    def save_plays(self) -> None:
        """Persist what was played and what is still to report (before anything is sent)."""
        _write_json(self.root / "played.json", sorted(self.played))
        _write_json(self.root / "outbox.json", self.outbox)

    def media_path(self, sha256: str) -> Path:
        """Cache path of a media file by its hash."""
        return self.root / "media" / f"{sha256}.media"


class StationAgent:
    """Pulls a station's schedule and plays it; one `tick()` does one round of work."""

    def __init__(
        self, server: str, token: str, directory: Path, *, player: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC), timeout_s: float = 10.0,
    ):
        self.server = server.rstrip("/")
        self.state = AgentState.load(directory)
        self.player = player
        self.clock = clock
        self.client = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=timeout_s)
        self.station_id: int | None = _read_json(directory / "station.json", {}).get("id")  # type: ignore[union-attr]
        self.online = False

    def close(self) -> None:
        """Release the HTTP client."""
        self.client.close()

    def _url(self, path: str) -> str:
        return f"{self.server}/stations/{self.station_id}/{path}"

    def identify(self) -> None:
        """Learn the station id from the token (once; kept on disk)."""
        if self.station_id is None:
            response = self.client.get(f"{self.server}/stations/me")
            response.raise_for_status()
            self.station_id = int(response.json()["id"])
            _write_json(self.state.root / "station.json", {"id": self.station_id})

    def sync(self) -> bool:
        """Fetch the schedule (conditional GET); False when the server is unreachable."""
        try:
            self.identify()
            headers = {"If-None-Match": self.state.etag} if self.state.etag else {}
            response = self.client.get(self._url("schedule.json"), headers=headers)
        except httpx.HTTPError as exc:
            log.warning("schedule sync failed, playing from cache: %s", exc)
            self.online = False
            return False
        self.online = True
        if response.status_code == 304:
            return True
        response.raise_for_status()
        self.state.schedule = response.json()["items"]
        self.state.etag = response.headers.get("etag")
        self.state.save_schedule()
        return True

    def download(self) -> int:
        """Fetch missing media with resume (Range) and sha256 checks; returns files completed."""
        done = 0
        for item in self.state.schedule:
            sha = str(item["sha256"])
            if self.state.media_path(sha).exists():
                continue
            try:
                if self._fetch(str(item["media_url"]), sha, int(item["bytes"])):  # type: ignore[call-overload]
                    done += 1
            except httpx.HTTPError as exc:
                log.warning("download of %s interrupted, will resume: %s", item["media_url"], exc)
                self.online = False
                break
        return done

    def _fetch(self, url: str, sha: str, size: int) -> bool:
        part = self.state.root / "partial" / f"{sha}.part"
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        with self.client.stream("GET", url, headers=headers) as response:
            if response.status_code == 200:
                have = 0  # the server ignored the range; start over
            elif response.status_code != 206:
                response.raise_for_status()
            with part.open("ab" if have else "wb") as out:
                for chunk in response.iter_bytes(CHUNK):
                    out.write(chunk)
        if part.stat().st_size < size:
            return False
        digest = hashlib.sha256(part.read_bytes()).hexdigest()
        if digest != sha:
            log.error("checksum mismatch for %s; discarding", url)
            part.unlink()
            return False
        os.replace(part, self.state.media_path(sha))
        return True

    def due(self) -> list[dict[str, object]]:
        """Items to play now: emergencies first, then those whose time has come and not passed."""
        now = self.clock()
        ready = []
        for item in self.state.schedule:
            airing_id = int(item["airing_id"])  # type: ignore[call-overload]
            if airing_id in self.state.played:
                continue
            start = datetime.fromisoformat(str(item["start"]))
            end = datetime.fromisoformat(str(item["end"]))
            if start <= now < end and self.state.media_path(str(item["sha256"])).exists():
                ready.append(item)
        return sorted(ready, key=lambda i: (i["priority"] != "emergency", str(i["start"])))

    def play(self, item: dict[str, object]) -> None:
        """Play one item through the player command (or just log it) and queue its report."""
        path = self.state.media_path(str(item["sha256"]))
        started = self.clock()
        status = "played"
        if self.player:
            command = shlex.split(self.player) + [str(path)]
            if subprocess.run(command, check=False).returncode != 0:
                status = "failed"
        log.info("PLAY %s %s (%s s) %s", item["airing_id"], item["title"], item["duration_s"], status)
        self.state.played.add(int(item["airing_id"]))  # type: ignore[call-overload]
        self.state.outbox.append({
            "airing_id": item["airing_id"], "played_at": started.isoformat(),
            "duration_s": item["duration_s"], "status": status,
        })
        self.state.save_plays()

    def report(self) -> int:
        """Send queued play reports with a heartbeat; they leave the queue only once acknowledged."""
        if self.station_id is None:
            return 0
        batch = list(self.state.outbox)
        heartbeat = {"cached_items": len(list((self.state.root / "media").glob("*.media"))), "queued_reports": len(batch)}
        try:
            response = self.client.post(self._url("plays"), json={"plays": batch, "heartbeat": heartbeat})
            response.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("reports kept for later (%d queued): %s", len(batch), exc)
            self.online = False
            return 0
        sent = {int(p["airing_id"]) for p in batch}  # type: ignore[call-overload]
        self.state.outbox = [p for p in self.state.outbox if int(p["airing_id"]) not in sent]  # type: ignore[call-overload]
        self.state.save_plays()
        return len(batch)

    def tick(self) -> None:
        """One round: sync, download, play what is due, report."""
        if self.sync():
            self.download()
        for item in self.due():
            self.play(item)
        if self.online:
            self.report()

    def run(self, *, poll_s: float = 30.0, until: Callable[[], bool] = lambda: False) -> None:
        """Tick forever (or until `until()`), sleeping briefly so due items play on time."""
        last_sync = 0.0
        while not until():
            if time.monotonic() - last_sync >= poll_s:
                self.tick()
                last_sync = time.monotonic()
            else:
                for item in self.due():
                    self.play(item)
            time.sleep(min(1.0, poll_s))
