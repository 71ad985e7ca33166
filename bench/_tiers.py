"""A benchmark's database tiers: its `run_tier(database_url)` in a fresh interpreter, on SQLite and, when it answers,
on PostgreSQL (LAWCAST_BENCH_PG_URL, default PG_DEFAULT; an empty value skips it). The run's JSON is its last line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_DEFAULT = "postgresql+psycopg2://postgres@127.0.0.1:5432/lc_bench"


def _create_database(url: str) -> None:
    """Create the bench's own database when the server answers but it does not exist yet."""
    from sqlalchemy import create_engine, make_url, text

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    with admin.connect() as conn:
        if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}) is None:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def pg_reachable(url: str) -> bool:
    """Whether the PostgreSQL at url answers; its bench database is then created or emptied."""
    from sqlalchemy import create_engine, text

    try:
        _create_database(url)
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        return True
    except Exception:
        return False


def run_tier(module: str, database_url: str, data_dir: Path, *, timeout_s: int) -> dict[str, object]:
    """`bench.<module>.run_tier(database_url)` in a fresh interpreter with its own data dir; its JSON, or its error."""
    env = dict(
        os.environ,
        LAWCAST_DATA_DIR=str(data_dir),
        LAWCAST_DATABASE_URL=database_url,
        PYTHONPATH=str(ROOT),
        LAWCAST_BASE_URL="http://bench",
    )
    proc = subprocess.run(
        [sys.executable, "-c", f"from bench.{module} import run_tier; run_tier({database_url!r})"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-6:]}
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def both_tiers(module: str, *, timeout_s: int) -> dict[str, object]:
    """{"sqlite": figures, "postgresql": figures or why it was skipped} of one benchmark module."""
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix=f"lawcast-{module}-") as tmp:
        sqlite_dir = Path(tmp) / "sqlite"
        sqlite_dir.mkdir()
        out["sqlite"] = run_tier(module, f"sqlite:///{sqlite_dir / 'lawcast.sqlite'}", sqlite_dir, timeout_s=timeout_s)
        pg_url = os.environ.get("LAWCAST_BENCH_PG_URL", PG_DEFAULT)
        if pg_url and pg_reachable(pg_url):
            pg_dir = Path(tmp) / "pg"
            pg_dir.mkdir()
            out["postgresql"] = run_tier(module, pg_url, pg_dir, timeout_s=timeout_s)
        else:
            out["postgresql"] = {"skipped": f"{pg_url or 'LAWCAST_BENCH_PG_URL empty'} not reachable"}
    return out
