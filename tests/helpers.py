"""Helpers shared by the integration tests."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient


def wait_for_job(client: TestClient, headers: dict[str, str], job_id: int, timeout_s: float = 180) -> dict[str, object]:
    """Poll a job until it leaves queued/running; fail with the worker's story if it never does."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = client.get(f"/api/jobs/{job_id}", headers=headers).json()
        if state["status"] not in ("queued", "running"):
            return state
        time.sleep(0.25)
    raise AssertionError(f"job {job_id} did not finish in {timeout_s} s: {state}")


def decode_pcm(path: Path, *, rate: int = 48000, channels: int = 2):  # type: ignore[no-untyped-def]
    """Decode any media file to float32 PCM with ffmpeg, for independent measurements."""
    import imageio_ffmpeg
    import numpy as np

    raw = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "f32le", "-ac", str(channels), "-ar", str(rate), "-"],
        check=True, capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype="<f4").reshape(-1, channels)


@contextmanager
def counted() -> Iterator[list[str]]:
    """SQL statements this process sends to the database while the block runs."""
    from sqlalchemy import event

    from db import get_engine

    statements: list[str] = []
    engine = get_engine()

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
