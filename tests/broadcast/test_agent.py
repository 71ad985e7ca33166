"""The reference station agent against a live server: offline play from cache, queued reports, resume, checksums, overrun."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.broadcast.conftest import Bulletin, area, make_slot, occurrences, station
from tests.conftest import ROOT, Stack
from tests.helpers import Json

RECORDER = """
import sys, time
log, seconds, path = sys.argv[1], float(sys.argv[2]), sys.argv[3]
with open(log, "a") as out:
    out.write(f"start {seconds:.3f} {path}\\n")
time.sleep(float(sys.argv[4]) if len(sys.argv) > 4 else seconds)  # a fixed time, if given: the limit is ignored
with open(log, "a") as out:
    out.write(f"end {path}\\n")
"""


class LiveServer:
    """`uvicorn app:create_app` in its own process, on the stack's database, at a fixed free port."""

    def __init__(self, stack: Stack, log: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(
            os.environ,
            LAWCAST_DATA_DIR=str(stack.data_dir),
            LAWCAST_DATABASE_URL=stack.database_url,
            LAWCAST_BROKER_URL=stack.broker_url,
            LAWCAST_BASE_URL=self.url,
            PYTHONPATH=str(ROOT),
        )
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start serving and wait until it answers."""
        with self.log.open("ab") as handle:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "app:create_app",
                    "--factory",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=handle,
                stderr=handle,
            )
        wait_until(self._up, 30, "server did not start")

    def _up(self) -> bool:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        """Stop the server process (the network 'drops')."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None


def wait_until(check: Callable[[], object], timeout_s: float, message: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(message)


@pytest.fixture(scope="module")
def live(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(stack, tmp_path_factory.mktemp("live") / "uvicorn.log")
    server.start()
    yield server
    server.stop()


def read_json(path: Path, default: object) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return default


def test_agent_keeps_playing_offline_and_every_report_arrives_exactly_once(
    api: TestClient, stack: Stack, bulletins: list[Bulletin], live: LiveServer, tmp_path: Path
) -> None:
    from broadcast.models import PlayReport
    from db import session_scope

    commune = area(api, stack)
    target = station(api, stack, commune["id"])
    first, second = bulletins[0], bulletins[3]
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=12)
    slot = make_slot(
        api,
        stack,
        "station",
        target["id"],
        at,
        math.ceil(first.duration_s + second.duration_s) + 1,
        rrule="FREQ=DAILY;COUNT=1",
        overrun="finish",
    )
    occurrence = occurrences(api, stack, slot["id"])[0]
    pinned = []
    for bulletin in (first, second):
        made = api.post(
            "/api/schedule/pins",
            json={"occurrence_id": occurrence["id"], "production_id": bulletin.production_id},
            headers=stack.headers("scheduler"),
        )
        assert made.status_code == 201, made.json()
        pinned.append(made.json()["id"])
    cache, plays_log = tmp_path / "cache", tmp_path / "plays.log"
    (tmp_path / "recorder.py").write_text(RECORDER, encoding="utf-8")
    player = f"{sys.executable} {tmp_path / 'recorder.py'} {plays_log} {{seconds}} {{path}} 0.2"

    def start_agent() -> subprocess.Popen[bytes]:
        handle = (tmp_path / "agent.log").open("ab")
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cli",
                "station",
                "run",
                "--server",
                live.url,
                "--token",
                str(target["token"]),
                "--dir",
                str(cache),
                "--player",
                player,
                "--poll",
                "1",
            ],
            cwd=ROOT,
            env=live.env,
            stdout=handle,
            stderr=handle,
        )

    def scheduled() -> list[Json]:
        return read_json(cache / "schedule.json", {}).get("items", [])

    def outbox() -> list[Json]:
        return read_json(cache / "outbox.json", [])

    def played_lines() -> list[str]:
        return [line for line in plays_log.read_text().splitlines() if line.startswith("start")] if plays_log.exists() else []

    agent = start_agent()
    try:
        wait_until(lambda: set(pinned) <= {int(i["airing_id"]) for i in scheduled()}, 30, "agent never synced its schedule")
        items = scheduled()
        wait_until(lambda: all((cache / "media" / f"{i['sha256']}.media").exists() for i in items), 30, "media never cached")
        live.stop()  # the network drops before the first item is due
        wait_until(lambda: len(played_lines()) >= len(items), 60, "agent did not play from its cache")
        wait_until(lambda: len(outbox()) == len(items), 10, "plays were not queued on disk")
        assert agent.poll() is None  # still running, offline
        assert {int(p["airing_id"]) for p in outbox()} == {int(i["airing_id"]) for i in items}
        for item in items:
            assert any(line.endswith(f"{item['sha256']}.media") for line in played_lines())
        live.start()
        wait_until(lambda: outbox() == [], 30, "queued reports were not delivered after the network came back")
        alert = api.post(
            "/api/emergency",
            json={"production_id": bulletins[2].production_id, "area_id": commune["id"]},
            headers=stack.headers("scheduler"),
        ).json()
        wait_until(
            lambda: any(line.endswith(f"{bulletins[2].sha256}.media") for line in played_lines()),
            30,
            "the emergency did not play at the next poll",
        )
        wait_until(lambda: outbox() == [] and alert["id"] in read_json(cache / "played.json", []), 30, "emergency not reported")
    finally:
        agent.send_signal(signal.SIGINT)
        agent.wait(timeout=20)
    again = start_agent()  # a restarted agent neither replays nor re-reports
    try:
        time.sleep(3)
        assert len(played_lines()) == len(items) + 1
    finally:
        again.send_signal(signal.SIGINT)
        again.wait(timeout=20)
    with session_scope() as session:
        rows = session.execute(
            select(PlayReport.airing_id, PlayReport.outcome).where(PlayReport.station_id == target["id"])
        ).all()
    expected = {int(i["airing_id"]) for i in items} | {alert["id"]}
    assert sorted(airing for airing, _ in rows) == sorted(expected)  # every play reported, exactly once
    assert set(pinned) <= expected and {outcome for _, outcome in rows} == {"played"}
    assert outbox() == []
    window = {"start": (at - timedelta(hours=1)).isoformat(), "end": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}
    logged = api.get("/api/reports/asrun", params={**window, "station_id": target["id"]}, headers=stack.headers("scheduler"))
    assert logged.status_code == 200, logged.json()
    # The as-run log keeps the slot's policy apart from what happened.
    assert {(r["overrun"], r["outcome"]) for r in logged.json()["rows"] if r["airing_id"] in pinned} == {("finish", "played")}


