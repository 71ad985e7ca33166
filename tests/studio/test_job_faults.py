"""A job always ends, and faults lose no job: poison jobs, dead and paused workers, broker and database outages.

Everything runs through real worker processes. The `stack` worker runs beat: the reaper every 2 s, and an
attempt without a heartbeat for 4 s is lost. The restart tests stop and start the real PostgreSQL and Redis
servers, so they run only on the services tier, as root, with a worker at the default settings.
"""

from __future__ import annotations

import copy
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assets import storage
from settings import get_settings
from tests.conftest import ROOT, Stack
from tests.helpers import Json
from tests.studio.render_helpers import ffmpeg_processes, job_row, pid_alive, wait_until

ENDED = {"succeeded", "failed", "cancelled"}
RADIO_KINDS = {"audio", "vtt", "srt", "transcript", "chapters", "speech"}


def _lines(marker: str, count: int = 2) -> list[Json]:
    texts = ["Bản tin pháp luật số {m}.", "Người dân cần biết quy định mới, lần {m}.", "Xin cảm ơn quý vị, lần {m}."]
    return [{"speaker": "presenter", "text": texts[i % 3].format(m=marker), "pause_ms": 300} for i in range(count)]


def _unique() -> str:
    return str(time.time_ns() % 10_000_000_000)  # the phrase cache is shared by both tiers


def _production(client: TestClient, stack: Stack, doc_id: int, fmt: str, lines: list[Json]) -> int:
    made = client.post("/api/productions", json={"document_id": doc_id, "format": fmt}, headers=stack.headers("editor"))
    assert made.status_code == 201, made.json()
    saved = client.put(f"/api/productions/{made.json()['id']}/script", json={"lines": lines}, headers=stack.headers("editor"))
    assert saved.status_code == 200, saved.json()
    return int(made.json()["id"])


def _new_job(production_id: int, profiles: list[str] | None = None) -> int:
    """A committed render job whose message was not sent yet."""
    from sqlalchemy import select

    from auth import User
    from db import session_scope
    from studio import jobs, service

    with session_scope() as session:
        user = session.scalars(select(User).where(User.name == "test-producer")).one()
        _, created = jobs.request_render(
            session, production=service.get_production(session, production_id), user=user, profiles=profiles
        )
        assert len(created) == 1
        return created[0].id


def _send(job_id: int) -> None:
    from db import session_scope
    from studio import dispatch, jobs

    with session_scope() as session:
        dispatch.send_jobs(session, [jobs.get_job(session, job_id)])


def _row(job_id: int) -> Json:
    """The job's row; retried while the database restarts."""
    from tests.studio.render_helpers import job_row as read

    deadline = time.monotonic() + 60
    while True:
        try:
            return read(job_id)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _wait_status(job_id: int, statuses: set[str], timeout_s: float) -> Json:
    return wait_until(
        lambda: (row := _row(job_id))["status"] in statuses and row,
        timeout_s=timeout_s,
        what=f"job {job_id} to reach {statuses}",
        every_s=0.1,
    )


def _outputs(job_id: int) -> list[tuple[int, str, str, str]]:
    from sqlalchemy import select

    from db import session_scope
    from studio.models import Output

    with session_scope() as session:
        rows = session.scalars(select(Output).where(Output.job_id == job_id).order_by(Output.id))
        return [(o.id, o.kind, o.media_key, o.sha256) for o in rows]


def _log_since(stack: Stack, offset: int) -> str:
    assert stack.log is not None
    return stack.log.read_bytes()[offset:].decode(errors="replace")


def _log_size(stack: Stack) -> int:
    assert stack.log is not None
    return stack.log.stat().st_size if stack.log.exists() else 0


@pytest.fixture(scope="module")
def doc(stack: Stack, sample_law_text: str) -> int:
    from app import create_app

    with TestClient(create_app()) as client:
        made = client.post("/api/documents", json={"text": sample_law_text}, headers=stack.headers("editor"))
        assert made.status_code == 201, made.json()
        return int(made.json()["id"])


