"""The reference station agent: sync the schedule, cache media, play on time, report what aired.

It keeps playing from its local cache when the network drops, and queues play reports on disk until
the server acknowledges them, so none is lost and none is sent twice (the server also ignores repeats).

The player command (see broadcast/agent_player.py for its placeholders) is told how long it may play, to
honour a slot's overrun policy. Policies, applied when an item would run past its slot:
- cut: play until the slot ends, fading out over the last seconds, then stop the player;
- finish: let the item play to its end;
- refuse: do not start it (reported as skipped).
Each play report carries the policy (`overrun`) and, apart from it, what happened (`outcome`: played, cut,
skipped, overran when `finish` let it run past the slot end, or failed).

At start-up a refused token (401/403) stops the agent with a message saying what to check, and so does a
server that does not answer within a few seconds, unless a schedule from an earlier run is cached: then it
plays from that cache, as it does whenever the connection drops later. A lost connection and its return are
logged once each.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin

import httpx

from broadcast.agent_player import run_player
from broadcast.agent_state import AgentState, read_json, write_json
from broadcast.station_wire import ItemTime, ScheduleItem

log = logging.getLogger("lawcast.station")
CHUNK = 1 << 16
# An emergency heard about late still plays, up to this long after its scheduled end.
EMERGENCY_GRACE = timedelta(hours=1)
MAX_BATCH = 1000
KEEP_MEDIA = timedelta(days=7)
# How long start-up keeps trying a server that does not answer, and the first and largest pause between tries.
STARTUP_WINDOW_S = 10.0
STARTUP_BACKOFF_S = (0.5, 4.0)
CONNECT_TIMEOUT_S = 3.0


class AgentStopped(Exception):
    """The agent cannot usefully go on; the message says what to check, `exit_code` is the command's exit status."""

    exit_code = 1


class TokenRefused(AgentStopped):
    """The server answered 401 or 403."""

    exit_code = 2


class ServerUnreachable(AgentStopped):
    """No server answered at start-up, and no schedule from an earlier run is cached."""

    exit_code = 3


def _when(item: ScheduleItem, key: ItemTime) -> datetime:
    return datetime.fromisoformat(str(item[key]))


