"""What a new user tripped over in the `lawcast` command: tracebacks, an unknown user created on the fly, roles
not listed, English and Vietnamese mixed in one phrase. Each command runs as a real process on its own data dir."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

LAW = ROOT / "tests" / "data" / "luat-sua-doi-mau.txt"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty data directory (its own SQLite database) shared by this module's commands."""
    return tmp_path_factory.mktemp("cli-home")


def lawcast(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m cli ARGS` with the data dir at home, output wide enough that messages are not wrapped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAWCAST_")}
    env.update(LAWCAST_DATA_DIR=str(home / "var"), COLUMNS="240", NO_COLOR="1", TERM="dumb", PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], cwd=home, env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


def said(result: subprocess.CompletedProcess[str]) -> str:
    """Everything the command printed, with the boxes' line breaks and borders taken out."""
    text = result.stdout + result.stderr
    return " ".join(line.strip(" │╭╮╰╯─") for line in text.splitlines())


def test_ingest_of_a_missing_file_says_so_without_a_traceback(home: Path) -> None:
    result = lawcast(home, "ingest", "missing.txt")
    assert result.returncode == 2
    assert "Không tìm thấy tệp 'missing.txt' (file not found)" in said(result)
    assert "Traceback" not in said(result)
    directory = lawcast(home, "ingest", str(home))
    assert directory.returncode == 2 and "(is a directory)" in said(directory) and "Traceback" not in said(directory)


def test_ingest_as_an_unknown_user_is_refused_and_creates_nobody(home: Path) -> None:
    result = lawcast(home, "ingest", str(LAW), "--as", "ma-nguoi-la")
    assert result.returncode == 2
    message = said(result)
    assert "Không có người dùng 'ma-nguoi-la' (no such user)" in message
    assert "lawcast user create ma-nguoi-la --role editor" in message
    assert "Đã nhập văn bản" not in message
    # nobody was created on the way: the user still does not exist
    tokens = lawcast(home, "user", "tokens", "ma-nguoi-la")
    assert tokens.returncode == 2 and "no such user" in said(tokens)


def test_ingest_as_an_existing_editor_works_and_other_roles_are_refused(home: Path) -> None:
    made = lawcast(home, "user", "create", "bien-tap", "--role", "editor", "--password-stdin", stdin="mat-khau-bien-tap-2025\n")
    assert made.returncode == 0, said(made)
    done = lawcast(home, "ingest", str(LAW), "--as", "bien-tap")
    assert done.returncode == 0, said(done)
    assert "Đã nhập văn bản" in said(done) and "Điều 1" in said(done)
    station = lawcast(home, "user", "create", "tram-1", "--role", "station")
    assert station.returncode == 0, said(station)
    refused = lawcast(home, "ingest", str(LAW), "--as", "tram-1")
    assert refused.returncode == 2 and "(only an editor or admin may ingest)" in said(refused)


def test_an_unknown_role_is_refused_with_the_valid_roles(home: Path) -> None:
    import auth

    roles = [role.value for role in auth.Role]
    result = lawcast(home, "user", "create", "ai-do", "--role", "reviewer")
    assert result.returncode == 2
    message = said(result)
    assert "vai trò 'reviewer' không có" in message and "(unknown role)" in message
    assert "chọn một trong: " + ", ".join(roles) in message
    assert "Traceback" not in message
    helped = said(lawcast(home, "user", "create", "--help")).replace(" ", "")
    assert "<" + "|".join(roles) + ">" in helped  # --help lists the choices


def test_the_cli_knows_every_role() -> None:
    import auth
    import cli

    assert tuple(role.value for role in auth.Role) == cli.ROLES


def test_job_states_are_said_in_vietnamese_with_the_english_word() -> None:
    from worker_processes import job_words

    assert job_words("succeeded", "done") == "xong (succeeded)"
    assert job_words("running", "mix") == "đang dựng (running) · trộn âm (mix)"
    assert job_words("failed", "failed") == "lỗi (failed)"
    for status, stage in (("succeeded", "done"), ("running", "speech"), ("queued", "retrying"), ("cancelled", "cancelled")):
        words = job_words(status, stage)
        assert f"{status}: {stage}" not in words and f"({status})" in words