@pytest.fixture(scope="module")
def radio_lines(stack: Stack, doc: int) -> list[Json]:
    """The radio script of the whole sample law (about four minutes): long enough to act on mid-render."""
    from app import create_app

    with TestClient(create_app()) as client:
        made = client.post("/api/productions", json={"document_id": doc, "format": "radio"}, headers=stack.headers("editor"))
        assert made.status_code == 201, made.json()
    return [{k: line[k] for k in ("speaker", "text", "pause_ms", "role", "bed")} for line in made.json()["script"]]


def _corrupt(lines: list[Any], how: str) -> list[Any]:
    broken = copy.deepcopy(lines)
    if how == "line-is-a-number":
        broken[1] = 42
    else:
        broken[1]["pause_ms"] = {"ms": 300}
    return broken


@pytest.mark.parametrize("how", ["line-is-a-number", "pause-is-a-dict"])
def test_a_poison_job_fails_at_once_with_what_to_do_and_never_runs_again(
    client: TestClient, stack: Stack, doc: int, how: str
) -> None:
    from sqlalchemy import select

    import worker
    from db import session_scope
    from studio.models import ScriptVersion

    production_id = _production(client, stack, doc, "loudspeaker", _lines(_unique()))
    job_id = _new_job(production_id)
    with session_scope() as session:  # the stored script is damaged after the render was asked for
        version = session.scalar(
            select(ScriptVersion).where(
                ScriptVersion.production_id == production_id, ScriptVersion.version == job_row(job_id)["script_version"]
            )
        )
        assert version is not None
        version.lines_json = _corrupt(version.lines_json, how)
    offset = _log_size(stack)
    _send(job_id)
    done = _wait_status(job_id, ENDED, timeout_s=60)
    assert done["status"] == "failed" and done["attempts"] == 1 and done["stage"] == "failed", done
    error = str(done["error"])
    assert "Lỗi ngoài dự kiến khi dựng (TypeError" in error and "lưu lại một phiên bản mới" in error
    assert "(unexpected error: the stored script may be corrupt" in error
    reaper_s = get_settings().reaper_interval_s
    last_attempt_s = (done["finished_at"] - done["started_at"]).total_seconds()
    assert last_attempt_s <= reaper_s, f"failed {last_attempt_s:.2f} s after its attempt started"
    story = wait_until(
        lambda: (text := _log_since(stack, offset)) and f"render job {job_id} attempt 1 failed: TypeError" in text and text,
        timeout_s=10,
        what="the failure in the worker log",
    )
    tail = str(story).split(f"render job {job_id} attempt 1 failed: TypeError", 1)[1]
    assert "Traceback (most recent call last)" in tail[:200] and "TypeError" in tail

    # A duplicate message (a resend) and a few reaper rounds later, it has not run again.
    worker.celery_app.send_task("studio.render", args=[job_id], queue="render")
    time.sleep(3 * reaper_s + 1)
    after = job_row(job_id)
    assert (after["status"], after["attempts"], after["finished_at"], after["error"]) == (
        "failed",
        1,
        done["finished_at"],
        done["error"],
    )


def test_the_reaper_requeues_a_dead_attempt_and_fails_the_job_at_the_cap(client: TestClient, stack: Stack, doc: int) -> None:
    from db import session_scope
    from studio import jobs
    from studio.models import RenderJob

    dying = _new_job(_production(client, stack, doc, "loudspeaker", _lines(_unique())))
    rescued = _new_job(_production(client, stack, doc, "loudspeaker", _lines(_unique())))
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    # What a worker killed mid-render leaves: 'running', a heartbeat that stopped, no message anywhere.
    with session_scope() as session:
        for job_id, attempts in ((dying, jobs.MAX_ATTEMPTS), (rescued, 1)):
            row = session.get_one(RenderJob, job_id)
            row.status, row.stage, row.attempts, row.workers_lost = "running", "mix", attempts, attempts - 1
            row.started_at = row.heartbeat_at = row.sent_at = long_ago
            row.sends = attempts
    settled_at = datetime.now(UTC)
    reaper_s = get_settings().reaper_interval_s

    failed = _wait_status(dying, ENDED, timeout_s=reaper_s * 3)
    assert (
        failed["status"] == "failed" and failed["attempts"] == jobs.MAX_ATTEMPTS and failed["workers_lost"] == jobs.MAX_ATTEMPTS
    )
    assert f"worker lost {jobs.MAX_ATTEMPTS} times" in str(failed["error"])
    assert f"Máy dựng mất liên lạc {jobs.MAX_ATTEMPTS} lần" in str(failed["error"])
    assert (failed["finished_at"] - settled_at).total_seconds() <= reaper_s + 1

    done = _wait_status(rescued, ENDED, timeout_s=120)
    assert done["status"] == "succeeded" and done["attempts"] == 2 and done["workers_lost"] == 1, done
    assert {kind for _, kind, _, _ in _outputs(rescued)} >= {"audio"}

    time.sleep(3 * reaper_s + 1)
    again = job_row(dying)
    assert (again["status"], again["attempts"], again["finished_at"]) == ("failed", jobs.MAX_ATTEMPTS, failed["finished_at"])
    assert _outputs(dying) == []


