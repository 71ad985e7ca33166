"""The `lawcast` command: demo, serve, worker, db, user, ingest, render."""

from __future__ import annotations

import enum
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from settings import get_settings
from worker_processes import follow_jobs, job_words, project_env, start_workers, stop_workers, worker_command

if TYPE_CHECKING:  # imported where used, so that `--help` needs no database code
    from sqlalchemy.orm import Session

    from auth import Role, User
    from studio.service import ProvisionNode

app = typer.Typer(help="lawcast: Vietnamese legal texts to radio, loudspeaker, video and podcast feeds.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.")
user_app = typer.Typer(help="Users and API tokens.")
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
station_app = typer.Typer(help="Commune loudspeaker station agent.")
app.add_typer(station_app, name="station")
console = Console()


class RoleName(enum.StrEnum):
    """A user's role, as `--role` takes it."""

    # auth.Role's values (test_cli keeps them in step); listed here so `--help` needs no database code.
    admin = "admin"
    editor = "editor"
    legal_reviewer = "legal_reviewer"
    producer = "producer"
    scheduler = "scheduler"
    station = "station"


ROLES = tuple(role.value for role in RoleName)


def role_name(value: str) -> RoleName:
    """`--role`'s value if it is a role; otherwise a usage error, in Vietnamese, that lists the roles."""
    if value not in ROLES:
        raise typer.BadParameter(f"vai trò '{value}' không có; chọn một trong: {', '.join(ROLES)} (unknown role)")
    return RoleName(value)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    from migrations import upgrade

    upgrade()
    console.print(f"[green]Cơ sở dữ liệu đã cập nhật[/] ({get_settings().sqlalchemy_url})")


def _new_password(from_stdin: bool) -> str:
    """A password from standard input (its first line), or asked twice without echo; refused when too short."""
    import auth

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Mật khẩu đăng nhập web (password)", hide_input=True, confirmation_prompt=True)
    if len(password) < auth.MIN_PASSWORD_LENGTH:
        console.print(f"[red]Mật khẩu cần ít nhất {auth.MIN_PASSWORD_LENGTH} ký tự (password too short)[/]")
        raise typer.Exit(2)
    return password


PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Đọc mật khẩu từ dòng đầu của stdin (read the password from stdin)")
]


@user_app.command("create")
def user_create(
    name: str,
    role: Annotated[
        RoleName, typer.Option("--role", "-r", parser=role_name, metavar=f"<{'|'.join(ROLES)}>", help="Vai trò (role)")
    ],
    display_name: Annotated[str | None, typer.Option(help="Tên hiển thị")] = None,
    password_stdin: PasswordStdin = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="Chỉ dùng mã API, không đăng nhập web (API token only)")
    ] = False,
) -> None:
    """Create a user: asks for the web sign-in password (or reads --password-stdin), prints its API token once."""
    import auth
    from db import session_scope
    from migrations import upgrade

    # Station accounts never sign in to the web pages; they need no password.
    password = None if no_password or role.value == "station" else _new_password(password_stdin)
    upgrade()
    try:
        with session_scope() as session:
            user = auth.create_user(session, name=name, role=role.value, display_name=display_name)
            if password is not None:
                auth.set_password(session, user=user, password=password)
            token = auth.issue_token(session, user=user)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    console.print(f"Đã tạo người dùng [bold]{name}[/] với vai trò {role.value}. Mã truy cập (chỉ hiện một lần):")
    typer.echo(token)


def _account(session: Session, name: str) -> User:
    import auth

    user = auth.user_by_name(session, name)
    if user is None:
        console.print(f"[red]Không có người dùng '{name}' (no such user)[/]")
        raise typer.Exit(2)
    return user


@user_app.command("password")
def user_password(name: str, password_stdin: PasswordStdin = False) -> None:
    """Set or reset a user's web sign-in password (lifts a lock-out, signs the user out everywhere)."""
    import auth
    from db import session_scope
    from migrations import upgrade

    password = _new_password(password_stdin)
    upgrade()
    with session_scope() as session:
        auth.set_password(session, user=_account(session, name), password=password)
    console.print(f"Đã đặt mật khẩu mới cho {name} (password set)")


@user_app.command("tokens")
def user_tokens(name: str) -> None:
    """List a user's API tokens: first characters, created, last used, expiry, revoked."""
    import auth
    from db import session_scope
    from migrations import upgrade

    upgrade()
    with session_scope() as session:
        for row in auth.tokens_of(session, _account(session, name)):
            state = "đã thu hồi (revoked)" if row.revoked else "còn hiệu lực (active)"
            typer.echo(
                f"{row.hint}…  tạo {row.created_at:%Y-%m-%d %H:%M}  dùng lần cuối "
                f"{row.last_used_at.strftime('%Y-%m-%d %H:%M') if row.last_used_at else '-'}  hết hạn "
                f"{row.expires_at.strftime('%Y-%m-%d') if row.expires_at else '-'}  {state}"
            )


@user_app.command("revoke")
def user_revoke(name: str) -> None:
    """Revoke every API token of a user."""
    import auth
    from db import session_scope
    from migrations import upgrade

    upgrade()
    with session_scope() as session:
        count = auth.revoke_tokens(session, user=_account(session, name))
    console.print(f"Đã thu hồi {count} mã truy cập của {name} (revoked {count} tokens)")