def _agent(live: LiveServer, tmp_path: Path, token: str = "unused", **extra: Any):
    from broadcast.agent import StationAgent

    return StationAgent(live.url, token, tmp_path / "cache", **extra)


def _item(bulletin: Bulletin, **extra: object) -> Json:
    now = datetime.now(UTC)
    item: dict[str, object] = {
        "airing_id": 1,
        "start": now.isoformat(),
        "end": (now + timedelta(seconds=bulletin.duration_s)).isoformat(),
        "priority": "normal",
        "title": bulletin.title,
        "media_url": f"/media/{bulletin.media_key}",
        "sha256": bulletin.sha256,
        "bytes": bulletin.bytes,
        "duration_s": bulletin.duration_s,
    }
    item.update(extra)
    return item


def station_token(api: TestClient, stack: Stack) -> str:
    """A new station's token: media of productions that are not yet published go to station tokens only."""
    return str(station(api, stack, area(api, stack)["id"])["token"])


def test_download_resumes_a_partial_file_with_a_range_request(
    api: TestClient, stack: Stack, bulletins: list[Bulletin], live: LiveServer, tmp_path: Path
) -> None:
    from assets import storage

    bulletin = bulletins[1]
    original = storage.path_for(bulletin.media_key).read_bytes()
    sent: list[httpx.Request] = []
    agent = _agent(live, tmp_path, station_token(api, stack), client=httpx.Client(event_hooks={"request": [sent.append]}))
    half = len(original) // 2
    (agent.state.root / "partial" / f"{bulletin.sha256}.part").write_bytes(original[:half])
    agent.state.schedule = [_item(bulletin)]
    assert agent.download() == 1
    assert agent.state.media_path(bulletin.sha256).read_bytes() == original
    assert [r.headers.get("range") for r in sent] == [f"bytes={half}-"]
    assert not list((agent.state.root / "partial").iterdir())
    agent.close()