def _parent_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("PPid:"):
            return int(line.split()[1])
    raise AssertionError(f"no parent for {pid}")


def _job_row_unlocked(stack: Stack, job_id: int) -> bool:
    """Whether another transaction can write the job's row now (a paused attempt may hold a write lock)."""
    import sqlalchemy

    if stack.database_url.startswith("sqlite"):
        import sqlite3

        raw = sqlite3.connect(stack.database_url.removeprefix("sqlite:///"), timeout=0.3)
        try:
            raw.execute("BEGIN IMMEDIATE")
            raw.rollback()
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            raw.close()
    engine = sqlalchemy.create_engine(stack.database_url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text("SELECT 1 FROM render_jobs WHERE id = :id FOR UPDATE NOWAIT"), {"id": job_id})
        return True
    except sqlalchemy.exc.OperationalError:
        return False
    finally:
        engine.dispose()


def _pause(stack: Stack, job_id: int) -> tuple[int, list[int]]:
    """SIGSTOP the worker child running attempt 1 of the job, and its ffmpeg, while it holds no database lock."""
    deadline = time.monotonic() + 60  # a loaded machine may take long to start the encode
    while time.monotonic() < deadline:
        encoders = ffmpeg_processes(f"/work/job-{job_id}-1/")
        if not encoders:
            time.sleep(0.05)
            continue
        child = _parent_of(encoders[0])
        assert stack.worker is not None and _parent_of(child) == stack.worker.pid, "ffmpeg's parent is not a worker child"
        os.kill(child, signal.SIGSTOP)
        encoders = ffmpeg_processes(f"/work/job-{job_id}-1/")
        for pid in encoders:
            os.kill(pid, signal.SIGSTOP)
        if _job_row_unlocked(stack, job_id):
            return child, encoders
        for pid in [*encoders, child]:  # caught inside a write: let it finish and try again
            os.kill(pid, signal.SIGCONT)
        time.sleep(0.1)
    raise AssertionError("could not pause the attempt outside a transaction")