@user_app.command("rotate")
def user_rotate(
    name: str,
    expires_days: Annotated[int | None, typer.Option("--expires-days", min=1, max=3650, help="Số ngày hiệu lực")] = None,
) -> None:
    """Revoke a user's tokens and print a new one once (optionally expiring after N days)."""
    from datetime import timedelta

    import auth
    from db import session_scope, utcnow
    from migrations import upgrade

    upgrade()
    with session_scope() as session:
        expires_at = utcnow() + timedelta(days=expires_days) if expires_days else None
        token = auth.rotate_token(session, user=_account(session, name), expires_at=expires_at)
    until = f", hết hạn {expires_at:%Y-%m-%d}" if expires_at else ""
    console.print(f"Mã truy cập mới của {name}{until} (chỉ hiện một lần; các mã cũ đã bị thu hồi):")
    typer.echo(token)


@app.command()
def worker(
    queues: Annotated[str, typer.Option("-Q", help="Hàng đợi")] = "emergency,render,default",
    concurrency: Annotated[int | None, typer.Option("-c")] = None,
    beat: Annotated[bool, typer.Option("-B", help="Chạy kèm beat")] = False,
) -> None:
    """Run a Celery worker (scale out by running more of these on any host)."""
    os.execvpe(sys.executable, worker_command(queues, concurrency, beat), project_env())


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
    from db import session_scope
    from errors import ServiceError
    from migrations import upgrade
    from studio import service

    data = _read_file(path)
    upgrade()
    try:
        with session_scope() as session:
            user = _editor(session, token_user)
            text = service.ingest_upload(data, filename=path.name, content_type=None, max_bytes=get_settings().max_upload_bytes)
            doc = service.create_document(session, text=text, user=user, filename=path.name)
            tree = service.provision_tree(doc)
            doc_id = doc.id
    except ServiceError as exc:
        console.print(f"[red]{exc.detail}[/]")
        raise typer.Exit(2) from exc
    console.print(f"Đã nhập văn bản [bold]{doc_id}[/]")
    _print_tree(tree, 0)


def _print_tree(nodes: list[ProvisionNode], depth: int) -> None:
    for node in nodes:
        console.print("  " * depth + f"{node['label']} {node['heading'] or ''} [dim](id {node['id']})[/]")
        _print_tree(node["children"], depth + 1)


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        console.print(f"[red]Không tìm thấy tệp '{path}' (file not found)[/]")
    except IsADirectoryError:
        console.print(f"[red]'{path}' là một thư mục, không phải tệp (is a directory)[/]")
    except OSError as exc:
        console.print(f"[red]Không đọc được tệp '{path}': {exc.strerror} (cannot read file)[/]")
    raise typer.Exit(2)


def _editor(session: Session, name: str) -> User:
    """The existing user who ingests: an unknown name is refused, never created on the fly."""
    import auth

    user = auth.user_by_name(session, name)
    if user is None:
        console.print(
            f"[red]Không có người dùng '{name}' (no such user).[/] Tạo người dùng trước (create the user first):\n"
            f"  lawcast user create {name} --role editor\n"
            f"rồi chạy lại với --as {name} (then run again with --as {name})."
        )
        raise typer.Exit(2)
    if user.role not in (auth.Role.editor.value, auth.Role.admin.value):
        console.print(
            f"[red]Người dùng '{name}' có vai trò {user.role}; chỉ biên tập viên (editor) hoặc admin được nhập văn bản "
            f"(only an editor or admin may ingest)[/]"
        )
        raise typer.Exit(2)
    return user


def _user(session: Session, name: str, role: Role) -> User:
    from sqlalchemy import select

    import auth

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
        states = follow_jobs(ids, console=console)
        failed = [s for s in states.values() if s["status"] != "succeeded"]
        for state in failed:
            console.print(
                f"[red]Tác vụ {state['id']} ({state['profile']}): {job_words(str(state['status']))} {state['error'] or ''}[/]"
            )
        raise typer.Exit(1 if failed else 0)


def send_jobs_by_id(job_ids: list[int], *, created_ids: list[int]) -> None:
    """Send newly created jobs (after their rows are committed)."""
    import worker  # noqa: F401  (the Celery app jobs are sent through)
    from db import session_scope
    from studio import dispatch, jobs

    with session_scope() as session:
        dispatch.send_jobs(session, [jobs.get_job(session, job_id) for job_id in created_ids if job_id in job_ids])


@station_app.command("run")
def station_run(
    server: Annotated[str, typer.Option(help="URL máy chủ lawcast")],
    token: Annotated[str, typer.Option(help="Mã trạm")],
    dir: Annotated[Path, typer.Option("--dir", help="Thư mục bộ nhớ đệm của trạm")],
    player: Annotated[
        str | None,
        typer.Option(
            help="Lệnh phát, ví dụ 'mpv --no-video'; có thể dùng {path} {seconds} {fade_start} {fade} để cắt và giảm dần âm lượng khi hết khung; mặc định chỉ ghi nhật ký"
        ),
    ] = None,
    poll: Annotated[float, typer.Option(help="Chu kỳ đồng bộ (giây)")] = 30.0,
) -> None:
    """Run the reference station agent: sync, cache, play on time, report; keeps playing offline.

    Exits with status 2 when the server refuses the token (401/403), and 3 when no server answers at start-up
    and no schedule is cached; the message says what to check.
    """
    import logging

    from broadcast.agent import AgentStopped, StationAgent

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    agent = StationAgent(server, token, dir, player=player)
    try:
        agent.run(poll_s=poll)
    except KeyboardInterrupt:
        pass
    except AgentStopped as exc:
        logging.getLogger("lawcast.station").error("%s", exc)
        raise typer.Exit(exc.exit_code) from exc
    finally:
        agent.close()


if __name__ == "__main__":
    app()