def test_a_download_whose_sha256_does_not_match_is_rejected(
    api: TestClient, stack: Stack, bulletins: list[Bulletin], live: LiveServer, tmp_path: Path
) -> None:
    from assets import storage

    bulletin = bulletins[0]
    original = storage.path_for(bulletin.media_key).read_bytes()
    agent = _agent(live, tmp_path, station_token(api, stack))
    part = agent.state.root / "partial" / f"{bulletin.sha256}.part"
    part.write_bytes(b"\0" * 1000)  # a corrupt prefix: the resumed file cannot match
    agent.state.schedule = [_item(bulletin)]
    assert agent.download() == 0
    assert not agent.state.media_path(bulletin.sha256).exists() and not part.exists()
    assert agent.due() == []  # nothing plays without a verified file
    part.write_bytes(original + b"extra")  # longer than the file: discarded, not trusted
    assert agent.download() == 1
    assert agent.state.media_path(bulletin.sha256).read_bytes() == original
    assert [i["airing_id"] for i in agent.due()] == [1]
    agent.close()


@pytest.mark.parametrize(
    ("policy", "outcome", "finished"), [("refuse", "skipped", None), ("cut", "cut", False), ("finish", "overran", True)]
)
def test_overrun_policy_is_honoured_at_play_time(
    bulletins: list[Bulletin], live: LiveServer, tmp_path: Path, policy: str, outcome: str, finished: bool | None
) -> None:
    log = tmp_path / "player.log"
    (tmp_path / "recorder.py").write_text(RECORDER, encoding="utf-8")
    # This player ignores the time limit it is given and sleeps 3 s, so only the agent can cut it short.
    agent = _agent(live, tmp_path, player=f"{sys.executable} {tmp_path / 'recorder.py'} {log} {{seconds}} {{path}} 3")
    now = datetime.now(UTC)
    item = _item(bulletins[0], duration_s=3.0, overrun=policy, slot_end=(now + timedelta(seconds=0.5)).isoformat())
    agent.play(item)
    report = agent.state.outbox[-1]
    assert (report["overrun"], report["outcome"]) == (policy, outcome)  # the policy, and apart from it what happened
    lines = log.read_text().splitlines() if log.exists() else []
    if finished is None:
        assert lines == [] and report["duration_s"] == 0.0
    else:
        assert lines[0].startswith("start")
        told = float(lines[0].split()[1])
        assert (told < 3.0) if policy == "cut" else told == 3.0  # cut: the player is told to stop at the slot end
        assert any(line.startswith("end") for line in lines) is finished
    assert 1 in agent.state.played
    agent.close()


# --- the agent speaks up (issue 12 §7) -------------------------------------------------------------


def run_agent(
    live: LiveServer, cache: Path, token: str, log: Path, server: str | None = None, poll: float = 0.5
) -> subprocess.Popen[bytes]:
    """`lawcast station run` in its own process, logging to `log`."""
    handle = log.open("ab")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli",
            "station",
            "run",
            "--server",
            server or live.url,
            "--token",
            token,
            "--dir",
            str(cache),
            "--poll",
            str(poll),
        ],
        cwd=ROOT,
        env=live.env,
        stdout=handle,
        stderr=handle,
    )


