"""The render queue through real worker processes: reuse, bad input, retries, priority, cancel, crashes, CLI.

The worker is the `stack` fixture's Celery process (beat included: the reaper runs every 2 s and
treats a heartbeat older than 4 s as lost). Tests that need another worker start one next to it;
the crash test kills the session worker with SIGKILL and leaves a fresh one running.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assets import storage
from settings import get_settings
from tests.conftest import ROOT, Stack
from tests.helpers import Json, wait_for_job
from tests.studio.render_helpers import MediaWatcher, ffmpeg_processes, job_row, pid_alive, wait_until

SHORT = [
    {"speaker": "presenter", "text": "Bản tin ngắn về pháp luật.", "pause_ms": 300},
    {"speaker": "presenter", "text": "Người dân cần biết quy định mới.", "pause_ms": 300},
]


def _document(client: TestClient, stack: Stack, text: str) -> Json:
    response = client.post("/api/documents", json={"text": text}, headers=stack.headers("editor"))
    assert response.status_code == 201, response.json()
    return response.json()


def _production(client: TestClient, stack: Stack, doc: Json, fmt: str, lines: list[Json] | None = None) -> Json:
    made = client.post("/api/productions", json={"document_id": doc["id"], "format": fmt}, headers=stack.headers("editor"))
    assert made.status_code == 201, made.json()
    production = made.json()
    if lines is not None:
        saved = client.put(f"/api/productions/{production['id']}/script", json={"lines": lines}, headers=stack.headers("editor"))
        assert saved.status_code == 200, saved.json()
        production = saved.json()
    return production


def _render(
    client: TestClient, stack: Stack, production_id: int, profiles: list[str] | None = None, priority: str = "normal"
) -> Json:
    body = {"profiles": profiles, "priority": priority}
    accepted = client.post(f"/api/productions/{production_id}/renders", json=body, headers=stack.headers("producer"))
    assert accepted.status_code == 202, accepted.json()
    return accepted.json()


@pytest.fixture(scope="module")
def long_lines(stack: Stack, sample_law_text: str) -> list[Json]:
    """The radio script of the whole sample law (about four minutes): long enough to act on mid-render."""
    from app import create_app

    with TestClient(create_app()) as client:
        doc = _document(client, stack, sample_law_text)
        radio = _production(client, stack, doc, "radio")
    return [{k: line[k] for k in ("speaker", "text", "pause_ms", "role", "bed")} for line in radio["script"]]


@pytest.fixture(scope="module")
def doc(stack: Stack, sample_law_text: str) -> Json:
    from app import create_app

    with TestClient(create_app()) as client:
        return _document(client, stack, sample_law_text)


def _files_of(content_hash: str, profile: str) -> list[Path]:
    folder = storage.media_root() / profile / content_hash[:20]
    return list(folder.rglob("*")) if folder.exists() else []


def test_same_render_is_reused_and_an_edit_gets_a_new_key(client: TestClient, stack: Stack, doc: Json) -> None:
    producer = stack.headers("producer")
    production = _production(client, stack, doc, "loudspeaker", SHORT)
    first = _render(client, stack, production["id"])
    job = wait_for_job(client, producer, first["job"]["id"])
    assert job["status"] == "succeeded", job
    old = {o["kind"]: o for o in job["outputs"]}
    old_path = storage.path_for(old["audio"]["media_key"])
    old_bytes = old_path.read_bytes()

    again = _render(client, stack, production["id"])
    assert [j["id"] for j in again["jobs"]] == [job["id"]]  # the finished job, not a new one
    assert again["job"]["status"] == "succeeded"
    assert sorted(o["media_key"] for o in again["job"]["outputs"]) == sorted(o["media_key"] for o in job["outputs"])

    edited = [dict(SHORT[0]), {**SHORT[1], "text": "Người dân cần biết quy định mới nhất."}]
    client.put(f"/api/productions/{production['id']}/script", json={"lines": edited}, headers=stack.headers("editor"))
    third = _render(client, stack, production["id"])
    assert third["job"]["id"] != job["id"] and third["job"]["script_version"] == 3
    new = wait_for_job(client, producer, third["job"]["id"])
    assert new["status"] == "succeeded", new
    new_key = next(o["media_key"] for o in new["outputs"] if o["kind"] == "audio")
    assert new_key != old["audio"]["media_key"]
    assert job_row(new["id"])["content_hash"] != job_row(job["id"])["content_hash"]
    assert old_path.read_bytes() == old_bytes  # the published file never changes
    assert storage.path_for(new_key).read_bytes() != old_bytes
    latest = client.get(f"/api/productions/{production['id']}", headers=producer).json()
    assert {o["media_key"] for o in latest["outputs"] if o["kind"] == "audio"} == {new_key}


def test_script_with_nothing_to_say_fails_at_once(client: TestClient, stack: Stack, doc: Json) -> None:
    lines = [{"speaker": "presenter", "text": "…", "pause_ms": 300}, {"speaker": "presenter", "text": "!!! ---", "pause_ms": 300}]
    production = _production(client, stack, doc, "loudspeaker", lines)
    job = wait_for_job(client, stack.headers("producer"), _render(client, stack, production["id"])["job"]["id"])
    assert job["status"] == "failed" and job["attempts"] == 1
    assert "không có câu nào đọc được" in job["error"] and "Hãy viết lời đọc" in job["error"]
    assert job["outputs"] == [] and job_row(job["id"])["stage"] == "failed"


def test_loudspeaker_bulletin_over_three_minutes_is_refused(
    client: TestClient, stack: Stack, doc: Json, long_lines: list[Json]
) -> None:
    production = _production(client, stack, doc, "loudspeaker", long_lines)
    job = wait_for_job(client, stack.headers("producer"), _render(client, stack, production["id"])["job"]["id"])
    assert job["status"] == "failed" and job["attempts"] == 1, job
    assert "vượt giới hạn 3 phút" in job["error"] and "Phần 1/2" in job["error"]
    assert _files_of(job_row(job["id"])["content_hash"], "loudspeaker") == []


def _extra_worker(stack: Stack, queue: str, **env: str) -> subprocess.Popen[bytes]:
    from worker_processes import worker_command

    assert stack.log is not None
    handle = stack.log.open("ab")
    environment = dict(os.environ, PYTHONPATH=str(ROOT), **{f"LAWCAST_{k.upper()}": v for k, v in env.items()})
    return subprocess.Popen(
        worker_command(queue, concurrency=1), stdout=handle, stderr=handle, env=environment, cwd=ROOT, start_new_session=True
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


def _job_on_queue(production_id: int, queue: str, profiles: list[str] | None = None) -> int:
    """A render job routed to `queue` (a dedicated test worker), committed and sent like the API does."""
    from sqlalchemy import select

    import worker
    from auth import User
    from db import session_scope
    from studio import jobs, service

    with session_scope() as session:
        user = session.scalars(select(User).where(User.name == "test-producer")).one()
        production = service.get_production(session, production_id)
        _, created = jobs.request_render(session, production=production, user=user, profiles=profiles)
        assert len(created) == 1
        created[0].queue = queue
        session.flush()
        job_id = created[0].id
    worker.celery_app.send_task("studio.render", args=[job_id], queue=queue)
    return job_id


def test_engine_errors_transient_retried_with_backoff_permanent_failed_at_once(
    client: TestClient, stack: Stack, doc: Json, tmp_path: Path
) -> None:
    from tests.studio.gtts_server import FakeGoogle, Reply, make_mp3

    mp3 = make_mp3(tmp_path / "hello.mp3", seconds=1.0)
    unique = time.time_ns() % 1_000_000  # the phrase cache is shared by both tiers: never hit it here
    script = [Reply(500), Reply(500), Reply(audio=mp3), Reply(400)]
    with FakeGoogle(script=script, default=Reply(400)) as google:
        proc = _extra_worker(
            stack, "probe-gtts", tts_engines="gtts", gtts_host=google.url, gtts_retries="0", gtts_min_interval_s="0"
        )
        try:
            flaky = _production(
                client, stack, doc, "loudspeaker", [{"speaker": "presenter", "text": f"Thử nghiệm số {unique}.", "pause_ms": 300}]
            )
            job = wait_for_job(client, stack.headers("producer"), _job_on_queue(flaky["id"], "probe-gtts"), timeout_s=120)
            assert job["status"] == "succeeded", job
            assert job["attempts"] == 3 and job["engines_used"] == ["gtts"]
            assert google.count == 3
            first, second, third = (r.at for r in google.received[:3])
            assert second - first >= 0.9 and third - second >= 1.9  # retried after 1 s, then after 2 s

            broken = _production(
                client, stack, doc, "loudspeaker", [{"speaker": "presenter", "text": f"Thử lại số {unique}.", "pause_ms": 300}]
            )
            failed = wait_for_job(client, stack.headers("producer"), _job_on_queue(broken["id"], "probe-gtts"), timeout_s=60)
            assert failed["status"] == "failed" and failed["attempts"] == 1, failed
            assert google.count == 4  # a 400 is not retried
            assert "Không tổng hợp được giọng đọc" in failed["error"] and "HTTP 400" in failed["error"]
        finally:
            _stop(proc)


def test_speech_log_records_which_engine_spoke_each_line(client: TestClient, stack: Stack, doc: Json, tmp_path: Path) -> None:
    import json

    from tests.studio.gtts_server import FakeGoogle, Reply, make_mp3

    mp3 = make_mp3(tmp_path / "hello.mp3", seconds=1.0)
    unique = time.time_ns() % 1_000_000
    lines = [
        {"speaker": "presenter", "text": f"Câu đầu tiên số {unique}.", "pause_ms": 300},
        {"speaker": "expert", "text": f"Câu thứ hai số {unique}.", "pause_ms": 300},
    ]
    # Google answers the first sentence, then is down: the second line falls back to espeak.
    with FakeGoogle(script=[Reply(audio=mp3)], default=Reply(503)) as google:
        proc = _extra_worker(
            stack, "probe-chain", tts_engines="gtts,espeak", gtts_host=google.url, gtts_retries="0", gtts_min_interval_s="0"
        )
        try:
            production = _production(client, stack, doc, "loudspeaker", lines)
            job = wait_for_job(client, stack.headers("producer"), _job_on_queue(production["id"], "probe-chain"), timeout_s=120)
        finally:
            _stop(proc)
    assert job["status"] == "succeeded", job
    assert job["engines_used"] == ["espeak", "gtts"]
    log_output = next(o for o in job["outputs"] if o["kind"] == "speech")
    sentences = json.loads(storage.path_for(log_output["media_key"]).read_text(encoding="utf-8"))["sentences"]
    assert [(s["line"], s["engine"], s["fallback_from"]) for s in sentences] == [(0, "gtts", []), (1, "espeak", ["gtts"])]
    assert sentences[1]["voice"] == "vi-VN-x-south"  # the expert's espeak voice
    assert 0 < sentences[0]["start_s"] < sentences[0]["end_s"] <= sentences[1]["start_s"] < sentences[1]["end_s"]


def test_video_cobranding_shows_the_configured_logos(client: TestClient, stack: Stack, doc: Json, tmp_path: Path) -> None:
    import subprocess as sp

    import imageio_ffmpeg

    exe = imageio_ffmpeg.get_ffmpeg_exe()
    logos = {}
    for name, colour in (("legal", "red"), ("media", "lime")):
        logos[name] = tmp_path / f"{name}.png"
        sp.run(
            [exe, "-v", "error", "-f", "lavfi", "-i", f"color=c={colour}:s=64x64:d=1", "-frames:v", "1", str(logos[name])],
            check=True,
        )
    proc = _extra_worker(stack, "probe-logos", logo_legal=str(logos["legal"]), logo_media=str(logos["media"]))
    try:
        production = _production(
            client,
            stack,
            doc,
            "video",
            [{"speaker": "presenter", "text": "Tiểu phẩm có biểu trưng hai đơn vị.", "pause_ms": 300}],
        )
        job = wait_for_job(
            client, stack.headers("producer"), _job_on_queue(production["id"], "probe-logos", ["video_16x9"]), timeout_s=120
        )
    finally:
        _stop(proc)
    assert job["status"] == "succeeded", job
    video = storage.path_for(next(o["media_key"] for o in job["outputs"] if o["kind"] == "video"))
    frame = sp.run(
        [exe, "-v", "error", "-ss", "1", "-i", str(video), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True,
        check=True,
    ).stdout

    def pixel(x: int, y: int) -> tuple[int, int, int]:
        at = (y * 1280 + x) * 3
        return frame[at], frame[at + 1], frame[at + 2]

    left, right = pixel(45, 36), pixel(1280 - 45, 36)  # inside each logo, in the white top bar
    assert left[0] > 180 and left[1] < 90 and left[2] < 90, left  # the legal department's logo on the left
    assert right[1] > 180 and right[0] < 90 and right[2] < 90, right  # the media centre's on the right


def _wait_status(job_id: int, statuses: set[str], timeout_s: float = 120) -> Json:
    return wait_until(
        lambda: (row := job_row(job_id))["status"] in statuses and row,
        timeout_s=timeout_s,
        what=f"job {job_id} to reach {statuses}",
    )


def test_emergency_render_goes_ahead_of_normal_ones_queued_before_it(
    client: TestClient, stack: Stack, doc: Json, long_lines: list[Json]
) -> None:
    staff = stack.headers("producer")
    busy = _production(client, stack, doc, "video", long_lines)
    waiting = _production(client, stack, doc, "video", [*long_lines[1:], long_lines[0]])
    alert = _production(
        client, stack, doc, "loudspeaker", [{"speaker": "presenter", "text": "Thông báo khẩn về thiên tai.", "pause_ms": 300}]
    )
    # Both worker processes get busy, the second one with emergency work: a round-robin consumer
    # would now look at the normal queue first.
    running = [_render(client, stack, busy["id"], ["video_16x9"])["job"]["id"]]
    _wait_status(running[0], {"running"})
    running.append(_render(client, stack, busy["id"], ["video_9x16"], priority="emergency")["job"]["id"])
    _wait_status(running[1], {"running"})
    queued = [j["id"] for j in _render(client, stack, waiting["id"])["jobs"]]
    emergency = _render(client, stack, alert["id"], priority="emergency")["job"]["id"]
    assert job_row(emergency)["queue"] == "emergency"
    try:
        client.delete(f"/api/jobs/{running[0]}", headers=staff)  # frees one worker process
        started = _wait_status(emergency, {"running", "succeeded"})
        assert [job_row(j)["status"] for j in queued] == ["queued", "queued"]
        assert wait_for_job(client, staff, emergency)["status"] == "succeeded"
        assert all(job_row(j)["started_at"] is None or job_row(j)["started_at"] > started["started_at"] for j in queued)
    finally:
        for job_id in [*queued, *running]:
            client.delete(f"/api/jobs/{job_id}", headers=staff)
    for job_id in [*queued, *running]:
        assert _wait_status(job_id, {"cancelled", "succeeded"})["status"] == "cancelled"


def test_cancel_stops_the_running_ffmpeg_and_leaves_nothing(
    client: TestClient, stack: Stack, doc: Json, long_lines: list[Json]
) -> None:
    staff = stack.headers("producer")
    production = _production(client, stack, doc, "video", [*long_lines[2:], *long_lines[:2]])
    job_id = _render(client, stack, production["id"], ["video_9x16"])["job"]["id"]
    encoder = (f"/work/job-{job_id}-", "libx264")  # the video pass, the longest ffmpeg run of the render
    pids = wait_until(lambda: ffmpeg_processes(*encoder), timeout_s=120, what="the job's video encode to start")
    row = job_row(job_id)
    assert row["status"] == "running"
    cancelled = client.delete(f"/api/jobs/{job_id}", headers=staff)
    assert cancelled.status_code == 200
    done = wait_for_job(client, staff, job_id, timeout_s=60)
    assert done["status"] == "cancelled" and done["outputs"] == []
    wait_until(lambda: not any(pid_alive(pid) for pid in pids), timeout_s=10, what="ffmpeg to exit")
    assert ffmpeg_processes(f"/work/job-{job_id}-") == []
    assert _files_of(str(row["content_hash"]), "video_9x16") == []
    assert list((get_settings().data_dir / "work").glob(f"job-{job_id}-*")) == []
    again = client.delete(f"/api/jobs/{job_id}", headers=staff)
    assert again.status_code == 409 and "cancelled" in again.json()["detail"]


def test_cli_render_shows_a_live_progress_bar(stack: Stack, client: TestClient, doc: Json) -> None:
    production = _production(client, stack, doc, "loudspeaker", [{**SHORT[0], "text": "Bản tin thử thanh tiến độ."}, SHORT[1]])
    controller, terminal = pty.openpty()
    env = dict(os.environ, PYTHONPATH=str(ROOT), TERM="xterm-256color", COLUMNS="100")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "lawcast"), "render", str(production["id"])],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=env,
        cwd=ROOT,
    )
    os.close(terminal)
    output = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        elif proc.poll() is not None:
            break
    os.close(controller)
    assert proc.wait(timeout=30) == 0, output.decode(errors="replace")
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output.decode(errors="replace"))
    assert "loudspeaker" in text and "100%" in text and "succeeded" in text
    assert text.count("\r") + text.count("\n") >= 2  # redrawn while the job ran
    state = client.get(f"/api/productions/{production['id']}", headers=stack.headers("producer")).json()
    assert any(o["kind"] == "audio" for o in state["outputs"])


@pytest.fixture
def restore_worker(stack: Stack) -> Iterator[None]:
    """Leave a live session worker behind whatever happens in the test."""
    yield
    if stack.worker is None or stack.worker.poll() is not None:
        stack.start_worker()


def test_killed_worker_job_completes_and_no_partial_file_is_visible(
    client: TestClient, stack: Stack, doc: Json, long_lines: list[Json], restore_worker: None
) -> None:
    from assets import service as assets_service
    from db import session_scope

    staff = stack.headers("producer")
    radio = _production(client, stack, doc, "radio", [*long_lines[3:], *long_lines[:3]])
    short = _production(client, stack, doc, "loudspeaker", [{**SHORT[0], "text": "Bản tin sau sự cố máy dựng."}, SHORT[1]])
    with MediaWatcher(storage.media_root()) as watcher:
        job_id = _render(client, stack, radio["id"], ["radio"])["job"]["id"]
        lost = _job_never_sent(short["id"])  # committed, but its message never reached the broker
        wait_until(
            lambda: (row := job_row(job_id))["status"] == "running" and float(row["progress"]) >= 0.55,
            timeout_s=120,
            what="the radio job to be mid-mix",
            every_s=0.02,
        )
        stack.stop_worker(sig=9)
        assert job_row(job_id)["status"] == "running"  # nobody told the database: the worker just vanished
        stack.start_worker()
        finished = wait_for_job(client, staff, job_id, timeout_s=180)
        rescued = wait_for_job(client, staff, lost, timeout_s=120)
    assert finished["status"] == "succeeded" and finished["attempts"] >= 2, finished
    assert rescued["status"] == "succeeded" and job_row(lost)["sends"] >= 1, rescued  # never sent but by the recovery
    with session_scope() as session:
        for key, (size, digest) in watcher.seen.items():
            if key.startswith("covers/"):
                continue
            row = assets_service.get(session, key)
            assert row is not None, f"{key} appeared without being a stored output"
            assert (size, digest) == (row.bytes, row.sha256), f"{key} was visible before it was complete"
    mine = [o["media_key"] for job in (finished, rescued) for o in job["outputs"]]
    assert set(mine) <= set(watcher.seen) and len(mine) == 12  # two renders: media + five sidecars each
    assert list((get_settings().data_dir / "work").glob(f"job-{job_id}-*")) == []  # the killed attempt's scratch is gone too


def _job_never_sent(production_id: int) -> int:
    from sqlalchemy import select

    from auth import User
    from db import session_scope
    from studio import jobs, service

    with session_scope() as session:
        user = session.scalars(select(User).where(User.name == "test-producer")).one()
        _, created = jobs.request_render(session, production=service.get_production(session, production_id), user=user)
        session.flush()
        return created[0].id
