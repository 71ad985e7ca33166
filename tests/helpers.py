"""Helpers shared by the integration tests."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from fastapi.testclient import TestClient

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

# A JSON object as the API answers it (what response.json() gives): each test asserts on the values it reads.
Json = dict[str, Any]
T = TypeVar("T")


def present(value: T | None) -> T:
    """A value the test needs (an XML attribute or text, a database row): fails the test when it is missing."""
    assert value is not None, "expected a value, found None"
    return value


def wait_for_job(client: TestClient, headers: dict[str, str], job_id: int, timeout_s: float = 180) -> Json:
    """Poll a job until it leaves queued/running; fail with the worker's story if it never does."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = client.get(f"/api/jobs/{job_id}", headers=headers).json()
        if state["status"] not in ("queued", "running"):
            return state
        time.sleep(0.25)
    raise AssertionError(f"job {job_id} did not finish in {timeout_s} s: {state}")


class AudioInfo(Protocol):
    """What mutagen reads of an audio stream: its classes set these in their parsers, where mypy does not see them."""

    length: float
    sample_rate: int
    channels: int
    bitrate: int


class Mp4AudioInfo(AudioInfo, Protocol):
    """What mutagen reads of an MP4's audio stream."""

    codec: str


def mp3_info(path: Path) -> AudioInfo:
    """What mutagen reads of an MP3 stream (its FileType.info is typed by the class default, None)."""
    from mutagen.mp3 import MP3

    return cast(AudioInfo, MP3(path).info)


def mp4_info(path: Path) -> Mp4AudioInfo:
    """What mutagen reads of an MP4's audio stream (typed like mp3_info)."""
    from mutagen.mp4 import MP4

    return cast(Mp4AudioInfo, MP4(path).info)


def decode_pcm(path: Path, *, rate: int = 48000, channels: int = 2) -> npt.NDArray[np.float32]:
    """Decode any media file to float32 PCM with ffmpeg, for independent measurements."""
    import imageio_ffmpeg
    import numpy as np

    raw = subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(path),
            "-f",
            "f32le",
            "-ac",
            str(channels),
            "-ar",
            str(rate),
            "-",
        ],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype="<f4").reshape(-1, channels)


@contextmanager
def counted() -> Iterator[list[str]]:
    """SQL statements this process sends to the database while the block runs."""
    from sqlalchemy import event

    from db import get_engine

    statements: list[str] = []
    engine = get_engine()

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)
