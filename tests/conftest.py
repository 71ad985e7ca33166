"""Shared fixtures: an isolated data directory, and a real stack (database, broker, Celery worker process).

The `stack` fixture runs on the embedded tier (SQLite file + kombu SQLAlchemy broker on SQLite) and,
when LAWCAST_TEST_DATABASE_URL and LAWCAST_TEST_BROKER_URL are set, on PostgreSQL + Redis too.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
SERVICES_SKIP = "PostgreSQL + Redis tier skipped: set LAWCAST_TEST_DATABASE_URL and LAWCAST_TEST_BROKER_URL to run it"


# Skip reasons summarised in one line each (tests/web/conftest.py adds the browser tests' reasons).
GROUPED_SKIPS = [SERVICES_SKIP]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per grouped skip (the PostgreSQL + Redis tier, the browser tests), then any other skip with its reason."""
    skipped = terminalreporter.stats.get("skipped", [])
    tier: list[object] = []
    for reason in GROUPED_SKIPS:
        hits = [report for report in skipped if reason in str(report.longrepr)]
        if hits:
            terminalreporter.write_line(f"{reason} ({len(hits)} tests)", yellow=True)
            tier += hits
    for report in skipped:
        if report not in tier:
            terminalreporter.write_line(
                f"SKIPPED {report.nodeid}: {report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr}"
            )


def _apply_settings(**values: str | None) -> None:
    """Point lawcast at new settings in this process: env, caches, engines, Celery app."""
    import db
    import settings
    import worker

    for key, value in values.items():
        name = f"LAWCAST_{key.upper()}"
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    settings.get_settings.cache_clear()
    db.reset_engines()
    worker.reload_celery()


@pytest.fixture(scope="session", autouse=True)
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh data directory for the whole session."""
    path = tmp_path_factory.mktemp("lawcast-data")
    _apply_settings(
        data_dir=str(path),
        base_url="http://testserver",
        job_stale_after_s="4",
        reaper_interval_s="2",
        database_url=None,
        broker_url=None,
        tts_engines="espeak",
    )
    yield path


@dataclass
class Stack:
    """A running tier: where its data lives, and a token per role."""

    name: str
    database_url: str
    broker_url: str
    data_dir: Path
    tokens: dict[str, str]
    worker: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    def headers(self, role: str) -> dict[str, str]:
        """Authorization header of the user holding `role`."""
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def start_worker(self) -> subprocess.Popen[bytes]:
        """Start a real Celery worker process (with beat) for this tier."""
        from worker_processes import worker_command

        assert self.log is not None
        handle = self.log.open("ab")
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        cmd = worker_command("emergency,render,default", concurrency=2, beat=True)
        self.worker = subprocess.Popen(cmd, stdout=handle, stderr=handle, env=env, cwd=ROOT, start_new_session=True)
        return self.worker

    def stop_worker(self, sig: int = 15) -> None:
        """Stop the worker process group (SIGTERM by default, SIGKILL to simulate a crash)."""
        if self.worker and self.worker.poll() is None:
            os.killpg(self.worker.pid, sig)
            try:
                self.worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.worker.pid, 9)
                self.worker.wait()
        self.worker = None


def _reset_services(database_url: str, broker_url: str) -> None:
    import redis
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    redis.Redis.from_url(broker_url).flushdb()


def _users(stack_tokens: dict[str, str]) -> None:
    import auth
    from db import session_scope

    with session_scope() as session:
        for role in ("admin", "editor", "legal_reviewer", "producer", "scheduler"):
            user = auth.create_user(session, name=f"test-{role}", role=role)
            stack_tokens[role] = auth.issue_token(session, user=user)
        second = auth.create_user(session, name="test-editor-2", role="editor")
        stack_tokens["editor2"] = auth.issue_token(session, user=second)


@pytest.fixture(scope="session", params=["embedded", "services"])
def stack(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[Stack]:
    """A migrated database, a broker and a live worker process, on each available tier."""
    from migrations import upgrade

    tier_dir = data_dir / request.param
    tier_dir.mkdir(exist_ok=True)
    if request.param == "services":
        database_url = os.environ.get("LAWCAST_TEST_DATABASE_URL")
        broker_url = os.environ.get("LAWCAST_TEST_BROKER_URL")
        if not (database_url and broker_url):
            pytest.skip(SERVICES_SKIP)
        _reset_services(database_url, broker_url)
    else:
        database_url = f"sqlite:///{tier_dir / 'lawcast.sqlite'}"
        broker_url = f"sqla+sqlite:///{tier_dir / 'broker.sqlite'}"
    _apply_settings(data_dir=str(tier_dir), database_url=database_url, broker_url=broker_url)
    # One phrase cache for both tiers keeps the suite fast; it is content-addressed, so sharing is safe.
    shared_cache = data_dir / "phrase-cache"
    shared_cache.mkdir(exist_ok=True)
    (tier_dir / "cache").symlink_to(shared_cache, target_is_directory=True)
    upgrade()
    tokens: dict[str, str] = {}
    _users(tokens)
    tier = Stack(request.param, database_url, broker_url, tier_dir, tokens, log=tier_dir / "worker.log")
    tier.start_worker()
    yield tier
    tier.stop_worker()


@pytest.fixture
def client(stack: Stack) -> Iterator[TestClient]:
    """An HTTP client for the API on the current tier."""
    from app import create_app

    with TestClient(create_app()) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def sample_law_text() -> str:
    """The bundled sample law."""
    return (ROOT / "assets" / "defaults" / "sample-law.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    """Path of the ffmpeg binary from imageio-ffmpeg."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()