class StationAgent:
    """Pulls a station's schedule and plays it; one `tick()` does one round of work."""

    def __init__(
        self,
        server: str,
        token: str,
        directory: Path,
        *,
        player: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        timeout_s: float = 10.0,
        client: httpx.Client | None = None,
        heartbeat_s: float = 300.0,
    ):
        self.server = server.rstrip("/")
        self.state = AgentState.load(directory)
        self.player = player
        self.clock = clock
        # A short connect timeout: an address where nothing answers must not stall start-up or a poll for long.
        self.client = client or httpx.Client(timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, CONNECT_TIMEOUT_S)))
        self.client.headers["Authorization"] = f"Bearer {token}"
        self.station_id: int | None = read_json(directory / "station.json", {}).get("id")
        self.online = False
        self.lost_at: float | None = None
        self.heartbeat_s = heartbeat_s
        self.last_report = float("-inf")
        self.last_error: Exception | None = None

    def _offline(self, what: str, exc: Exception) -> None:
        # One warning when the connection drops, not one per poll while it stays down.
        if self.online:
            self.lost_at = time.monotonic()
            log.warning("connection to %s lost (%s: %s); playing from cache until it is back", self.server, what, exc)
        else:
            log.debug("%s: %s", what, exc)
        self.online = False
        self.last_error = exc

    def _online(self) -> None:
        if not self.online:
            if self.lost_at is None:
                log.info("connected to %s as station %s", self.server, self.station_id)
            else:
                log.info("connection to %s back after %.0f s", self.server, time.monotonic() - self.lost_at)
        self.online, self.lost_at = True, None

    def _refused(self, response: httpx.Response) -> None:
        """Stop on 401/403: polling again cannot fix a wrong token or a cache directory of another station."""
        if response.status_code not in (401, 403):
            return
        try:
            answer = response.json()
        except ValueError:
            answer = response.text[:200]
        where = f"{response.status_code} {answer.get('detail', '') if isinstance(answer, dict) else answer}".strip()
        if response.status_code == 401:
            raise TokenRefused(
                f"Máy chủ {self.server} từ chối mã trạm ({where}). Kiểm tra --token: phải là mã hiện hành của chính trạm "
                "này (in ra khi tạo trạm hoặc khi cấp lại bằng POST /api/stations/{id}/token, mã cũ khi đó ngừng hoạt "
                "động), không phải mã API của người dùng. (The server refused the token: check --token is this "
                "station's current station token, not a user's API token.)"
            )
        raise TokenRefused(
            f"Máy chủ {self.server} không cho mã này dùng trạm {self.station_id} ({where}). Kiểm tra mã trạm "
            f"{self.station_id} ghi trong {self.state.root / 'station.json'} có đúng là trạm của --token (mỗi trạm một "
            "thư mục --dir riêng; xoá station.json để hỏi lại máy chủ) và mã có vai trò trạm (station). "
            "(Forbidden: check that the station id in station.json belongs to the token, one --dir per station, "
            "and that the token has the station role.)"
        )

    def start(self, *, window_s: float = STARTUP_WINDOW_S) -> None:
        """First contact, retried for a few seconds; AgentStopped if refused, or if unanswered with nothing cached."""
        deadline = time.monotonic() + window_s
        delay, attempts = STARTUP_BACKOFF_S[0], 0
        while True:
            attempts += 1
            if self.sync():
                return
            if time.monotonic() + delay > deadline:
                break
            time.sleep(delay)
            delay = min(delay * 2, STARTUP_BACKOFF_S[1])
        if self.state.etag is not None or self.state.schedule:
            self.lost_at = time.monotonic()
            log.warning(
                "server %s does not answer (%s); playing the schedule cached by an earlier run", self.server, self.last_error
            )
            return
        raise ServerUnreachable(
            f"Không kết nối được máy chủ lawcast {self.server} sau {attempts} lần thử trong {window_s:.0f} giây "
            f"({self.last_error}). Kiểm tra --server (địa chỉ, cổng, http/https), mạng, và máy chủ đang chạy. "
            "(No lawcast server answered: check the --server address and port, the network, and that the server runs.)"
        )

    def close(self) -> None:
        """Release the HTTP client."""
        self.client.close()

    def _url(self, path: str) -> str:
        return f"{self.server}/stations/{self.station_id}/{path}"

    def identify(self) -> None:
        """Learn the station id from the token (once; kept on disk)."""
        if self.station_id is None:
            response = self.client.get(f"{self.server}/stations/me")
            self._refused(response)
            response.raise_for_status()
            self.station_id = int(response.json()["id"])
            write_json(self.state.root / "station.json", {"id": self.station_id})

    def sync(self) -> bool:
        """Fetch the schedule (conditional GET); False when the server is unreachable."""
        try:
            self.identify()
            headers = {"If-None-Match": self.state.etag} if self.state.etag else {}
            response = self.client.get(self._url("schedule.json"), headers=headers)
            self._refused(response)
            if response.status_code == 304:
                self._online()
                return True
            response.raise_for_status()
            items = response.json()["items"]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            self._offline("schedule sync failed", exc)
            return False
        self._online()
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
                if self._fetch(urljoin(self.server + "/", str(item["media_url"])), sha, int(item["bytes"])):
                    done += 1
            except httpx.HTTPStatusError as exc:
                # The server answered: this file is refused or missing, which says nothing about the connection.
                log.error("download of %s refused: %s", item["media_url"], exc.response.status_code)
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
        if part.stat().st_size > size or _sha256(part) != sha:
            log.error("checksum mismatch for %s; discarding the download", url)
            part.unlink()
            return False
        os.replace(part, self.state.media_path(sha))
        return True

    def due(self) -> list[ScheduleItem]:
        """Items to play now (cached, not yet played): emergencies first, then by start."""
        now = self.clock()
        ready = []
        for item in self.state.schedule:
            if int(item["airing_id"]) in self.state.played:
                continue
            start, end = _when(item, "start"), _when(item, "end")
            if item["priority"] == "emergency":
                end += EMERGENCY_GRACE
            if start <= now < end and self.state.media_path(str(item["sha256"])).exists():
                ready.append(item)
        return sorted(ready, key=lambda i: (i["priority"] != "emergency", str(i["start"])))

    def play(self, item: ScheduleItem) -> None:
        """Play one item through the player command (or just log it), honouring the overrun policy, and queue its report."""
        path = self.state.media_path(str(item["sha256"]))
        started = self.clock()
        duration = float(item["duration_s"])
        allowed = (_when(item, "slot_end") - started).total_seconds() if "slot_end" in item else duration
        policy = str(item.get("overrun", "finish"))
        outcome, limit = "played", None
        if duration > allowed and policy == "refuse":
            outcome = "skipped"
        elif duration > allowed and policy == "cut":
            outcome, limit = "cut", max(allowed, 0.0)
        if outcome != "skipped" and self.player:
            seconds = limit if limit is not None else duration
            if not run_player(self.player, path, seconds, limit):
                outcome = "failed"
        played_s = (self.clock() - started).total_seconds() if self.player else (limit if limit is not None else duration)
        if outcome == "played" and played_s > allowed:
            outcome = "overran"  # policy finish let it run past the slot end
        log.info(
            "PLAY %s %s (%s s) policy=%s outcome=%s",
            item["airing_id"],
            item.get("title", ""),
            item["duration_s"],
            policy,
            outcome,
        )
        self.state.played.add(int(item["airing_id"]))
        self.state.outbox.append(
            {
                "airing_id": item["airing_id"],
                "played_at": started.isoformat(),
                "duration_s": round(max(played_s, 0.0) if outcome != "skipped" else 0.0, 3),
                "overrun": policy,
                "outcome": outcome,
            }
        )
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
                "queued_reports": len(self.state.outbox),
                "schedule_items": len(self.state.schedule),
                "agent_time": self.clock().isoformat(),
            }
            try:
                response = self.client.post(self._url("plays"), json={"plays": batch, "heartbeat": heartbeat})
                self._refused(response)
                response.raise_for_status()
                answer = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                self._offline(f"reports kept for later ({len(self.state.outbox)} queued)", exc)
                return sent
            for airing_id in answer.get("rejected", []):
                log.error("server rejected the report of airing %s (not in this station's schedule)", airing_id)
            # Every report in the batch is acknowledged: stored, a duplicate, or rejected.
            acknowledged = {int(p["airing_id"]) for p in batch}
            self.state.outbox = [p for p in self.state.outbox if int(p["airing_id"]) not in acknowledged]
            self.state.save_plays()
            sent += len(batch)
            if not self.state.outbox:
                return sent

    def prune(self) -> None:
        """Forget played ids no longer scheduled and media unused for a week (the cache stays bounded)."""
        scheduled = {int(i["airing_id"]) for i in self.state.schedule}
        queued = {int(p["airing_id"]) for p in self.state.outbox}
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
        """Start, then tick until `until()`, playing due items between polls; only AgentStopped ends it early."""
        logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per poll would drown the play log
        self.start()
        last_sync = float("-inf")
        while not until():
            try:
                if time.monotonic() - last_sync >= poll_s:
                    last_sync = time.monotonic()
                    self.tick()
                else:
                    for item in self.due():
                        self.play(item)
            except AgentStopped:
                raise
            except Exception:  # a station must keep running whatever one round hit
                log.exception("agent round failed; retrying")
            time.sleep(min(0.5, poll_s))


def _sha256(path: Path) -> str:
    """Hex SHA-256 of a downloaded file (the agent runs on a station: nothing of the server is imported)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
