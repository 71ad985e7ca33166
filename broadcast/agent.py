"""The reference station agent: sync the schedule, cache media, play on time, report what aired.

It keeps playing from its local cache when the network drops, and queues play reports on disk until
the server acknowledges them, so none is lost and none is sent twice (the server also ignores repeats).

The player command gets the file path appended, or substituted for `{path}`. It may also use
`{seconds}` (how long it may play), `{fade_start}` and `{fade}` (when and how long to fade out) to
honour a slot's overrun policy, for example `ffplay -nodisp -autoexit -t {seconds}
-af afade=t=out:st={fade_start}:d={fade} {path}`. Policies, applied when an item would run past its slot:
- cut: play until the slot ends, fading out over the last seconds, then stop the player;
- finish: let the item play to its end;
- refuse: do not start it (reported as skipped).
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin

import httpx

from assets.storage import sha256_file

log = logging.getLogger("lawcast.station")
CHUNK = 1 << 16
FADE_S = 3.0
# A player told to stop at the slot end gets this long to fade and exit before it is terminated.
STOP_GRACE_S = 1.0
# An emergency heard about late still plays, up to this long after its scheduled end.
EMERGENCY_GRACE = timedelta(hours=1)
MAX_BATCH = 1000
KEEP_MEDIA = timedelta(days=7)


def _write_json(path: Path, data: object) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
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


def _when(item: dict[str, object], key: str) -> datetime:
    return datetime.fromisoformat(str(item[key]))


class StationAgent:
    """Pulls a station's schedule and plays it; one `tick()` does one round of work."""

    def __init__(
        self, server: str, token: str, directory: Path, *, player: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC), timeout_s: float = 10.0,
        client: httpx.Client | None = None, heartbeat_s: float = 300.0,
    ):
        self.server = server.rstrip("/")
        self.state = AgentState.load(directory)
        self.player = player
        self.clock = clock
        self.client = client or httpx.Client(timeout=timeout_s)
        self.client.headers["Authorization"] = f"Bearer {token}"
        self.station_id: int | None = _read_json(directory / "station.json", {}).get("id")  # type: ignore[union-attr]
        self.online = False
        self.heartbeat_s = heartbeat_s
        self.last_report = float("-inf")

    def _offline(self, what: str, exc: Exception) -> None:
        # One warning when the network drops, not one per poll while it stays down.
        (log.warning if self.online else log.debug)("%s: %s", what, exc)
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
            if response.status_code == 304:
                self.online = True
                return True
            response.raise_for_status()
            items = response.json()["items"]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            self._offline("schedule sync failed, playing from cache", exc)
            return False
        if not self.online:
            log.info("connected to %s", self.server)
        self.online = True
        self.state.schedule = items
        self.state.etag = response.headers.get("etag")
        self.state.save_schedule()
        self.prune()
        return True

    def download(self) -> int:
        """Fetch missing media with resume (Range) and sha256 checks; returns files completed."""
        done = 0
        for item in self.state.schedule:
            sha = str(item["sha256"])
            if self.state.media_path(sha).exists():
                continue
            try:
                if self._fetch(urljoin(self.server + "/", str(item["media_url"])), sha, int(item["bytes"])):  # type: ignore[call-overload]
                    done += 1
            except httpx.HTTPError as exc:
                self._offline(f"download of {item['media_url']} interrupted, will resume", exc)
                break
        return done

    def _fetch(self, url: str, sha: str, size: int) -> bool:
        part = self.state.root / "partial" / f"{sha}.part"
        have = part.stat().st_size if part.exists() else 0
        if have > size:
            part.unlink()  # longer than the file can be: not a prefix of it
            have = 0
        if have < size:
            headers = {"Range": f"bytes={have}-"} if have else {}
            with self.client.stream("GET", url, headers=headers) as response:
                if response.status_code == 416:
                    part.unlink(missing_ok=True)  # the server has no such range: start over next time
                    return False
                if response.status_code == 200:
                    have = 0  # the server ignored the range; start over
                elif response.status_code != 206:
                    response.raise_for_status()
                with part.open("ab" if have else "wb") as out:
                    for chunk in response.iter_bytes(CHUNK):
                        out.write(chunk)
        if part.stat().st_size < size:
            return False
        if part.stat().st_size > size or sha256_file(part) != sha:
            log.error("checksum mismatch for %s; discarding the download", url)
            part.unlink()
            return False
        os.replace(part, self.state.media_path(sha))
        return True

    def due(self) -> list[dict[str, object]]:
        """Items to play now (cached, not yet played): emergencies first, then by start."""
        now = self.clock()
        ready = []
        for item in self.state.schedule:
            if int(item["airing_id"]) in self.state.played:  # type: ignore[call-overload]
                continue
            start, end = _when(item, "start"), _when(item, "end")
            if item["priority"] == "emergency":
                end += EMERGENCY_GRACE
            if start <= now < end and self.state.media_path(str(item["sha256"])).exists():
                ready.append(item)
        return sorted(ready, key=lambda i: (i["priority"] != "emergency", str(i["start"])))

    def _command(self, path: Path, seconds: float) -> list[str]:
        assert self.player is not None
        fade = min(FADE_S, seconds)
        values = {"path": str(path), "seconds": f"{seconds:.3f}", "fade": f"{fade:.3f}", "fade_start": f"{max(seconds - fade, 0):.3f}"}
        parts = [part.format(**values) for part in shlex.split(self.player)]
        return parts if "{path}" in self.player else [*parts, str(path)]

    def play(self, item: dict[str, object]) -> None:
        """Play one item through the player command (or just log it), honouring the overrun policy, and queue its report."""
        path = self.state.media_path(str(item["sha256"]))
        started = self.clock()
        duration = float(item["duration_s"])  # type: ignore[arg-type]
        allowed = (_when(item, "slot_end") - started).total_seconds() if "slot_end" in item else duration
        policy = str(item.get("overrun", "finish"))
        status, limit = "played", None
        if duration > allowed and policy == "refuse":
            status = "skipped"
        elif duration > allowed and policy == "cut":
            status, limit = "cut", max(allowed, 0.0)
        if status != "skipped" and self.player:
            seconds = limit if limit is not None else duration
            process = subprocess.Popen(self._command(path, seconds))
            try:
                returncode = process.wait(timeout=None if limit is None else limit + STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                returncode = 0
            if returncode != 0:
                status = "failed"
        played_s = (self.clock() - started).total_seconds() if self.player else (limit if limit is not None else duration)
        log.info("PLAY %s %s (%s s, %s) %s", item["airing_id"], item.get("title", ""), item["duration_s"], policy, status)
        self.state.played.add(int(item["airing_id"]))  # type: ignore[call-overload]
        self.state.outbox.append({
            "airing_id": item["airing_id"], "played_at": started.isoformat(),
            "duration_s": round(max(played_s, 0.0) if status != "skipped" else 0.0, 3), "status": status,
        })
        self.state.save_plays()

    def report(self) -> int:
        """Send queued play reports with a heartbeat; they leave the queue only once acknowledged."""
        if self.station_id is None:
            return 0
        self.last_report = time.monotonic()
        sent = 0
        while True:
            batch = self.state.outbox[:MAX_BATCH]
            heartbeat = {
                "cached_items": sum(1 for _ in (self.state.root / "media").glob("*.media")),
                "queued_reports": len(self.state.outbox), "schedule_items": len(self.state.schedule),
                "agent_time": self.clock().isoformat(),
            }
            try:
                response = self.client.post(self._url("plays"), json={"plays": batch, "heartbeat": heartbeat})
                response.raise_for_status()
                answer = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                self._offline(f"reports kept for later ({len(self.state.outbox)} queued)", exc)
                return sent
            for airing_id in answer.get("rejected", []):
                log.error("server rejected the report of airing %s (not in this station's schedule)", airing_id)
            # Every report in the batch is acknowledged: stored, a duplicate, or rejected.
            acknowledged = {int(p["airing_id"]) for p in batch}  # type: ignore[call-overload]
            self.state.outbox = [p for p in self.state.outbox if int(p["airing_id"]) not in acknowledged]  # type: ignore[call-overload]
            self.state.save_plays()
            sent += len(batch)
            if not self.state.outbox:
                return sent

    def prune(self) -> None:
        """Forget played ids no longer scheduled and media unused for a week (the cache stays bounded)."""
        scheduled = {int(i["airing_id"]) for i in self.state.schedule}  # type: ignore[call-overload]
        queued = {int(p["airing_id"]) for p in self.state.outbox}  # type: ignore[call-overload]
        self.state.played &= scheduled | queued
        wanted = {str(i["sha256"]) for i in self.state.schedule}
        cutoff = time.time() - KEEP_MEDIA.total_seconds()
        for path in (self.state.root / "media").glob("*.media"):
            if path.stem not in wanted and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        self.state.save_plays()

    def tick(self) -> None:
        """One round: sync, download, play what is due, report (a heartbeat at least every heartbeat_s)."""
        if self.sync():
            self.download()
        for item in self.due():
            self.play(item)
        if self.online and (self.state.outbox or time.monotonic() - self.last_report >= self.heartbeat_s):
            self.report()

    def run(self, *, poll_s: float = 30.0, until: Callable[[], bool] = lambda: False) -> None:
        """Tick forever (or until `until()`), playing due items between polls; errors are logged, never fatal."""
        logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per poll would drown the play log
        last_sync = float("-inf")
        while not until():
            try:
                if time.monotonic() - last_sync >= poll_s:
                    last_sync = time.monotonic()
                    self.tick()
                else:
                    for item in self.due():
                        self.play(item)
            except Exception:  # noqa: BLE001 - a station must keep running whatever one round hit
                log.exception("agent round failed; retrying")
            time.sleep(min(0.5, poll_s))
