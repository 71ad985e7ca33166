"""Celery worker processes for `lawcast serve`, the demo and the tests: start them, follow their jobs, stop them.

Below both cli.py and demo.py, so neither imports the other for this. The Celery app itself is worker.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from settings import get_settings

# What `follow_jobs` and `lawcast render` show for a job's status and stage: Vietnamese, the API's word in brackets.
JOB_WORDS = {
    "queued": "chờ (queued)",
    "running": "đang dựng (running)",
    "succeeded": "xong (succeeded)",
    "failed": "lỗi (failed)",
    "cancelled": "đã hủy (cancelled)",
    "starting": "bắt đầu (starting)",
    "speech": "tổng hợp giọng (speech)",
    "mix": "trộn âm (mix)",
    "video": "dựng hình (video)",
    "done": "hoàn tất (done)",
    "retrying": "thử lại (retrying)",
    "requeued": "xếp lại hàng (requeued)",
}


def job_words(status: str, stage: str | None = None) -> str:
    """A job's status (and its stage while it runs) in Vietnamese with the English word, never mixed in one phrase."""
    said = JOB_WORDS.get(status, status)
    if stage and status in ("queued", "running") and stage not in (status, "queued"):
        said += f" · {JOB_WORDS.get(stage, stage)}"
    return said


def worker_command(queues: str = "emergency,render,default", concurrency: int | None = None, beat: bool = False) -> list[str]:
    """Command line that starts a Celery worker for this project."""
    cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "worker:celery_app",
        "worker",
        "--loglevel",
        "INFO",
        "-Q",
        queues,
        "--concurrency",
        str(concurrency or get_settings().worker_concurrency),
        "--hostname",
        f"lawcast-{queues.split(',')[0]}-{os.getpid()}@%h",
    ]
    if beat:
        cmd += ["-B", "--schedule", str(get_settings().data_dir / "celerybeat-schedule")]
    return cmd


def project_env() -> dict[str, str]:
    """This process's environment with the project on PYTHONPATH, for the processes it starts."""
    env = dict(os.environ)
    here = str(Path(__file__).resolve().parent)
    env["PYTHONPATH"] = here + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _die_with_parent() -> None:
    # uvicorn re-raises SIGTERM/SIGINT after its shutdown, so `serve` can die before its finally block;
    # on Linux the kernel then stops the workers it started.
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def start_workers(log_path: Path) -> list[subprocess.Popen[bytes]]:
    """Start a render worker with beat and a dedicated emergency worker; they stop when this process ends."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    env = project_env()

    def start(command: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, stdout=log, stderr=log, env=env, start_new_session=True, preexec_fn=_die_with_parent)

    return [start(worker_command("render,default", beat=True)), start(worker_command("emergency", concurrency=1))]


def stop_workers(processes: list[subprocess.Popen[bytes]]) -> None:
    """Stop workers warmly (they finish or hand back their current job)."""
    for proc in processes:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in processes:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def follow_jobs(job_ids: list[int], *, console: Console, timeout_s: float = 1800) -> dict[int, dict[str, object]]:
    """Poll jobs and draw one progress bar each until all finish."""
    from db import session_scope
    from studio import jobs

    states: dict[int, dict[str, object]] = {}
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[stage]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        tasks: dict[int, TaskID] = {}
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with session_scope() as session:
                for job_id in job_ids:
                    job = jobs.get_job(session, job_id)
                    states[job_id] = {
                        "id": job.id,
                        "profile": job.profile,
                        "status": job.status,
                        "error": job.error,
                        "progress": job.progress,
                    }
                    if job_id not in tasks:
                        tasks[job_id] = bar.add_task(f"#{job.id} {job.profile}", total=1.0, stage=job.stage)
                    bar.update(tasks[job_id], completed=job.progress, stage=job_words(job.status, job.stage))
            if all(s["status"] not in jobs.ACTIVE for s in states.values()):
                break
            time.sleep(0.3)
    return states