def finished(process: subprocess.Popen[bytes], timeout_s: float) -> int:
    """The exit status of a process that must end by itself within timeout_s."""
    try:
        return process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError(f"`lawcast station run` still running after {timeout_s} s") from None


def test_an_unknown_token_ends_station_run_saying_to_check_the_token(stack: Stack, live: LiveServer, tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    code = finished(run_agent(live, tmp_path / "cache", "lc_not-a-station-token", log), 30)
    text = log.read_text()
    assert code == 2, text
    assert "401" in text and "--token" in text and "station token" in text
    assert "Traceback" not in text


def test_a_token_of_another_station_ends_station_run_saying_what_to_check(
    api: TestClient, stack: Stack, live: LiveServer, tmp_path: Path
) -> None:
    commune = area(api, stack)
    mine, theirs = station(api, stack, commune["id"]), station(api, stack, commune["id"])
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "station.json").write_text(json.dumps({"id": theirs["id"]}))  # a cache directory of the other station
    log = tmp_path / "agent.log"
    code = finished(run_agent(live, cache, str(mine["token"]), log), 30)
    text = log.read_text()
    assert code == 2, text
    assert "403" in text and "station.json" in text and f"trạm {theirs['id']}" in text and "station role" in text
    assert not (cache / "schedule.json").exists()


def test_an_address_where_nothing_answers_ends_station_run_after_a_short_retry(live: LiveServer, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"  # nothing listens once the probe is closed
    log = tmp_path / "agent.log"
    started = time.monotonic()
    code = finished(run_agent(live, tmp_path / "cache", "lc_whatever", log, server=closed), 40)
    text = log.read_text()
    assert code == 3, text
    assert closed in text and "--server" in text and "lần thử" in text
    assert time.monotonic() - started >= 5  # it retried for a while before giving up


def test_with_a_cached_schedule_an_unanswered_start_plays_from_the_cache(
    live: LiveServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from broadcast.agent import ServerUnreachable, StationAgent

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    fresh = StationAgent(closed, "lc_whatever", tmp_path / "fresh")
    with pytest.raises(ServerUnreachable, match="--server"):
        fresh.start(window_s=1)
    fresh.close()
    cached = StationAgent(closed, "lc_whatever", tmp_path / "cached")
    cached.state.etag, cached.state.schedule = '"v1"', []
    cached.state.save_schedule()
    again = StationAgent(closed, "lc_whatever", tmp_path / "cached")  # a restart during an outage
    with caplog.at_level("WARNING", logger="lawcast.station"):
        again.start(window_s=1)  # no exception: it goes on with what it has
    assert any("playing the schedule cached" in r.getMessage() for r in caplog.records)
    cached.close()
    again.close()


def test_a_lost_connection_and_its_return_are_logged_once_each(
    api: TestClient, stack: Stack, live: LiveServer, tmp_path: Path
) -> None:
    target = station(api, stack, area(api, stack)["id"])
    log = tmp_path / "agent.log"
    agent = run_agent(live, tmp_path / "cache", str(target["token"]), log, poll=0.3)

    def lines(word: str) -> list[str]:
        return [line for line in log.read_text().splitlines() if f"connection to {live.url} {word}" in line]

    try:
        wait_until(lambda: "connected to" in log.read_text(), 30, "agent never connected")
        live.stop()
        wait_until(lambda: lines("lost"), 20, "the lost connection was not logged")
        time.sleep(2)  # several failed polls: still one line
        live.start()
        wait_until(lambda: lines("back"), 30, "the connection's return was not logged")
        time.sleep(2)  # several good polls: still one line
        assert agent.poll() is None
    finally:
        agent.send_signal(signal.SIGINT)
        agent.wait(timeout=20)
    assert len(lines("lost")) == 1, log.read_text()
    assert len(lines("back")) == 1, log.read_text()
