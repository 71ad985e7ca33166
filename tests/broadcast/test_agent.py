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

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.broadcast.conftest import Bulletin, area, make_slot, occurrences, station
from tests.conftest import ROOT, Stack

RECORDER = '''
import sys, time
log, seconds, path = sys.argv[1], float(sys.argv[2]), sys.argv[3]
with open(log, "a") as out:
    out.write(f"start {seconds:.3f} {path}\\n")
time.sleep(float(sys.argv[4]) if len(sys.argv) > 4 else seconds)  # a fixed time, if given: the limit is ignored
with open(log, "a") as out:
    out.write(f"end {path}\\n")
'''


class LiveServer:
    """`uvicorn app:create_app` in its own process, on the stack's database, at a fixed free port."""

    def __init__(self, stack: Stack, log: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, LAWCAST_DATA_DIR=str(stack.data_dir), LAWCAST_DATABASE_URL=stack.database_url,
                        LAWCAST_BROKER_URL=stack.broker_url, LAWCAST_BASE_URL=self.url, PYTHONPATH=str(ROOT))
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start serving and wait until it answers."""
        with self.log.open("ab") as handle:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "app:create_app", "--factory", "--host", "127.0.0.1", "--port", str(self.port),
                 "--log-level", "warning"],
                cwd=ROOT, env=self.env, stdout=handle, stderr=handle,
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


def read_json(path: Path, default: object) -> object:
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
    slot = make_slot(api, stack, "station", target["id"], at, math.ceil(first.duration_s + second.duration_s) + 1,
                     rrule="FREQ=DAILY;COUNT=1", overrun="finish")
    occurrence = occurrences(api, stack, slot["id"])[0]
    pinned = []
    for bulletin in (first, second):
        made = api.post("/api/schedule/pins", json={"occurrence_id": occurrence["id"], "production_id": bulletin.production_id},
                        headers=stack.headers("scheduler"))
        assert made.status_code == 201, made.json()
        pinned.append(made.json()["id"])
    cache, plays_log = tmp_path / "cache", tmp_path / "plays.log"
    (tmp_path / "recorder.py").write_text(RECORDER, encoding="utf-8")
    player = f"{sys.executable} {tmp_path / 'recorder.py'} {plays_log} {{seconds}} {{path}} 0.2"

    def start_agent() -> subprocess.Popen[bytes]:
        handle = (tmp_path / "agent.log").open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "cli", "station", "run", "--server", live.url, "--token", str(target["token"]),
             "--dir", str(cache), "--player", player, "--poll", "1"],
            cwd=ROOT, env=live.env, stdout=handle, stderr=handle,
        )

    def scheduled() -> list[dict[str, object]]:
        return read_json(cache / "schedule.json", {}).get("items", [])  # type: ignore[union-attr]

    def outbox() -> list[dict[str, object]]:
        return read_json(cache / "outbox.json", [])  # type: ignore[return-value]

    def played_lines() -> list[str]:
        return [line for line in plays_log.read_text().splitlines() if line.startswith("start")] if plays_log.exists() else []

    agent = start_agent()
    try:
        wait_until(lambda: set(pinned) <= {int(i["airing_id"]) for i in scheduled()}, 30, "agent never synced its schedule")  # type: ignore[call-overload]
        items = scheduled()
        wait_until(lambda: all((cache / "media" / f"{i['sha256']}.media").exists() for i in items), 30, "media never cached")
        live.stop()  # the network drops before the first item is due
        wait_until(lambda: len(played_lines()) >= len(items), 60, "agent did not play from its cache")
        wait_until(lambda: len(outbox()) == len(items), 10, "plays were not queued on disk")
        assert agent.poll() is None  # still running, offline
        assert {int(p["airing_id"]) for p in outbox()} == {int(i["airing_id"]) for i in items}  # type: ignore[call-overload]
        for item in items:
            assert any(line.endswith(f"{item['sha256']}.media") for line in played_lines())
        live.start()
        wait_until(lambda: outbox() == [], 30, "queued reports were not delivered after the network came back")
        alert = api.post("/api/emergency", json={"production_id": bulletins[2].production_id, "area_id": commune["id"]},
                         headers=stack.headers("scheduler")).json()
        wait_until(lambda: any(line.endswith(f"{bulletins[2].sha256}.media") for line in played_lines()), 30,
                   "the emergency did not play at the next poll")
        wait_until(lambda: outbox() == [] and alert["id"] in read_json(cache / "played.json", []), 30, "emergency not reported")  # type: ignore[operator]
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
        rows = session.execute(select(PlayReport.airing_id, PlayReport.status).where(PlayReport.station_id == target["id"])).all()
    expected = {int(i["airing_id"]) for i in items} | {alert["id"]}  # type: ignore[call-overload]
    assert sorted(airing for airing, _ in rows) == sorted(expected)  # every play reported, exactly once
    assert set(pinned) <= expected and {status for _, status in rows} == {"played"}
    assert outbox() == []


def _agent(live: LiveServer, tmp_path: Path, token: str = "unused", **extra: object):  # type: ignore[no-untyped-def]
    from broadcast.agent import StationAgent

    return StationAgent(live.url, token, tmp_path / "cache", **extra)  # type: ignore[arg-type]


def _item(bulletin: Bulletin, **extra: object) -> dict[str, object]:
    now = datetime.now(UTC)
    item: dict[str, object] = {
        "airing_id": 1, "start": now.isoformat(), "end": (now + timedelta(seconds=bulletin.duration_s)).isoformat(),
        "priority": "normal", "title": bulletin.title, "media_url": f"/media/{bulletin.media_key}", "sha256": bulletin.sha256,
        "bytes": bulletin.bytes, "duration_s": bulletin.duration_s,
    }
    item.update(extra)
    return item


def test_download_resumes_a_partial_file_with_a_range_request(
    stack: Stack, bulletins: list[Bulletin], live: LiveServer, tmp_path: Path
) -> None:
    from assets import storage

    bulletin = bulletins[1]
    original = storage.path_for(bulletin.media_key).read_bytes()
    sent: list[httpx.Request] = []
    agent = _agent(live, tmp_path, client=httpx.Client(event_hooks={"request": [sent.append]}))
    half = len(original) // 2
    (agent.state.root / "partial" / f"{bulletin.sha256}.part").write_bytes(original[:half])
    agent.state.schedule = [_item(bulletin)]
    assert agent.download() == 1
    assert agent.state.media_path(bulletin.sha256).read_bytes() == original
    assert [r.headers.get("range") for r in sent] == [f"bytes={half}-"]
    assert not list((agent.state.root / "partial").iterdir())
    agent.close()


def test_a_download_whose_sha256_does_not_match_is_rejected(
    stack: Stack, bulletins: list[Bulletin], live: LiveServer, tmp_path: Path
) -> None:
    from assets import storage

    bulletin = bulletins[0]
    original = storage.path_for(bulletin.media_key).read_bytes()
    agent = _agent(live, tmp_path)
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


@pytest.mark.parametrize(("policy", "status", "finished"), [("refuse", "skipped", None), ("cut", "cut", False), ("finish", "played", True)])
def test_overrun_policy_is_honoured_at_play_time(
    bulletins: list[Bulletin], live: LiveServer, tmp_path: Path, policy: str, status: str, finished: bool | None
) -> None:
    log = tmp_path / "player.log"
    (tmp_path / "recorder.py").write_text(RECORDER, encoding="utf-8")
    # This player ignores the time limit it is given and sleeps 3 s, so only the agent can cut it short.
    agent = _agent(live, tmp_path, player=f"{sys.executable} {tmp_path / 'recorder.py'} {log} {{seconds}} {{path}} 3")
    now = datetime.now(UTC)
    item = _item(bulletins[0], duration_s=3.0, overrun=policy, slot_end=(now + timedelta(seconds=0.5)).isoformat())
    agent.play(item)
    report = agent.state.outbox[-1]
    assert report["status"] == status
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