def test_a_paused_attempt_that_wakes_after_its_job_succeeded_writes_nothing(
    client: TestClient, stack: Stack, doc: int, radio_lines: list[dict[str, object]]
) -> None:
    offset = _log_size(stack)
    # Lines of their own: sections cached by an earlier render (the other tier's) would need no encode to pause.
    marker = _unique()
    lines = [{**line, "text": f"{line['text']} Lần {marker}."} for line in radio_lines]
    production_id = _production(client, stack, doc, "radio", lines)
    job_id = _new_job(production_id, ["radio"])
    _send(job_id)
    wait_until(
        lambda: (row := _row(job_id))["status"] == "running" and float(row["progress"]) >= 0.3,
        timeout_s=120,
        what="attempt 1 to be mid-render",
        every_s=0.02,
    )
    child, encoders = _pause(stack, job_id)
    paused = [child, *encoders]
    try:
        done = _wait_status(job_id, ENDED, timeout_s=180)  # the reaper gives the job to attempt 2, which finishes it
        assert done["status"] == "succeeded" and done["attempts"] == 2 and done["workers_lost"] == 1, done
        outputs = _outputs(job_id)
        assert {kind for _, kind, _, _ in outputs} == RADIO_KINDS
        files = {key: storage.path_for(key).read_bytes() for _, _, key, _ in outputs}
    finally:
        for pid in reversed(paused):  # ffmpeg first, then the attempt that supervises it
            if pid_alive(pid):
                os.kill(pid, signal.SIGCONT)
    superseded = f"render job {job_id}: attempt 1 no longer owns the job"
    wait_until(lambda: superseded in _log_since(stack, offset), timeout_s=60, what="attempt 1 to notice it lost the job")
    wait_until(lambda: not any(pid_alive(pid) for pid in encoders), timeout_s=10, what="attempt 1's ffmpeg to stop")
    assert ffmpeg_processes(f"/work/job-{job_id}-1/") == []
    time.sleep(1)
    assert _row(job_id) == done  # attempt 1 wrote nothing: no progress, heartbeat, status or error
    assert _outputs(job_id) == outputs
    assert {key: storage.path_for(key).read_bytes() for _, _, key, _ in outputs} == files
    shown = client.get(f"/api/productions/{production_id}", headers=stack.headers("producer")).json()
    assert {o["media_key"] for o in shown["outputs"]} == set(files)
    assert not list((get_settings().data_dir / "work").glob(f"job-{job_id}-*"))


def test_a_render_asked_while_the_broker_is_down_answers_503_and_asking_again_sends_it(
    client: TestClient, stack: Stack, doc: int
) -> None:
    from tests.conftest import _apply_settings

    production_id = _production(client, stack, doc, "loudspeaker", _lines(_unique()))
    producer = stack.headers("producer")
    _apply_settings(broker_url="redis://127.0.0.1:9/0")  # nothing listens there: every send fails
    try:
        refused = client.post(f"/api/productions/{production_id}/renders", json={}, headers=producer)
    finally:
        _apply_settings(broker_url=stack.broker_url)
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith("application/json") and int(refused.headers["retry-after"]) > 0
    assert "đã được lưu" in refused.json()["detail"] and "(the render queue is unreachable" in refused.json()["detail"]
    from sqlalchemy import select

    from db import session_scope
    from studio.models import RenderJob

    with session_scope() as session:
        saved = session.scalars(select(RenderJob).where(RenderJob.production_id == production_id)).all()
        assert [(j.status, j.sent_at, j.sends) for j in saved] == [("queued", None, 0)]
        job_id = saved[0].id

    again = client.post(f"/api/productions/{production_id}/renders", json={}, headers=producer)
    assert again.status_code == 202, again.text
    assert again.json()["job"]["id"] == job_id
    sent = job_row(job_id)
    # Sent by this request: the reaper would have waited LAWCAST_JOB_RESEND_AFTER_S for a job never sent.
    assert sent["sends"] == 1 and sent["sent_at"] is not None
    assert _wait_status(job_id, ENDED, timeout_s=120)["status"] == "succeeded"
    assert job_row(job_id)["attempts"] == 1


# --- the services tier: real PostgreSQL and Redis restarts during real renders ---------------------------------------


@pytest.fixture
def restartable(stack: Stack) -> Stack:
    """The services tier, as root: the only place these tests may stop and start the servers."""
    if stack.name != "services":
        pytest.skip("restarts PostgreSQL and Redis: runs on the services tier (LAWCAST_TEST_DATABASE_URL/BROKER_URL) only")
    if os.geteuid() != 0:
        pytest.skip("restarting PostgreSQL and Redis needs root")
    return stack


