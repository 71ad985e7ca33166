"""The `lawcast` command: demo, serve, worker, db, user, ingest, render."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from settings import get_settings

app = typer.Typer(help="lawcast: Vietnamese legal texts to radio, loudspeaker, video and podcast feeds.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.")
user_app = typer.Typer(help="Users and API tokens.")
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
station_app = typer.Typer(help="Commune loudspeaker station agent.")
app.add_typer(station_app, name="station")
console = Console()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    from migrations import upgrade

    upgrade()
    console.print(f"[green]Cơ sở dữ liệu đã cập nhật[/] ({get_settings().sqlalchemy_url})")


@user_app.command("create")
def user_create(
    name: str,
    role: Annotated[str, typer.Option("--role", "-r", help="admin, editor, legal_reviewer, producer, scheduler, station")],
    display_name: Annotated[str | None, typer.Option(help="Tên hiển thị")] = None,
) -> None:
    """Create a user and print its API token once."""
    import auth
    from db import session_scope
    from migrations import upgrade

    upgrade()
    try:
        with session_scope() as session:
            user = auth.create_user(session, name=name, role=role, display_name=display_name)
            token = auth.issue_token(session, user=user)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    console.print(f"Đã tạo người dùng [bold]{name}[/] với vai trò {role}. Mã truy cập (chỉ hiện một lần):")
    typer.echo(token)


def worker_command(queues: str = "emergency,render,default", concurrency: int | None = None, beat: bool = False) -> list[str]:
    """Command line that starts a Celery worker for this project."""
    cmd = [
        sys.executable, "-m", "celery", "-A", "worker:celery_app", "worker", "--loglevel", "INFO",
        "-Q", queues, "--concurrency", str(concurrency or get_settings().worker_concurrency),
        "--hostname", f"lawcast-{queues.split(',')[0]}-{os.getpid()}@%h",
    ]
    if beat:
        cmd += ["-B", "--schedule", str(get_settings().data_dir / "celerybeat-schedule")]
    return cmd


def _project_env() -> dict[str, str]:
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
    options = {"stdout": log, "stderr": log, "env": _project_env(), "start_new_session": True, "preexec_fn": _die_with_parent}
    return [
        subprocess.Popen(worker_command("render,default", beat=True), **options),  # type: ignore[call-overload]
        subprocess.Popen(worker_command("emergency", concurrency=1), **options),  # type: ignore[call-overload]
    ]


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


@app.command()
def worker(
    queues: Annotated[str, typer.Option("-Q", help="Hàng đợi")] = "emergency,render,default",
    concurrency: Annotated[int | None, typer.Option("-c")] = None,
    beat: Annotated[bool, typer.Option("-B", help="Chạy kèm beat")] = False,
) -> None:
    """Run a Celery worker (scale out by running more of these on any host)."""
    os.execvpe(sys.executable, worker_command(queues, concurrency, beat), _project_env())


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Địa chỉ nghe")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Cổng")] = 8000,
    workers: Annotated[bool, typer.Option(help="Chạy kèm worker và beat")] = True,
) -> None:
    """Run the API and UI, a worker and beat, in one command."""
    import uvicorn

    from migrations import upgrade

    upgrade()
    procs = start_workers(get_settings().data_dir / "logs" / "worker.log") if workers else []
    try:
        uvicorn.run("app:create_app", factory=True, host=host, port=port, log_level="info")
    finally:
        stop_workers(procs)


@app.command()
def demo(out: Annotated[Path, typer.Option(help="Thư mục kết quả")] = Path("var/demo")) -> None:
    """Ingest the bundled sample law, render every output through the real queue, publish, write summary.json."""
    from demo import run_demo

    summary = run_demo(out, console=console)
    console.print(f"[green]Xong.[/] Tóm tắt: {out / 'summary.json'} ({len(summary['outputs'])} tệp)")


@app.command()
def ingest(
    path: Path,
    token_user: Annotated[str, typer.Option("--as", help="Tên người dùng biên tập")] = "demo-editor",
) -> None:
    """Ingest a legal document file (.txt .docx .pdf .html) and print its tree."""
    import auth
    from db import session_scope
    from errors import ServiceError
    from migrations import upgrade
    from studio import service

    upgrade()
    try:
        with session_scope() as session:
            user = _user(session, token_user, auth.Role.editor)
            text = service.ingest_upload(path.read_bytes(), filename=path.name, content_type=None, max_bytes=get_settings().max_upload_bytes)
            doc = service.create_document(session, text=text, user=user, filename=path.name)
            tree = service.provision_tree(doc)
            doc_id = doc.id
    except ServiceError as exc:
        console.print(f"[red]{exc.detail}[/]")
        raise typer.Exit(2) from exc
    console.print(f"Đã nhập văn bản [bold]{doc_id}[/]")
    _print_tree(tree, 0)


def _print_tree(nodes: list[dict[str, object]], depth: int) -> None:
    for node in nodes:
        console.print("  " * depth + f"{node['label']} {node['heading'] or ''} [dim](id {node['id']})[/]")
        _print_tree(node["children"], depth + 1)  # type: ignore[arg-type]


def _user(session, name: str, role: object):  # type: ignore[no-untyped-def]
    import auth
    from sqlalchemy import select

    user = session.scalar(select(auth.User).where(auth.User.name == name))
    return user or auth.create_user(session, name=name, role=role)


@app.command()
def render(
    production_id: int,
    profile: Annotated[list[str] | None, typer.Option("--profile", "-p")] = None,
    wait: Annotated[bool, typer.Option(help="Chờ và hiện tiến độ")] = True,
) -> None:
    """Queue renders of a production and show a live progress bar."""
    import auth
    from db import session_scope
    from errors import ServiceError
    from migrations import upgrade
    from studio import jobs, service
    upgrade()
    try:
        with session_scope() as session:
            user = _user(session, "demo-producer", auth.Role.producer)
            production = service.get_production(session, production_id)
            all_jobs, created = jobs.request_render(session, production=production, user=user, profiles=profile)
            ids = [job.id for job in all_jobs]
        send_jobs_by_id(ids, created_ids=[job.id for job in created])
    except ServiceError as exc:
        console.print(f"[red]{exc.detail}[/]")
        raise typer.Exit(2) from exc
    if wait:
        states = follow_jobs(ids)
        failed = [s for s in states.values() if s["status"] != "succeeded"]
        for state in failed:
            console.print(f"[red]Tác vụ {state['id']} ({state['profile']}): {state['status']} {state['error'] or ''}[/]")
        raise typer.Exit(1 if failed else 0)


def send_jobs_by_id(job_ids: list[int], *, created_ids: list[int]) -> None:
    """Send newly created jobs (after their rows are committed)."""
    from db import session_scope
    from studio import jobs
    from studio.routes import send_jobs

    with session_scope() as session:
        send_jobs([jobs.get_job(session, job_id) for job_id in created_ids if job_id in job_ids])


def follow_jobs(job_ids: list[int], timeout_s: float = 1800) -> dict[int, dict[str, object]]:
    """Poll jobs and draw one progress bar each until all finish."""
    from db import session_scope
    from studio import jobs

    states: dict[int, dict[str, object]] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"), TextColumn("{task.fields[stage]}"), TimeElapsedColumn(), console=console) as bar:
        tasks: dict[int, int] = {}
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with session_scope() as session:
                for job_id in job_ids:
                    job = jobs.get_job(session, job_id)
                    states[job_id] = {"id": job.id, "profile": job.profile, "status": job.status, "error": job.error, "progress": job.progress}
                    if job_id not in tasks:
                        tasks[job_id] = bar.add_task(f"#{job.id} {job.profile}", total=1.0, stage=job.stage)
                    bar.update(tasks[job_id], completed=job.progress, stage=f"{job.status}: {job.stage}")
            if all(s["status"] not in jobs.ACTIVE for s in states.values()):
                break
            time.sleep(0.3)
    return states


@station_app.command("run")
def station_run(
    server: Annotated[str, typer.Option(help="URL máy chủ lawcast")],
    token: Annotated[str, typer.Option(help="Mã trạm")],
    dir: Annotated[Path, typer.Option("--dir", help="Thư mục bộ nhớ đệm của trạm")],
    player: Annotated[str | None, typer.Option(help="Lệnh phát, ví dụ 'mpv --no-video'; có thể dùng {path} {seconds} {fade_start} {fade} để cắt và giảm dần âm lượng khi hết khung; mặc định chỉ ghi nhật ký")] = None,
    poll: Annotated[float, typer.Option(help="Chu kỳ đồng bộ (giây)")] = 30.0,
) -> None:
    """Run the reference station agent: sync, cache, play on time, report; keeps playing offline."""
    import logging

    from broadcast.agent import StationAgent

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    agent = StationAgent(server, token, dir, player=player)
    try:
        agent.run(poll_s=poll)
    except KeyboardInterrupt:
        pass
    finally:
        agent.close()


if __name__ == "__main__":
    app()