@pytest.fixture
def default_worker(restartable: Stack) -> Iterator[subprocess.Popen[bytes]]:
    """A worker with beat at the default stale time and reaper interval, in place of the session worker."""
    from worker_processes import worker_command

    stack = restartable
    stack.stop_worker()
    assert stack.log is not None
    env = dict(os.environ, PYTHONPATH=str(ROOT), LAWCAST_JOB_STALE_AFTER_S="120", LAWCAST_REAPER_INTERVAL_S="15")
    with stack.log.open("ab") as handle:
        proc = subprocess.Popen(
            worker_command("emergency,render,default", concurrency=2, beat=True),
            stdout=handle,
            stderr=handle,
            env=env,
            cwd=ROOT,
            start_new_session=True,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        stack.start_worker()


def _renders(client: TestClient, stack: Stack, doc: int, radio_lines: list[Json], count: int) -> list[int]:
    """Radio renders of about a minute each; every line is new, so no cached phrase or section shortens them."""
    ids = []
    for _ in range(count):
        marker = _unique()
        lines = [{**line, "text": f"{line['text']} Bản tin {marker}."} for line in radio_lines[:12]]
        production_id = _production(client, stack, doc, "radio", lines)
        accepted = client.post(
            f"/api/productions/{production_id}/renders", json={"profiles": ["radio"]}, headers=stack.headers("producer")
        )
        assert accepted.status_code == 202, accepted.text
        ids.append(int(accepted.json()["job"]["id"]))
    return ids


def _busy(ids: list[int]) -> bool:
    rows = [_row(job_id) for job_id in ids]
    running = [r for r in rows if r["status"] == "running" and float(r["progress"]) >= 0.2]
    return len(running) >= 2 and sum(r["status"] == "queued" for r in rows) >= 2


def _check_one_set_of_outputs(ids: list[int]) -> None:
    from sqlalchemy import func, select

    from db import session_scope
    from studio.models import Output, RenderJob

    for job_id in ids:
        row = _row(job_id)
        assert row["status"] == "succeeded" and row["error"] is None, row
        outputs = _outputs(job_id)
        assert sorted(kind for _, kind, _, _ in outputs) == sorted(RADIO_KINDS), outputs  # one of each, never two sets
        for _, _, key, digest in outputs:
            assert storage.sha256_file(storage.path_for(key)) == digest
        with session_scope() as session:
            succeeded = session.scalar(
                select(func.count())
                .select_from(RenderJob)
                .where(RenderJob.production_id == row["production_id"], RenderJob.status == "succeeded")
            )
            outs = session.scalar(select(func.count()).select_from(Output).where(Output.production_id == row["production_id"]))
        assert (succeeded, outs) == (1, len(RADIO_KINDS))


def _answers(probe: Callable[[], object]) -> bool:
    try:
        probe()
        return True
    except Exception:
        return False


def _durations(rows: list[Json]) -> str:
    return ", ".join(f"{(r['finished_at'] - r['started_at']).total_seconds():.1f}" for r in rows)


class Outage:
    """Probes a server every 20 ms from a thread: when it stopped answering, and when it answered again."""

    def __init__(self, probe: Callable[[], object]):
        self.probe = probe
        self.down: float | None = None
        self.up: float | None = None
        self.up_at: datetime | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Outage:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            answered = _answers(self.probe)
            if not answered and self.down is None:
                self.down = time.monotonic()
            elif answered and self.down is not None:
                self.up, self.up_at = time.monotonic(), datetime.now(UTC)
                return
            time.sleep(0.02)

    def wait_up(self, timeout_s: float = 120) -> float:
        """Seconds the server did not answer, once it answers again."""
        wait_until(lambda: self.up is not None, timeout_s=timeout_s, what="the server to answer again")
        assert self.down is not None and self.up is not None
        return self.up - self.down


def test_a_database_restart_during_renders_fails_nothing_and_needs_no_reaper(
    client: TestClient,
    restartable: Stack,
    doc: int,
    radio_lines: list[dict[str, object]],
    default_worker: subprocess.Popen[bytes],
) -> None:
    import psycopg2
    from sqlalchemy.engine import make_url

    stack = restartable
    offset = _log_size(stack)
    ids = _renders(client, stack, doc, radio_lines, 6)
    wait_until(lambda: _busy(ids), timeout_s=180, what="two renders running and the rest queued", every_s=0.1)
    url = make_url(stack.database_url)
    version = sorted(os.listdir("/etc/postgresql"))[-1]

    def connect() -> None:
        psycopg2.connect(host=url.host, port=url.port, user=url.username, dbname=url.database, connect_timeout=1).close()

    def ctl(action: str) -> None:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action], check=True, timeout=120, capture_output=True
        )

    hit = [job_id for job_id in ids if _row(job_id)["status"] == "running"]
    with Outage(connect) as outage:
        ctl("stop")
        try:
            # Down until a running render has failed to save its progress: a restart of a fraction of a second
            # can fall between two of its writes, and then it would test nothing.
            wait_until(
                lambda: "progress not saved, database unreachable" in _log_since(stack, offset),
                timeout_s=30,
                what="a running render to find the database gone",
                every_s=0.05,
            )
        finally:
            ctl("start")
        down_s = outage.wait_up()
    rows = [_wait_status(job_id, ENDED, timeout_s=300) for job_id in ids]
    assert outage.up_at is not None
    last = max(r["finished_at"] for r in rows)
    print(
        f"\nPostgreSQL stopped and started: no connection for {down_s:.1f} s while 2 renders ran and 4 waited; "
        f"the last of 6 jobs succeeded {(last - outage.up_at).total_seconds():.1f} s after it answered again; renders "
        f"{_durations([r for r in rows if r['id'] in hit])} s long for those it hit, {_durations([r for r in rows if r['id'] not in hit])} s "
        "for the others"
    )
    assert [r["status"] for r in rows] == ["succeeded"] * 6, rows
    assert [r["attempts"] for r in rows] == [1] * 6  # no job waited for the reaper, none was claimed twice
    assert "progress not saved, database unreachable" in _log_since(stack, offset)  # the renders did hit the outage
    _check_one_set_of_outputs(ids)


def test_a_broker_restart_that_loses_every_message_fails_nothing(
    client: TestClient,
    restartable: Stack,
    doc: int,
    radio_lines: list[dict[str, object]],
    default_worker: subprocess.Popen[bytes],
) -> None:
    import redis

    stack = restartable
    ids = _renders(client, stack, doc, radio_lines, 6)
    wait_until(lambda: _busy(ids), timeout_s=180, what="two renders running and the rest queued", every_s=0.1)
    server = redis.Redis.from_url(stack.broker_url, socket_connect_timeout=1, socket_timeout=1)
    lost = server.llen("render")  # messages waiting in Redis, about to be lost
    waiting = [job_id for job_id in ids if _row(job_id)["status"] == "queued"]
    with Outage(server.ping) as outage:
        subprocess.run(["redis-cli", "-p", "6379", "SHUTDOWN", "NOSAVE"], timeout=30, capture_output=True)
        wait_until(lambda: outage.down is not None, timeout_s=30, what="Redis to stop")
        subprocess.run(
            [
                "redis-server",
                "--daemonize",
                "yes",
                "--bind",
                "127.0.0.1",
                "-::1",
                "--port",
                "6379",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                "/var/lib/redis",
                "--logfile",
                "/var/log/redis/ci.log",
            ],
            check=True,
            timeout=30,
        )
        down_s = outage.wait_up()
    back_at = outage.up_at
    assert back_at is not None and lost >= 1 and waiting

    def resent() -> bool:
        return all(_row(j)["status"] != "queued" or (_row(j)["sent_at"] or back_at) > back_at for j in waiting)

    wait_until(resent, timeout_s=60, what="the lost messages to be sent again", every_s=0.05)
    resent_s = (datetime.now(UTC) - back_at).total_seconds()
    rows = [_wait_status(job_id, ENDED, timeout_s=300) for job_id in ids]
    last = max(r["finished_at"] for r in rows)
    starts = sorted((r["started_at"] - back_at).total_seconds() for r in rows if r["id"] in waiting)
    print(
        f"\nRedis SHUTDOWN NOSAVE for {down_s:.1f} s while 2 renders ran and {len(waiting)} waited ({lost} messages lost): "
        f"all sent again within {resent_s:.1f} s of its return; the waiting jobs started after "
        f"{', '.join(f'{s:.1f}' for s in starts)} s; the last of 6 succeeded after {(last - back_at).total_seconds():.1f} s"
    )
    assert resent_s <= 30
    assert [r["status"] for r in rows] == ["succeeded"] * 6, rows
    assert [r["attempts"] for r in rows] == [1] * 6
    _check_one_set_of_outputs(ids)
